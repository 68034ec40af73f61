/**
 * Sealed datagrams: round trip, tampering, wrong and rotated keys, replay and
 * reordering, encryption, rate-limited logging, and a fuzz of open().
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDatagramAuth, type DatagramAuth, type DatagramAuthOptions } from '../../../src/sync/auth/auth';
import { makeKey, type SyncKey } from '../../../src/sync/auth/keys';
import { decodeDatagram, encodeDatagrams } from '../../../src/sync/wire/datagram';
import { AUTH_HEADER_LEN, DgramFlag, readSealedHeader, SEALED_PAYLOAD_OFFSET, SYNC_VERSION_SEALED } from '../../../src/sync/wire/sealed';
import type { Message } from '../../../src/sync/wire/types';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger, type Logger } from '../../../src/util/log';

function key(fill: number): SyncKey {
  const r = makeKey(Buffer.alloc(32, fill));
  if (!r.ok) throw new Error(r.message);
  return r.key;
}
const K1 = key(1);
const K2 = key(2);
const K3 = key(3);

const SECRET = 'flow-attrs-secret-0123456789';
function plainDatagram(seq = 1, node = 0x0a0b0c0d): Buffer {
  const msgs: Message[] = [
    { type: 'ct-new', flags: 0, seq, family: 2, attrs: Buffer.from(SECRET) },
    { type: 'ack', flags: 0, seq, from: 1, to: seq },
  ];
  const d = encodeDatagrams({ flags: 0, node, epoch: 7 }, msgs, 1472).datagrams[0];
  if (!d) throw new Error('no datagram');
  return d;
}

function mk(o: Partial<DatagramAuthOptions> = {}): DatagramAuth {
  let r = 0x1234;
  return createDatagramAuth({
    keys: { current: K1 },
    encrypt: false,
    clock: new FakeClock(),
    logger: silentLogger(),
    wallClock: () => 1_700_000_000_000,
    randomU32: () => (r = (r * 1103515245 + 12345) >>> 0),
    ...o,
  });
}

function mustSeal(a: DatagramAuth, d: Buffer): Buffer {
  const s = a.seal(d);
  if (s === null) throw new Error('seal refused');
  return s;
}

describe.each([false, true])('sealed datagrams (encrypt %s)', (encrypt) => {
  it('round trips to the exact plain datagram, which the wire decoder accepts', () => {
    const tx = mk({ encrypt });
    const rx = mk({ encrypt });
    const plain = plainDatagram();
    const sealed = mustSeal(tx, plain);
    expect(sealed.readUInt8(4)).toBe(SYNC_VERSION_SEALED);
    expect(sealed.readUInt8(5) & DgramFlag.AUTH).toBe(DgramFlag.AUTH);
    expect(sealed.readUInt8(5) & DgramFlag.ENCRYPTED).toBe(encrypt ? DgramFlag.ENCRYPTED : 0);
    expect(sealed.length).toBe(plain.length + tx.overhead);
    expect(sealed.readUInt16BE(6)).toBe(sealed.length);
    const r = rx.open(sealed, '192.0.2.1');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.datagram.equals(plain)).toBe(true);
    expect(r.node).toBe(0x0a0b0c0d);
    expect(decodeDatagram(r.datagram).ok).toBe(true);
    expect(rx.stats()).toMatchObject({ opened: 1, peers: 1 });
    expect(tx.stats().sealed).toBe(1);
  });

  it('rejects every single-bit flip', () => {
    const tx = mk({ encrypt });
    const sealed = mustSeal(tx, plainDatagram());
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const rx = mk({ encrypt });
      const bad = Buffer.from(sealed);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (0x80 >> (bit & 7));
      const r = rx.open(bad, 'x');
      expect(r.ok, `bit ${bit}`).toBe(false);
    }
  });

  it('counts a tampered payload as bad-mac / decrypt', () => {
    const rx = mk({ encrypt });
    const sealed = mustSeal(mk({ encrypt }), plainDatagram());
    sealed[SEALED_PAYLOAD_OFFSET + 3] = (sealed[SEALED_PAYLOAD_OFFSET + 3] as number) ^ 1;
    const r = rx.open(sealed, 'x');
    expect(r).toMatchObject({ ok: false, reason: encrypt ? 'decrypt' : 'bad-mac' });
    expect(rx.stats().rejected[encrypt ? 'decrypt' : 'bad-mac']).toBe(1);
    expect(rx.stats().peers).toBe(0);
  });

  it('rejects another key as unknown-key; a forged key id as bad-mac / decrypt', () => {
    const rx = mk({ encrypt, keys: { current: K1 } });
    const other = mustSeal(mk({ encrypt, keys: { current: K2 } }), plainDatagram());
    expect(rx.open(other, 'x')).toMatchObject({ ok: false, reason: 'unknown-key' });
    const forged = Buffer.from(other);
    forged.writeUInt32BE(K1.id, 24);
    expect(rx.open(forged, 'x')).toMatchObject({ ok: false, reason: encrypt ? 'decrypt' : 'bad-mac' });
  });

  it('rotation: signs with the new key, accepts the previous one, refuses a retired one', () => {
    const oldSender = mk({ encrypt, keys: { current: K1 } });
    const newSender = mk({ encrypt, keys: { current: K2, previous: K1 } });
    const rx = mk({ encrypt, keys: { current: K2, previous: K1 } });
    const s = mustSeal(newSender, plainDatagram());
    expect(s.readUInt32BE(24)).toBe(K2.id);
    expect(rx.open(s, 'a').ok).toBe(true);
    expect(rx.open(mustSeal(oldSender, plainDatagram(1, 5)), 'b').ok).toBe(true);
    const retired = mk({ encrypt, keys: { current: K2 } });
    expect(retired.open(mustSeal(oldSender, plainDatagram(2, 5)), 'b')).toMatchObject({ ok: false, reason: 'unknown-key' });
    // setKeys: rotation at run time.
    oldSender.setKeys({ current: K3, previous: K1 });
    expect(mustSeal(oldSender, plainDatagram()).readUInt32BE(24)).toBe(K3.id);
  });

  it('rejects a replayed datagram and accepts reordering within the window', () => {
    const tx = mk({ encrypt });
    const rx = mk({ encrypt, windowSize: 64 });
    const d = Array.from({ length: 10 }, (_, i) => mustSeal(tx, plainDatagram(i + 1)));
    const order = [0, 2, 1, 5, 3, 4, 9, 8, 6, 7];
    for (const i of order) expect(rx.open(d[i] as Buffer, 'x').ok, `datagram ${i}`).toBe(true);
    for (const i of order) expect(rx.open(d[i] as Buffer, 'x')).toMatchObject({ ok: false, reason: 'replay' });
    expect(rx.stats().rejected.replay).toBe(10);
    expect(rx.stats().opened).toBe(10);
  });

  it('rejects counters older than the window even if never seen', () => {
    const tx = mk({ encrypt });
    const rx = mk({ encrypt, windowSize: 32 });
    const d = Array.from({ length: 40 }, (_, i) => mustSeal(tx, plainDatagram(i + 1)));
    expect(rx.open(d[0] as Buffer, 'x').ok).toBe(true);
    expect(rx.open(d[39] as Buffer, 'x').ok).toBe(true);
    expect(rx.open(d[8] as Buffer, 'x').ok).toBe(true); // 39 - 8 = 31 < 32: inside
    expect(rx.open(d[7] as Buffer, 'x')).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('a restarted sender (newer epoch) is accepted; its old epoch is then replay', () => {
    let now = 1_700_000_000_000;
    const rx = mk({ encrypt });
    const run1 = mk({ encrypt, wallClock: () => now });
    const old = [mustSeal(run1, plainDatagram(1)), mustSeal(run1, plainDatagram(2))];
    expect(rx.open(old[0] as Buffer, 'x').ok).toBe(true);
    now += 5_000;
    const run2 = mk({ encrypt, wallClock: () => now });
    expect(rx.open(mustSeal(run2, plainDatagram(1)), 'x').ok).toBe(true);
    expect(rx.open(old[1] as Buffer, 'x')).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('a receiver joining late does not take the datagrams it missed from a replayer', () => {
    const tx = mk({ encrypt });
    const rx = mk({ encrypt });
    const d = Array.from({ length: 5 }, (_, i) => mustSeal(tx, plainDatagram(i + 1)));
    expect(rx.open(d[3] as Buffer, 'x').ok).toBe(true);
    for (const i of [0, 1, 2]) expect(rx.open(d[i] as Buffer, 'x')).toMatchObject({ ok: false, reason: 'replay' });
    expect(rx.open(d[4] as Buffer, 'x').ok).toBe(true);
  });

  it('a restarted sender with a new node id supersedes the old one; the old run replayed from elsewhere is rejected', () => {
    let now = 1_700_000_000_000;
    const rx = mk({ encrypt });
    const run1 = mk({ encrypt, wallClock: () => now });
    const old = [1, 2, 3].map((i) => mustSeal(run1, plainDatagram(i, 111)));
    expect(rx.open(old[0] as Buffer, '192.0.2.1').ok).toBe(true);
    now += 1;
    const run2 = mk({ encrypt, wallClock: () => now });
    expect(rx.open(mustSeal(run2, plainDatagram(1, 222)), '192.0.2.1').ok).toBe(true);
    expect(rx.open(old[1] as Buffer, '192.0.2.1')).toMatchObject({ ok: false, reason: 'replay' });
    expect(rx.open(old[2] as Buffer, '192.0.2.99')).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('rejects a plain (version 1) datagram as unsigned', () => {
    const rx = mk({ encrypt });
    expect(rx.open(plainDatagram(), 'x')).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(rx.stats().rejected.unsigned).toBe(1);
  });
});

describe('encryption', () => {
  it('hides the payload, shows the header, and never repeats a nonce', () => {
    const tx = mk({ encrypt: true });
    const a = mustSeal(tx, plainDatagram());
    const b = mustSeal(tx, plainDatagram());
    expect(a.includes(Buffer.from(SECRET))).toBe(false);
    expect(mustSeal(mk({ encrypt: false }), plainDatagram()).includes(Buffer.from(SECRET))).toBe(true);
    expect(a.readUInt32BE(8)).toBe(0x0a0b0c0d);
    // Same plaintext, consecutive counters: different ciphertext.
    expect(a.subarray(SEALED_PAYLOAD_OFFSET).equals(b.subarray(SEALED_PAYLOAD_OFFSET))).toBe(false);
    const ha = readSealedHeader(a);
    const hb = readSealedHeader(b);
    expect(ha.ok && hb.ok && hb.value.counter === ha.value.counter + 1).toBe(true);
  });

  it('an HMAC-only receiver still opens encrypted datagrams with the same key, and vice versa', () => {
    expect(mk({ encrypt: false }).open(mustSeal(mk({ encrypt: true }), plainDatagram()), 'x').ok).toBe(true);
    expect(mk({ encrypt: true }).open(mustSeal(mk({ encrypt: false }), plainDatagram()), 'x').ok).toBe(true);
  });
});

describe('seal limits and envelope checks', () => {
  it('refuses to seal what is not a version 1 datagram', () => {
    const tx = mk();
    expect(tx.seal(Buffer.from('nope'))).toBeNull();
    expect(tx.seal(mustSeal(tx, plainDatagram()))).toBeNull();
    expect(tx.stats().sealErrors).toBe(2);
  });

  it('has a 24-byte auth header', () => {
    expect(AUTH_HEADER_LEN).toBe(24);
    expect(mk().overhead).toBe(24 + 32 - 4);
    expect(mk({ encrypt: true }).overhead).toBe(24 + 16 - 4);
  });
});

describe('rejection logging', () => {
  it('logs at most once per interval per reason, with the sender and the number not logged', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = { warn: (o: Record<string, unknown>) => lines.push(o) } as unknown as Logger;
    const clock = new FakeClock();
    const rx = mk({ clock, logger, logIntervalMs: 1000 });
    for (let i = 0; i < 50; i++) rx.open(plainDatagram(), '198.51.100.7');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ from: '198.51.100.7', reason: 'unsigned', notLogged: 0 });
    clock.advance(1000);
    rx.open(plainDatagram(), '198.51.100.7');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ notLogged: 49, total: 51 });
  });
});

describe('fuzz', () => {
  it('open() never throws on arbitrary bytes and never accepts them', () => {
    const rx = mk({ encrypt: true, keys: { current: K1, previous: K2 } });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = rx.open(Buffer.from(bytes), 'fuzz');
        expect(r.ok).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('open() never throws on mutated sealed datagrams; only the untouched one opens', () => {
    const tx = mk({ encrypt: false });
    const base = mustSeal(tx, plainDatagram());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: -8, max: 8 }),
        (edits, cut) => {
          const d = Buffer.from(base);
          for (const [at, x] of edits) d[at] = (d[at] as number) ^ x;
          const t = cut < 0 ? d.subarray(0, d.length + cut) : Buffer.concat([d, Buffer.alloc(cut)]);
          for (const enc of [false, true]) expect(mk({ encrypt: enc }).open(t, 'fuzz').ok).toBe(false);
        },
      ),
      { numRuns: 600 },
    );
  });
});

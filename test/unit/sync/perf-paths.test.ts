/**
 * The fast paths added for CPU per entry agree with their plain versions:
 * CRC32C slicing-by-8 with the bytewise definition, the FT-FW ring across the
 * u32 sequence wrap and its growth, the filter's raw-byte address match with
 * the text match, and event views with nfnl's copying decoder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventWakeups } from '../../../src/bench/pipeline-setup';
import { compileFilter } from '../../../src/cache/filter';
import { decodeEventViews } from '../../../src/netlink/ct/events';
import { peekFlow } from '../../../src/netlink/ct/peek';
import { encodeConntrack } from '../../../src/netlink/ct/conntrack';
import { decodeEvents } from '../../../src/netlink/nfnl';
import { HeldRing } from '../../../src/sync/modes/ftfw-ring';
import { seqAdd } from '../../../src/sync/seq';
import { crc32c } from '../../../src/sync/wire/crc32c';
import type { Message } from '../../../src/sync/wire/types';
import { conntrack } from '../netlink/ct/arbitraries';

function crcBytewise(b: Buffer, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= b[i] as number;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c slicing-by-8', () => {
  it('equals the bytewise CRC for any bytes and range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (u, a, b) => {
        const buf = Buffer.from(u);
        const s = buf.length === 0 ? 0 : a % (buf.length + 1);
        const e = s + (buf.length - s === 0 ? 0 : b % (buf.length - s + 1));
        expect(crc32c(buf, s, e)).toBe(crcBytewise(buf, s, e));
      }),
      { numRuns: 500 },
    );
  });
});

describe('FT-FW held ring', () => {
  const msg = (seq: number): Message => ({ type: 'alive', flags: 0, seq });

  it('keeps every message of a live range that crosses 2^32 and grows past its first capacity', () => {
    const ring = new HeldRing();
    const head = 0xffffffff - 1500;
    for (let k = 0; k < 5000; k++) ring.put(head, seqAdd(head, k), msg(seqAdd(head, k)));
    for (let k = 0; k < 5000; k++) expect(ring.msg(seqAdd(head, k))?.seq).toBe(seqAdd(head, k));
    ring.sent(seqAdd(head, 3), 42);
    ring.sent(seqAdd(head, 3), 43);
    expect(ring.tries(seqAdd(head, 3))).toBe(2);
    expect(ring.at(seqAdd(head, 3))).toBe(43);
    expect(ring.tries(seqAdd(head, 4))).toBe(0);
    expect(ring.at(seqAdd(head, 4))).toBe(Number.NEGATIVE_INFINITY);
    ring.drop(head);
    expect(ring.msg(head)).toBeUndefined();
    ring.clear(seqAdd(head, 1), seqAdd(head, 5000));
    for (let k = 0; k < 5000; k++) expect(ring.msg(seqAdd(head, k))).toBeUndefined();
  });
});

describe('filter on raw address bytes', () => {
  it('gives the same verdict as on the address texts', () => {
    const f = compileFilter({
      ignoreOwn: ['192.0.2.1', '2001:db8::1'],
      address: { logic: 'accept', addresses: ['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.7'] },
    });
    fc.assert(
      fc.property(conntrack, (ct) => {
        const p = peekFlow(encodeConntrack(ct));
        if (p === null) return;
        const text = { family: p.family, proto: p.proto, src: p.src, dst: p.dst, replySrc: p.replySrc, replyDst: p.replyDst };
        expect(p.raw).toBeDefined();
        expect(f(p)).toBe(f(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('event views', () => {
  it('decode like nfnl decodeEvents, as views into the wakeup buffer', () => {
    const [w] = eventWakeups(300);
    if (w === undefined) throw new Error('no wakeup');
    const views = decodeEventViews(w);
    const copies = decodeEvents(w);
    expect(views.bad).toBe(0);
    expect(views.events.length).toBe(256);
    expect(views.events.map((e) => [e.type, e.record.kind, e.record.family, e.record.attrs.toString('hex')])).toEqual(
      copies.events.map((e) => [e.type, e.record.kind, e.record.family, e.record.attrs.toString('hex')]),
    );
    expect(views.events[0]?.record.attrs.buffer).toBe(w[0]?.buffer);
  });

  it('count malformed messages like decodeEvents and keep the ones before them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
        const [w] = eventWakeups(2);
        if (w === undefined) throw new Error('no wakeup');
        const dg = Buffer.concat([w[0] as Buffer, Buffer.from(u)]);
        const a = decodeEventViews([dg]);
        const b = decodeEvents([dg]);
        expect(a.bad).toBe(b.bad);
        expect(a.events.map((e) => e.record.attrs.toString('hex'))).toEqual(b.events.map((e) => e.record.attrs.toString('hex')));
      }),
      { numRuns: 300 },
    );
  });
});

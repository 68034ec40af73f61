import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  encodeMessage,
  errnoName,
  parseDatagram,
  parseDone,
  parseError,
} from '../../../src/netlink/nlmsg';
import {
  encodeRequest,
  eventGroups,
  eventTypeOf,
  msgType,
  parseNfMessage,
  statsEntries,
  toRecord,
} from '../../../src/netlink/nfnl';
import { indexOfSeq, planBatch } from '../../../src/netlink/ct-batch';
import { hasAttr, pickAttrs } from '../../../src/netlink/ct-batch-encode';
import type { CtRecord } from '../../../src/netlink/types';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Host order is little-endian on the machines we run on (x86-64, arm64).
const ACK_SEQ5 = hex('24000000 0200 0001 05000000 d2040000  00000000  14000000 0001 0506 05000000 00000000');
const EEXIST_EXT = hex(
  '30000000 0200 0003 09000000 d2040000  efffffff  40000000 0001 0506 09000000 00000000  0b00 0100 65786973747300 00',
);
const DUMP_MARK = hex('1c000000 0001 0200 07000000 00000000  02 00 0000  0800 0800 0000002a');
const DONE_SEQ7 = hex('14000000 0300 0200 07000000 00000000 00000000');

describe('nlmsg parseDatagram', () => {
  it('splits a multipart dump datagram into messages', () => {
    const r = parseDatagram(Buffer.concat([DUMP_MARK, DONE_SEQ7]));
    expect(r.ok).toBe(true);
    expect(r.messages.map((m) => [m.type, m.flags, m.seq, m.payload.length])).toEqual([
      [0x0100, NLM_F_MULTI, 7, 12],
      [NLMSG_DONE, NLM_F_MULTI, 7, 4],
    ]);
    const second = r.messages[1];
    expect(second && parseDone(second)).toBe(0);
    const first = r.messages[0];
    if (!first) throw new Error('no message');
    const nf = parseNfMessage(first);
    expect(nf.ok && nf.value.kind).toBe('ct');
    expect(nf.ok && nf.value.family).toBe(2);
    expect(nf.ok && nf.value.attrs.toString('hex')).toBe('080008000000002a');
    const rec = nf.ok ? toRecord(nf.value, true) : null;
    expect(rec).toEqual({ kind: 'ct', family: 2, attrs: hex('0800 0800 0000002a') });
  });

  it.each([
    ['length below header', hex('0c000000 0300 0000 00000000 00000000'), 'EBADLEN'],
    ['length past end', hex('40000000 0300 0000 00000000 00000000'), 'ETRUNCATED'],
    ['second message truncated', Buffer.concat([DONE_SEQ7, hex('20000000 0300 0000 00000000 00000000')]), 'ETRUNCATED'],
  ])('%s is a typed error', (_name, buf, code) => {
    const r = parseDatagram(buf);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it('keeps the messages before an error', () => {
    const r = parseDatagram(Buffer.concat([DONE_SEQ7, hex('20000000 0300 0000 00000000 00000000')]));
    expect(r.messages).toHaveLength(1);
  });

  it('enforces the message limit', () => {
    const r = parseDatagram(Buffer.concat([DONE_SEQ7, DONE_SEQ7, DONE_SEQ7]), { maxMessages: 2 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('ETOOMANY');
    expect(r.messages).toHaveLength(2);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
        const r = parseDatagram(Buffer.from(a), { maxMessages: 64 });
        for (const m of r.messages) {
          if (m.type === NLMSG_ERROR) parseError(m);
          parseNfMessage(m);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on truncations of a valid datagram', () => {
    const full = Buffer.concat([ACK_SEQ5, EEXIST_EXT, DUMP_MARK, DONE_SEQ7]);
    for (let n = 0; n <= full.length; n++) {
      const r = parseDatagram(full.subarray(0, n));
      for (const m of r.messages) if (m.type === NLMSG_ERROR) parseError(m);
    }
  });
});

describe('nlmsg errors', () => {
  it('decodes an ACK', () => {
    const m = parseDatagram(ACK_SEQ5).messages[0];
    if (!m) throw new Error('no message');
    const e = parseError(m);
    expect(e).toEqual({
      ok: true,
      value: { errno: 0, code: 'OK', request: { len: 20, type: 0x0100, flags: 0x0605, seq: 5, pid: 0 } },
    });
  });

  it('decodes an error with an extended ACK message', () => {
    const m = parseDatagram(EEXIST_EXT).messages[0];
    if (!m) throw new Error('no message');
    const e = parseError(m);
    expect(e.ok && e.value.code).toBe('EEXIST');
    expect(e.ok && e.value.errno).toBe(17);
    expect(e.ok && e.value.request.seq).toBe(9);
    expect(e.ok && e.value.message).toBe('exists');
  });

  it('rejects a short error payload', () => {
    const e = parseError({ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0, payload: hex('efffffff') });
    expect(e.ok).toBe(false);
    if (!e.ok) expect(e.error.code).toBe('ETRUNCATED');
  });

  it('names errno numbers', () => {
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(105)).toBe('ENOBUFS');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(0)).toBe('OK');
    expect(errnoName(4242)).toBe('E4242');
  });
});

describe('nfnl', () => {
  it('encodes a dump request byte for byte', () => {
    const b = encodeRequest(msgType('ct', 'get'), NLM_F_REQUEST | 0x300, 0x01020304, 0, null);
    expect(b.toString('hex')).toBe('14000000' + '0101' + '0103' + '04030201' + '00000000' + '00000000');
  });

  it('encodes attributes after nfgenmsg and pads to 4 bytes', () => {
    const b = encodeRequest(msgType('expect', 'delete'), NLM_F_REQUEST | NLM_F_ACK, 1, 10, hex('0500 0600 6162 0000'));
    expect(b.toString('hex')).toBe('1c000000' + '0202' + '0500' + '01000000' + '00000000' + '0a000000' + '050006006162' + '0000');
  });

  it('classifies events by type and flags', () => {
    expect(eventTypeOf(0, NLM_F_CREATE | NLM_F_EXCL)).toBe('new');
    expect(eventTypeOf(0, NLM_F_CREATE)).toBe('update');
    expect(eventTypeOf(0, 0)).toBe('update');
    expect(eventTypeOf(2, 0)).toBe('destroy');
    expect(eventTypeOf(1, 0)).toBeNull();
  });

  it('maps kinds and types to groups', () => {
    expect(eventGroups(['ct'])).toEqual([1, 2, 3]);
    expect(eventGroups(['ct', 'expect'], ['new', 'destroy'])).toEqual([1, 3, 4, 6]);
  });

  it('reads CTA_STATS_GLOBAL_ENTRIES', () => {
    expect(statsEntries(hex('0800 0200 00000010 0800 0100 000186a0'))).toBe(100000);
    expect(statsEntries(hex('0800 0200 00000010'))).toBeNull();
    expect(statsEntries(hex('ff00 0100 0000'))).toBeNull();
  });

  it('rejects non-ctnetlink messages', () => {
    const r = parseNfMessage({ type: NLMSG_NOOP, flags: 0, seq: 0, pid: 0, payload: Buffer.alloc(4) });
    expect(r.ok).toBe(false);
  });
});

describe('batch planning', () => {
  const rec = (n: number): CtRecord => ({ kind: 'ct', family: 2, attrs: hex(`0800 0800 ${n.toString(16).padStart(8, '0')}`) });
  const enc = (r: CtRecord) => ({ type: 0x0100, flags: NLM_F_CREATE | NLM_F_EXCL, family: r.family, attrs: r.attrs });

  it('cuts windows, numbers requests and ends each with an ACK barrier', () => {
    const plan = planBatch([rec(1), rec(2), rec(3), rec(4), rec(5)], enc, 100, { maxMessages: 2, maxBytes: 1 << 20 });
    expect(plan.windows.map((w) => [w.firstSeq, w.indices, w.barrierSeq])).toEqual([
      [100, [0, 1], 102],
      [103, [2, 3], 105],
      [106, [4], 107],
    ]);
    expect(plan.nextSeq).toBe(108);
    const w = plan.windows[0];
    if (!w) throw new Error('no window');
    const msgs = parseDatagram(w.datagram).messages;
    expect(msgs.map((m) => [m.type, m.flags, m.seq])).toEqual([
      [0x0100, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 100],
      [0x0100, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL, 101],
      [NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 102],
    ]);
    expect(msgs[1]?.payload.toString('hex')).toBe('02000000' + '0800080000000002');
  });

  it('respects the byte limit and maps sequence numbers across the 2^32 wrap', () => {
    const plan = planBatch([rec(1), rec(2), rec(3)], enc, 0xffffffff, { maxMessages: 100, maxBytes: 16 + 2 * 28 });
    expect(plan.windows.map((w) => w.indices)).toEqual([[0, 1], [2]]);
    const w = plan.windows[0];
    if (!w) throw new Error('no window');
    expect(indexOfSeq(w, 0xffffffff)).toBe(0);
    expect(indexOfSeq(w, 0)).toBe(1);
    expect(indexOfSeq(w, 1)).toBe(-1); // the barrier
    expect(indexOfSeq(w, 0xfffffffe)).toBe(-1);
  });

  it('reports refused records with their input index', () => {
    const plan = planBatch([rec(1), rec(2)], (r) => (r.attrs[7] === 2 ? 'EINVAL' : enc(r)), 1);
    expect(plan.refused).toEqual([{ index: 1, code: 'EINVAL', errno: 0, message: 'refused before sending' }]);
    expect(plan.windows[0]?.indices).toEqual([0]);
  });

  it('finds and picks top-level attributes', () => {
    const a = hex('0800 0800 0000002a  0800 0700 00000001  0600 0200 ffff 0000');
    expect(hasAttr(a, [2])).toBe(true);
    expect(hasAttr(a, [1])).toBe(false);
    expect(pickAttrs(a, [2, 7]).toString('hex')).toBe('0800070000000001' + '06000200ffff0000');
    expect(hasAttr(hex('ff00 0100'), [1])).toBe(false);
  });
});

describe('properties', () => {
  it('planBatch: every record lands in exactly one window or in refused, within the limits', async () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 64, max: 400 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (sizes, maxMessages, maxBytes, firstSeq) => {
          const recs: CtRecord[] = sizes.map((n) => ({ kind: 'ct', family: 2, attrs: Buffer.alloc(n * 4) }));
          const plan = planBatch(
            recs,
            (r) => (r.attrs.length === 0 ? 'EINVAL' : { type: 0x0100, flags: 0, family: 2, attrs: r.attrs }),
            firstSeq,
            { maxMessages, maxBytes },
          );
          const seen = [...plan.refused.map((f) => f.index), ...plan.windows.flatMap((w) => w.indices)].sort((a, b) => a - b);
          expect(seen).toEqual(recs.map((_, i) => i));
          for (const w of plan.windows) {
            expect(w.indices.length).toBeLessThanOrEqual(maxMessages);
            // A single oversized request still goes alone in its window.
            if (w.indices.length > 1) expect(w.datagram.length).toBeLessThanOrEqual(maxBytes);
            const msgs = parseDatagram(w.datagram).messages;
            expect(msgs.length).toBe(w.indices.length + 1);
            msgs.slice(0, -1).forEach((m, i) => expect(indexOfSeq(w, m.seq)).toBe(w.indices[i]));
            expect(msgs.at(-1)?.seq).toBe(w.barrierSeq);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodeEvents never throws on random datagrams', async () => {
    const { decodeEvents } = await import('../../../src/netlink/nfnl');
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 4 }), (dgs) => {
        const r = decodeEvents(dgs.map((d) => Buffer.from(d)));
        expect(r.events.length + r.bad).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeEvents keeps kernel order and counts unusable messages', async () => {
    const { decodeEvents } = await import('../../../src/netlink/nfnl');
    const attrs = hex('0800 0800 0000002a');
    const r = decodeEvents([
      Buffer.concat([encodeRequest(0x0100, NLM_F_CREATE | NLM_F_EXCL, 0, 2, attrs), encodeRequest(0x0102, 0, 0, 10, attrs)]),
      encodeRequest(0x0100, 0, 0, 7, attrs), // bad family
      hex('ffff'),
      encodeRequest(0x0200, NLM_F_CREATE | NLM_F_EXCL, 0, 2, attrs),
    ]);
    expect(r.events.map((e) => [e.type, e.record.kind, e.record.family])).toEqual([
      ['new', 'ct', 2],
      ['destroy', 'ct', 10],
      ['new', 'expect', 2],
    ]);
    expect(r.bad).toBe(1);
  });
});

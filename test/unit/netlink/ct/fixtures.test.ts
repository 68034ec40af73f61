import { describe, expect, it } from 'vitest';
import { decodeConntrack, encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { decodeExpectation, encodeExpectation } from '../../../../src/netlink/ct/expect';
import { tupleKey } from '../../../../src/netlink/ct/key';
import { peekFlow } from '../../../../src/netlink/ct/peek';
import type { Conntrack, CtRecord } from '../../../../src/netlink/types';
import { hex, kernelRecords } from './fixtures/load';

const recs = kernelRecords();
const cts = recs.filter((r) => r.kind === 'ct');

function findCt(src: string, sport?: number): { rec: CtRecord; ct: Conntrack } {
  for (const rec of cts) {
    const d = decodeConntrack(rec);
    if (d.ok && d.value.orig.src === src && (sport === undefined || d.value.orig.sport === sport)) return { rec, ct: d.value };
  }
  throw new Error(`fixture ${src} not found`);
}

describe('kernel dump fixtures', () => {
  it('every entry decodes and re-encodes to the same bytes', () => {
    expect(recs.length).toBe(15);
    for (const rec of recs) {
      if (rec.kind === 'ct') {
        const d = decodeConntrack(rec);
        expect(d.ok).toBe(true);
        if (!d.ok) continue;
        expect(d.consumed).toBe(rec.attrs.length);
        expect(d.value.unknown).toBeUndefined();
        expect(encodeConntrack(d.value).attrs.toString('hex')).toBe(rec.attrs.toString('hex'));
      } else {
        const d = decodeExpectation(rec);
        expect(d.ok).toBe(true);
        if (!d.ok) continue;
        expect(encodeExpectation(d.value).attrs.toString('hex')).toBe(rec.attrs.toString('hex'));
      }
    }
  });

  it.each([
    // [orig src, sport, expected fields]
    ['192.0.2.1', 1, { proto: 6, dport: 2, tcpState: 3, status: 0xc, replySrc: '198.51.100.2' }],
    ['192.0.2.3', 53, { proto: 17, dport: 5353, mark: 42, zone: 7, status: 0x8 }],
    ['192.0.2.7', 5000, { proto: 132, dport: 6000 }],
    ['192.0.2.10', 40000, { proto: 6, replyDst: '203.0.113.1' }],
    ['192.0.2.11', 40001, { proto: 6, replySrc: '198.51.100.30' }],
  ] as const)('peekFlow %s:%s', (src, sport, want) => {
    const { rec } = findCt(src, sport);
    const p = peekFlow(rec);
    expect(p).toMatchObject({ family: 2, src, sport, ...want });
  });

  it('TCP entry: tuples, status, protoinfo, synproxy', () => {
    const { ct } = findCt('192.0.2.1', 1);
    expect(ct.orig).toEqual({ src: '192.0.2.1', dst: '198.51.100.2', proto: 6, sport: 1, dport: 2 });
    expect(ct.reply).toEqual({ src: '198.51.100.2', dst: '192.0.2.1', proto: 6, sport: 2, dport: 1 });
    expect(ct.status).toBe(0x0c); // ASSURED | CONFIRMED
    expect(ct.protoinfo?.tcp).toEqual({
      state: 3,
      wscaleOrig: 0,
      wscaleReply: 0,
      flagsOrig: { flags: 0x0a, mask: 0 },
      flagsReply: { flags: 0x0a, mask: 0 },
    });
    expect(ct.synproxy).toEqual({ isn: 0, its: 0, tsoff: 0 });
    expect(ct.use).toBe(1);
  });

  it('UDP with CTA_ZONE, mark, counters and timestamp', () => {
    const { ct } = findCt('192.0.2.3', 53);
    expect(ct.zone).toBe(7);
    expect(ct.mark).toBe(42);
    expect(ct.countersOrig).toEqual({ packets: 0n, bytes: 0n });
    expect(typeof ct.timestamp?.start).toBe('bigint');
  });

  it('directional zone in the orig tuple', () => {
    const { ct } = findCt('192.0.2.15');
    expect(ct.orig.zone).toBe(3);
    expect(ct.reply.zone).toBeUndefined();
  });

  it('ICMP, ICMPv6, GRE, SCTP, DCCP, IPv6', () => {
    expect(findCt('192.0.2.5').ct.orig).toEqual({ src: '192.0.2.5', dst: '198.51.100.6', proto: 1, icmpId: 1234, icmpType: 8, icmpCode: 0 });
    const v6 = cts.map((r) => decodeConntrack(r)).filter((d) => d.ok && d.value.family === 10);
    expect(v6.length).toBe(2);
    const icmp6 = v6.find((d) => d.ok && d.value.orig.proto === 58);
    expect(icmp6?.ok && icmp6.value.orig).toEqual({ src: '2001:db8::1', dst: '2001:db8::2', proto: 58, icmpId: 77, icmpType: 128, icmpCode: 0 });
    expect(icmp6?.ok && icmp6.value.reply.icmpType).toBe(129);
    expect(findCt('192.0.2.12', 5).ct.orig).toMatchObject({ proto: 47, sport: 5, dport: 6 });
    // conntrack(8) 1.4.7 sends --orig-vtag 11 as bytes 0b000000: the wire field is be32.
    expect(findCt('192.0.2.7').ct.protoinfo?.sctp).toEqual({ state: 4, vtagOrig: 0x0b000000, vtagReply: 0x16000000 });
    expect(findCt('192.0.2.13').ct.orig.proto).toBe(33);
  });

  it('FTP master with helper and counters', () => {
    const { ct } = findCt('192.0.2.50');
    expect(ct.helper).toEqual({ name: 'ftp' });
    expect(ct.countersOrig).toEqual({ packets: 7n, bytes: 379n });
    expect(ct.countersReply).toEqual({ packets: 4n, bytes: 263n });
    expect(ct.protoinfo?.tcp?.state).toBe(7); // TIME_WAIT
  });

  it('expectation', () => {
    const rec = recs.find((r) => r.kind === 'expect');
    expect(rec).toBeDefined();
    const d = decodeExpectation(rec as CtRecord);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value).toMatchObject({
      family: 2,
      tuple: { src: '192.0.2.50', dst: '192.0.2.50', proto: 11 },
      mask: { src: '255.255.255.255', dst: '255.255.255.255', proto: 11 },
      master: { src: '192.0.2.50', dst: '192.0.2.50', proto: 6, sport: 49734, dport: 21 },
      helper: 'ftp',
      flags: 0,
      class: 0,
    });
    expect(tupleKey(rec as CtRecord)).not.toBeNull();
  });

  it('tupleKey is unique per entry and short', () => {
    const keys = recs.map((r) => tupleKey(r));
    expect(keys.every((k) => k !== null)).toBe(true);
    expect(new Set(keys).size).toBe(recs.length);
    const v4 = tupleKey(findCt('192.0.2.1', 1).rec);
    expect(v4?.length).toBe(17);
  });
});

describe('hand-written hex fixtures', () => {
  // CTA_TUPLE_ORIG { IP { V4_SRC 192.0.2.1, V4_DST 198.51.100.2 }, PROTO { NUM 17, SPORT 1000, DPORT 53 } }
  const orig = '34000180 14000180 08000100 c0000201 08000200 c6336402 1c000280 05000100 11000000 06000200 03e80000 06000300 00350000';
  const reply = '34000280 14000180 08000100 c6336402 08000200 c0000201 1c000280 05000100 11000000 06000200 00350000 06000300 03e80000';

  it.each([
    ['minimal UDP entry', `${orig} ${reply}`, { ok: true }],
    ['unknown top-level attribute kept', `${orig} ${reply} 06006300 abcd0000`, { ok: true, unknown: [{ type: 0x63, data: 'abcd' }] }],
    ['missing reply tuple', orig, { ok: false, code: 'EMISSING' }],
    ['truncated header', `${orig} ${reply} 0800`, { ok: false, code: 'ETRUNCATED' }],
    ['nla_len past the end', `${orig} ${reply} 20000300 00000001`, { ok: false, code: 'ETRUNCATED' }],
    ['nla_len < 4', `${orig} ${reply} 02000300`, { ok: false, code: 'EBADLEN' }],
    ['CTA_STATUS with 2 bytes', `${orig} ${reply} 06000300 00010000`, { ok: false, code: 'EBADLEN' }],
    ['IPv4 address of 3 bytes', '30000180 10000180 07000100 c0000200 08000200 c6336402 1c000280 05000100 11000000 06000200 03e80000 06000300 00350000', { ok: false, code: 'EBADLEN' }],
  ] as const)('%s', (_name, h, want) => {
    const d = decodeConntrack({ kind: 'ct', family: 2, attrs: hex(h) });
    expect(d.ok).toBe(want.ok);
    if (!d.ok) {
      expect(d.error.code).toBe((want as { code: string }).code);
      return;
    }
    expect(d.value.orig).toEqual({ src: '192.0.2.1', dst: '198.51.100.2', proto: 17, sport: 1000, dport: 53 });
    const u = (want as { unknown?: Array<{ type: number; data: string }> }).unknown;
    if (u) expect(d.value.unknown?.map((x) => ({ type: x.type, data: x.data.toString('hex') }))).toEqual(u);
    expect(encodeConntrack(d.value).attrs.toString('hex')).toBe(hex(h).toString('hex'));
  });

  it('rejects bad family and kind with typed errors', () => {
    const attrs = hex(`${orig} ${reply}`);
    const f = decodeConntrack({ kind: 'ct', family: 7 as 2, attrs });
    expect(!f.ok && f.error.code).toBe('EBADFAMILY');
    const k = decodeConntrack({ kind: 'expect', family: 2, attrs });
    expect(!k.ok && k.error.code).toBe('EBADTYPE');
  });

  it('enforces limits (depth, count, length)', () => {
    const attrs = hex(`${orig} ${reply}`);
    const deep = decodeConntrack({ kind: 'ct', family: 2, attrs }, { maxDepth: 2 });
    expect(!deep.ok && deep.error.code).toBe('ETOODEEP');
    const many = decodeConntrack({ kind: 'ct', family: 2, attrs }, { maxAttrs: 5 });
    expect(!many.ok && many.error.code).toBe('ETOOMANY');
    const long = decodeConntrack({ kind: 'ct', family: 2, attrs }, { maxLength: 50 });
    expect(!long.ok && long.error.code).toBe('EBADLEN');
    expect(decodeConntrack({ kind: 'ct', family: 2, attrs }, { maxDepth: 3 }).ok).toBe(true);
  });

  it('ignores garbage in padding bytes (as conntrack(8) sends)', () => {
    const padded = hex(`${orig} ${reply}`);
    padded[0x21] = 0x10; // padding after CTA_PROTO_NUM of the orig tuple
    const d = decodeConntrack({ kind: 'ct', family: 2, attrs: padded });
    expect(d.ok && d.value.orig.proto).toBe(17);
  });
});

describe('tupleKey inside the tuple', () => {
  // orig tuple with PROTO before IP, DPORT before SPORT, and an unknown nested attribute in between
  const a = '34000180 14000180 08000100 c0000201 08000200 c6336402 1c000280 05000100 11000000 06000200 03e80000 06000300 00350000';
  const b = '3c000180 1c000280 06000300 00350000 05000100 11000000 06000200 03e80000 08000980 00000000 14000180 08000200 c6336402 08000100 c0000201';
  it('same key for reordered nests and extra attributes', () => {
    const ka = tupleKey({ kind: 'ct', family: 2, attrs: hex(a) });
    expect(ka).not.toBeNull();
    expect(tupleKey({ kind: 'ct', family: 2, attrs: hex(b) })).toBe(ka);
    expect(ka).toBe(`c\u0002\u0011${'\u00c0\u0000\u0002\u0001'}${'\u00c6\u0033\u0064\u0002'}\u0003\u00e8\u0000\u0035\u0000\u0000`);
  });
  it('null when the tuple is missing, truncated or mixes families', () => {
    expect(tupleKey({ kind: 'ct', family: 2, attrs: hex('08000300 00000008') })).toBeNull();
    expect(tupleKey({ kind: 'ct', family: 2, attrs: hex(a).subarray(0, 30) })).toBeNull();
    const mixed = '40000180 20000180 08000100 c0000201 14000400 20010db8000000000000000000000001 1c000280 05000100 11000000 06000200 03e80000 06000300 00350000';
    expect(tupleKey({ kind: 'ct', family: 2, attrs: hex(mixed) })).toBeNull();
  });
});

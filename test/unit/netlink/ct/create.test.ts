import { describe, expect, it } from 'vitest';
import { walkAttrs } from '../../../../src/netlink/ct/attr';
import { CTA, CTA_EXPECT, IPS } from '../../../../src/netlink/ct/consts';
import { decodeConntrack, encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { toCreateAttrs, toDeleteAttrs, toExpectCreateAttrs, toUpdateAttrs } from '../../../../src/netlink/ct/create';
import { decodeExpectation } from '../../../../src/netlink/ct/expect';
import { syncAttrs } from '../../../../src/netlink/ct/sync-attrs';
import type { Conntrack, CtRecord } from '../../../../src/netlink/types';
import { kernelRecords } from './fixtures/load';

const recs = kernelRecords();

function fixture(src: string): { rec: CtRecord; ct: Conntrack } {
  for (const rec of recs) {
    if (rec.kind !== 'ct') continue;
    const d = decodeConntrack(rec);
    if (d.ok && d.value.orig.src === src) return { rec, ct: d.value };
  }
  throw new Error(src);
}

function types(b: Buffer): number[] {
  const out: number[] = [];
  walkAttrs(b, 0, b.length, (t) => {
    out.push(t & 0x3fff);
  });
  return out;
}

function asCt(attrs: Buffer, family: 2 | 10 = 2): Conntrack {
  const d = decodeConntrack({ kind: 'ct', family, attrs });
  if (!d.ok) throw new Error(d.error.message);
  return d.value;
}

const READ_ONLY = [CTA.ID, CTA.USE, CTA.COUNTERS_ORIG, CTA.COUNTERS_REPLY, CTA.TIMESTAMP, CTA.SECCTX, CTA.SECMARK];

describe('toCreateAttrs', () => {
  it('SNAT entry: CTA_NAT_SRC from the reply tuple, read-only attributes dropped', () => {
    const { rec, ct } = fixture('192.0.2.10');
    expect(ct.reply.dst).toBe('203.0.113.1');
    const out = asCt(toCreateAttrs(rec));
    expect(out.natSrc).toEqual({ minIp: '203.0.113.1', maxIp: '203.0.113.1', minPort: 40000, maxPort: 40000 });
    expect(out.natDst).toBeUndefined();
    expect(out.orig).toEqual(ct.orig);
    // reply sent un-NATed (inverse of orig): the kernel's NAT setup rewrites it and sets IPS_SRC_NAT
    expect(out.reply).toEqual({ src: '198.51.100.20', dst: '192.0.2.10', proto: 6, sport: 80, dport: 40000 });
    expect(out.timeout).toBe(ct.timeout);
    for (const t of READ_ONLY) expect(types(toCreateAttrs(rec))).not.toContain(t);
    expect(out.status).toBe(((ct.status ?? 0) & ~(IPS.SRC_NAT | IPS.DST_NAT | IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE | IPS.EXPECTED | IPS.DYING)) | IPS.CONFIRMED);
  });

  it('DNAT entry: CTA_NAT_DST = reply source address and port', () => {
    const { rec, ct } = fixture('192.0.2.11');
    expect(ct.reply.src).toBe('198.51.100.30');
    const out = asCt(toCreateAttrs(rec));
    expect(out.natDst).toEqual({ minIp: '198.51.100.30', maxIp: '198.51.100.30', minPort: 80, maxPort: 80 });
    expect(out.natSrc).toBeUndefined();
    expect(out.reply).toEqual({ src: '203.0.113.80', dst: '192.0.2.11', proto: 6, sport: 80, dport: 40001 });
  });

  it('plain entry: no NAT attributes; TCP flags are applied (mask = flags)', () => {
    const { rec, ct } = fixture('192.0.2.1');
    const out = asCt(toCreateAttrs(rec));
    expect(out.reply).toEqual(ct.reply);
    expect(out.natSrc).toBeUndefined();
    expect(out.natDst).toBeUndefined();
    expect(out.protoinfo?.tcp?.flagsOrig).toEqual({ flags: 0x0a, mask: 0x0a });
    expect(out.status).toBe(IPS.ASSURED | IPS.CONFIRMED);
    expect(out.synproxy).toEqual({ isn: 0, its: 0, tsoff: 0 });
  });

  it('options: timeout override and BE_LIBERAL', () => {
    const { rec } = fixture('192.0.2.50');
    const out = asCt(toCreateAttrs(rec, { timeout: 600, beLiberal: true }));
    expect(out.timeout).toBe(600);
    expect(out.protoinfo?.tcp?.flagsOrig?.flags ?? 0).toBeGreaterThan(0);
    expect((out.protoinfo?.tcp?.flagsOrig?.mask ?? 0) & 0x08).toBe(0x08);
    expect(out.helper).toEqual({ name: 'ftp' });
  });

  it('SNAT with ICMP id rewrite, IPv6 DNAT, status-only NAT, kept NAT attributes', () => {
    const icmp: Conntrack = {
      family: 2,
      orig: { src: '192.0.2.1', dst: '198.51.100.9', proto: 1, icmpId: 7, icmpType: 8, icmpCode: 0 },
      reply: { src: '198.51.100.9', dst: '203.0.113.2', proto: 1, icmpId: 9, icmpType: 0, icmpCode: 0 },
      status: IPS.CONFIRMED | IPS.SRC_NAT | IPS.SRC_NAT_DONE,
      timeout: 30,
    };
    expect(asCt(toCreateAttrs(encodeConntrack(icmp))).natSrc).toEqual({ minIp: '203.0.113.2', maxIp: '203.0.113.2', minPort: 9, maxPort: 9 });

    const v6: Conntrack = {
      family: 10,
      orig: { src: '2001:db8::1', dst: '2001:db8::80', proto: 17, sport: 5000, dport: 53 },
      reply: { src: '2001:db8:1::53', dst: '2001:db8::1', proto: 17, sport: 5353, dport: 5000 },
      timeout: 30,
    };
    const o6 = asCt(toCreateAttrs(encodeConntrack(v6)), 10);
    expect(o6.natDst).toEqual({ minIp: '2001:db8:1::53', maxIp: '2001:db8:1::53', minPort: 5353, maxPort: 5353 });
    expect(o6.natSrc).toBeUndefined();
    expect(o6.reply).toEqual({ src: '2001:db8::80', dst: '2001:db8::1', proto: 17, sport: 53, dport: 5000 });
    expect(asCt(toCreateAttrs(encodeConntrack(icmp))).reply).toEqual({ ...icmp.reply, dst: '192.0.2.1', icmpId: 7 });

    // NAT bit set but tuples identical (null binding): still derived, so the binding exists
    const nul: Conntrack = { ...icmp, reply: { ...icmp.reply, dst: '192.0.2.1', icmpId: 7 } };
    expect(asCt(toCreateAttrs(encodeConntrack(nul))).natSrc).toEqual({ minIp: '192.0.2.1', maxIp: '192.0.2.1', minPort: 7, maxPort: 7 });

    // NAT attributes present in the record are kept as they are, nothing derived
    const given: Conntrack = { ...icmp, natSrc: { minIp: '203.0.113.7' } };
    const g = asCt(toCreateAttrs(encodeConntrack(given)));
    expect(g.natSrc).toEqual({ minIp: '203.0.113.7' });
  });

  it('keeps master tuple, labels, seq adj and unknown attributes; clears EXPECTED', () => {
    const ct: Conntrack = {
      family: 2,
      orig: { src: '192.0.2.1', dst: '198.51.100.2', proto: 6, sport: 20, dport: 3000 },
      reply: { src: '198.51.100.2', dst: '192.0.2.1', proto: 6, sport: 3000, dport: 20 },
      master: { src: '192.0.2.1', dst: '198.51.100.2', proto: 6, sport: 4000, dport: 21 },
      status: IPS.EXPECTED | IPS.SEEN_REPLY | IPS.CONFIRMED,
      labels: Buffer.from('00000000000000000000000000000001', 'hex'),
      seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
      timeout: 10,
      id: 5,
      use: 2,
      unknown: [{ type: 40, data: Buffer.from('beef', 'hex') }],
    };
    const out = asCt(toCreateAttrs(encodeConntrack(ct)));
    expect(out.master).toEqual(ct.master);
    expect(out.labels).toEqual(ct.labels);
    expect(out.seqAdjOrig).toEqual(ct.seqAdjOrig);
    expect(out.unknown).toEqual(ct.unknown);
    expect(out.status).toBe(IPS.SEEN_REPLY | IPS.CONFIRMED);
    expect(out.id).toBeUndefined();
    expect(out.use).toBeUndefined();

    const up = asCt(toUpdateAttrs(encodeConntrack(ct)));
    expect(up.master).toBeUndefined();
    expect(up.status).toBe(IPS.EXPECTED | IPS.SEEN_REPLY | IPS.CONFIRMED);
    expect(up.unknown).toEqual(ct.unknown);
  });
});

describe('toUpdateAttrs / toDeleteAttrs / toExpectCreateAttrs / syncAttrs', () => {
  it('update never carries NAT, helper or master', () => {
    const { rec } = fixture('192.0.2.50');
    const t = types(toUpdateAttrs(rec));
    for (const x of [CTA.NAT_SRC, CTA.NAT_DST, CTA.HELP, CTA.TUPLE_MASTER, ...READ_ONLY]) expect(t).not.toContain(x);
    expect(t).toEqual(expect.arrayContaining([CTA.TUPLE_ORIG, CTA.TUPLE_REPLY, CTA.STATUS, CTA.TIMEOUT, CTA.PROTOINFO]));
    const snat = types(toUpdateAttrs(fixture('192.0.2.10').rec));
    expect(snat).not.toContain(CTA.NAT_SRC);
  });

  it('delete: orig tuple and zone only', () => {
    const { rec, ct } = fixture('192.0.2.3');
    const b = toDeleteAttrs(rec);
    expect(types(b)).toEqual([CTA.TUPLE_ORIG, CTA.ZONE]);
    const d = decodeConntrack({ kind: 'ct', family: 2, attrs: b });
    expect(!d.ok && d.error.code).toBe('EMISSING'); // no reply tuple: it is a lookup key only
    expect(types(toDeleteAttrs(fixture('192.0.2.1').rec))).toEqual([CTA.TUPLE_ORIG]);
    expect(ct.zone).toBe(7);
  });

  it('expectation create drops CTA_EXPECT_ID only', () => {
    const rec = recs.find((r) => r.kind === 'expect') as CtRecord;
    const b = toExpectCreateAttrs(rec);
    expect(types(b)).not.toContain(CTA_EXPECT.ID);
    expect(types(b).length).toBe(types(rec.attrs).length - 1);
    const d = decodeExpectation({ ...rec, attrs: b });
    expect(d.ok && d.value.helper).toBe('ftp');
    expect(types(toCreateAttrs(rec))).toEqual(types(b));
    expect(types(toDeleteAttrs(rec))).toEqual([CTA_EXPECT.TUPLE]);
  });

  it('syncAttrs drops counters, use, id, timestamp and keeps the rest byte for byte', () => {
    const { rec, ct } = fixture('192.0.2.50');
    const s = syncAttrs(rec);
    const out = asCt(s.attrs);
    expect(out.countersOrig).toBeUndefined();
    expect(out.timestamp).toBeUndefined();
    expect(out.id).toBeUndefined();
    expect(out.use).toBeUndefined();
    const { countersOrig: _a, countersReply: _b, timestamp: _c, id: _d, use: _e, ...rest } = ct;
    expect(out).toEqual(rest);
    expect(syncAttrs(s)).toBe(s);
    const x = recs.find((r) => r.kind === 'expect') as CtRecord;
    expect(types(syncAttrs(x).attrs)).not.toContain(CTA_EXPECT.ID);
  });
});

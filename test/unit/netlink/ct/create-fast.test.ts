/**
 * The commit fast path (src/netlink/ct/create-fast*.ts) against the previous
 * schema-codec implementation, kept below as the reference: for
 * fast-check-generated entries (kernel-shaped, fully random models with
 * unknown attributes at every level, and raw mutations: flag bits, duplicated
 * / swapped / dropped attributes at any depth, truncation, random bytes) the
 * output must be byte-identical, for create and update, with and without
 * options, through toCreateAttrs / toUpdateAttrs and through a reused
 * createAttrWriter writing at an offset into a larger buffer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { createAttrWriter, toCreateAttrs, toUpdateAttrs } from '../../../../src/netlink/ct/create';
import { makeFlows } from '../../../../src/bench/flows';
import type { Conntrack, Family, Tuple } from '../../../../src/netlink/types';
import { conntrack as anyConntrack, ipv4, ipv6 } from './arbitraries';
import { kernelRecords } from './fixtures/load';
import type { CtRecord, NatRange, ProtoInfo } from '../../../../src/netlink/types';
import { be32Attr, concatSlices, DEFAULT_LIMITS, NLA_HDRLEN, nlaAlign } from '../../../../src/netlink/ct/attr';
import { CTA, CTA_MAX_KNOWN, IPPROTO, IPS, IPS_UNCHANGEABLE_MASK, TCP_FLAG } from '../../../../src/netlink/ct/consts';
import { formatIP } from '../../../../src/netlink/ct/ip';
import { decodeObject, encodeNested, type Obj } from '../../../../src/netlink/ct/schema';
import { NAT, PROTOINFO, TUPLE } from '../../../../src/netlink/ct/tables';
import { readTuple, scanAttrs, type RawTuple } from '../../../../src/netlink/ct/tuple-raw';


// ---------------------------------------------------------------------------
// REFERENCE ONLY: toCreateAttrs / toUpdateAttrs before the fast path (schema codec, a Buffer per attribute).

export interface RefOptions {
  timeout?: number;
  beLiberal?: boolean;
}

const TCP_APPLY_MASK = TCP_FLAG.WINDOW_SCALE | TCP_FLAG.SACK_PERM | TCP_FLAG.CLOSE_INIT | TCP_FLAG.BE_LIBERAL;

const CREATE_DROP = new Set<number>([
  CTA.ID,
  CTA.USE,
  CTA.COUNTERS_ORIG,
  CTA.COUNTERS_REPLY,
  CTA.TIMESTAMP,
  CTA.SECCTX,
  CTA.SECMARK,
  CTA.MARK_MASK,
  CTA.STATUS_MASK,
  CTA.FILTER,
]);

const UPDATE_KEEP = new Set<number>([
  CTA.TUPLE_ORIG,
  CTA.TUPLE_REPLY,
  CTA.ZONE,
  CTA.STATUS,
  CTA.TIMEOUT,
  CTA.MARK,
  CTA.PROTOINFO,
  CTA.SEQ_ADJ_ORIG,
  CTA.SEQ_ADJ_REPLY,
  CTA.LABELS,
  CTA.LABELS_MASK,
  CTA.SYNPROXY,
]);

interface Slice {
  type: number;
  off: number;
  len: number;
}

function topSlices(buf: Buffer): Slice[] {
  const out: Slice[] = [];
  scanAttrs(buf, 0, buf.length, (type, off, len) => {
    out.push({ type, off, len });
  });
  return out;
}

function whole(s: Slice): [number, number] {
  return [s.off - NLA_HDRLEN, nlaAlign(s.len + NLA_HDRLEN)];
}

function isNewerType(type: number, maxKnown: number): boolean {
  return type === 0 || type > maxKnown;
}

export function refRewrite(rec: CtRecord, mode: 'create' | 'update', opts: RefOptions = {}): Buffer {
  const buf = rec.attrs;
  const slices = topSlices(buf);
  const keep: Array<[number, number]> = [];
  const extra: Buffer[] = [];
  let orig: RawTuple | null = null;
  let reply: RawTuple | null = null;
  let status: number | undefined;
  let hasNat = false;
  let hasTimeout = false;
  let origSlice: Slice | undefined;
  let replySlice: Slice | undefined;
  for (const s of slices) {
    if (s.type === CTA.TUPLE_ORIG) {
      orig = readTuple(buf, s.off, s.off + s.len);
      origSlice = s;
    }
    if (s.type === CTA.TUPLE_REPLY) {
      reply = readTuple(buf, s.off, s.off + s.len);
      replySlice = s;
      if (mode === 'create') continue;
    }
    if (s.type === CTA.NAT_SRC || s.type === CTA.NAT_DST) hasNat = true;
    if (mode === 'create' ? CREATE_DROP.has(s.type) : !UPDATE_KEEP.has(s.type) && !isNewerType(s.type, CTA_MAX_KNOWN)) continue;
    if (s.type === CTA.STATUS && s.len === 4) {
      status = buf.readUInt32BE(s.off);
      continue;
    }
    if (s.type === CTA.TIMEOUT && opts.timeout !== undefined) continue;
    if (s.type === CTA.TIMEOUT) hasTimeout = true;
    if (s.type === CTA.PROTOINFO) {
      const p = rewriteProtoinfo(buf, s, opts.beLiberal === true);
      if (p) {
        extra.push(p);
        continue;
      }
    }
    keep.push(whole(s));
  }
  if (opts.timeout !== undefined && !hasTimeout) extra.push(be32Attr(CTA.TIMEOUT, opts.timeout));
  if (status !== undefined) {
    let st = (status & ~IPS_UNCHANGEABLE_MASK) | IPS.CONFIRMED;
    if (mode === 'update') st |= status & IPS.EXPECTED;
    extra.unshift(be32Attr(CTA.STATUS, st >>> 0));
  }
  if (mode === 'create' && replySlice) {
    const nat = !hasNat && orig && reply ? natAttrs(buf, orig, reply, status ?? 0) : [];
    extra.push(...nat);
    const inv = (nat.length > 0 || hasNat) && origSlice ? invertedReply(buf, origSlice, replySlice) : null;
    extra.unshift(inv ?? concatSlices(buf, [whole(replySlice)]));
  }
  return concatSlices(buf, keep, extra);
}

function rewriteProtoinfo(buf: Buffer, s: Slice, beLiberal: boolean): Buffer | null {
  const r = decodeObject(buf, s.off, s.off + s.len, PROTOINFO, 2, DEFAULT_LIMITS);
  if (!r.ok) return null;
  const pi = r.value as ProtoInfo;
  if (!pi.tcp) return null;
  const fix = (f: { flags: number; mask: number } | undefined): { flags: number; mask: number } | undefined => {
    if (!f && !beLiberal) return undefined;
    const flags = ((f?.flags ?? 0) | (beLiberal ? TCP_FLAG.BE_LIBERAL : 0)) & 0xff;
    return { flags, mask: flags & TCP_APPLY_MASK };
  };
  const tcp = { ...pi.tcp };
  const fo = fix(tcp.flagsOrig);
  const fr = fix(tcp.flagsReply);
  if (fo) tcp.flagsOrig = fo;
  if (fr) tcp.flagsReply = fr;
  return encodeNested(CTA.PROTOINFO, { ...pi, tcp } as unknown as Obj, PROTOINFO);
}

function invertedReply(buf: Buffer, origSlice: Slice, replySlice: Slice): Buffer | null {
  const o = decodeObject(buf, origSlice.off, origSlice.off + origSlice.len, TUPLE, 2, DEFAULT_LIMITS);
  const r = decodeObject(buf, replySlice.off, replySlice.off + replySlice.len, TUPLE, 2, DEFAULT_LIMITS);
  if (!o.ok || !r.ok) return null;
  const ot = o.value as unknown as Tuple;
  const rt = r.value as unknown as Tuple;
  const inv: Tuple = { ...rt, src: ot.dst, dst: ot.src, proto: ot.proto };
  if (ot.dport !== undefined) inv.sport = ot.dport;
  if (ot.sport !== undefined) inv.dport = ot.sport;
  if (ot.icmpId !== undefined) inv.icmpId = ot.icmpId;
  return encodeNested(CTA.TUPLE_REPLY, inv as unknown as Obj, TUPLE);
}

const PORT_PROTOS = new Set<number>([IPPROTO.TCP, IPPROTO.UDP, IPPROTO.UDPLITE, IPPROTO.SCTP, IPPROTO.DCCP]);

function natAttrs(buf: Buffer, o: RawTuple, r: RawTuple, status: number): Buffer[] {
  if (o.addrLen !== r.addrLen) return [];
  const len = o.addrLen;
  const diff = (a: number, b: number): boolean => buf.compare(buf, a, a + len, b, b + len) !== 0;
  const ports = PORT_PROTOS.has(o.proto) && o.sport !== undefined && o.dport !== undefined && r.sport !== undefined && r.dport !== undefined;
  const icmp = o.proto === IPPROTO.ICMP || o.proto === IPPROTO.ICMPV6;
  const out: Buffer[] = [];
  const snat =
    (status & IPS.SRC_NAT) !== 0 ||
    diff(o.srcOff, r.dstOff) ||
    (ports && o.sport !== r.dport) ||
    (icmp && o.icmpId !== undefined && r.icmpId !== undefined && o.icmpId !== r.icmpId);
  const dnat = (status & IPS.DST_NAT) !== 0 || diff(o.dstOff, r.srcOff) || (ports && o.dport !== r.sport);
  if (snat) {
    const ip = formatIP(buf, r.dstOff, len);
    const range: NatRange = { minIp: ip, maxIp: ip };
    const port = ports ? r.dport : icmp ? r.icmpId : undefined;
    if (port !== undefined) {
      range.minPort = port;
      range.maxPort = port;
    }
    out.push(encodeNested(CTA.NAT_SRC, range as Obj, NAT));
  }
  if (dnat) {
    const ip = formatIP(buf, r.srcOff, len);
    const range: NatRange = { minIp: ip, maxIp: ip };
    if (ports && r.sport !== undefined) {
      range.minPort = r.sport;
      range.maxPort = r.sport;
    }
    out.push(encodeNested(CTA.NAT_DST, range as Obj, NAT));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Generators

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const PROTOS = [6, 17, 1, 58, 132, 33, 47, 136];
const PORTED = new Set([6, 17, 132, 33, 136]);

function tupleFor(family: Family, proto: number): fc.Arbitrary<Tuple> {
  const addr = family === 2 ? ipv4 : ipv6;
  return fc.record({ src: addr, dst: addr, sport: u16, dport: u16, icmpId: u16, icmpType: u8, icmpCode: u8, zone: u16, hasZone: fc.boolean() }).map((r) => {
    const t: Tuple = { src: r.src, dst: r.dst, proto };
    if (PORTED.has(proto)) Object.assign(t, { sport: r.sport, dport: r.dport });
    if (proto === 1 || proto === 58) Object.assign(t, { icmpId: r.icmpId, icmpType: r.icmpType, icmpCode: r.icmpCode });
    if (r.hasZone) t.zone = r.zone;
    return t;
  });
}

/** What the kernel dumps: each attribute once, in dump order; NAT-ed or plain replies. */
const kernelShaped: fc.Arbitrary<Conntrack> = fc
  .record({ family: fc.constantFrom<Family>(2, 10), proto: fc.oneof(fc.constantFrom(...PROTOS), u8) })
  .chain(({ family, proto }) =>
    fc
      .record(
        {
          orig: tupleFor(family, proto),
          natReply: fc.option(tupleFor(family, proto), { nil: undefined }),
          status: fc.oneof(u32, fc.constantFrom(0xe, 0x1be, 0x19e, 0x3a, 0x8)),
          timeout: u32,
          mark: u32,
          zone: u16,
          id: u32,
          use: u32,
          tcp: fc.record(
            { state: u8, wscaleOrig: u8, wscaleReply: u8, flagsOrig: fc.record({ flags: u8, mask: u8 }), flagsReply: fc.record({ flags: u8, mask: u8 }) },
            { requiredKeys: ['state'] },
          ),
          sctp: fc.record({ state: u8, vtagOrig: u32, vtagReply: u32 }),
          natSrc: fc.record({ minIp: family === 2 ? ipv4 : ipv6, minPort: u16 }, { requiredKeys: ['minIp'] }),
          counters: fc.record({ packets: fc.bigInt({ min: 0n, max: 1n << 40n }), bytes: fc.bigInt({ min: 0n, max: 1n << 40n }) }),
          helper: fc.constantFrom('ftp', 'sip'),
          labels: fc.uint8Array({ minLength: 16, maxLength: 16 }),
        },
        { requiredKeys: ['orig', 'status', 'timeout'] },
      )
      .map((r) => {
        const inv: Tuple = { ...r.orig, src: r.orig.dst, dst: r.orig.src };
        if (r.orig.sport !== undefined) Object.assign(inv, { sport: r.orig.dport, dport: r.orig.sport });
        const ct: Conntrack = { family, orig: r.orig, reply: r.natReply ?? inv, status: r.status, timeout: r.timeout };
        if (r.mark !== undefined) ct.mark = r.mark;
        if (r.zone !== undefined) ct.zone = r.zone;
        if (r.id !== undefined) ct.id = r.id;
        if (r.use !== undefined) ct.use = r.use;
        if (r.tcp && proto === 6) ct.protoinfo = { tcp: r.tcp };
        if (r.sctp && proto === 132) ct.protoinfo = { sctp: r.sctp };
        if (r.natSrc) ct.natSrc = r.natSrc;
        if (r.counters) ct.countersOrig = ct.countersReply = r.counters;
        if (r.helper) ct.helper = { name: r.helper };
        if (r.labels) ct.labels = Buffer.from(r.labels);
        return ct;
      }),
  );

/** An attribute tree: nests are parsed when their payload walks cleanly as attributes. */
interface Node {
  type: number;
  data: Buffer;
  kids: Node[] | null;
}

function parse(buf: Buffer, depth: number): Node[] | null {
  const out: Node[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) return null;
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) return null;
    const data = buf.subarray(off + 4, off + len);
    out.push({ type: buf.readUInt16LE(off + 2), data, kids: depth < 4 && data.length >= 4 ? parse(data, depth + 1) : null });
    off += (len + 3) & ~3;
  }
  return out;
}

function serialize(nodes: Node[]): Buffer {
  return Buffer.concat(
    nodes.map((n) => {
      const data = n.kids ? serialize(n.kids) : n.data;
      const b = Buffer.alloc((4 + data.length + 3) & ~3);
      b.writeUInt16LE(Math.min(4 + data.length, 0xffff), 0);
      b.writeUInt16LE(n.type, 2);
      data.copy(b, 4);
      return b;
    }),
  );
}

/** Every attribute list in the tree (the top level and each parsed nest). */
function lists(nodes: Node[], acc: Node[][] = []): Node[][] {
  acc.push(nodes);
  for (const n of nodes) if (n.kids) lists(n.kids, acc);
  return acc;
}

interface TreeMutation {
  op: 'flags' | 'dup' | 'swap' | 'drop';
  list: number;
  i: number;
  j: number;
  flag: number;
}
interface ByteMutation {
  op: 'trunc' | 'byte';
  at: number;
  v: number;
}
type Mutation = TreeMutation | ByteMutation;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constantFrom('flags' as const, 'dup' as const, 'swap' as const, 'drop' as const), list: fc.nat(40), i: fc.nat(40), j: fc.nat(40), flag: fc.constantFrom(0x8000, 0x4000, 0xc000) }),
  fc.record({ op: fc.constantFrom('trunc' as const, 'byte' as const), at: fc.nat(600), v: u8 }),
);

function mutate(attrs: Buffer, ms: Mutation[]): Buffer {
  let buf = attrs;
  for (const m of ms) {
    if (!('list' in m)) {
      if (m.op === 'trunc') buf = buf.subarray(0, m.at % (buf.length + 1));
      else if (buf.length > 0) {
        buf = Buffer.from(buf);
        buf[m.at % buf.length] = m.v;
      }
      continue;
    }
    const tree = parse(buf, 0);
    if (!tree) continue;
    const all = lists(tree);
    const list = all[m.list % all.length] ?? tree;
    if (list.length === 0) continue;
    const i = m.i % list.length;
    const j = m.j % list.length;
    const node = list[i] as Node;
    if (m.op === 'flags') node.type ^= m.flag;
    else if (m.op === 'dup') list.splice(j, 0, { ...node });
    else if (m.op === 'swap') [list[i], list[j]] = [list[j] as Node, node];
    else list.splice(i, 1);
    buf = serialize(tree);
  }
  return buf;
}

const options = fc.record({ timeout: u32, beLiberal: fc.boolean() }, { requiredKeys: [] });

const model = fc.oneof({ weight: 3, arbitrary: kernelShaped }, { weight: 1, arbitrary: anyConntrack });
const record = fc.tuple(model, fc.array(mutation, { maxLength: 4 })).map(([ct, ms]): CtRecord => {
  const rec = encodeConntrack(ct);
  return { ...rec, attrs: mutate(rec.attrs, ms) };
});

// ---------------------------------------------------------------------------

function outcome(f: () => Buffer): string {
  try {
    return f().toString('hex');
  } catch (e) {
    return `throws ${(e as Error).name}`;
  }
}

function checkSame(rec: CtRecord, opts: RefOptions): void {
  expect(outcome(() => toCreateAttrs(rec, opts))).toBe(outcome(() => refRewrite(rec, 'create', opts)));
  expect(outcome(() => toUpdateAttrs(rec, opts))).toBe(outcome(() => refRewrite(rec, 'update', opts)));
}

describe('create fast path = reference implementation', () => {
  it('kernel fixtures, with and without options', () => {
    for (const rec of kernelRecords().filter((r) => r.kind === 'ct')) {
      for (const opts of [{}, { timeout: 600 }, { beLiberal: true }, { timeout: 0, beLiberal: true }]) checkSame(rec, opts);
    }
  });

  it('bench flows (TCP and UDP)', () => {
    for (const rec of [...makeFlows(50), ...makeFlows(50, { proto: 'udp', mark: 7 })]) checkSame(rec, { beLiberal: true });
  });

  it('generated entries, mutated or not: byte-identical create and update', () => {
    fc.assert(
      fc.property(record, options, (rec, opts) => checkSame(rec, opts)),
      { numRuns: 3000 },
    );
  });

  it('one reused writer, at an offset in a larger buffer: measured size exact, nothing else touched', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), options, fc.constantFrom('create' as const, 'update' as const), fc.nat(7), (recs, opts, mode, at) => {
        const w = createAttrWriter(mode, opts);
        for (const rec of recs) {
          let want: Buffer;
          try {
            want = refRewrite(rec, mode, opts);
          } catch {
            continue;
          }
          const size = w.measure(rec);
          expect(size).toBe(want.length);
          const out = Buffer.alloc(at + size + 8, 0xa5);
          expect(w.write(rec, out, at)).toBe(at + size);
          expect(out.subarray(at, at + size).toString('hex')).toBe(want.toString('hex'));
          expect(out.subarray(0, at).every((b) => b === 0xa5)).toBe(true);
          expect(out.subarray(at + size).every((b) => b === 0xa5)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes: same output or the same failure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), options, (a, opts) => checkSame({ kind: 'ct', family: 2, attrs: Buffer.from(a) }, opts)),
      { numRuns: 2000 },
    );
  });
});

/**
 * Attribute sets for writing an entry into another kernel, the way
 * conntrackd's commit does (conntrack-tools src/netlink.c, libnetfilter_conntrack
 * SETUP_SNAT/SETUP_DNAT), checked against net/netfilter/nf_conntrack_netlink.c:
 *
 *  create (IPCTNL_MSG_CT_NEW + NLM_F_CREATE):
 *   - keeps tuples, CTA_ZONE, CTA_TIMEOUT (required by the kernel), CTA_MARK,
 *     labels (+mask), protoinfo, seq adj, helper, master tuple, synproxy,
 *     NAT attributes already present, and unknown (newer) attributes;
 *   - drops read-only ones: CTA_ID, CTA_USE, counters, timestamp, CTA_SECCTX,
 *     CTA_SECMARK, CTA_MARK_MASK, CTA_STATUS_MASK, CTA_FILTER;
 *   - status: bits in IPS_UNCHANGEABLE_MASK removed (the kernel refuses
 *     EXPECTED/DYING with EBUSY and ignores the rest), IPS_CONFIRMED set (the
 *     kernel marks a created entry confirmed before applying status);
 *   - NAT: when the entry is SNATed (IPS_SRC_NAT, or orig src != reply dst,
 *     or ports differ) CTA_NAT_SRC = reply dst address (+ reply dst port /
 *     ICMP id); when DNATed (IPS_DST_NAT, or orig dst != reply src, ...)
 *     CTA_NAT_DST = reply src address (+ reply src port), so the new kernel
 *     sets up the same NAT binding. The reply tuple is then sent as the plain
 *     inverse of the original one (like conntrackd, which sends no reply
 *     tuple and lets libnetfilter_conntrack invert the original): the kernel
 *     sets IPS_SRC_NAT/IPS_DST_NAT only when its NAT setup changes the reply;
 *   - TCP: flags are applied (mask = flags for WINDOW_SCALE, SACK_PERM,
 *     CLOSE_INIT, BE_LIBERAL); `beLiberal` adds IP_CT_TCP_FLAG_BE_LIBERAL
 *     like conntrackd without TCPWindowTracking.
 *  update (IPCTNL_MSG_CT_NEW without NLM_F_CREATE, entry exists): tuples,
 *   zone, status (as above, keeping IPS_EXPECTED as read), timeout, mark,
 *   protoinfo, seq adj, labels, synproxy, unknown; never NAT, helper or
 *   master (the kernel answers EOPNOTSUPP / EBUSY to those).
 *  delete: orig tuple (reply tuple if no orig) + zone.
 *
 * Malformed input: attributes up to the first framing error are used.
 */
import type { CtRecord, NatRange, ProtoInfo, Tuple } from '../types';
import { be32Attr, concatSlices, DEFAULT_LIMITS, NLA_HDRLEN, nlaAlign } from './attr';
import { CTA, CTA_EXPECT, CTA_MAX_KNOWN, IPPROTO, IPS, IPS_UNCHANGEABLE_MASK, TCP_FLAG } from './consts';
import { formatIP } from './ip';
import { decodeObject, encodeNested, type Obj } from './schema';
import { NAT, PROTOINFO, TUPLE } from './tables';
import { readTuple, scanAttrs, type RawTuple } from './tuple-raw';

export interface CreateOptions {
  /** Override CTA_TIMEOUT (seconds), like conntrackd's CommitTimeout. */
  timeout?: number;
  /** Force IP_CT_TCP_FLAG_BE_LIBERAL (conntrackd TCPWindowTracking off). */
  beLiberal?: boolean;
}

/** Flags the kernel may take from userspace on create/update (nf_conntrack_tcp.h). */
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

/** Whole attribute (header + padded payload) as [offset, size] for concatSlices. */
function whole(s: Slice): [number, number] {
  return [s.off - NLA_HDRLEN, nlaAlign(s.len + NLA_HDRLEN)];
}

function isNewerType(type: number, maxKnown: number): boolean {
  return type === 0 || type > maxKnown;
}

export function toCreateAttrs(rec: CtRecord, opts: CreateOptions = {}): Buffer {
  if (rec.kind === 'expect') return toExpectCreateAttrs(rec);
  return rewrite(rec, 'create', opts);
}

export function toUpdateAttrs(rec: CtRecord, opts: CreateOptions = {}): Buffer {
  return rewrite(rec, 'update', opts);
}

function rewrite(rec: CtRecord, mode: 'create' | 'update', opts: CreateOptions): Buffer {
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
      if (mode === 'create') continue; // written below, possibly un-NATed
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
    // With NAT, the reply tuple must be the plain inverse of the original: the
    // kernel's NAT setup rewrites it and only then sets IPS_SRC_NAT/DST_NAT.
    const inv = (nat.length > 0 || hasNat) && origSlice ? invertedReply(buf, origSlice, replySlice) : null;
    extra.unshift(inv ?? concatSlices(buf, [whole(replySlice)]));
  }
  return concatSlices(buf, keep, extra);
}

/** Re-encode CTA_PROTOINFO so the kernel applies the TCP flags; null = keep as is. */
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

/**
 * CTA_TUPLE_REPLY as the inverse of the original tuple (addresses and ports
 * swapped, ICMP id from the original, ICMP type/code and zone from the reply
 * as read), i.e. the reply before NAT; null when a tuple does not decode.
 */
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

/** CTA_NAT_SRC / CTA_NAT_DST derived from the tuples (libnetfilter_conntrack SETUP_SNAT/DNAT/SPAT/DPAT). */
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

/** Orig tuple (or reply when absent) + zone, for IPCTNL_MSG_CT_DELETE; expectation: tuple + zone. */
export function toDeleteAttrs(rec: CtRecord): Buffer {
  const slices = topSlices(rec.attrs);
  const isCt = rec.kind === 'ct';
  const tupleType = isCt ? CTA.TUPLE_ORIG : CTA_EXPECT.TUPLE;
  const zoneType = isCt ? CTA.ZONE : CTA_EXPECT.ZONE;
  let t = slices.find((s) => s.type === tupleType);
  if (!t && isCt) t = slices.find((s) => s.type === CTA.TUPLE_REPLY);
  const keep: Array<[number, number]> = [];
  if (t) keep.push(whole(t));
  const z = slices.find((s) => s.type === zoneType);
  if (z) keep.push(whole(z));
  return concatSlices(rec.attrs, keep);
}

const EXPECT_DROP = new Set<number>([CTA_EXPECT.ID]);

/** Expectation create: everything but CTA_EXPECT_ID (kernel-local). */
export function toExpectCreateAttrs(rec: CtRecord): Buffer {
  const keep = topSlices(rec.attrs)
    .filter((s) => !EXPECT_DROP.has(s.type))
    .map(whole);
  return concatSlices(rec.attrs, keep);
}


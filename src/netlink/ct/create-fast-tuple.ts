/**
 * Tuple work of the commit fast path (create-fast.ts), without closures or
 * per-call Buffers: reading a CTA_TUPLE_* nest into a reusable scan, the NAT
 * derivation (CTA_NAT_SRC / CTA_NAT_DST, libnetfilter_conntrack
 * SETUP_SNAT/DNAT/SPAT/DPAT) and the un-NATed reply tuple (inverse of the
 * original), each written straight into an output Buffer.
 *
 * Numbers: include/uapi/linux/netfilter/nfnetlink_conntrack.h (consts.ts).
 * nlattr headers are host order (little-endian here); every ctnetlink
 * payload integer is big-endian.
 *
 * scanTuple() reads exactly what tuple-raw.ts readTuple() reads (same
 * framing rules, last attribute wins); it also tells whether the tuple is
 * "simple" (each attribute once, known types of the right size, clean
 * framing), the only shape whose schema re-encode (tables.ts TUPLE) is
 * written here directly. Other shapes go through invertedReplyGeneric().
 */
import type { Tuple } from '../types';
import { DEFAULT_LIMITS, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, nlaAlign } from './attr';
import { be16, putBe16Attr, putHdr, putU8Attr, u16le } from './create-fast-bytes';
import { CTA, CTA_IP, CTA_NAT, CTA_PROTO, CTA_PROTONAT, CTA_TUPLE, IPPROTO, IPS } from './consts';
import { decodeObject, encodeNested, type Obj } from './schema';
import { TUPLE } from './tables';

/** One tuple as read; offsets point into the record's attribute bytes, -1 = absent. */
export interface TupleScan {
  /** readTuple() would return a tuple (framing ok, src, dst and proto present). */
  ok: boolean;
  /** Simple shape: the fast inversion applies. */
  simple: boolean;
  srcOff: number;
  dstOff: number;
  addrLen: number;
  proto: number;
  sport: number;
  dport: number;
  icmpId: number;
  icmpType: number;
  icmpCode: number;
  zone: number;
}

export function newTupleScan(): TupleScan {
  return { ok: false, simple: false, srcOff: -1, dstOff: -1, addrLen: 0, proto: -1, sport: -1, dport: -1, icmpId: -1, icmpType: -1, icmpCode: -1, zone: -1 };
}

function reset(t: TupleScan): void {
  t.ok = false;
  t.simple = true;
  t.srcOff = -1;
  t.dstOff = -1;
  t.addrLen = 0;
  t.proto = -1;
  t.sport = -1;
  t.dport = -1;
  t.icmpId = -1;
  t.icmpType = -1;
  t.icmpCode = -1;
  t.zone = -1;
}

/** A framing error: readTuple() gives null. */
function fail(t: TupleScan): void {
  t.ok = false;
  t.simple = false;
}

/** Read the tuple nest payload buf[start, end) into `t`. */
export function scanTuple(buf: Buffer, start: number, end: number, t: TupleScan): void {
  reset(t);
  const stop = Math.min(end, buf.length);
  let off = start;
  let seen = 0;
  while (off < stop) {
    const len = stop - off < NLA_HDRLEN ? 0 : u16le(buf, off);
    if (len < NLA_HDRLEN || off + len > stop) return fail(t);
    const type = u16le(buf, off + 2) & NLA_TYPE_MASK;
    const p = off + NLA_HDRLEN;
    const l = len - NLA_HDRLEN;
    if (type === CTA_TUPLE.IP) {
      if (!scanIp(buf, p, p + l, t)) return fail(t);
    } else if (type === CTA_TUPLE.PROTO) {
      if (!scanProto(buf, p, p + l, t)) return fail(t);
    } else if (type === CTA_TUPLE.ZONE) {
      if (l === 2) t.zone = be16(buf, p);
      else t.simple = false;
    } else t.simple = false;
    if (type < 32 && (seen >>> type) & 1) t.simple = false;
    if (type < 32) seen |= 1 << type;
    off += nlaAlign(len);
  }
  t.ok = t.srcOff >= 0 && t.dstOff >= 0 && t.proto >= 0;
  // Simple: one IP nest holding exactly the source and destination of one family.
  if (!t.ok || (seen & 0b110) !== 0b110) t.simple = false;
}

/** CTA_TUPLE_IP payload; false on a framing error. */
function scanIp(buf: Buffer, start: number, end: number, t: TupleScan): boolean {
  const stop = Math.min(end, buf.length);
  let off = start;
  let n = 0;
  let seen = 0;
  while (off < stop) {
    if (stop - off < NLA_HDRLEN) return false;
    const len = u16le(buf, off);
    if (len < NLA_HDRLEN || off + len > stop) return false;
    const type = u16le(buf, off + 2) & NLA_TYPE_MASK;
    const l = len - NLA_HDRLEN;
    const want = type === CTA_IP.V4_SRC || type === CTA_IP.V4_DST ? 4 : 16;
    n++;
    if (type >= CTA_IP.V4_SRC && type <= CTA_IP.V6_DST && l === want && (t.addrLen === 0 || t.addrLen === l)) {
      t.addrLen = l;
      if (type === CTA_IP.V4_SRC || type === CTA_IP.V6_SRC) t.srcOff = off + NLA_HDRLEN;
      else t.dstOff = off + NLA_HDRLEN;
      seen |= 1 << type;
    } else t.simple = false;
    off += nlaAlign(len);
  }
  if (n !== 2 || (seen !== 0b110 && seen !== 0b11000)) t.simple = false;
  return true;
}

/** Payload size of each CTA_PROTO_* attribute (index = type). */
const PROTO_SIZE = [0, 1, 2, 2, 2, 1, 1, 2, 1, 1];

/** CTA_TUPLE_PROTO payload; false on a framing error. */
function scanProto(buf: Buffer, start: number, end: number, t: TupleScan): boolean {
  const stop = Math.min(end, buf.length);
  let off = start;
  let seen = 0;
  while (off < stop) {
    if (stop - off < NLA_HDRLEN) return false;
    const len = u16le(buf, off);
    if (len < NLA_HDRLEN || off + len > stop) return false;
    const type = u16le(buf, off + 2) & NLA_TYPE_MASK;
    const p = off + NLA_HDRLEN;
    const l = len - NLA_HDRLEN;
    const size = type < PROTO_SIZE.length ? (PROTO_SIZE[type] ?? 0) : 0;
    if (size === 0 || l !== size || (seen >>> type) & 1) t.simple = false;
    if (size !== 0 && l === size) {
      seen |= 1 << type;
      switch (type) {
        case CTA_PROTO.NUM:
          t.proto = buf[p] as number;
          break;
        case CTA_PROTO.SRC_PORT:
          t.sport = be16(buf, p);
          break;
        case CTA_PROTO.DST_PORT:
          t.dport = be16(buf, p);
          break;
        case CTA_PROTO.ICMP_ID:
        case CTA_PROTO.ICMPV6_ID:
          t.icmpId = be16(buf, p);
          break;
        case CTA_PROTO.ICMP_TYPE:
        case CTA_PROTO.ICMPV6_TYPE:
          t.icmpType = buf[p] as number;
          break;
        default:
          t.icmpCode = buf[p] as number;
      }
    }
    off += nlaAlign(len);
  }
  // The ICMP and ICMPv6 variants share one field: both present is not simple.
  if ((seen & 0b10010000) === 0b10010000 || (seen & 0b100100000) === 0b100100000 || (seen & 0b1001000000) === 0b1001000000) t.simple = false;
  return true;
}

/** Size of the inverted reply (simple tuples only), header included. */
export function invertedSize(o: TupleScan, r: TupleScan): number {
  let proto = 4 + 8;
  if ((o.dport >= 0 ? o.dport : r.sport) >= 0) proto += 8;
  if ((o.sport >= 0 ? o.sport : r.dport) >= 0) proto += 8;
  if ((o.icmpId >= 0 ? o.icmpId : r.icmpId) >= 0) proto += 8;
  if (r.icmpType >= 0) proto += 8;
  if (r.icmpCode >= 0) proto += 8;
  const ip = 4 + 2 * nlaAlign(NLA_HDRLEN + o.addrLen);
  return 4 + ip + proto + (r.zone >= 0 ? 8 : 0);
}

/** Address attribute (4 or 16 bytes, network order, copied). */
function putAddr(out: Buffer, off: number, type: number, src: Buffer, at: number, len: number): number {
  putHdr(out, off, NLA_HDRLEN + len, type);
  for (let i = 0; i < len; i++) out[off + 4 + i] = src[at + i] as number;
  return off + 4 + len;
}

/**
 * CTA_TUPLE_REPLY as the inverse of the original (simple tuples): addresses
 * and ports swapped, ICMP id from the original, ICMP type/code and zone from
 * the reply; the bytes encodeNested(TUPLE_REPLY, inv, TUPLE) writes.
 */
export function writeInverted(buf: Buffer, o: TupleScan, r: TupleScan, out: Buffer, off: number): number {
  const start = off;
  const v6 = o.addrLen === 16;
  const ipStart = off + 4;
  let p = putAddr(out, ipStart + 4, v6 ? CTA_IP.V6_SRC : CTA_IP.V4_SRC, buf, o.dstOff, o.addrLen);
  p = putAddr(out, p, v6 ? CTA_IP.V6_DST : CTA_IP.V4_DST, buf, o.srcOff, o.addrLen);
  putHdr(out, ipStart, p - ipStart, CTA_TUPLE.IP | NLA_F_NESTED);
  const protoStart = p;
  p = putU8Attr(out, p + 4, CTA_PROTO.NUM, o.proto);
  const sport = o.dport >= 0 ? o.dport : r.sport;
  const dport = o.sport >= 0 ? o.sport : r.dport;
  const id = o.icmpId >= 0 ? o.icmpId : r.icmpId;
  const six = o.proto === IPPROTO.ICMPV6;
  if (sport >= 0) p = putBe16Attr(out, p, CTA_PROTO.SRC_PORT, sport);
  if (dport >= 0) p = putBe16Attr(out, p, CTA_PROTO.DST_PORT, dport);
  if (id >= 0) p = putBe16Attr(out, p, six ? CTA_PROTO.ICMPV6_ID : CTA_PROTO.ICMP_ID, id);
  if (r.icmpType >= 0) p = putU8Attr(out, p, six ? CTA_PROTO.ICMPV6_TYPE : CTA_PROTO.ICMP_TYPE, r.icmpType);
  if (r.icmpCode >= 0) p = putU8Attr(out, p, six ? CTA_PROTO.ICMPV6_CODE : CTA_PROTO.ICMP_CODE, r.icmpCode);
  putHdr(out, protoStart, p - protoStart, CTA_TUPLE.PROTO | NLA_F_NESTED);
  if (r.zone >= 0) p = putBe16Attr(out, p, CTA_TUPLE.ZONE, r.zone);
  putHdr(out, start, p - start, CTA.TUPLE_REPLY | NLA_F_NESTED);
  return p;
}

/** The inverse reply through the schema codec, for tuples that are not simple; null when one does not decode. */
export function invertedReplyGeneric(buf: Buffer, oAt: number, oLen: number, rAt: number, rLen: number): Buffer | null {
  const o = decodeObject(buf, oAt, oAt + oLen, TUPLE, 2, DEFAULT_LIMITS);
  const r = decodeObject(buf, rAt, rAt + rLen, TUPLE, 2, DEFAULT_LIMITS);
  if (!o.ok || !r.ok) return null;
  const ot = o.value as unknown as Tuple;
  const rt = r.value as unknown as Tuple;
  const inv: Tuple = { ...rt, src: ot.dst, dst: ot.src, proto: ot.proto };
  if (ot.dport !== undefined) inv.sport = ot.dport;
  if (ot.sport !== undefined) inv.dport = ot.sport;
  if (ot.icmpId !== undefined) inv.icmpId = ot.icmpId;
  return encodeNested(CTA.TUPLE_REPLY, inv as unknown as Obj, TUPLE);
}

/** NAT derivation result: address offsets into the record, port or -1; addrOff -1 = no such NAT. */
export interface NatPlan {
  srcAddr: number;
  srcPort: number;
  dstAddr: number;
  dstPort: number;
  addrLen: number;
}

export function newNatPlan(): NatPlan {
  return { srcAddr: -1, srcPort: -1, dstAddr: -1, dstPort: -1, addrLen: 0 };
}

function sameBytes(buf: Buffer, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

function hasPorts(proto: number): boolean {
  return proto === IPPROTO.TCP || proto === IPPROTO.UDP || proto === IPPROTO.UDPLITE || proto === IPPROTO.SCTP || proto === IPPROTO.DCCP;
}

/**
 * SNAT when IPS_SRC_NAT, or orig src != reply dst, or ports / ICMP ids
 * differ: to reply dst (+ reply dst port / ICMP id). DNAT when IPS_DST_NAT,
 * or orig dst != reply src, or ports differ: to reply src (+ reply src port).
 */
export function deriveNat(buf: Buffer, o: TupleScan, r: TupleScan, status: number, n: NatPlan): void {
  n.srcAddr = -1;
  n.dstAddr = -1;
  n.srcPort = -1;
  n.dstPort = -1;
  n.addrLen = o.addrLen;
  if (o.addrLen !== r.addrLen) return;
  const len = o.addrLen;
  const ports = hasPorts(o.proto) && o.sport >= 0 && o.dport >= 0 && r.sport >= 0 && r.dport >= 0;
  const icmp = o.proto === IPPROTO.ICMP || o.proto === IPPROTO.ICMPV6;
  const snat =
    (status & IPS.SRC_NAT) !== 0 ||
    !sameBytes(buf, o.srcOff, r.dstOff, len) ||
    (ports && o.sport !== r.dport) ||
    (icmp && o.icmpId >= 0 && r.icmpId >= 0 && o.icmpId !== r.icmpId);
  const dnat = (status & IPS.DST_NAT) !== 0 || !sameBytes(buf, o.dstOff, r.srcOff, len) || (ports && o.dport !== r.sport);
  if (snat) {
    n.srcAddr = r.dstOff;
    n.srcPort = ports ? r.dport : icmp ? r.icmpId : -1;
  }
  if (dnat) {
    n.dstAddr = r.srcOff;
    n.dstPort = ports ? r.sport : -1;
  }
}

/** Size of one CTA_NAT_* nest: min/max address, CTA_NAT_PROTO when a port is set. */
export function natSize(addrLen: number, port: number): number {
  return 4 + 2 * nlaAlign(NLA_HDRLEN + addrLen) + (port >= 0 ? 20 : 0);
}

/** CTA_NAT_SRC / CTA_NAT_DST {MINIP, MAXIP, [PROTO {PORT_MIN, PORT_MAX}]}, as the NAT schema encodes it. */
export function writeNat(type: number, buf: Buffer, addr: number, len: number, port: number, out: Buffer, off: number): number {
  const v6 = len === 16;
  let p = putAddr(out, off + 4, v6 ? CTA_NAT.V6_MINIP : CTA_NAT.V4_MINIP, buf, addr, len);
  p = putAddr(out, p, v6 ? CTA_NAT.V6_MAXIP : CTA_NAT.V4_MAXIP, buf, addr, len);
  if (port >= 0) {
    putHdr(out, p, 20, CTA_NAT.PROTO | NLA_F_NESTED);
    putBe16Attr(out, p + 4, CTA_PROTONAT.PORT_MIN, port);
    putBe16Attr(out, p + 12, CTA_PROTONAT.PORT_MAX, port);
    p += 20;
  }
  putHdr(out, off, p - off, type | NLA_F_NESTED);
  return p;
}

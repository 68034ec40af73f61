/**
 * Fast, allocation-light reading of a tuple nest straight from the bytes
 * (no schema decode). Used by key.ts, peek.ts and create.ts.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK, nlaAlign } from './attr';
import { CTA_IP, CTA_PROTO, CTA_TUPLE } from './consts';

/** Offsets point into the buffer the tuple was read from. -1 / undefined = absent. */
export interface RawTuple {
  /** Offset and length (4 or 16) of the source / destination address. */
  srcOff: number;
  dstOff: number;
  addrLen: number;
  proto: number;
  sport?: number;
  dport?: number;
  icmpId?: number;
  icmpType?: number;
  icmpCode?: number;
  zone?: number;
}

/** nlattr header field (host order: little-endian); the caller checked the bounds. */
function le16(b: Buffer, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

/**
 * Walk the attributes in buf[start, end) without closures. Calls `fn` for
 * each; returns false on any framing error. Each step advances >= 4 bytes.
 */
export function scanAttrs(buf: Buffer, start: number, end: number, fn: (type: number, off: number, len: number) => void): boolean {
  let off = start;
  const stop = Math.min(end, buf.length);
  while (off < stop) {
    if (stop - off < NLA_HDRLEN) return false;
    const len = le16(buf, off);
    if (len < NLA_HDRLEN || off + len > stop) return false;
    fn(le16(buf, off + 2) & NLA_TYPE_MASK, off + NLA_HDRLEN, len - NLA_HDRLEN);
    off += nlaAlign(len);
  }
  return true;
}

/** Read a tuple nest (CTA_TUPLE_* payload). Null when malformed or incomplete. */
export function readTuple(buf: Buffer, start: number, end: number): RawTuple | null {
  const t = emptyRawTuple();
  return readTupleInto(buf, start, end, t) ? t : null;
}

/** A RawTuple with every field present (absent = -1 / undefined), for reuse with readTupleInto. */
export function emptyRawTuple(): RawTuple {
  return { srcOff: -1, dstOff: -1, addrLen: 0, proto: -1, sport: undefined, dport: undefined, icmpId: undefined, icmpType: undefined, icmpCode: undefined, zone: undefined };
}

/**
 * readTuple into `t` (every field reset first): no allocation. False when
 * malformed or incomplete (`t` then holds what was read so far).
 */
export function readTupleInto(buf: Buffer, start: number, end: number, t: RawTuple): boolean {
  // Plain loops (no callbacks): this runs for every event through the filter.
  t.srcOff = -1;
  t.dstOff = -1;
  t.addrLen = 0;
  t.proto = -1;
  t.sport = t.dport = t.icmpId = t.icmpType = t.icmpCode = t.zone = undefined;
  const stop = Math.min(end, buf.length);
  let off = start;
  while (off < stop) {
    if (stop - off < NLA_HDRLEN) return false;
    const len = le16(buf, off);
    if (len < NLA_HDRLEN || off + len > stop) return false;
    const type = le16(buf, off + 2) & NLA_TYPE_MASK;
    const p = off + NLA_HDRLEN;
    const plen = len - NLA_HDRLEN;
    if (type === CTA_TUPLE.IP || type === CTA_TUPLE.PROTO) {
      const inEnd = p + plen;
      let o = p;
      while (o < inEnd) {
        if (inEnd - o < NLA_HDRLEN) return false;
        const l = le16(buf, o);
        if (l < NLA_HDRLEN || o + l > inEnd) return false;
        const it = le16(buf, o + 2) & NLA_TYPE_MASK;
        if (type === CTA_TUPLE.IP) readIp(t, it, o + NLA_HDRLEN, l - NLA_HDRLEN);
        else readProto(buf, t, it, o + NLA_HDRLEN, l - NLA_HDRLEN);
        o += nlaAlign(l);
      }
    } else if (type === CTA_TUPLE.ZONE && plen === 2) {
      t.zone = buf.readUInt16BE(p);
    }
    off += nlaAlign(len);
  }
  return t.srcOff >= 0 && t.dstOff >= 0 && t.proto >= 0;
}

function readIp(t: RawTuple, type: number, off: number, len: number): void {
  const want = type === CTA_IP.V4_SRC || type === CTA_IP.V4_DST ? 4 : 16;
  if (type < CTA_IP.V4_SRC || type > CTA_IP.V6_DST || len !== want) return;
  if (t.addrLen !== 0 && t.addrLen !== len) return;
  t.addrLen = len;
  if (type === CTA_IP.V4_SRC || type === CTA_IP.V6_SRC) t.srcOff = off;
  else t.dstOff = off;
}

function readProto(buf: Buffer, t: RawTuple, type: number, off: number, len: number): void {
  switch (type) {
    case CTA_PROTO.NUM:
      if (len === 1) t.proto = buf.readUInt8(off);
      break;
    case CTA_PROTO.SRC_PORT:
      if (len === 2) t.sport = buf.readUInt16BE(off);
      break;
    case CTA_PROTO.DST_PORT:
      if (len === 2) t.dport = buf.readUInt16BE(off);
      break;
    case CTA_PROTO.ICMP_ID:
    case CTA_PROTO.ICMPV6_ID:
      if (len === 2) t.icmpId = buf.readUInt16BE(off);
      break;
    case CTA_PROTO.ICMP_TYPE:
    case CTA_PROTO.ICMPV6_TYPE:
      if (len === 1) t.icmpType = buf.readUInt8(off);
      break;
    case CTA_PROTO.ICMP_CODE:
    case CTA_PROTO.ICMPV6_CODE:
      if (len === 1) t.icmpCode = buf.readUInt8(off);
      break;
  }
}

/** Same addresses (byte comparison, same length). */
export function sameAddr(buf: Buffer, a: number, b: number, len: number): boolean {
  return buf.compare(buf, a, a + len, b, b + len) === 0;
}

/**
 * tupleKey: the canonical identity of an entry, as a compact latin1 string
 * (one char per byte) used as a Map key. Walks the attributes to the tuple
 * with plain loops (no decode, no closures, no Buffer allocation): this runs
 * for every event. Independent of attribute order, flag bits and extra
 * attributes.
 *
 * Layout (bytes): kind ('c' | 'e'), family, proto, src addr (4|16), dst addr,
 * then for ICMP/ICMPv6 id (be16), type, code, for any other protocol
 * sport, dport (be16 each, 0 when absent; GRE keys live there too);
 * then zone (be16): CTA_ZONE / CTA_EXPECT_ZONE if present, else the tuple's
 * CTA_TUPLE_ZONE, else 0.
 */
import type { CtRecord } from '../types';
import { CTA, CTA_EXPECT, CTA_IP, CTA_PROTO, CTA_TUPLE, IPPROTO } from './consts';

const TYPE_MASK = 0x3fff;

/** nla_len (host order, little-endian) at o. */
function len16(b: Buffer, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

function type16(b: Buffer, o: number): number {
  return ((b[o + 2] as number) | ((b[o + 3] as number) << 8)) & TYPE_MASK;
}

function be16(b: Buffer, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function chars(b: Buffer, o: number, n: number): string {
  if (n === 4) return String.fromCharCode(b[o] as number, b[o + 1] as number, b[o + 2] as number, b[o + 3] as number);
  return b.toString('latin1', o, o + n);
}

export function tupleKey(rec: CtRecord): string | null {
  const b = rec.attrs;
  const isCt = rec.kind === 'ct';
  const tupleType = isCt ? CTA.TUPLE_ORIG : CTA_EXPECT.TUPLE;
  const zoneType = isCt ? CTA.ZONE : CTA_EXPECT.ZONE;
  const end = b.length;
  let tOff = -1;
  let tEnd = 0;
  let zone = -1;
  let off = 0;
  while (off < end) {
    if (end - off < 4) return null;
    const len = len16(b, off);
    if (len < 4 || off + len > end) return null;
    const t = type16(b, off);
    if (t === tupleType) {
      tOff = off + 4;
      tEnd = off + len;
    } else if (t === zoneType && len === 6) {
      zone = be16(b, off + 4);
    }
    off += (len + 3) & ~3;
  }
  if (tOff < 0) return null;

  let src = -1;
  let dst = -1;
  let srcLen = 0;
  let dstLen = 0;
  let proto = -1;
  let sport = 0;
  let dport = 0;
  let icmpId = 0;
  let icmpType = 0;
  let icmpCode = 0;
  let tzone = 0;
  off = tOff;
  while (off < tEnd) {
    if (tEnd - off < 4) return null;
    const len = len16(b, off);
    if (len < 4 || off + len > tEnd) return null;
    const t = type16(b, off);
    const inEnd = off + len;
    if (t === CTA_TUPLE.IP || t === CTA_TUPLE.PROTO) {
      let o = off + 4;
      while (o < inEnd) {
        if (inEnd - o < 4) return null;
        const l = len16(b, o);
        if (l < 4 || o + l > inEnd) return null;
        const it = type16(b, o);
        const d = o + 4;
        const dl = l - 4;
        if (t === CTA_TUPLE.IP) {
          const want = it === CTA_IP.V4_SRC || it === CTA_IP.V4_DST ? 4 : 16;
          if (it >= CTA_IP.V4_SRC && it <= CTA_IP.V6_DST && dl === want) {
            if (it === CTA_IP.V4_SRC || it === CTA_IP.V6_SRC) {
              src = d;
              srcLen = dl;
            } else {
              dst = d;
              dstLen = dl;
            }
          }
        } else if (it === CTA_PROTO.NUM && dl === 1) proto = b[d] as number;
        else if (dl === 2 && it === CTA_PROTO.SRC_PORT) sport = be16(b, d);
        else if (dl === 2 && it === CTA_PROTO.DST_PORT) dport = be16(b, d);
        else if (dl === 2 && (it === CTA_PROTO.ICMP_ID || it === CTA_PROTO.ICMPV6_ID)) icmpId = be16(b, d);
        else if (dl === 1 && (it === CTA_PROTO.ICMP_TYPE || it === CTA_PROTO.ICMPV6_TYPE)) icmpType = b[d] as number;
        else if (dl === 1 && (it === CTA_PROTO.ICMP_CODE || it === CTA_PROTO.ICMPV6_CODE)) icmpCode = b[d] as number;
        o += (l + 3) & ~3;
      }
    } else if (t === CTA_TUPLE.ZONE && len === 6) {
      tzone = be16(b, off + 4);
    }
    off += (len + 3) & ~3;
  }
  if (src < 0 || dst < 0 || proto < 0) return null;
  // a tuple mixing v4 and v6 addresses is malformed
  if (srcLen !== dstLen) return null;
  if (zone < 0) zone = tzone;
  const icmp = proto === IPPROTO.ICMP || proto === IPPROTO.ICMPV6;
  if (srcLen === 4) {
    // One call builds a flat string: a concatenation would make a cons string
    // that every Map lookup first flattens (an allocation per lookup).
    const p = icmp ? icmpId : sport;
    const q = icmp ? (icmpType << 8) | icmpCode : dport;
    return String.fromCharCode(
      isCt ? 0x63 : 0x65,
      rec.family,
      proto,
      b[src] as number,
      b[src + 1] as number,
      b[src + 2] as number,
      b[src + 3] as number,
      b[dst] as number,
      b[dst + 1] as number,
      b[dst + 2] as number,
      b[dst + 3] as number,
      p >> 8,
      p & 0xff,
      q >> 8,
      q & 0xff,
      zone >> 8,
      zone & 0xff,
    );
  }
  const tail = icmp
    ? String.fromCharCode(icmpId >> 8, icmpId & 0xff, icmpType, icmpCode, zone >> 8, zone & 0xff)
    : String.fromCharCode(sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, zone >> 8, zone & 0xff);
  return (isCt ? 'c' : 'e') + String.fromCharCode(rec.family, proto) + chars(b, src, srcLen) + chars(b, dst, dstLen) + tail;
}

/**
 * tupleKey: the canonical identity of an entry, as a compact latin1 string
 * (one char per byte) used as a Map key. Walks the attributes to the tuple
 * without a full decode. Independent of attribute order, flag bits and extra
 * attributes.
 *
 * Layout (bytes): kind ('c' | 'e'), family, proto, src addr (4|16), dst addr,
 * then for ICMP/ICMPv6 id (be16), type, code, for any other protocol
 * sport, dport (be16 each, 0 when absent; GRE keys live there too); then zone (be16): CTA_ZONE / CTA_EXPECT_ZONE if present,
 * else the tuple's CTA_TUPLE_ZONE, else 0.
 */
import type { CtRecord } from '../types';
import { CTA, CTA_EXPECT, IPPROTO } from './consts';
import { readTuple, scanAttrs } from './tuple-raw';

export function tupleKey(rec: CtRecord): string | null {
  const buf = rec.attrs;
  const isCt = rec.kind === 'ct';
  const tupleType = isCt ? CTA.TUPLE_ORIG : CTA_EXPECT.TUPLE;
  const zoneType = isCt ? CTA.ZONE : CTA_EXPECT.ZONE;
  let tOff = -1;
  let tLen = 0;
  let zone = -1;
  const ok = scanAttrs(buf, 0, buf.length, (type, off, len) => {
    if (type === tupleType) {
      tOff = off;
      tLen = len;
    } else if (type === zoneType && len === 2) {
      zone = buf.readUInt16BE(off);
    }
  });
  if (!ok || tOff < 0) return null;
  const t = readTuple(buf, tOff, tOff + tLen);
  if (!t) return null;
  if (zone < 0) zone = t.zone ?? 0;
  const n = 3 + 2 * t.addrLen + 6;
  const k = Buffer.allocUnsafe(n);
  k[0] = isCt ? 0x63 : 0x65;
  k[1] = rec.family;
  k[2] = t.proto;
  buf.copy(k, 3, t.srcOff, t.srcOff + t.addrLen);
  buf.copy(k, 3 + t.addrLen, t.dstOff, t.dstOff + t.addrLen);
  let p = 3 + 2 * t.addrLen;
  if (t.proto === IPPROTO.ICMP || t.proto === IPPROTO.ICMPV6) {
    k.writeUInt16BE(t.icmpId ?? 0, p);
    k[p + 2] = t.icmpType ?? 0;
    k[p + 3] = t.icmpCode ?? 0;
  } else {
    k.writeUInt16BE(t.sport ?? 0, p);
    k.writeUInt16BE(t.dport ?? 0, p + 2);
  }
  p += 4;
  k.writeUInt16BE(zone, p);
  return k.toString('latin1');
}

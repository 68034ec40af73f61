/**
 * peekFlow: a fast summary of a conntrack record for filters and stats,
 * read straight from the attribute bytes (no full decode).
 */
import type { CtRecord, Family } from '../types';
import { CTA, CTA_PROTOINFO, CTA_PROTOINFO_TCP } from './consts';
import { formatIP } from './ip';
import { readTuple, scanAttrs } from './tuple-raw';

export interface FlowSummary {
  family: Family;
  proto: number;
  /** Original direction addresses (text). */
  src: string;
  dst: string;
  /** Reply direction addresses (text); equal to dst/src when no reply tuple. */
  replySrc: string;
  replyDst: string;
  sport?: number;
  dport?: number;
  tcpState?: number;
  status?: number;
  mark?: number;
  zone?: number;
}

/** Null for expectations and malformed records (no usable orig tuple). */
export function peekFlow(rec: CtRecord): FlowSummary | null {
  if (rec.kind !== 'ct') return null;
  const buf = rec.attrs;
  let origOff = -1;
  let origLen = 0;
  let replyOff = -1;
  let replyLen = 0;
  let status: number | undefined;
  let mark: number | undefined;
  let zone: number | undefined;
  let tcpState: number | undefined;
  const ok = scanAttrs(buf, 0, buf.length, (type, off, len) => {
    switch (type) {
      case CTA.TUPLE_ORIG:
        origOff = off;
        origLen = len;
        break;
      case CTA.TUPLE_REPLY:
        replyOff = off;
        replyLen = len;
        break;
      case CTA.STATUS:
        if (len === 4) status = buf.readUInt32BE(off);
        break;
      case CTA.MARK:
        if (len === 4) mark = buf.readUInt32BE(off);
        break;
      case CTA.ZONE:
        if (len === 2) zone = buf.readUInt16BE(off);
        break;
      case CTA.PROTOINFO:
        tcpState = readTcpState(buf, off, len);
        break;
    }
  });
  if (!ok || origOff < 0) return null;
  const o = readTuple(buf, origOff, origOff + origLen);
  if (!o) return null;
  const r = replyOff >= 0 ? readTuple(buf, replyOff, replyOff + replyLen) : null;
  const src = formatIP(buf, o.srcOff, o.addrLen);
  const dst = formatIP(buf, o.dstOff, o.addrLen);
  const s: FlowSummary = {
    family: rec.family,
    proto: o.proto,
    src,
    dst,
    replySrc: r ? formatIP(buf, r.srcOff, r.addrLen) : dst,
    replyDst: r ? formatIP(buf, r.dstOff, r.addrLen) : src,
  };
  if (o.sport !== undefined) s.sport = o.sport;
  if (o.dport !== undefined) s.dport = o.dport;
  if (tcpState !== undefined) s.tcpState = tcpState;
  if (status !== undefined) s.status = status;
  if (mark !== undefined) s.mark = mark;
  if (zone !== undefined) s.zone = zone;
  else if (o.zone !== undefined) s.zone = o.zone;
  return s;
}

function readTcpState(buf: Buffer, off: number, len: number): number | undefined {
  let state: number | undefined;
  scanAttrs(buf, off, off + len, (type, o, l) => {
    if (type !== CTA_PROTOINFO.TCP) return;
    scanAttrs(buf, o, o + l, (tt, to, tl) => {
      if (tt === CTA_PROTOINFO_TCP.STATE && tl === 1) state = buf.readUInt8(to);
    });
  });
  return state;
}

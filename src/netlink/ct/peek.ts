/**
 * peekFlow: a fast summary of a conntrack record for filters and stats,
 * read straight from the attribute bytes (no full decode).
 */
import type { CtRecord, Family } from '../types';
import { CTA, CTA_PROTOINFO, CTA_PROTOINFO_TCP } from './consts';
import { formatIP } from './ip';
import { readTuple, scanAttrs, type RawTuple } from './tuple-raw';

/** Where the addresses are in the record's bytes, for matching them without text (src/cache/filter.ts). */
export interface RawAddresses {
  buf: Buffer;
  /** Original source. */
  src: number;
  srcLen: number;
  /** Reply source (the "real" destination after DNAT), or the original destination without a reply tuple. */
  realDst: number;
  realDstLen: number;
}

export interface FlowSummary {
  family: Family;
  proto: number;
  raw?: RawAddresses;
  /** Original direction addresses (text, formatted when first read). */
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
  // A plain loop over the top-level attributes (no callback per attribute).
  let ok = true;
  let p = 0;
  const end = buf.length;
  while (p < end) {
    if (end - p < 4) {
      ok = false;
      break;
    }
    const alen = (buf[p] as number) | ((buf[p + 1] as number) << 8);
    if (alen < 4 || p + alen > end) {
      ok = false;
      break;
    }
    const type = ((buf[p + 2] as number) | ((buf[p + 3] as number) << 8)) & 0x3fff;
    const off = p + 4;
    const len = alen - 4;
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
    p += (alen + 3) & ~3;
  }
  if (!ok || origOff < 0) return null;
  const o = readTuple(buf, origOff, origOff + origLen);
  if (!o) return null;
  const r = replyOff >= 0 ? readTuple(buf, replyOff, replyOff + replyLen) : null;
  const s: FlowSummary = new PeekedFlow(rec.family, o.proto, buf, o, r);
  if (o.sport !== undefined) s.sport = o.sport;
  if (o.dport !== undefined) s.dport = o.dport;
  if (tcpState !== undefined) s.tcpState = tcpState;
  if (status !== undefined) s.status = status;
  if (mark !== undefined) s.mark = mark;
  if (zone !== undefined) s.zone = zone;
  else if (o.zone !== undefined) s.zone = o.zone;
  return s;
}

/** A summary whose address texts are formatted only when read (filters use `raw`). */
class PeekedFlow implements FlowSummary {
  readonly raw: RawAddresses;
  sport?: number;
  dport?: number;
  tcpState?: number;
  status?: number;
  mark?: number;
  zone?: number;

  constructor(
    readonly family: Family,
    readonly proto: number,
    private readonly buf: Buffer,
    private readonly o: RawTuple,
    private readonly r: RawTuple | null,
  ) {
    this.raw = r
      ? { buf, src: o.srcOff, srcLen: o.addrLen, realDst: r.srcOff, realDstLen: r.addrLen }
      : { buf, src: o.srcOff, srcLen: o.addrLen, realDst: o.dstOff, realDstLen: o.addrLen };
  }

  get src(): string {
    return formatIP(this.buf, this.o.srcOff, this.o.addrLen);
  }

  get dst(): string {
    return formatIP(this.buf, this.o.dstOff, this.o.addrLen);
  }

  get replySrc(): string {
    return this.r ? formatIP(this.buf, this.r.srcOff, this.r.addrLen) : this.dst;
  }

  get replyDst(): string {
    return this.r ? formatIP(this.buf, this.r.dstOff, this.r.addrLen) : this.src;
  }

  /** Plain object with the texts (for logs, JSON and deep equality in tests). */
  toJSON(): Omit<FlowSummary, 'raw'> {
    const out: Omit<FlowSummary, 'raw'> = { family: this.family, proto: this.proto, src: this.src, dst: this.dst, replySrc: this.replySrc, replyDst: this.replyDst };
    if (this.sport !== undefined) out.sport = this.sport;
    if (this.dport !== undefined) out.dport = this.dport;
    if (this.tcpState !== undefined) out.tcpState = this.tcpState;
    if (this.status !== undefined) out.status = this.status;
    if (this.mark !== undefined) out.mark = this.mark;
    if (this.zone !== undefined) out.zone = this.zone;
    return out;
  }
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

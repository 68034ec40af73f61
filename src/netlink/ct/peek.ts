/**
 * peekFlow: a fast summary of a conntrack record for filters and stats,
 * read straight from the attribute bytes (no full decode).
 */
import type { CtRecord, Family } from '../types';
import { CTA, CTA_PROTOINFO, CTA_PROTOINFO_TCP } from './consts';
import { formatIP } from './ip';
import { emptyRawTuple, readTupleInto, type RawTuple } from './tuple-raw';

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

/**
 * Null for expectations and malformed records (no usable orig tuple). The
 * summary is the caller's to keep; a hot path that only looks at it should
 * use createFlowPeeker (no allocation per record).
 */
export function peekFlow(rec: CtRecord): FlowSummary | null {
  const f = new PeekedFlow();
  return f.read(rec) ? f : null;
}

/**
 * peekFlow for hot paths (the mirror's filter runs it on every event): the
 * returned summary is one object reused by every call, valid until the next
 * call on this peeker. Keep nothing from it.
 */
export function createFlowPeeker(): (rec: CtRecord) => FlowSummary | null {
  const flow = new PeekedFlow();
  return (rec) => (flow.read(rec) ? flow : null);
}

/** A summary whose address texts are formatted only when read (filters use `raw`). Reusable: read() resets it. */
class PeekedFlow implements FlowSummary {
  family: Family = 2;
  proto = -1;
  readonly raw: RawAddresses = { buf: EMPTY, src: 0, srcLen: 0, realDst: 0, realDstLen: 0 };
  sport: number | undefined = undefined;
  dport: number | undefined = undefined;
  tcpState: number | undefined = undefined;
  status: number | undefined = undefined;
  mark: number | undefined = undefined;
  zone: number | undefined = undefined;
  private buf: Buffer = EMPTY;
  private readonly o: RawTuple = emptyRawTuple();
  private readonly r: RawTuple = emptyRawTuple();
  private hasReply = false;

  /** Read `rec` into this summary; false for expectations and malformed records. */
  read(rec: CtRecord): boolean {
    if (rec.kind !== 'ct') return false;
    const buf = rec.attrs;
    let origOff = -1;
    let origLen = 0;
    let replyOff = -1;
    let replyLen = 0;
    this.status = this.mark = this.zone = this.tcpState = undefined;
    // A plain loop over the top-level attributes (no callback per attribute).
    let p = 0;
    const end = buf.length;
    while (p < end) {
      if (end - p < 4) return false;
      const alen = (buf[p] as number) | ((buf[p + 1] as number) << 8);
      if (alen < 4 || p + alen > end) return false;
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
          if (len === 4) this.status = buf.readUInt32BE(off);
          break;
        case CTA.MARK:
          if (len === 4) this.mark = buf.readUInt32BE(off);
          break;
        case CTA.ZONE:
          if (len === 2) this.zone = buf.readUInt16BE(off);
          break;
        case CTA.PROTOINFO:
          this.tcpState = readTcpState(buf, off, len);
          break;
      }
      p += (alen + 3) & ~3;
    }
    const o = this.o;
    const r = this.r;
    if (origOff < 0 || !readTupleInto(buf, origOff, origOff + origLen, o)) return false;
    this.hasReply = replyOff >= 0 && readTupleInto(buf, replyOff, replyOff + replyLen, r);
    this.buf = buf;
    this.family = rec.family;
    this.proto = o.proto;
    this.sport = o.sport;
    this.dport = o.dport;
    if (this.zone === undefined) this.zone = o.zone;
    const raw = this.raw;
    raw.buf = buf;
    raw.src = o.srcOff;
    raw.srcLen = o.addrLen;
    raw.realDst = this.hasReply ? r.srcOff : o.dstOff;
    raw.realDstLen = this.hasReply ? r.addrLen : o.addrLen;
    return true;
  }

  get src(): string {
    return formatIP(this.buf, this.o.srcOff, this.o.addrLen);
  }

  get dst(): string {
    return formatIP(this.buf, this.o.dstOff, this.o.addrLen);
  }

  get replySrc(): string {
    return this.hasReply ? formatIP(this.buf, this.r.srcOff, this.r.addrLen) : this.dst;
  }

  get replyDst(): string {
    return this.hasReply ? formatIP(this.buf, this.r.dstOff, this.r.addrLen) : this.src;
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

const EMPTY = Buffer.alloc(0);

/** CTA_PROTOINFO -> CTA_PROTOINFO_TCP -> CTA_PROTOINFO_TCP_STATE (the last one wins), in plain loops. */
function readTcpState(buf: Buffer, off: number, len: number): number | undefined {
  let state: number | undefined;
  const stop = Math.min(off + len, buf.length);
  for (let p = off; p + 4 <= stop; ) {
    const alen = (buf[p] as number) | ((buf[p + 1] as number) << 8);
    if (alen < 4 || p + alen > stop) break;
    if ((((buf[p + 2] as number) | ((buf[p + 3] as number) << 8)) & 0x3fff) === CTA_PROTOINFO.TCP) {
      const end = p + alen;
      for (let q = p + 4; q + 4 <= end; ) {
        const l = (buf[q] as number) | ((buf[q + 1] as number) << 8);
        if (l < 4 || q + l > end) break;
        if ((((buf[q + 2] as number) | ((buf[q + 3] as number) << 8)) & 0x3fff) === CTA_PROTOINFO_TCP.STATE && l === 5) state = buf[q + 4] as number;
        q += (l + 3) & ~3;
      }
    }
    p += (alen + 3) & ~3;
  }
  return state;
}

/**
 * The create / update attribute rewrite (semantics: create.ts) in two
 * passes over the record's top-level attributes, with no per-attribute
 * Buffers:
 *
 *  measure(): one walk that reads the tuples (for NAT), the status, and
 *    classifies each CTA_PROTOINFO; returns the exact output size;
 *  write():   a second walk that copies the kept attributes verbatim (runs of
 *    adjacent ones in one copy) into the caller's Buffer, then appends what
 *    changed: reply tuple, status, protoinfo, timeout, NAT.
 *
 * The caller chooses the output: one exact-size Buffer per entry
 * (toCreateAttrs), or straight into a batch datagram (ct-batch.ts). A writer
 * holds its scratch state (it is not shared): measure() then write() for one
 * record at a time. Output bytes are the same as the schema-codec version
 * (kept in test/unit/netlink/ct/create-fast.test.ts as the reference).
 *
 * Output order: kept attributes in input order, then [create] the reply
 * tuple, CTA_STATUS, rewritten CTA_PROTOINFOs, CTA_TIMEOUT (override),
 * [create] CTA_NAT_SRC, CTA_NAT_DST.
 */
import type { CtRecord } from '../types';
import { NLA_HDRLEN, NLA_TYPE_MASK, nlaAlign } from './attr';
import { be32, createCopier, putBe32Attr, u16le } from './create-fast-bytes';
import { CTA, CTA_MAX_KNOWN, IPS, IPS_UNCHANGEABLE_MASK } from './consts';
import {
  classifyProtoinfo,
  PROTO_GENERIC,
  PROTO_KEEP,
  rewriteProtoinfoGeneric,
  writeFastProtoinfo,
} from './create-fast-proto';
import {
  deriveNat,
  invertedReplyGeneric,
  invertedSize,
  natSize,
  newNatPlan,
  newTupleScan,
  scanTuple,
  writeInverted,
  writeNat,
} from './create-fast-tuple';

export interface CreateOptions {
  /** Override CTA_TIMEOUT (seconds), like conntrackd's CommitTimeout. */
  timeout?: number;
  /** Force IP_CT_TCP_FLAG_BE_LIBERAL (conntrackd TCPWindowTracking off). */
  beLiberal?: boolean;
}

export type RewriteMode = 'create' | 'update';

/** Measures then writes one record at a time; holds reusable scratch state. */
export interface AttrWriter {
  /** Exact size of the rewritten attributes of `rec`; prepares write(). */
  measure(rec: CtRecord): number;
  /** Write the attributes measured last into `out` at `off`; returns the end offset. */
  write(rec: CtRecord, out: Buffer, off: number): number;
  /** measure + write into a new exact-size Buffer. */
  toBuffer(rec: CtRecord): Buffer;
}

const bit = (t: number): number => 2 ** t;
/** Read-only on create (nf_conntrack_netlink.c ctnetlink_create_conntrack takes none of them). */
const CREATE_DROP =
  bit(CTA.ID) + bit(CTA.USE) + bit(CTA.COUNTERS_ORIG) + bit(CTA.COUNTERS_REPLY) + bit(CTA.TIMESTAMP) +
  bit(CTA.SECCTX) + bit(CTA.SECMARK) + bit(CTA.MARK_MASK) + bit(CTA.STATUS_MASK) + bit(CTA.FILTER);
/** What ctnetlink_change_conntrack accepts (plus newer, unknown types). */
const UPDATE_KEEP =
  bit(CTA.TUPLE_ORIG) + bit(CTA.TUPLE_REPLY) + bit(CTA.ZONE) + bit(CTA.STATUS) + bit(CTA.TIMEOUT) + bit(CTA.MARK) +
  bit(CTA.PROTOINFO) + bit(CTA.SEQ_ADJ_ORIG) + bit(CTA.SEQ_ADJ_REPLY) + bit(CTA.LABELS) + bit(CTA.LABELS_MASK) + bit(CTA.SYNPROXY);

function inSet(set: number, t: number): boolean {
  return t < 31 && ((set >>> t) & 1) === 1;
}

function dropped(create: boolean, t: number): boolean {
  if (create) return inSet(CREATE_DROP, t);
  return !inSet(UPDATE_KEEP, t) && t !== 0 && t <= CTA_MAX_KNOWN;
}

/** Kind recorded for a protoinfo written by writeFastProtoinfo. */
const PROTO_FAST = 1;

/** Reply tuple output: verbatim copy, fast inversion, or the codec's Buffer. */
const REPLY_COPY = 0;
const REPLY_FAST = 1;
const REPLY_BUF = 2;

export function createAttrWriter(mode: RewriteMode, opts: CreateOptions = {}): AttrWriter {
  const create = mode === 'create';
  const beLiberal = opts.beLiberal === true;
  const hasTimeoutOpt = opts.timeout !== undefined;
  const timeoutVal = (opts.timeout ?? 0) >>> 0;
  const orig = newTupleScan();
  const reply = newTupleScan();
  const nat = newNatPlan();
  const copier = createCopier();
  // Per record (set by measure):
  let origAt = -1;
  let origLen = 0;
  let replyAt = -1;
  let replyLen = 0;
  let status = -1;
  let replyKind = REPLY_COPY;
  let replyBuf: Buffer | null = null;
  /** Kind of each CTA_PROTOINFO in input order, and the codec's Buffers for PROTO_GENERIC ones. */
  const protoKinds: number[] = [];
  const protoBufs: Array<Buffer | null> = [];
  let protoCount = 0;

  function measure(rec: CtRecord): number {
    const buf = rec.attrs;
    origAt = -1;
    replyAt = -1;
    status = -1;
    replyKind = REPLY_COPY;
    replyBuf = null;
    protoCount = 0;
    let hasNat = false;
    let size = 0;
    const stop = buf.length;
    let off = 0;
    while (off < stop) {
      if (stop - off < NLA_HDRLEN) break;
      const len = u16le(buf, off);
      if (len < NLA_HDRLEN || off + len > stop) break;
      const t = u16le(buf, off + 2) & NLA_TYPE_MASK;
      const p = off + NLA_HDRLEN;
      const l = len - NLA_HDRLEN;
      const whole = nlaAlign(len);
      off += whole;
      if (t === CTA.TUPLE_ORIG) {
        scanTuple(buf, p, p + l, orig);
        origAt = p;
        origLen = l;
      } else if (t === CTA.TUPLE_REPLY) {
        scanTuple(buf, p, p + l, reply);
        replyAt = p;
        replyLen = l;
        if (create) continue;
      } else if (t === CTA.NAT_SRC || t === CTA.NAT_DST) hasNat = true;
      if (dropped(create, t)) continue;
      if (t === CTA.STATUS && l === 4) {
        status = be32(buf, p);
        continue;
      }
      if (t === CTA.TIMEOUT && hasTimeoutOpt) continue;
      if (t === CTA.PROTOINFO) {
        const k = classifyProtoinfo(buf, p, p + l, beLiberal);
        if (k > 0) {
          protoKinds[protoCount] = PROTO_FAST;
          protoBufs[protoCount++] = null;
          size += k;
          continue;
        }
        const b = k === PROTO_GENERIC ? rewriteProtoinfoGeneric(buf, p, l, beLiberal) : null;
        protoKinds[protoCount] = b ? PROTO_GENERIC : PROTO_KEEP;
        protoBufs[protoCount++] = b;
        if (b) {
          size += b.length;
          continue;
        }
      }
      size += whole;
    }
    if (status >= 0) size += 8;
    if (hasTimeoutOpt) size += 8;
    nat.srcAddr = -1;
    nat.dstAddr = -1;
    if (create && replyAt >= 0) {
      if (!hasNat && origAt >= 0 && orig.ok && reply.ok) deriveNat(buf, orig, reply, status < 0 ? 0 : status, nat);
      if (nat.srcAddr >= 0) size += natSize(nat.addrLen, nat.srcPort);
      if (nat.dstAddr >= 0) size += natSize(nat.addrLen, nat.dstPort);
      const natted = nat.srcAddr >= 0 || nat.dstAddr >= 0 || hasNat;
      if (natted && origAt >= 0 && orig.simple && reply.simple) {
        replyKind = REPLY_FAST;
        size += invertedSize(orig, reply);
      } else {
        replyBuf = natted && origAt >= 0 ? invertedReplyGeneric(buf, origAt, origLen, replyAt, replyLen) : null;
        replyKind = replyBuf ? REPLY_BUF : REPLY_COPY;
        size += replyBuf ? replyBuf.length : nlaAlign(replyLen + NLA_HDRLEN);
      }
    }
    return size;
  }

  function write(rec: CtRecord, out: Buffer, at: number): number {
    const buf = rec.attrs;
    let w = at;
    // Runs of adjacent kept attributes are copied at once.
    let runStart = -1;
    let runEnd = -1;
    let pi = 0;
    const stop = buf.length;
    let off = 0;
    while (off < stop) {
      if (stop - off < NLA_HDRLEN) break;
      const len = u16le(buf, off);
      if (len < NLA_HDRLEN || off + len > stop) break;
      const t = u16le(buf, off + 2) & NLA_TYPE_MASK;
      const start = off;
      off += nlaAlign(len);
      let keep = !(create && t === CTA.TUPLE_REPLY) && !dropped(create, t);
      if (keep && t === CTA.STATUS && len === NLA_HDRLEN + 4) keep = false;
      else if (keep && t === CTA.TIMEOUT && hasTimeoutOpt) keep = false;
      else if (keep && t === CTA.PROTOINFO) keep = protoKinds[pi++] === PROTO_KEEP;
      if (keep) {
        if (runStart < 0) runStart = start;
        runEnd = off;
      } else if (runStart >= 0) {
        w = copier.copy(buf, runStart, runEnd, out, w);
        runStart = -1;
      }
    }
    if (runStart >= 0) w = copier.copy(buf, runStart, runEnd, out, w);
    if (create && replyAt >= 0) {
      if (replyKind === REPLY_FAST) w = writeInverted(buf, orig, reply, out, w);
      else if (replyKind === REPLY_BUF && replyBuf) w += replyBuf.copy(out, w);
      else w = copier.copy(buf, replyAt - NLA_HDRLEN, replyAt + nlaAlign(replyLen), out, w);
    }
    if (status >= 0) {
      let st = (status & ~IPS_UNCHANGEABLE_MASK) | IPS.CONFIRMED;
      if (!create) st |= status & IPS.EXPECTED;
      w = putBe32Attr(out, w, CTA.STATUS, st >>> 0);
    }
    if (protoCount > 0) {
      pi = 0;
      for (off = 0; off < stop && pi < protoCount; ) {
        const len = u16le(buf, off);
        if ((u16le(buf, off + 2) & NLA_TYPE_MASK) === CTA.PROTOINFO) {
          const kind = protoKinds[pi];
          const b = protoBufs[pi];
          pi++;
          if (kind === PROTO_FAST) w = writeFastProtoinfo(buf, off + NLA_HDRLEN, beLiberal, out, w);
          else if (kind === PROTO_GENERIC && b) w += b.copy(out, w);
        }
        off += nlaAlign(len);
      }
    }
    if (hasTimeoutOpt) w = putBe32Attr(out, w, CTA.TIMEOUT, timeoutVal);
    if (nat.srcAddr >= 0) w = writeNat(CTA.NAT_SRC, buf, nat.srcAddr, nat.addrLen, nat.srcPort, out, w);
    if (nat.dstAddr >= 0) w = writeNat(CTA.NAT_DST, buf, nat.dstAddr, nat.addrLen, nat.dstPort, out, w);
    return w;
  }

  function toBuffer(rec: CtRecord): Buffer {
    const out = Buffer.allocUnsafe(measure(rec));
    write(rec, out, 0);
    return out;
  }

  return { measure, write, toBuffer };
}

/** A writer for attributes prepared beforehand: copied as they are (4 bytes at a time when aligned). */
export function createCopyWriter(): AttrWriter {
  const copier = createCopier();
  return {
    measure: (rec) => rec.attrs.length,
    write: (rec, out, off) => copier.copy(rec.attrs, 0, rec.attrs.length, out, off),
    toBuffer: (rec) => Buffer.from(rec.attrs),
  };
}

/** Rewrite into one exact-size Buffer (a writer per call; loops should keep one writer). */
export function rewriteAttrs(rec: CtRecord, mode: RewriteMode, opts: CreateOptions = {}): Buffer {
  return createAttrWriter(mode, opts).toBuffer(rec);
}

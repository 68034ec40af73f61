/**
 * CTA_PROTOINFO on the commit fast path (create-fast.ts): the TCP flags
 * fix-up so the kernel applies them (struct nf_ct_tcp_flags {u8 flags;
 * u8 mask}, include/uapi/linux/netfilter/nf_conntrack_tcp.h), written
 * straight into the output.
 *
 * The result is the bytes the schema codec gives when it decodes the nest
 * (tables.ts PROTOINFO) and encodes it again with the fixed flags. For the
 * shape the kernel dumps (one CTA_PROTOINFO_TCP holding each of STATE,
 * WSCALE_ORIGINAL, WSCALE_REPLY, FLAGS_ORIGINAL, FLAGS_REPLY at most once,
 * of the right size) that encoding is written here directly; any other
 * shape goes through the codec (rewriteProtoinfoGeneric).
 */
import type { ProtoInfo } from '../types';
import { DEFAULT_LIMITS, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, nlaAlign } from './attr';
import { CTA, CTA_PROTOINFO, CTA_PROTOINFO_TCP, TCP_FLAG } from './consts';
import { putHdr, putU8Attr, u16le } from './create-fast-bytes';
import { decodeObject, encodeNested, type Obj } from './schema';
import { PROTOINFO } from './tables';

/** Flags the kernel may take from userspace on create/update (nf_conntrack_tcp.h). */
export const TCP_APPLY_MASK = TCP_FLAG.WINDOW_SCALE | TCP_FLAG.SACK_PERM | TCP_FLAG.CLOSE_INIT | TCP_FLAG.BE_LIBERAL;

/**
 * What to do with one CTA_PROTOINFO, as classifyProtoinfo() returns it:
 * PROTO_KEEP (no TCP nest, or a framing error: the codec keeps it as it is),
 * PROTO_GENERIC (re-encode through the codec), or a positive number: the
 * size of the fast re-encode.
 */
export const PROTO_KEEP = -1;
export const PROTO_GENERIC = -2;

/** Payload size of CTA_PROTOINFO_TCP_* (index = type): u8 state and wscales, 2-byte flags. */
const TCP_SIZE = [0, 1, 1, 1, 2, 2];
const TCP_FLAGS_BITS = (1 << CTA_PROTOINFO_TCP.FLAGS_ORIGINAL) | (1 << CTA_PROTOINFO_TCP.FLAGS_REPLY);

/** Classify the CTA_PROTOINFO payload buf[start, end); see PROTO_KEEP. */
export function classifyProtoinfo(buf: Buffer, start: number, end: number, beLiberal: boolean): number {
  const stop = Math.min(end, buf.length);
  let off = start;
  let n = 0;
  let tcp = -1;
  let tcpLen = 0;
  while (off < stop) {
    const len = stop - off < NLA_HDRLEN ? 0 : u16le(buf, off);
    if (len < NLA_HDRLEN || off + len > stop) return PROTO_KEEP;
    n++;
    if ((u16le(buf, off + 2) & NLA_TYPE_MASK) === CTA_PROTOINFO.TCP) {
      tcp = off + NLA_HDRLEN;
      tcpLen = len - NLA_HDRLEN;
    }
    off += nlaAlign(len);
  }
  if (tcp < 0) return PROTO_KEEP;
  if (n !== 1) return PROTO_GENERIC;
  let seen = tcpPresent(buf, tcp, tcp + tcpLen);
  if (seen < 0) return PROTO_GENERIC;
  if (beLiberal) seen |= TCP_FLAGS_BITS;
  let size = 8;
  for (let t = 1; t < TCP_SIZE.length; t++) if ((seen >>> t) & 1) size += 8;
  return size;
}

/** Bit set of CTA_PROTOINFO_TCP_* present in a simple TCP nest, or -1 when it is not simple. */
function tcpPresent(buf: Buffer, start: number, end: number): number {
  let off = start;
  let seen = 0;
  while (off < end) {
    const len = end - off < NLA_HDRLEN ? 0 : u16le(buf, off);
    if (len < NLA_HDRLEN || off + len > end) return -1;
    const type = u16le(buf, off + 2) & NLA_TYPE_MASK;
    if (type >= TCP_SIZE.length || TCP_SIZE[type] === 0 || len - NLA_HDRLEN !== TCP_SIZE[type] || (seen >>> type) & 1) return -1;
    seen |= 1 << type;
    off += nlaAlign(len);
  }
  return (seen >>> CTA_PROTOINFO_TCP.STATE) & 1 ? seen : -1; // state is required
}

/** flags | BE_LIBERAL (when asked), mask = the flags the kernel applies. */
function putFlags(out: Buffer, off: number, type: number, flags: number, beLiberal: boolean): number {
  const f = (flags | (beLiberal ? TCP_FLAG.BE_LIBERAL : 0)) & 0xff;
  putHdr(out, off, 6, type);
  out[off + 4] = f;
  out[off + 5] = f & TCP_APPLY_MASK;
  out[off + 6] = 0;
  out[off + 7] = 0;
  return off + 8;
}

/**
 * Write a protoinfo that classifyProtoinfo() sized (one simple TCP nest,
 * whose header is at `start`, the protoinfo payload); returns the end offset.
 */
export function writeFastProtoinfo(buf: Buffer, start: number, beLiberal: boolean, out: Buffer, at: number): number {
  const tcp = start + NLA_HDRLEN;
  const stop = start + u16le(buf, start);
  // Offsets of each attribute's payload by type; -1 = absent.
  let state = -1;
  let wo = -1;
  let wr = -1;
  let fo = -1;
  let fr = -1;
  for (let off = tcp; off < stop; off += nlaAlign(u16le(buf, off))) {
    const type = u16le(buf, off + 2) & NLA_TYPE_MASK;
    const p = off + NLA_HDRLEN;
    if (type === CTA_PROTOINFO_TCP.STATE) state = p;
    else if (type === CTA_PROTOINFO_TCP.WSCALE_ORIGINAL) wo = p;
    else if (type === CTA_PROTOINFO_TCP.WSCALE_REPLY) wr = p;
    else if (type === CTA_PROTOINFO_TCP.FLAGS_ORIGINAL) fo = p;
    else fr = p;
  }
  let p = putU8Attr(out, at + 8, CTA_PROTOINFO_TCP.STATE, buf[state] as number);
  if (wo >= 0) p = putU8Attr(out, p, CTA_PROTOINFO_TCP.WSCALE_ORIGINAL, buf[wo] as number);
  if (wr >= 0) p = putU8Attr(out, p, CTA_PROTOINFO_TCP.WSCALE_REPLY, buf[wr] as number);
  if (fo >= 0 || beLiberal) p = putFlags(out, p, CTA_PROTOINFO_TCP.FLAGS_ORIGINAL, fo >= 0 ? (buf[fo] as number) : 0, beLiberal);
  if (fr >= 0 || beLiberal) p = putFlags(out, p, CTA_PROTOINFO_TCP.FLAGS_REPLY, fr >= 0 ? (buf[fr] as number) : 0, beLiberal);
  putHdr(out, at + 4, p - at - 4, CTA_PROTOINFO.TCP | NLA_F_NESTED);
  putHdr(out, at, p - at, CTA.PROTOINFO | NLA_F_NESTED);
  return p;
}

/** Re-encode CTA_PROTOINFO through the codec so the kernel applies the TCP flags; null = keep as is. */
export function rewriteProtoinfoGeneric(buf: Buffer, start: number, len: number, beLiberal: boolean): Buffer | null {
  const r = decodeObject(buf, start, start + len, PROTOINFO, 2, DEFAULT_LIMITS);
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

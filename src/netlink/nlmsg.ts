/**
 * Netlink message framing (pure).
 *
 * Conventions of this file:
 *  - struct nlmsghdr is in HOST byte order (include/uapi/linux/netlink.h):
 *      u32 nlmsg_len   total length including this header
 *      u16 nlmsg_type
 *      u16 nlmsg_flags
 *      u32 nlmsg_seq
 *      u32 nlmsg_pid
 *    Messages are padded to 4 bytes (NLMSG_ALIGN); several travel in one datagram.
 *  - struct nlmsgerr (NLMSG_ERROR payload) is host order too:
 *      s32 error (0 = ACK, else -errno), then the echoed request header (and its
 *      payload unless NLM_F_CAPPED), then extended-ACK TLVs when NLM_F_ACK_TLVS.
 *  - Parsers never throw on bad input: they return a typed DecodeError.
 *  - Payloads are views (subarray) into the datagram; copy them to keep them.
 */
import { constants as osConstants, endianness } from 'node:os';
import type { DecodeError } from './types';

/** Control message types (include/uapi/linux/netlink.h). */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
/** First type a netlink family may use. */
export const NLMSG_MIN_TYPE = 0x10;

/** nlmsg_flags, all requests (include/uapi/linux/netlink.h). */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** Modifiers to GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Modifiers to NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags of NLMSG_ERROR replies. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Extended ACK attributes (enum nlmsgerr_attrs, include/uapi/linux/netlink.h). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export const NLMSG_HDRLEN = 16;
/** sizeof(struct nlmsgerr) without payload: s32 error + nlmsghdr. */
export const NLMSGERR_MINLEN = 4 + NLMSG_HDRLEN;

const HOST_LE = endianness() === 'LE';

export interface NlHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** View of the bytes after the header, nlmsg_len - 16 long. */
  payload: Buffer;
}

export interface NlParseLimits {
  /** Maximum messages accepted in one datagram. */
  maxMessages: number;
}

export const DEFAULT_PARSE_LIMITS: NlParseLimits = { maxMessages: 1 << 20 };

export type NlParsed =
  | { ok: true; messages: NlMessage[] }
  | { ok: false; error: DecodeError; messages: NlMessage[] };

export function align4(n: number): number {
  return (n + 3) & ~3;
}

export function readU32(buf: Buffer, off: number): number {
  return HOST_LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
}

export function readS32(buf: Buffer, off: number): number {
  return HOST_LE ? buf.readInt32LE(off) : buf.readInt32BE(off);
}

export function readU16(buf: Buffer, off: number): number {
  return HOST_LE ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
}

export function writeU32(buf: Buffer, v: number, off: number): void {
  if (HOST_LE) buf.writeUInt32LE(v >>> 0, off);
  else buf.writeUInt32BE(v >>> 0, off);
}

export function writeS32(buf: Buffer, v: number, off: number): void {
  if (HOST_LE) buf.writeInt32LE(v | 0, off);
  else buf.writeInt32BE(v | 0, off);
}

export function writeU16(buf: Buffer, v: number, off: number): void {
  if (HOST_LE) buf.writeUInt16LE(v & 0xffff, off);
  else buf.writeUInt16BE(v & 0xffff, off);
}

/** Write a header at `off`; nlmsg_len is the caller's (header + payload, unpadded). */
export function writeHeader(buf: Buffer, off: number, h: NlHeader): void {
  writeU32(buf, h.len, off);
  writeU16(buf, h.type, off + 4);
  writeU16(buf, h.flags, off + 6);
  writeU32(buf, h.seq, off + 8);
  writeU32(buf, h.pid, off + 12);
}

export function readHeader(buf: Buffer, off: number): NlHeader {
  return {
    len: readU32(buf, off),
    type: readU16(buf, off + 4),
    flags: readU16(buf, off + 6),
    seq: readU32(buf, off + 8),
    pid: readU32(buf, off + 12),
  };
}

/** One message: header + payload parts, padded to 4 bytes. */
export function encodeMessage(type: number, flags: number, seq: number, payload: Buffer[] = [], pid = 0): Buffer {
  let len = NLMSG_HDRLEN;
  for (const p of payload) len += p.length;
  const out = Buffer.alloc(align4(len));
  writeHeader(out, 0, { len, type, flags, seq, pid });
  let off = NLMSG_HDRLEN;
  for (const p of payload) {
    p.copy(out, off);
    off += p.length;
  }
  return out;
}

function err(code: DecodeError['code'], message: string, offset: number): DecodeError {
  return { code, message, offset };
}

/**
 * Split one datagram into messages. Trailing padding is allowed; a message
 * shorter than its header or running past the end is an error (the messages
 * parsed before it are still returned).
 */
export function parseDatagram(buf: Buffer, limits: NlParseLimits = DEFAULT_PARSE_LIMITS): NlParsed {
  const messages: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = readU32(buf, off);
    if (len < NLMSG_HDRLEN) return { ok: false, error: err('EBADLEN', `nlmsg_len ${len} < 16`, off), messages };
    if (off + len > buf.length) {
      return { ok: false, error: err('ETRUNCATED', `nlmsg_len ${len} past end of datagram`, off), messages };
    }
    if (messages.length >= limits.maxMessages) {
      return { ok: false, error: err('ETOOMANY', `more than ${limits.maxMessages} messages`, off), messages };
    }
    messages.push({
      type: readU16(buf, off + 4),
      flags: readU16(buf, off + 6),
      seq: readU32(buf, off + 8),
      pid: readU32(buf, off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length && buf.length - off >= 4 && messages.length === 0) {
    return { ok: false, error: err('ETRUNCATED', 'datagram shorter than a header', off), messages };
  }
  return { ok: true, messages };
}

export interface NlErrorInfo {
  /** Positive errno; 0 means ACK. */
  errno: number;
  /** errno name ('EEXIST', ...), 'OK' for an ACK. */
  code: string;
  /** Header of the request this answers (seq identifies it). */
  request: NlHeader;
  /** NLMSGERR_ATTR_MSG, when the kernel gave one. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request. */
  offset?: number;
}

export type NlErrorParsed = { ok: true; value: NlErrorInfo } | { ok: false; error: DecodeError };

/** Decode the payload of an NLMSG_ERROR message (flags from its header). */
export function parseError(msg: NlMessage): NlErrorParsed {
  const p = msg.payload;
  if (p.length < NLMSGERR_MINLEN) return { ok: false, error: err('ETRUNCATED', 'nlmsgerr too short', 0) };
  const e = readS32(p, 0);
  const errno = e < 0 ? -e : e;
  const request = readHeader(p, 4);
  const info: NlErrorInfo = { errno, code: errnoName(errno), request };
  if ((msg.flags & NLM_F_ACK_TLVS) === 0) return { ok: true, value: info };
  // TLVs follow the echoed request: only its header when capped (or an ACK), else the whole request.
  const capped = (msg.flags & NLM_F_CAPPED) !== 0 || errno === 0;
  let off = 4 + (capped ? NLMSG_HDRLEN : align4(Math.max(request.len, NLMSG_HDRLEN)));
  while (off + 4 <= p.length) {
    const alen = readU16(p, off);
    const atype = readU16(p, off + 2) & 0x3fff;
    if (alen < 4 || off + alen > p.length) break; // tolerate: keep what we have
    const data = p.subarray(off + 4, off + alen);
    if (atype === NLMSGERR_ATTR_MSG) {
      const nul = data.indexOf(0);
      info.message = data.toString('utf8', 0, nul < 0 ? data.length : nul);
    } else if (atype === NLMSGERR_ATTR_OFFS && data.length >= 4) {
      info.offset = readU32(data, 0);
    }
    off += align4(alen);
  }
  return { ok: true, value: info };
}

/** NLMSG_DONE carries an int: 0, or -errno when the dump failed. */
export function parseDone(msg: NlMessage): number {
  if (msg.payload.length < 4) return 0;
  const e = readS32(msg.payload, 0);
  return e < 0 ? -e : e;
}

/** errno number -> name; the first name wins for aliases (EAGAIN over EWOULDBLOCK), except EOPNOTSUPP over ENOTSUP. */
function buildErrnoNames(): ReadonlyMap<number, string> {
  const m = new Map<number, string>();
  for (const [name, n] of Object.entries(osConstants.errno)) if (!m.has(n)) m.set(n, name);
  const opnotsupp = osConstants.errno.EOPNOTSUPP;
  if (opnotsupp !== undefined) m.set(opnotsupp, 'EOPNOTSUPP');
  return m;
}

const ERRNO_NAMES = buildErrnoNames();

/** errno number -> name ('EEXIST'); 'OK' for 0, 'E<n>' when unknown. */
export function errnoName(errno: number): string {
  if (errno === 0) return 'OK';
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

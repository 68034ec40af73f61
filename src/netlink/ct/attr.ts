/**
 * Generic netlink attribute (struct nlattr) helpers.
 *
 * struct nlattr { u16 nla_len; u16 nla_type; }  -- HOST order (little-endian on
 * the machines we run on; include/uapi/linux/netlink.h). nla_len counts the
 * 4-byte header plus the payload, without the padding to the next 4-byte
 * boundary (NLA_ALIGNTO = 4). The two top bits of nla_type are flags.
 */
import type { DecodeError, DecodeLimits } from '../types';

export const NLA_HDRLEN = 4;
export const NLA_ALIGNTO = 4;
/** include/uapi/linux/netlink.h */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const DEFAULT_LIMITS: DecodeLimits = { maxDepth: 8, maxAttrs: 4096, maxLength: 65535 };

export function nlaAlign(n: number): number {
  return (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

/** Size on the wire of an attribute with `payload` bytes, padding included. */
export function attrSize(payload: number): number {
  return nlaAlign(NLA_HDRLEN + payload);
}

export function decodeError(code: DecodeError['code'], message: string, offset: number): DecodeError {
  return { code, message, offset };
}

/** Read the nla_len field (host order) at `off`. */
export function nlaLen(buf: Buffer, off: number): number {
  return buf.readUInt16LE(off);
}

/** Read the nla_type field (host order, flags included) at `off`. */
export function nlaType(buf: Buffer, off: number): number {
  return buf.readUInt16LE(off + 2);
}

/**
 * Visit the attributes in buf[start, end). The visitor gets the raw type
 * (flags included), the payload offset and the payload length; returning
 * false stops the walk. Returns null, or the first framing error. Never
 * throws, always terminates (each step advances at least 4 bytes).
 */
export function walkAttrs(
  buf: Buffer,
  start: number,
  end: number,
  visit: (rawType: number, off: number, len: number) => boolean | void,
  maxAttrs = DEFAULT_LIMITS.maxAttrs,
): DecodeError | null {
  let off = start;
  let n = 0;
  const stop = Math.min(end, buf.length);
  while (off < stop) {
    if (stop - off < NLA_HDRLEN) return decodeError('ETRUNCATED', 'trailing bytes shorter than an nlattr header', off);
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN) return decodeError('EBADLEN', `nla_len ${len} < 4`, off);
    if (off + len > stop) return decodeError('ETRUNCATED', `nla_len ${len} runs past the end`, off);
    n += 1;
    if (n > maxAttrs) return decodeError('ETOOMANY', `more than ${maxAttrs} attributes`, off);
    if (visit(buf.readUInt16LE(off + 2), off + NLA_HDRLEN, len - NLA_HDRLEN) === false) return null;
    off += nlaAlign(len);
  }
  return null;
}

/** Write an nlattr header (host order); returns the payload offset. */
export function putAttrHeader(buf: Buffer, off: number, type: number, payload: number): number {
  buf.writeUInt16LE(NLA_HDRLEN + payload, off);
  buf.writeUInt16LE(type, off + 2);
  return off + NLA_HDRLEN;
}

/** Write a whole attribute with a raw payload; returns the offset after its padding. */
export function putAttr(buf: Buffer, off: number, type: number, data: Buffer): number {
  const p = putAttrHeader(buf, off, type, data.length);
  data.copy(buf, p);
  buf.fill(0, p + data.length, off + attrSize(data.length));
  return off + attrSize(data.length);
}

/** One attribute as a new Buffer (header + payload + padding). */
export function makeAttr(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(attrSize(data.length));
  putAttr(b, 0, type, data);
  return b;
}

/** Attribute with a big-endian u32 payload. */
export function be32Attr(type: number, v: number): Buffer {
  const d = Buffer.alloc(4);
  d.writeUInt32BE(v >>> 0, 0);
  return makeAttr(type, d);
}

/** Attribute with a big-endian u16 payload. */
export function be16Attr(type: number, v: number): Buffer {
  const d = Buffer.alloc(2);
  d.writeUInt16BE(v & 0xffff, 0);
  return makeAttr(type, d);
}

/** A nested attribute (NLA_F_NESTED set) holding already-encoded children. */
export function nestAttr(type: number, children: Buffer[]): Buffer {
  return makeAttr(type | NLA_F_NESTED, Buffer.concat(children));
}

/** Copy attribute slices [off, off+size) of `src` into one new Buffer. */
export function concatSlices(src: Buffer, slices: Array<[number, number]>, extra: Buffer[] = []): Buffer {
  let total = 0;
  for (const s of slices) total += s[1];
  for (const e of extra) total += e.length;
  const out = Buffer.alloc(total);
  let p = 0;
  for (const [o, n] of slices) {
    src.copy(out, p, o, o + n);
    p += n;
  }
  for (const e of extra) {
    e.copy(out, p);
    p += e.length;
  }
  return out;
}

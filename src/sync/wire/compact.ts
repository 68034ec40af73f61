/**
 * Compact wire form of an entry's ctnetlink attributes (TLV 0x0007, CATTRS).
 *
 * A conntrack entry as the kernel writes it is about 200 bytes of nlattrs
 * (4-byte headers, padding, two tuples that mirror each other); this form
 * carries the same bytes in about 80, and expands back to them exactly:
 * expandAttrs(compactAttrs(a)) is byte for byte `a` (minus the dropped
 * top-level attributes), for any input, well-formed or not. Pure functions.
 *
 * A sequence of items; the first byte K of an item says what follows:
 *
 *   0x00-0x3f  attribute of type K:        [K][L u8][payload of L bytes]
 *   0x40-0x7f  nested attribute, type K-0x40, NLA_F_NESTED set:
 *                                          [K][L u8][items of its children, L bytes]
 *   0xf0       raw bytes, copied verbatim: [0xf0][N u16 BE][N bytes]
 *   0xf1       tuple:                      [0xf1][type u8][shape u8][l4proto u8]
 *                                          [src][dst][4 bytes: sport, dport | icmp id, type, code]
 *   0xf2       inverse of the last 0xf1 port tuple (reply of a flow without NAT):
 *                                          [0xf2][type u8][shape u8]
 *
 * Header-only items rebuild the nlattr header (host order) and the zero
 * padding; an attribute that would not come back identical (flags other than
 * NLA_F_NESTED, type >= 64, payload > 255 bytes, non-zero padding, a nest
 * whose length is not the sum of its children) is sent raw. Tuple shape
 * bits: 1 outer nest flag, 2 CTA_TUPLE_IP nest flag, 4 CTA_TUPLE_PROTO nest
 * flag, 8 IPv6, 16 ICMP form. A tuple is recognised by its layout only:
 * IP { SRC, DST } then PROTO { NUM, SRC_PORT, DST_PORT } or
 * PROTO { NUM, ICMP_ID, ICMP_TYPE, ICMP_CODE }, nothing else (a zone, for
 * example, makes it a generic nest).
 */

const NESTED = 0x8000;
const K_RAW = 0xf0;
const K_TUPLE = 0xf1;
const K_INVERSE = 0xf2;
const S_OUTER = 1;
const S_IP = 2;
const S_PROTO = 4;
const S_V6 = 8;
const S_ICMP = 16;

/** Largest expanded or compacted attribute set handled (bytes). */
const SCRATCH = 1 << 16;
let scratch = Buffer.allocUnsafe(SCRATCH);
let scratch2 = Buffer.allocUnsafe(SCRATCH);

/** Byte copy for the short ranges here (Buffer.copy of a sub-range allocates a view). */
function put(src: Buffer, from: number, to: number, dst: Buffer, at: number): void {
  for (let i = from; i < to; i++) dst[at++] = src[i] as number;
}

/** u16 little-endian (nlattr headers are host order; ctnetlink hosts here are little-endian) without bounds checks: callers check. */
function le16(b: Buffer, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

function align(n: number): number {
  return (n + 3) & ~3;
}

function zeroPad(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/** A tuple seen by the encoder or decoder, for the 0xf2 inverse item. */
interface PortTuple {
  shape: number;
  proto: number;
  /** Offsets of src, dst, sport in `buf`; `alen` bytes per address. */
  buf: Buffer;
  src: number;
  dst: number;
  ports: number;
  alen: number;
}

/** Leaf header check: type `t`, exactly `len` payload bytes, zero padding. */
function leaf(b: Buffer, off: number, end: number, t: number, len: number): boolean {
  if (off + align(4 + len) > end) return false;
  if (le16(b, off) !== 4 + len || le16(b, off + 2) !== t) return false;
  return zeroPad(b, off + 4 + len, off + align(4 + len));
}

/**
 * Payload b[p, end) of a tuple attribute in the canonical layout: returns the
 * shape and offsets, or null.
 */
function readTuple(b: Buffer, p: number, end: number): PortTuple | null {
  if (end - p < 4) return null;
  const ipLen = le16(b, p);
  const ipType = le16(b, p + 2);
  if ((ipType & ~NESTED) !== 1) return null;
  let alen: number;
  if (ipLen === 4 + 2 * 8) alen = 4;
  else if (ipLen === 4 + 2 * 20) alen = 16;
  else return null;
  const v6 = alen === 16;
  const q = p + 4;
  if (!leaf(b, q, end, v6 ? 3 : 1, alen) || !leaf(b, q + 4 + alen, end, v6 ? 4 : 2, alen)) return null;
  const pp = p + ipLen;
  if (end - pp < 4 + 8) return null;
  const protoLen = le16(b, pp);
  const protoType = le16(b, pp + 2);
  if ((protoType & ~NESTED) !== 2 || pp + protoLen !== end) return null;
  if (!leaf(b, pp + 4, end, 1, 1)) return null;
  const proto = b[pp + 8] as number;
  const r = pp + 12;
  let shape = (ipType & NESTED ? S_IP : 0) | (protoType & NESTED ? S_PROTO : 0) | (v6 ? S_V6 : 0);
  if (protoLen === 4 + 8 + 8 + 8 && leaf(b, r, end, 2, 2) && leaf(b, r + 8, end, 3, 2)) {
    // ports: values at r+4 and r+12
  } else if (protoLen === 4 + 8 + 8 + 8 + 8) {
    const base = proto === 58 ? 7 : 4;
    if (!leaf(b, r, end, base, 2) || !leaf(b, r + 8, end, base + 1, 1) || !leaf(b, r + 16, end, base + 2, 1)) return null;
    if (proto !== 1 && proto !== 58) return null;
    shape |= S_ICMP;
  } else return null;
  return { shape, proto, buf: b, src: q + 4, dst: q + 8 + alen, ports: r + 4, alen };
}

/** The 4 bytes after the addresses: sport, dport (ports) or id, type, code (ICMP). */
function l4Bytes(t: PortTuple, out: Buffer, o: number): void {
  const b = t.buf;
  if (t.shape & S_ICMP) {
    out[o] = b[t.ports] as number;
    out[o + 1] = b[t.ports + 1] as number;
    out[o + 2] = b[t.ports + 8] as number;
    out[o + 3] = b[t.ports + 16] as number;
  } else {
    out[o] = b[t.ports] as number;
    out[o + 1] = b[t.ports + 1] as number;
    out[o + 2] = b[t.ports + 8] as number;
    out[o + 3] = b[t.ports + 9] as number;
  }
}

function isInverse(a: PortTuple, b: PortTuple): boolean {
  if (a.shape & S_ICMP || b.shape & S_ICMP || a.proto !== b.proto || (a.shape & S_V6) !== (b.shape & S_V6)) return false;
  const ab = a.buf;
  const bb = b.buf;
  for (let i = 0; i < a.alen; i++) {
    if (ab[a.src + i] !== bb[b.dst + i] || ab[a.dst + i] !== bb[b.src + i]) return false;
  }
  return (
    ab[a.ports] === bb[b.ports + 8] &&
    ab[a.ports + 1] === bb[b.ports + 9] &&
    ab[a.ports + 8] === bb[b.ports] &&
    ab[a.ports + 9] === bb[b.ports + 1]
  );
}

/**
 * Generic item for the attribute at b[off] (whose nla_len is `len`, within
 * `end`) written at out[o]; returns the new offset, or -1 when the attribute
 * cannot be rebuilt exactly from a header-only item.
 */
function generic(b: Buffer, off: number, len: number, end: number, out: Buffer, o: number): number {
  const raw = le16(b, off + 2);
  const t = raw & ~NESTED;
  if (t >= 0x40 || len < 4) return -1;
  const next = off + align(len);
  if (next > end || !zeroPad(b, off + len, next)) return -1;
  if (o + 2 + 255 > out.length) return -1;
  const start = o;
  o += 2;
  if (raw & NESTED) {
    let p = off + 4;
    const stop = off + len;
    while (p < stop) {
      if (stop - p < 4) return -1;
      const cl = le16(b, p);
      if (cl < 4 || p + align(cl) > stop) return -1;
      o = generic(b, p, cl, stop, out, o);
      if (o < 0) return -1;
      p += align(cl);
    }
    if (p !== stop) return -1;
  } else {
    put(b, off + 4, off + len, out, o);
    o += len - 4;
  }
  const l = o - start - 2;
  if (l > 255) return -1;
  out[start] = t | (raw & NESTED ? 0x40 : 0);
  out[start + 1] = l;
  return o;
}

/**
 * Compact the ctnetlink attributes `attrs`, leaving out top-level attributes
 * whose type (flags masked) is in `drop`. Returns a new Buffer.
 */
export function compactAttrs(attrs: Buffer, drop?: ReadonlySet<number>): Buffer {
  const end = attrs.length;
  if (scratch.length < end * 2 + 64) scratch = Buffer.allocUnsafe(end * 2 + 64);
  const out = scratch;
  let o = 0;
  let off = 0;
  let lastPort: PortTuple | null = null;
  while (off < end) {
    const len = end - off >= 4 ? le16(attrs, off) : 0;
    if (len < 4 || off + len > end) {
      o = putRaw(attrs, off, end, out, o); // framing error: the rest, verbatim
      break;
    }
    const next = Math.min(end, off + align(len));
    const raw = le16(attrs, off + 2);
    const t = raw & ~NESTED;
    if (drop !== undefined && drop.has(raw & 0x3fff)) {
      off = next;
      continue;
    }
    let done = -1;
    if (raw & NESTED && t < 0x100 && next === off + align(len) && zeroPad(attrs, off + len, next)) {
      const tup = readTuple(attrs, off + 4, off + len);
      if (tup !== null) {
        tup.shape |= S_OUTER;
        if (lastPort !== null && isInverse(lastPort, tup)) {
          out[o] = K_INVERSE;
          out[o + 1] = t;
          out[o + 2] = tup.shape;
          done = o + 3;
        } else {
          out[o] = K_TUPLE;
          out[o + 1] = t;
          out[o + 2] = tup.shape;
          out[o + 3] = tup.proto;
          put(attrs, tup.src, tup.src + tup.alen, out, o + 4);
          put(attrs, tup.dst, tup.dst + tup.alen, out, o + 4 + tup.alen);
          l4Bytes(tup, out, o + 4 + 2 * tup.alen);
          done = o + 8 + 2 * tup.alen;
          if (!(tup.shape & S_ICMP)) lastPort = tup;
        }
      }
    }
    if (done < 0) done = generic(attrs, off, len, end, out, o);
    o = done >= 0 ? done : putRaw(attrs, off, next, out, o);
    off = next;
  }
  const res = Buffer.allocUnsafe(o);
  put(out, 0, o, res, 0);
  return res;
}

function putRaw(b: Buffer, from: number, to: number, out: Buffer, o: number): number {
  let p = from;
  while (p < to) {
    const n = Math.min(0xffff, to - p);
    out[o] = K_RAW;
    out.writeUInt16BE(n, o + 1);
    b.copy(out, o + 3, p, p + n);
    o += 3 + n;
    p += n;
  }
  return o;
}

export type ExpandResult = { ok: true; attrs: Buffer } | { ok: false; message: string; offset: number };

class Bad extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Rebuild the ctnetlink attributes from the compact items in b[start, end).
 * Never throws; at most `maxBytes` bytes of attributes.
 */
export function expandAttrs(b: Buffer, start: number, end: number, maxBytes: number): ExpandResult {
  const cap = Math.min(maxBytes, SCRATCH);
  if (scratch2.length < cap) scratch2 = Buffer.allocUnsafe(cap);
  const out = scratch2;
  try {
    let o = 0;
    let p = start;
    let last: { shape: number; proto: number; at: number } | null = null;
    while (p < end) {
      const k = b[p] as number;
      if (k < 0x80) {
        o = expandGeneric(b, p, end, out, o, cap);
        p += 2 + (b[p + 1] as number);
      } else if (k === K_RAW) {
        if (end - p < 3) throw new Bad('raw item truncated', p);
        const n = b.readUInt16BE(p + 1);
        if (p + 3 + n > end) throw new Bad('raw item truncated', p);
        if (o + n > cap) throw new Bad('attributes too large', p);
        b.copy(out, o, p + 3, p + 3 + n);
        o += n;
        p += 3 + n;
      } else if (k === K_TUPLE) {
        if (end - p < 4) throw new Bad('tuple item truncated', p);
        const shape = b[p + 2] as number;
        const alen = shape & S_V6 ? 16 : 4;
        if (p + 8 + 2 * alen > end) throw new Bad('tuple item truncated', p);
        if (shape & ~(S_OUTER | S_IP | S_PROTO | S_V6 | S_ICMP)) throw new Bad('bad tuple shape', p + 2);
        const proto = b[p + 3] as number;
        const at = o;
        o = writeTuple(out, o, cap, b[p + 1] as number, shape, proto, b, p + 4, p + 4 + alen, p + 4 + 2 * alen, false);
        if (!(shape & S_ICMP)) last = { shape, proto, at };
        p += 8 + 2 * alen;
      } else if (k === K_INVERSE) {
        if (end - p < 3) throw new Bad('inverse item truncated', p);
        if (last === null) throw new Bad('inverse tuple without a port tuple before it', p);
        const shape = b[p + 2] as number;
        if ((shape & (S_V6 | S_ICMP)) !== (last.shape & S_V6) || shape & ~(S_OUTER | S_IP | S_PROTO | S_V6)) throw new Bad('bad tuple shape', p + 2);
        const alen = shape & S_V6 ? 16 : 4;
        // Source of the inverse: the tuple already written at last.at (addresses at +12, ports at +12+2*(4+alen)+12).
        const src = last.at + 12;
        const dst = src + 4 + alen;
        const ports = last.at + 4 + 4 + 2 * (4 + alen) + 4 + 8 + 4;
        o = writeTuple(out, o, cap, b[p + 1] as number, shape, last.proto, out, dst, src, ports, true);
        p += 3;
      } else throw new Bad(`unknown item 0x${k.toString(16)}`, p);
    }
    const res = Buffer.allocUnsafe(o);
    put(out, 0, o, res, 0);
    return { ok: true, attrs: res };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, message: e.message, offset: e.offset };
    return { ok: false, message: String(e), offset: start };
  }
}

function putHdr(out: Buffer, o: number, len: number, type: number): void {
  out[o] = len & 0xff;
  out[o + 1] = len >> 8;
  out[o + 2] = type & 0xff;
  out[o + 3] = type >> 8;
}

/**
 * Write a canonical tuple attribute. Addresses come from src[sa], src[da]; the
 * l4 bytes from src[l4]: compact form (4 bytes) or, when `swap`, an already
 * expanded port tuple whose ports are swapped.
 */
function writeTuple(
  out: Buffer,
  o: number,
  cap: number,
  type: number,
  shape: number,
  proto: number,
  src: Buffer,
  sa: number,
  da: number,
  l4: number,
  swap: boolean,
): number {
  const v6 = (shape & S_V6) !== 0;
  const alen = v6 ? 16 : 4;
  const icmp = (shape & S_ICMP) !== 0;
  const ipLen = 4 + 2 * (4 + alen);
  const protoLen = icmp ? 36 : 28;
  const total = 4 + ipLen + protoLen;
  if (o + total > cap) throw new Bad('attributes too large', o);
  Uint8Array.prototype.fill.call(out, 0, o, o + total); // the typed-array builtin: Buffer.fill validates its arguments first
  putHdr(out, o, total, type | (shape & S_OUTER ? NESTED : 0));
  let q = o + 4;
  putHdr(out, q, ipLen, 1 | (shape & S_IP ? NESTED : 0));
  putHdr(out, q + 4, 4 + alen, v6 ? 3 : 1);
  put(src, sa, sa + alen, out, q + 8);
  putHdr(out, q + 8 + alen, 4 + alen, v6 ? 4 : 2);
  put(src, da, da + alen, out, q + 12 + alen);
  q += ipLen;
  putHdr(out, q, protoLen, 2 | (shape & S_PROTO ? NESTED : 0));
  putHdr(out, q + 4, 5, 1);
  out[q + 8] = proto;
  const r = q + 12;
  if (icmp) {
    const base = proto === 58 ? 7 : 4;
    putHdr(out, r, 6, base);
    out[r + 4] = src[l4] as number;
    out[r + 5] = src[l4 + 1] as number;
    putHdr(out, r + 8, 5, base + 1);
    out[r + 12] = src[l4 + 2] as number;
    putHdr(out, r + 16, 5, base + 2);
    out[r + 20] = src[l4 + 3] as number;
  } else {
    // Compact: sport at l4, dport at l4+2. Expanded (swap): sport at l4, dport at l4+8.
    const sp = swap ? l4 + 8 : l4;
    const dp = swap ? l4 : l4 + 2;
    putHdr(out, r, 6, 2);
    out[r + 4] = src[sp] as number;
    out[r + 5] = src[sp + 1] as number;
    putHdr(out, r + 8, 6, 3);
    out[r + 12] = src[dp] as number;
    out[r + 13] = src[dp + 1] as number;
  }
  return o + total;
}

function expandGeneric(b: Buffer, p: number, end: number, out: Buffer, o: number, cap: number): number {
  if (end - p < 2) throw new Bad('item truncated', p);
  const k = b[p] as number;
  const l = b[p + 1] as number;
  const stop = p + 2 + l;
  if (stop > end) throw new Bad('item truncated', p);
  const nested = (k & 0x40) !== 0;
  const t = (k & 0x3f) | (nested ? NESTED : 0);
  const start = o;
  if (o + 4 > cap) throw new Bad('attributes too large', p);
  o += 4;
  if (nested) {
    let q = p + 2;
    while (q < stop) {
      const ck = b[q] as number;
      if (ck >= 0x80) throw new Bad('only plain attributes inside a nest', q);
      o = expandGeneric(b, q, stop, out, o, cap);
      q += 2 + (b[q + 1] as number);
    }
    putHdr(out, start, o - start, t);
    return o;
  }
  const padded = align(4 + l);
  if (start + padded > cap) throw new Bad('attributes too large', p);
  put(b, p + 2, stop, out, o);
  for (let i = o + l; i < start + padded; i++) out[i] = 0;
  putHdr(out, start, 4 + l, t);
  return start + padded;
}

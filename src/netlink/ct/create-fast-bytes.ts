/**
 * Byte access for the commit fast path. Buffer's readUInt16LE / writeUInt32BE
 * / copy validate their arguments through wrapped helpers that V8 does not
 * inline (Node 20), which costs more than the work on a 150-byte entry; these
 * index the bytes directly. Callers check bounds first: a read past the end
 * gives undefined, which the bit operations turn into 0, and a write past the
 * end of a typed array is dropped.
 *
 * nlattr headers (nla_len, nla_type) are host order, little-endian on every
 * machine this runs on (include/uapi/linux/netlink.h); ctnetlink payload
 * integers are big-endian.
 */

/** Little-endian u16 (nlattr header fields). */
export function u16le(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

/** Big-endian u16. */
export function be16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

/** Big-endian u32, unsigned. */
export function be32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

/** nlattr header: u16 length, u16 type (little-endian). */
export function putHdr(b: Uint8Array, o: number, len: number, type: number): void {
  b[o] = len & 0xff;
  b[o + 1] = (len >>> 8) & 0xff;
  b[o + 2] = type & 0xff;
  b[o + 3] = (type >>> 8) & 0xff;
}

/** Attribute with a u8 payload, padded to 8 bytes. */
export function putU8Attr(b: Uint8Array, o: number, type: number, v: number): number {
  putHdr(b, o, 5, type);
  b[o + 4] = v & 0xff;
  b[o + 5] = 0;
  b[o + 6] = 0;
  b[o + 7] = 0;
  return o + 8;
}

/** Attribute with a big-endian u16 payload, padded to 8 bytes. */
export function putBe16Attr(b: Uint8Array, o: number, type: number, v: number): number {
  putHdr(b, o, 6, type);
  b[o + 4] = (v >>> 8) & 0xff;
  b[o + 5] = v & 0xff;
  b[o + 6] = 0;
  b[o + 7] = 0;
  return o + 8;
}

/** Attribute with a big-endian u32 payload (8 bytes). */
export function putBe32Attr(b: Uint8Array, o: number, type: number, v: number): number {
  putHdr(b, o, 8, type);
  b[o + 4] = (v >>> 24) & 0xff;
  b[o + 5] = (v >>> 16) & 0xff;
  b[o + 6] = (v >>> 8) & 0xff;
  b[o + 7] = v & 0xff;
  return o + 8;
}

/** Copies bytes; see createCopier. */
export interface Copier {
  /** Copy src[start, end) to dst at `at`; returns at + (end - start). Bytes past the end of src are written as 0. */
  copy(src: Buffer, start: number, end: number, dst: Buffer, at: number): number;
}

/**
 * A copier for many small copies (attributes are 4-byte aligned in their
 * buffers): 4 bytes at a time through Int32Array views of the whole
 * underlying ArrayBuffers when both ends are aligned (the views of the last
 * source and destination are kept, so a batch builds a few), else a byte
 * loop. Buffer.copy costs about as much as copying 60 bytes by hand before
 * it copies anything. Holds a reference to the last buffers it saw.
 */
export function createCopier(): Copier {
  let srcAb: ArrayBufferLike | null = null;
  let src32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let dstAb: ArrayBufferLike | null = null;
  let dst32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  return {
    copy(src, start, end, dst, at) {
      const n = Math.min(end, src.length) - start;
      const s = src.byteOffset + start;
      const d = dst.byteOffset + at;
      let i = 0;
      if (n >= 8 && ((s | d) & 3) === 0) {
        if (src.buffer !== srcAb) {
          srcAb = src.buffer;
          src32 = new Int32Array(srcAb, 0, srcAb.byteLength >>> 2);
        }
        if (dst.buffer !== dstAb) {
          dstAb = dst.buffer;
          dst32 = new Int32Array(dstAb, 0, dstAb.byteLength >>> 2);
        }
        const words = n >>> 2;
        const s4 = s >>> 2;
        const d4 = d >>> 2;
        for (let k = 0; k < words; k++) dst32[d4 + k] = src32[s4 + k] as number;
        i = words << 2;
      }
      for (; i < n; i++) dst[at + i] = src[start + i] as number;
      for (i = Math.max(n, 0); i < end - start; i++) dst[at + i] = 0;
      return at + (end - start);
    },
  };
}

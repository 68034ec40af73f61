/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI
 * (RFC 3720 section 12.1) and SCTP (RFC 4960 appendix B). Check value:
 * crc32c("123456789") = 0xE3069283.
 */

/**
 * Slicing-by-8 tables: table k (at 256 * k) is the CRC of a byte followed by
 * k zero bytes, so 8 input bytes are folded per step with 8 lookups.
 */
function makeTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i] as number;
      t[k * 256 + i] = ((prev >>> 8) ^ (t[prev & 0xff] as number)) >>> 0;
    }
  }
  return t;
}

/** Read-only lookup tables, computed once; never written after creation. */
const T: Readonly<Uint32Array> = makeTables();

/** CRC32C of buf[start, end). Returns an unsigned 32-bit value. */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  let i = start;
  const stop8 = end - 8;
  for (; i <= stop8; i += 8) {
    c ^= (buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24);
    c =
      (T[1792 + (c & 0xff)] as number) ^
      (T[1536 + ((c >>> 8) & 0xff)] as number) ^
      (T[1280 + ((c >>> 16) & 0xff)] as number) ^
      (T[1024 + (c >>> 24)] as number) ^
      (T[768 + (buf[i + 4] as number)] as number) ^
      (T[512 + (buf[i + 5] as number)] as number) ^
      (T[256 + (buf[i + 6] as number)] as number) ^
      (T[buf[i + 7] as number] as number);
  }
  for (; i < end; i++) c = (T[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

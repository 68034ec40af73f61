/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI
 * (RFC 3720 section 12.1) and SCTP (RFC 4960 appendix B). Check value:
 * crc32c("123456789") = 0xE3069283.
 */

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

/** Read-only lookup table, computed once; never written after creation. */
const TABLE: Readonly<Uint32Array> = makeTable();

/** CRC32C of buf[start, end). Returns an unsigned 32-bit value. */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c = (TABLE[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

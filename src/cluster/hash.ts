/**
 * Flow -> bucket, bit for bit the function the kernel uses, so the flows a
 * node commits on takeover are exactly the flows its rule lets through.
 *
 * Kernel facts (not code) this follows:
 *  - net/netfilter/xt_cluster.c hashes the ORIGINAL-direction source address
 *    of the conntrack entry (of its master, for a related entry):
 *    IPv4 jhash_1word(addr, seed), IPv6 jhash2(addr words, 4, seed), then
 *    reciprocal_scale(hash, total_nodes). The address is loaded from the
 *    tuple as a native-endian u32 (the bytes are in network order).
 *  - nftables `jhash ct original saddr mod N seed S` (net/netfilter/nft_hash.c)
 *    runs the byte-wise jhash() over the 4 or 16 address bytes and also
 *    reciprocal_scale()s; on a little-endian CPU this equals the xt_cluster
 *    value (iptables-nft lists `-m cluster` as exactly that nft expression).
 *  - include/linux/jhash.h: JHASH_INITVAL 0xdeadbeef, __jhash_mix/__jhash_final.
 *
 * We compute the little-endian value (x86-64, arm64 LE). Big-endian hosts
 * are not supported (documented in docs/active-active.md).
 */
import type { CtRecord } from '../netlink/types';
import { CTA } from '../netlink/ct/consts';
import { readTuple, scanAttrs } from '../netlink/ct/tuple-raw';

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** __jhash_final on three u32 values; returns c. */
function final(a0: number, b0: number, c0: number): number {
  let a = a0 >>> 0;
  let b = b0 >>> 0;
  let c = c0 >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

/** jhash_1word(a, seed). */
export function jhash1(a: number, seed: number): number {
  const iv = (seed + JHASH_INITVAL + 4) >>> 0;
  return final(a + iv, iv, iv);
}

/** jhash2(k, 4, seed): four u32 words (an IPv6 address). */
export function jhash4(k0: number, k1: number, k2: number, k3: number, seed: number): number {
  const iv = (JHASH_INITVAL + 16 + seed) >>> 0;
  let a = (iv + k0) >>> 0;
  let b = (iv + k1) >>> 0;
  let c = (iv + k2) >>> 0;
  // __jhash_mix
  a = ((a - c) ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
  b = ((b - a) ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
  c = ((c - b) ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
  a = ((a - c) ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
  b = ((b - a) ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
  c = ((c - b) ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
  return final(a + k3, b, c);
}

/** reciprocal_scale(val, n) = (val * n) >> 32 (include/linux/kernel.h). */
export function reciprocalScale(val: number, n: number): number {
  return Math.floor(((val >>> 0) * n) / 0x1_0000_0000);
}

/**
 * Bucket of an address given as its network-order bytes (4 or 16), or null
 * for another length. `n` buckets (1..32), `seed` u32.
 */
export function bucketOfAddress(addr: Buffer, n: number, seed: number, off = 0): number | null {
  const len = addr.length - off;
  if (len === 4) return reciprocalScale(jhash1(addr.readUInt32LE(off), seed >>> 0), n);
  if (len === 16) {
    const h = jhash4(addr.readUInt32LE(off), addr.readUInt32LE(off + 4), addr.readUInt32LE(off + 8), addr.readUInt32LE(off + 12), seed >>> 0);
    return reciprocalScale(h, n);
  }
  return null;
}

/** Bucket of a dotted-quad or IPv6 text address (tests, CLI). */
export function bucketOfText(ip: string, n: number, seed: number): number | null {
  const b = textToBytes(ip);
  return b ? bucketOfAddress(b, n, seed) : null;
}

export function textToBytes(ip: string): Buffer | null {
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
    const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    if (groups.length !== 8) return null;
    const out = Buffer.alloc(16);
    for (let i = 0; i < 8; i++) {
      const v = parseInt(groups[i] ?? '', 16);
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) return null;
      out.writeUInt16BE(v, i * 2);
    }
    return out;
  }
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  return Buffer.from(parts);
}

/**
 * Bucket of a conntrack record: source of the master tuple when the record
 * has one (a related flow follows its master, as in xt_cluster), else of
 * the original tuple. Null for expectations and malformed records.
 */
export function bucketOfRecord(rec: CtRecord, n: number, seed: number): number | null {
  if (rec.kind !== 'ct') return null;
  const buf = rec.attrs;
  const at = { orig: -1, origLen: 0, master: -1, masterLen: 0 };
  const ok = scanAttrs(buf, 0, buf.length, (type, off, len) => {
    if (type === CTA.TUPLE_ORIG) {
      at.orig = off;
      at.origLen = len;
    } else if (type === CTA.TUPLE_MASTER) {
      at.master = off;
      at.masterLen = len;
    }
  });
  if (!ok) return null;
  const off = at.master >= 0 ? at.master : at.orig;
  const len = at.master >= 0 ? at.masterLen : at.origLen;
  if (off < 0) return null;
  const t = readTuple(buf, off, off + len);
  if (!t) return null;
  return bucketOfAddress(buf.subarray(t.srcOff, t.srcOff + t.addrLen), n, seed);
}

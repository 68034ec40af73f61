/**
 * Sequence numbers: unsigned 32-bit, compared with serial number arithmetic
 * (RFC 1982, SERIAL_BITS = 32). This is the ONLY place that compares sequence
 * numbers; every other file calls these helpers.
 *
 * Two numbers exactly 2^31 apart are undefined in RFC 1982; here `seqDiff`
 * returns -2^31 for them, so such a pair is treated as "before". Windows used
 * by the protocol are far smaller than 2^31, so this never matters in practice.
 */

/** A source of uniform random numbers in [0, 1). Inject a seeded one in tests. */
export type Random = () => number;

const U32 = 0x1_0000_0000;

/** a + n modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance from a to b: positive when b is after a. Range [-2^31, 2^31). */
export function seqDiff(a: number, b: number): number {
  return (b - a) | 0;
}

/** a is strictly before b. */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}

export function seqGt(a: number, b: number): boolean {
  return seqDiff(b, a) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return seqDiff(b, a) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqLt(a, b) ? b : a;
}

/** A uniformly random u32 from the injected source (never the clock). */
export function randomU32(random: Random): number {
  const r = random();
  const v = Math.floor((Number.isFinite(r) && r >= 0 && r < 1 ? r : 0) * U32);
  return v >>> 0;
}

/** The first sequence number of a new stream. */
export function initialSeq(random: Random): number {
  return randomU32(random);
}

/**
 * Buckets ("responsible ranges") and the target assignment.
 *
 * A bucket set is a u32 bit mask: bit b set = bucket b (0..31). 32 buckets
 * is the most xt_cluster takes (--cluster-total-nodes <= 32, a u32 node
 * mask) and keeps a set one machine word on the wire and in the rules.
 *
 * The target assignment follows the seed paper's "aimed cluster
 * configuration": complete, pairwise disjoint, even, and sorted by node id,
 * so every node that knows the same member list computes the same one.
 */

export const MAX_BUCKETS = 32;
export const MIN_NODES = 1;
export const MAX_NODES = 8;

/** Mask with buckets 0..n-1 set. */
export function fullMask(n: number): number {
  if (n >= 32) return 0xffffffff;
  return ((1 << n) - 1) >>> 0;
}

export function has(mask: number, b: number): boolean {
  return ((mask >>> b) & 1) === 1;
}

export function union(a: number, b: number): number {
  return (a | b) >>> 0;
}

export function minus(a: number, b: number): number {
  return (a & ~b) >>> 0;
}

export function intersect(a: number, b: number): number {
  return (a & b) >>> 0;
}

export function count(mask: number): number {
  let m = mask >>> 0;
  let c = 0;
  while (m !== 0) {
    m = (m & (m - 1)) >>> 0;
    c++;
  }
  return c;
}

export function toList(mask: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 32; b++) if (has(mask, b)) out.push(b);
  return out;
}

export function fromList(buckets: Iterable<number>): number {
  let m = 0;
  for (const b of buckets) if (Number.isInteger(b) && b >= 0 && b < 32) m |= 1 << b;
  return m >>> 0;
}

/** "0-10,12" style text of a mask (logs, CLI, docs). */
export function formatMask(mask: number): string {
  const parts: string[] = [];
  const list = toList(mask);
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === (list[j] ?? 0) + 1) j++;
    parts.push(i === j ? `${list[i]}` : `${list[i]}-${list[j]}`);
    i = j + 1;
  }
  return parts.join(',') || '-';
}

/**
 * Target assignment: `ids` (any order, duplicates ignored) sorted ascending;
 * the k-th of m nodes gets buckets [floor(k*n/m), floor((k+1)*n/m)).
 * Sizes differ by at most one. Empty map for no ids.
 */
export function targetAssignment(ids: Iterable<number>, n: number): Map<number, number> {
  const sorted = [...new Set(ids)].sort((x, y) => x - y);
  const out = new Map<number, number>();
  const m = sorted.length;
  sorted.forEach((id, k) => {
    const lo = Math.floor((k * n) / m);
    const hi = Math.floor(((k + 1) * n) / m);
    out.set(id, minus(fullMask(hi), fullMask(lo)));
  });
  return out;
}

/** Target buckets of `self` among `ids` (0 when self is not a member). */
export function targetOf(self: number, ids: Iterable<number>, n: number): number {
  return targetAssignment(ids, n).get(self) ?? 0;
}

/** Buckets of 0..n-1 held by nobody in `masks`. */
export function unowned(masks: Iterable<number>, n: number): number {
  let all = 0;
  for (const m of masks) all |= m;
  return minus(fullMask(n), all >>> 0);
}

/** Buckets held by two or more of `masks`. */
export function overlapping(masks: Iterable<number>): number {
  let seen = 0;
  let twice = 0;
  for (const m of masks) {
    twice |= seen & m;
    seen |= m;
  }
  return twice >>> 0;
}

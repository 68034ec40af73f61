/**
 * sameFlow(a, b): true when two records describe the same entry state, ignoring
 * what changes on its own in the kernel without any state change: the timeout
 * countdown, counters, use count, id and timestamps. Used to tell a real change
 * from a re-read of the same entry (a resync dump after an overrun), so a
 * resync does not re-send every entry to the peers.
 *
 * The kernel writes the same entry differently in an event and in a dump
 * (nf_conntrack_netlink.c: ctnetlink_conntrack_event vs ctnetlink_fill_info):
 * the top-level attributes come in another order (CTA_MARK after the
 * protoinfo in events, before it in dumps), and a zero mark is only in dumps.
 * So top-level attributes are compared by type, not position, and an absent
 * CTA_MARK equals a zero one. Records with a repeated top-level type (not
 * what the kernel writes) are compared position by position.
 */
import { DEFAULT_LIMITS, walkAttrs } from './attr';
import { CTA } from './consts';
import type { CtRecord } from '../types';

const VOLATILE = new Set<number>([CTA.TIMEOUT, CTA.COUNTERS_ORIG, CTA.COUNTERS_REPLY, CTA.USE, CTA.ID, CTA.TIMESTAMP]);

/** Stable top-level attributes: type -> [raw type, payload offset, payload length]; null on a malformed or repeated one. */
function stable(buf: Buffer): Map<number, [number, number, number]> | null {
  const out = new Map<number, [number, number, number]>();
  let repeated = false;
  const err = walkAttrs(buf, 0, buf.length, (raw, off, len) => {
    const t = raw & 0x3fff;
    if (VOLATILE.has(t)) return;
    if (out.has(t)) repeated = true;
    out.set(t, [raw, off, len]);
  });
  return err === null && !repeated ? out : null;
}

function isZeroMark(buf: Buffer, a: [number, number, number] | undefined): boolean {
  return a === undefined || (a[2] === 4 && buf.readUInt32BE(a[1]) === 0);
}

/** The previous, position-by-position comparison (for records with repeated types). */
function samePositions(a: Buffer, b: Buffer): boolean {
  const list = (buf: Buffer): number[] | null => {
    const out: number[] = [];
    const err = walkAttrs(buf, 0, buf.length, (raw, off, len) => {
      if (!VOLATILE.has(raw & 0x3fff)) out.push(raw, off, len);
    });
    return err === null ? out : null;
  };
  const x = list(a);
  const y = list(b);
  if (x === null || y === null || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i += 3) {
    const la = x[i + 2] as number;
    if (x[i] !== y[i] || la !== y[i + 2]) return false;
    const oa = x[i + 1] as number;
    const ob = y[i + 1] as number;
    if (a.compare(b, ob, ob + la, oa, oa + la) !== 0) return false;
  }
  return true;
}

export function sameFlow(a: CtRecord, b: CtRecord): boolean {
  if (a.kind !== b.kind || a.family !== b.family) return false;
  if (a.attrs.equals(b.attrs)) return true;
  const fast = sameByType(a.attrs, b.attrs);
  return fast !== UNSURE ? fast === SAME : sameSlow(a.attrs, b.attrs);
}

const SAME = 1;
const DIFFERENT = 0;
const UNSURE = -1;
/** Volatile top-level types as a bit mask (all are below 32). */
const VOLATILE_MASK = [...VOLATILE].reduce((m, t) => m | (1 << t), 0);

/**
 * The common case without allocation (a resync compares every entry): both
 * records well framed, every stable top-level type below 32 and present at
 * most once. UNSURE otherwise (the Map-based comparison decides).
 */
function sameByType(a: Buffer, b: Buffer): number {
  const ta = stableTypes(a);
  const tb = stableTypes(b);
  if (ta < 0 || tb < 0) return UNSURE;
  const markBit = 1 << CTA.MARK;
  if ((ta & ~markBit) !== (tb & ~markBit)) return DIFFERENT;
  for (let p = 0; p + 4 <= a.length; ) {
    const len = u16(a, p);
    const raw = u16(a, p + 2);
    const t = raw & 0x3fff;
    if (((VOLATILE_MASK >>> t) & 1) === 0 && t !== CTA.MARK) {
      const q = find(b, t);
      if (q < 0 || u16(b, q) !== len || u16(b, q + 2) !== raw || !sameBytes(a, p + 4, b, q + 4, len - 4)) return DIFFERENT;
    }
    p += (len + 3) & ~3;
  }
  // An absent CTA_MARK equals a zero one (events leave a zero mark out).
  const ma = (ta & markBit) !== 0 ? find(a, CTA.MARK) : -1;
  const mb = (tb & markBit) !== 0 ? find(b, CTA.MARK) : -1;
  const zero = (buf: Buffer, at: number): boolean => at < 0 || (u16(buf, at) === 8 && buf.readUInt32BE(at + 4) === 0);
  if (zero(a, ma) && zero(b, mb)) return SAME;
  if (ma < 0 || mb < 0) return DIFFERENT;
  const len = u16(a, ma);
  return len === u16(b, mb) && sameBytes(a, ma + 4, b, mb + 4, len - 4) ? SAME : DIFFERENT;
}

/** Bit mask of the stable top-level types, or -1 (malformed, too many, a type >= 32, or a repeated one). */
function stableTypes(buf: Buffer): number {
  let mask = 0;
  let p = 0;
  let n = 0;
  while (p < buf.length) {
    if (++n > DEFAULT_LIMITS.maxAttrs) return -1;
    if (buf.length - p < 4) return -1;
    const len = u16(buf, p);
    if (len < 4 || p + len > buf.length) return -1;
    const t = u16(buf, p + 2) & 0x3fff;
    if (t >= 32) return -1;
    if (((VOLATILE_MASK >>> t) & 1) === 0) {
      if (((mask >>> t) & 1) !== 0) return -1;
      mask |= 1 << t;
    }
    p += (len + 3) & ~3;
  }
  return mask;
}

/** Offset of the first top-level attribute of type `t` (framing already checked), or -1. */
function find(buf: Buffer, t: number): number {
  for (let p = 0; p + 4 <= buf.length; ) {
    const len = u16(buf, p);
    if ((u16(buf, p + 2) & 0x3fff) === t) return p;
    p += (len + 3) & ~3;
  }
  return -1;
}

function sameBytes(a: Buffer, ao: number, b: Buffer, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** nlattr header field (host order: little-endian); the caller checked the bounds. */
function u16(b: Buffer, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

/** Compare by type with Maps (any framing; repeated types fall back to positions). */
function sameSlow(a: Buffer, b: Buffer): boolean {
  const x = stable(a);
  const y = stable(b);
  if (x === null || y === null) return samePositions(a, b);
  if (!isZeroMark(a, x.get(CTA.MARK)) || !isZeroMark(b, y.get(CTA.MARK))) {
    const ma = x.get(CTA.MARK);
    const mb = y.get(CTA.MARK);
    if (ma === undefined || mb === undefined || ma[2] !== mb[2] || a.compare(b, mb[1], mb[1] + mb[2], ma[1], ma[1] + ma[2]) !== 0) return false;
  }
  let count = 0;
  for (const [t, ea] of x) {
    if (t === CTA.MARK) continue;
    const eb = y.get(t);
    if (eb === undefined || ea[0] !== eb[0] || ea[2] !== eb[2]) return false;
    if (a.compare(b, eb[1], eb[1] + eb[2], ea[1], ea[1] + ea[2]) !== 0) return false;
    count += 1;
  }
  return count === y.size - (y.has(CTA.MARK) ? 1 : 0);
}

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
import { walkAttrs } from './attr';
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
  const x = stable(a.attrs);
  const y = stable(b.attrs);
  if (x === null || y === null) return samePositions(a.attrs, b.attrs);
  if (!isZeroMark(a.attrs, x.get(CTA.MARK)) || !isZeroMark(b.attrs, y.get(CTA.MARK))) {
    const ma = x.get(CTA.MARK);
    const mb = y.get(CTA.MARK);
    if (ma === undefined || mb === undefined || ma[2] !== mb[2] || a.attrs.compare(b.attrs, mb[1], mb[1] + mb[2], ma[1], ma[1] + ma[2]) !== 0) return false;
  }
  let count = 0;
  for (const [t, ea] of x) {
    if (t === CTA.MARK) continue;
    const eb = y.get(t);
    if (eb === undefined || ea[0] !== eb[0] || ea[2] !== eb[2]) return false;
    if (a.attrs.compare(b.attrs, eb[1], eb[1] + eb[2], ea[1], ea[1] + ea[2]) !== 0) return false;
    count += 1;
  }
  return count === y.size - (y.has(CTA.MARK) ? 1 : 0);
}

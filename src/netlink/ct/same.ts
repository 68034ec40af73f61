/**
 * sameFlow(a, b): true when two records describe the same entry state, ignoring
 * what changes on its own in the kernel without any state change: the timeout
 * countdown, counters, use count, id and timestamps. Used to tell a real change
 * from a re-read of the same entry (a resync dump after an overrun), so a
 * resync does not re-send every entry to the peers.
 */
import { walkAttrs } from './attr';
import { CTA } from './consts';
import type { CtRecord } from '../types';

const VOLATILE = new Set<number>([CTA.TIMEOUT, CTA.COUNTERS_ORIG, CTA.COUNTERS_REPLY, CTA.USE, CTA.ID, CTA.TIMESTAMP]);

function stable(buf: Buffer): number[] {
  const out: number[] = [];
  const err = walkAttrs(buf, 0, buf.length, (raw, off, len) => {
    if (!VOLATILE.has(raw & 0x3fff)) out.push(raw, off, len);
  });
  return err === null ? out : [-1];
}

export function sameFlow(a: CtRecord, b: CtRecord): boolean {
  if (a.kind !== b.kind || a.family !== b.family) return false;
  if (a.attrs.equals(b.attrs)) return true;
  const x = stable(a.attrs);
  const y = stable(b.attrs);
  if (x.length !== y.length || x[0] === -1 || y[0] === -1) return false;
  for (let i = 0; i < x.length; i += 3) {
    const ta = x[i] as number;
    const oa = x[i + 1] as number;
    const la = x[i + 2] as number;
    if (ta !== y[i] || la !== y[i + 2]) return false;
    const ob = y[i + 1] as number;
    if (a.attrs.compare(b.attrs, ob, ob + la, oa, oa + la) !== 0) return false;
  }
  return true;
}

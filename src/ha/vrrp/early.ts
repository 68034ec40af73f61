/**
 * Early takeover of a BACKUP (fast failover, docs/ha.md): before the RFC's
 * master down interval (3 adverts + skew) when two independent signals agree
 * that the master is gone:
 *   - its HA thread went silent on the sync link (src/ha/liveness.ts), and
 *   - no advert arrived since the sync link went quiet, and the next one is
 *     overdue by more than ADVERT_GRACE of the advert interval.
 * It is armed only after MIN_ADVERTS regular adverts in the current BACKUP period.
 * A broken sync link alone never triggers it (the master's adverts keep
 * arriving after the link went quiet, which disarms it until probes are heard
 * again); a late advert alone never does either (the probes keep arriving).
 * Pure: the speaker calls it on every change and arms a timer for `at`.
 */
import type { LivenessState } from '../liveness';
import type { VrrpState } from './machine';

/** An advert counts as overdue this fraction of the master's interval after it was due. */
export const ADVERT_GRACE = 0.5;

/**
 * Adverts heard from the master in this BACKUP period before the fast path is armed: a
 * master that has just taken over (addresses, GARP, notify scripts on its HA thread) may
 * advertise irregularly at first; there, only the RFC timer decides.
 */
export const MIN_ADVERTS = 5;

export interface EarlyInput {
  state: VrrpState;
  liveness: LivenessState | null;
  /** Clock time of the last advert (priority > 0) that refreshed the master down timer; null: none in this BACKUP period. */
  lastAdvertAt: number | null;
  /** Adverts (priority > 0) heard in this BACKUP period. */
  adverts: number;
  masterAdvIntMs: number;
}

/** The clock time from which the takeover may happen, or null (not now, maybe after the next change). */
export function earlyTakeoverAt(i: EarlyInput): number | null {
  if (i.state !== 'BACKUP' || i.liveness === null || !i.liveness.silent) return null;
  if (i.lastAdvertAt === null || i.liveness.quietSince === null || i.adverts < MIN_ADVERTS) return null;
  // An advert after the sync link went quiet: the master is alive, the link is what failed.
  if (i.lastAdvertAt > i.liveness.quietSince) return null;
  return i.lastAdvertAt + i.masterAdvIntMs * (1 + ADVERT_GRACE);
}

/**
 * What a failover run's stall is made of (pure): offsets from the crash of
 * the steps that matter, for every variant.
 *   detect   the backup decided the master is gone (master-down timer)
 *   commit   the external cache is in the kernel table (null: no replication)
 *   vips     the backup holds the virtual addresses (GARP follows at once)
 *   resume   the first / last stream moved again
 * keepalived adds its addresses when it enters MASTER and runs the notify
 * script (and so conntrackd -c) after; the embedded speaker commits first.
 */
import type { FailoverResult } from './failover';
import type { StepMark } from './steps';
import { isEmbedded } from './variants';

export interface FailoverSummary {
  /** Longest client-side stall over all streams, ms (a stream that never resumed counts to the end). */
  maxStallMs: number;
  broken: number;
  hung: number;
  detectMs: number | null;
  commitDoneMs: number | null;
  /** ctsyncd with DisableExternalCache on: the pending kernel writes were done (before the VIPs). */
  kernelReadyMs: number | null;
  vipsMs: number | null;
  firstResumeMs: number | null;
  allResumedMs: number | null;
}

function firstAt(steps: StepMark[], crashAt: number, test: (label: string) => boolean): number | null {
  const s = steps.find((m) => m.node !== 'streams' && test(m.label));
  return s === undefined ? null : Math.round(s.t - crashAt);
}

function lastAt(steps: StepMark[], crashAt: number, test: (label: string) => boolean): number | null {
  const all = steps.filter((m) => m.node !== 'streams' && test(m.label));
  const s = all[all.length - 1];
  return s === undefined ? null : Math.round(s.t - crashAt);
}

export function summarize(r: FailoverResult): FailoverSummary {
  const steps = [...r.steps].sort((a, b) => a.t - b.t);
  const at = (label: string): number | null => {
    const s = steps.find((m) => m.label === label);
    return s === undefined ? null : Math.round(s.t - r.crashAt);
  };
  const embedded = isEmbedded(r.variant);
  return {
    maxStallMs: Math.max(0, ...r.verdicts.map((v) => v.stallMs)),
    broken: r.broken,
    hung: r.verdicts.filter((v) => !v.broken && !v.survived).length,
    detectMs: firstAt(steps, r.crashAt, (l) => l === 'VRRP advert timeout' || /^VRRP \w+ MASTER$/.test(l)),
    commitDoneMs: embedded
      ? firstAt(steps, r.crashAt, (l) => /^commit done/.test(l))
      : firstAt(steps, r.crashAt, (l) => /^commit external cache \(-c\) done/.test(l)),
    kernelReadyMs: embedded ? firstAt(steps, r.crashAt, (l) => /^external-in-kernel done/.test(l)) : null,
    // Both instances of the sync group: the later one is when the path is whole.
    vipsMs: embedded ? lastAt(steps, r.crashAt, (l) => / VIPs added$/.test(l)) : lastAt(steps, r.crashAt, (l) => /^VRRP \w+ MASTER$/.test(l)),
    firstResumeMs: at('first stream resumes'),
    allResumedMs: at('all streams resumed'),
  };
}

export function formatSummary(s: FailoverSummary): string {
  const ms = (v: number | null): string => (v === null ? '-' : `+${v} ms`);
  return (
    `detect ${ms(s.detectMs)}, ${s.kernelReadyMs !== null ? `kernel ready ${ms(s.kernelReadyMs)}, ` : ''}commit done ${ms(s.commitDoneMs)}, VIPs ${ms(s.vipsMs)}, ` +
    `first stream ${ms(s.firstResumeMs)}, all ${ms(s.allResumedMs)}; longest stall ${s.maxStallMs} ms, ` +
    `${s.broken} broken, ${s.hung} hung`
  );
}

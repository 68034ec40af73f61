/**
 * Scheduling priority of the HA thread. The VRRP speakers share the process
 * (and the CPUs) with replication; under a burst a thread at the default nice
 * value wakes late, its adverts leave late and its timers run late. A lower
 * nice value for this thread alone (Linux schedules threads as tasks:
 * setpriority(PRIO_PROCESS, tid) changes one thread) keeps it on time, like
 * keepalived's vrrp_priority for its VRRP process.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Default nice value of the HA thread when global_defs has no vrrp_priority. */
export const HA_THREAD_NICE = -10;

/** This thread's kernel task id, from /proc/thread-self (-> "<pid>/task/<tid>"); null if unknown. */
export function currentTid(readlink: (p: string) => string = readlinkSync): number | null {
  try {
    const m = /\/task\/(\d+)$/.exec(readlink('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export type PriorityResult = { ok: true; tid: number; nice: number } | { ok: false; reason: string };

/** Set the calling thread's nice value. */
export function setThreadNice(
  nice: number,
  io: { tid: () => number | null; set: (tid: number, nice: number) => void } = { tid: () => currentTid(), set: setPriority },
): PriorityResult {
  const tid = io.tid();
  if (tid === null) return { ok: false, reason: 'no /proc/thread-self' };
  try {
    io.set(tid, nice);
    return { ok: true, tid, nice };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

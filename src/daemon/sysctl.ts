/**
 * Kernel settings the daemon depends on, checked at start.
 *
 * net.netfilter.nf_conntrack_events (per network namespace): with 2 (the
 * default of recent kernels) the kernel attaches the event extension only to
 * entries created while someone listens, so entries that existed before the
 * daemon started would never report their destroy and would stay in the
 * internal cache (and in the peers' external caches) forever. 1 = always.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../util/log';

export interface SysctlIo {
  read(path: string): string | null;
  write(path: string, value: string): boolean;
}

export const procSysctl: SysctlIo = {
  read(path) {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return null;
    }
  },
  write(path, value) {
    try {
      writeFileSync(path, value);
      return true;
    } catch {
      return false;
    }
  },
};

const EVENTS = '/proc/sys/net/netfilter/nf_conntrack_events';

/** Make sure conntrack events are on for every entry; returns what was done. */
export function ensureConntrackEvents(log: Logger, io: SysctlIo = procSysctl): 'ok' | 'set' | 'failed' | 'absent' {
  const v = io.read(EVENTS);
  if (v === null) {
    log.warn({ path: EVENTS }, 'cannot read nf_conntrack_events (is nf_conntrack loaded?)');
    return 'absent';
  }
  if (v === '1') return 'ok';
  if (io.write(EVENTS, '1')) {
    log.info({ was: v }, 'set net.netfilter.nf_conntrack_events=1 so every entry reports its destroy');
    return 'set';
  }
  log.warn({ was: v }, 'cannot set net.netfilter.nf_conntrack_events=1: entries created before start may never report their destroy');
  return 'failed';
}

/** Global conntrack limit (one value for every namespace). */
export const NF_CONNTRACK_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';

/**
 * Raise nf_conntrack_max to at least `want` (labs and benchmarks that fill
 * tables). Returns the restore function: it puts the old value back only if
 * the value is still the one set here (nobody changed it since). Nested
 * raises restore correctly when their restores run in reverse order.
 */
export function raiseConntrackMax(want: number, io: SysctlIo = procSysctl): () => void {
  return raiseNumber(NF_CONNTRACK_MAX, want, io);
}

/** Raise a numeric setting to at least `want`; the restore puts the old value back if ours is still there. */
function raiseNumber(path: string, want: number, io: SysctlIo): () => void {
  const cur = io.read(path);
  if (cur === null || Number(cur) >= want) return () => undefined;
  if (!io.write(path, String(want))) return () => undefined;
  // The kernel may round what it was given (nf_conntrack_buckets: 2,500,000 reads back as 2,500,096).
  const set = io.read(path) ?? String(want);
  return () => {
    if (io.read(path) === set) io.write(path, cur);
  };
}

/** Buckets of the global conntrack hash table (writable in the initial namespace only). */
export const NF_CONNTRACK_BUCKETS = '/proc/sys/net/netfilter/nf_conntrack_buckets';

/**
 * Raise nf_conntrack_buckets to at least `want`, restored like
 * raiseConntrackMax. The kernel sizes the table from memory (at most 262,144
 * buckets) and does not grow it when nf_conntrack_max is raised: with 1M
 * entries every insert then walks chains of several entries per tuple (a
 * commit of 200k into a host holding 400k entries took 530 instead of 430 ms
 * here). Administrators size it with the limit; so do our labs and benchmarks,
 * for every implementation they compare.
 */
export function raiseConntrackBuckets(want: number, io: SysctlIo = procSysctl): () => void {
  return raiseNumber(NF_CONNTRACK_BUCKETS, want, io);
}

/** raiseConntrackMax and raiseConntrackBuckets to the same `want`; one restore for both. */
export function raiseConntrackLimits(want: number, io: SysctlIo = procSysctl): () => void {
  const restoreMax = raiseConntrackMax(want, io);
  const restoreBuckets = raiseConntrackBuckets(want, io);
  return () => {
    restoreBuckets();
    restoreMax();
  };
}

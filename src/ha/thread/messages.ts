/**
 * Messages between the main thread and the VRRP thread (src/ha/thread).
 * Plain structured-cloneable data only.
 */
import type { KeepalivedConfig } from '../../config/keepalived-types';
import type { LivenessOptions } from '../liveness';
import type { VrrpState } from '../vrrp/machine';

export type HookName = 'beforeMaster' | 'afterMaster' | 'afterBackup' | 'afterFault';

export interface ThreadOptions {
  config: KeepalivedConfig;
  heartbeat: boolean;
  /** Fast failover probes on the sync link (conntrackd.conf Sync { FastFailover { } }). */
  liveness?: LivenessOptions;
  /** Log file of the daemon (LogFile), or undefined for stderr. */
  logFile?: string;
  logLevel?: string;
  pretty?: boolean;
}

/** Thread -> main. */
export type FromThread =
  | { t: 'started'; failed: Array<{ instance: string; code: string; message?: string }>; speakers: Array<{ name: string; state: VrrpState }> }
  | { t: 'start-failed'; error: string }
  | { t: 'transition'; name: string; from: VrrpState; to: VrrpState }
  | { t: 'hook'; id: number; hook: HookName; name: string }
  | { t: 'liveness'; state: 'alive' | 'silent'; lastProbeAt: number | null }
  | { t: 'stopped' };

/** Main -> thread. */
export type ToThread =
  | { t: 'hook-done'; id: number }
  | { t: 'garp'; name: string }
  | { t: 'stop' };

/**
 * DaemonApi: the narrow interface the control plane (UNIX socket server, CLI)
 * calls on a running ctsyncd. The daemon entry point wires the real caches,
 * sync mode and kernel table behind it; tests use a fake.
 *
 * Every method may reject; the control server turns a rejection into an
 * error frame (never a crash). Results are plain data so they cross the
 * control socket as JSON (CtRecord attrs travel base64-encoded, see
 * src/control/protocol.ts).
 */
import type { CtKind, CtRecord } from '../netlink/types';

export type CacheName = 'internal' | 'external';
export type CommitKind = CtKind | 'all';
export type StatsSection =
  | 'general'
  | 'network'
  | 'cache'
  | 'runtime'
  | 'link'
  | 'rsqueue'
  | 'queue'
  | 'process'
  | 'ct'
  | 'expect';

export interface CommitProgress {
  done: number;
  total: number;
}

export interface CommitResult {
  committed: number;
  failed: number;
  seconds: number;
}

export interface DumpEntry {
  record: CtRecord;
  /** Seconds since the entry entered the cache ("[active since Ns]"). */
  ageSeconds: number;
}

/** Per-cache counters as `conntrackd -s` prints them. */
export interface CacheCounters {
  current: number;
  created: number;
  createdFailed: number;
  updated: number;
  updatedFailed: number;
  destroyed: number;
  destroyedFailed: number;
}

/** One sync link (channel) as `-s link` prints it. */
export interface LinkStats {
  /** 'UDP', 'TCP', 'multicast'. */
  proto: string;
  device: string;
  running: boolean;
  active: boolean;
  bytesSent: number;
  bytesRecv: number;
  pktsSent: number;
  pktsRecv: number;
  errorSend: number;
  errorRecv: number;
}

export interface GeneralStats {
  kind: 'general';
  internal: CacheCounters;
  /** Absent when the external cache is disabled. */
  external?: CacheCounters;
  traffic: { bytes: number; packets: number };
  /** The active link; absent when there is none. */
  link?: LinkStats;
  messages: { malformed: number; lost: number };
}

export interface NetworkStats {
  kind: 'network';
  recv: {
    malformed: number;
    wrongVersion: number;
    malformedHeader: number;
    malformedPayload: number;
    badType: number;
    truncated: number;
    badSize: number;
  };
  send: { malformed: number };
  seq: { lost: number; before: number };
  link?: LinkStats;
}

export interface CacheDetail {
  name: CacheName;
  active: number;
  total: number;
  createdOk: number;
  createdFailed: number;
  noMemory: number;
  noSpace: number;
  updatedOk: number;
  updatedFailed: number;
  updateNotFound: number;
  deletedOk: number;
  deletedFailed: number;
  deleteNotFound: number;
}

export interface CacheStatsDetail {
  kind: 'cache';
  caches: CacheDetail[];
}

export interface RuntimeStats {
  kind: 'runtime';
  uptimeSeconds: number;
  netlink: {
    eventsReceived: number;
    eventsFiltered: number;
    eventsUnknown: number;
    catchFailed: number;
    dumpUnknown: number;
    overrun: number;
    flushKernel: number;
    resyncKernel: number;
    bufferSize: number;
  };
  runtime: {
    childFailed: number;
    childSegfault: number;
    childTermsig: number;
    selectFailed: number;
    waitFailed: number;
    localReadFailed: number;
    localUnknown: number;
  };
}

export interface LinkStatsList {
  kind: 'link';
  links: LinkStats[];
}

export interface RsQueueStats {
  kind: 'rsqueue';
  entries: Array<{ type: 'object'; seq: number } | { type: 'control'; seq: number; flags: number }>;
}

export interface QueueStats {
  kind: 'queue';
  allocatedNodes: number;
  queues: Array<{ name: string; current: number; max: number; noSpace: number }>;
}

export interface ProcessStats {
  kind: 'process';
  children: Array<{ pid: number; type: string }>;
}

/** `-s expect`: conntrackd 1.4.7 prints nothing in sync mode; counters kept for ctsync. */
export interface ExpectStats {
  kind: 'expect';
  internal?: CacheCounters;
  external?: CacheCounters;
}

export type StatsResult =
  | GeneralStats
  | NetworkStats
  | CacheStatsDetail
  | RuntimeStats
  | LinkStatsList
  | RsQueueStats
  | QueueStats
  | ProcessStats
  | ExpectStats;

export type HaState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOPPING';
export type SyncModeName = 'notrack' | 'alarm' | 'ftfw';

export interface TransitionStep {
  name: string;
  ms: number;
  ok: boolean;
  error?: string;
}

/** Active-active membership of this node (Cluster section), in `status`. */
export interface ClusterStatus {
  nodeId: number;
  /** 'joining' | 'active' | 'leaving' | 'left'. */
  phase: string;
  /** Bucket count N. */
  buckets: number;
  /** Buckets this node holds (claimed, forwarded), ascending. */
  held: number[];
  /** Its share of the target assignment of its view. */
  aim: number[];
  /** Node ids this node counts as members (itself included), ascending. */
  members: number[];
  /** Flows committed by takeovers / deleted after releases, takeover failures so far. */
  takeovers: { runs: number; committed: number; failed: number };
  releases: { runs: number; deleted: number };
  /** Defer on: counters of the held first packets (src/cluster/deferral-run.ts). */
  deferral?: {
    queue: number;
    timeoutMs: number;
    backend: string;
    attach: string;
    deferred: number;
    acceptedAfterAck: number;
    acceptedOnTimeout: number;
    notNew: number;
    errors: number;
    orphans: number;
  };
}

export interface DaemonStatus {
  pid: number;
  version: string;
  state: HaState;
  mode: SyncModeName;
  uptimeSeconds: number;
  peers: Array<{ address: string; state: string; lastSeenSeconds?: number }>;
  cache: { internal: number; external: number; internalExpect?: number; externalExpect?: number };
  lastTransition?: { from: HaState; to: HaState; atEpochMs: number; steps: TransitionStep[] };
  /** Replication counters of the sync mode (FT-FW: nacksSent, nacksReceived, resends, duplicates, ...). */
  sync?: Record<string, number>;
  /** Present when the daemon runs in active-active mode (Cluster section). */
  cluster?: ClusterStatus;
  /** Present with the embedded VRRP and Sync { FastFailover { } }: the peer's liveness probes. */
  fastFailover?: { peer: string; state: 'unknown' | 'alive' | 'silent'; sinceEpochMs?: number };
}

export interface DaemonApi {
  /** -c: write the external cache into the kernel table. */
  commit(kind: CommitKind, progress?: (p: CommitProgress) => void): Promise<CommitResult>;
  /** -f: clear one or both caches. */
  flushCache(which: CacheName | 'all'): Promise<void>;
  /** -F: flush the kernel table. */
  flushKernel(kind: CommitKind): Promise<void>;
  /** -i / -e. */
  dumpCache(which: CacheName, kind: CtKind): Promise<DumpEntry[]>;
  /** -s. */
  stats(section: StatsSection): Promise<StatsResult>;
  /** -R: re-read the kernel table into the internal cache. */
  resyncKernel(kind: CommitKind): Promise<void>;
  /** -n: ask the peers for a full resync. */
  requestResync(): Promise<void>;
  /** -B: send the whole internal cache to the peers. */
  bulkSend(): Promise<void>;
  /** -t: shorten the kernel timers of entries (PurgeTimeout). */
  shortenTimers(): Promise<void>;
  /** -k: graceful stop; resolves once the stop has been scheduled. */
  kill(): Promise<void>;
  status(): Promise<DaemonStatus>;
}

/**
 * The running daemon: caches, kernel mirror, sync engine and transport wired
 * together behind the DaemonApi the control plane calls. Every dependency is
 * injected (kernel table, transport, clock, randomness), so the whole daemon
 * runs in-process on a MemoryTable and a memory link in tests.
 */
import { compileFilter, type CompiledFilter } from '../cache/filter';
import { createMirror, type Mirror } from '../cache/mirror';
import { createCache } from '../cache/packed-cache';
import type { Cache } from '../cache/types';
import type { ConntrackdConfig, SyncConfig } from '../config/conntrackd-types';
import { decodeExpectation } from '../netlink/ct/expect';
import { tupleKey } from '../netlink/ct/key';
import { createFlowPeeker } from '../netlink/ct/peek';
import { sameFlow } from '../netlink/ct/same';
import { CT_SYNC_DROP } from '../netlink/ct/sync-attrs';
import { writeThrough, type WriteThroughCache, type WriteThroughStats } from '../cache/write-through';
import { authStatsOf } from '../sync/auth/transport';
import type { KernelTable } from '../netlink/table';
import type { CtKind, CtRecord } from '../netlink/types';
import { createSyncEngine, type SyncEngine } from '../sync/engine';
import type { Random } from '../sync/seq';
import type { Transport } from '../transport/types';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import type {
  CacheName,
  CommitKind,
  CommitProgress,
  CommitResult,
  DaemonApi,
  DaemonStatus,
  DumpEntry,
  HaState,
  StatsSection,
  StatsResult,
  TransitionStep,
} from './api';
import { filterSpec, modeSettings, type ModeSettings } from './config-map';
import { shortenTimeouts } from './timers';
import { buildStats, type StatsSources } from './stats';

export interface DaemonDeps {
  config: ConntrackdConfig;
  table: KernelTable;
  transport: Transport;
  clock: Clock;
  random: Random;
  logger: Logger;
  version: string;
  /** Called by -k: the owner stops the process. */
  onKill?: () => void;
  /** Commit progress is reported about every this many entries (default 25,000). */
  commitChunk?: number;
}

export interface Daemon {
  readonly api: DaemonApi;
  readonly engine: SyncEngine;
  readonly caches: { internal: Caches; external: Caches };
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Record an HA transition (embedded VRRP or inferred from commands). */
  setState(state: HaState, steps?: TransitionStep[]): void;
  /**
   * `DisableExternalCache on`: the external cache is kept in the kernel table
   * too (src/cache/write-through.ts); drain() resolves once every change
   * received so far is in the kernel. null otherwise.
   */
  readonly externalInKernel: { drain(): Promise<void>; stats(): WriteThroughStats } | null;
  /** The configured flow filter (Filter section, own addresses): true when a conntrack entry is synced. */
  readonly acceptFlow: (rec: CtRecord) => boolean;
}

export interface Caches {
  ct: Cache;
  expect: Cache;
}

export class DaemonError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Rejections of the Sync/Auth layer by reason (authRejected.bad-mac, ...), when it is on. */
function authCounters(t: Transport): Record<string, number> {
  const a = authStatsOf(t);
  if (a === undefined) return {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'number') out[`auth.${k}`] = v;
    else if (v !== null && typeof v === 'object') for (const [r, n] of Object.entries(v as Record<string, unknown>)) if (typeof n === 'number') out[`auth.${k}.${r}`] = n;
  }
  return out;
}

/** conntrackd's name for the active link in -s: "UDP traffic (active device=eth2)". */
function linkName(sync: SyncConfig): { proto: string; device: string } {
  const l = sync.links[sync.defaultLink] ?? sync.links[0];
  if (l === undefined) return { proto: 'UDP', device: '' };
  const proto = l.kind === 'multicast' ? 'multicast' : l.kind.toUpperCase();
  return { proto, device: l.interface ?? '' };
}

/**
 * Copy records out of a cache (its records are views that a later change may
 * reuse, and the sync engine keeps running while a commit waits): one
 * allocation for all attributes, each record a view into it.
 */
export function copyOut(entries: Iterable<[string, CtRecord]>): CtRecord[] {
  const views: CtRecord[] = [];
  let bytes = 0;
  for (const [, r] of entries) {
    views.push(r);
    bytes += r.attrs.length;
  }
  const all = Buffer.allocUnsafeSlow(bytes);
  let off = 0;
  const out: CtRecord[] = new Array<CtRecord>(views.length);
  for (let i = 0; i < views.length; i++) {
    const r = views[i] as CtRecord;
    const n = r.attrs.length;
    r.attrs.copy(all, off);
    out[i] = { kind: r.kind, family: r.family, attrs: all.subarray(off, off + n) };
    off += n;
  }
  return out;
}

/** Delay before the kernel mirror listens again after a commit (ms). */
const RESUME_AFTER_COMMIT_MS = 250;

function kinds(k: CommitKind): CtKind[] {
  return k === 'all' ? ['ct', 'expect'] : [k];
}

export function createDaemon(deps: DaemonDeps): Daemon {
  const { config, table, clock, logger } = deps;
  const sync: SyncConfig | undefined = config.sync;
  if (!sync) throw new DaemonError('EINVAL', 'the configuration has no Sync section: nothing to replicate');
  const mode: ModeSettings = modeSettings(sync);
  const limit = config.general.hashLimit;
  const mk = (name: string, timeoutMs = 0): Cache => createCache({ name, limit, timeoutMs, logger });
  const internal: Caches = { ct: mk('internal'), expect: mk('internal-expect') };
  // DisableExternalCache on: the peers' entries also go into our kernel table as they arrive.
  const inKernel = mode.disableExternalCache;
  const ext = (name: string): Cache => {
    const c = mk(name, mode.externalTimeoutMs);
    return inKernel ? writeThrough(c, { table, clock, logger }) : c;
  };
  const external: Caches = { ct: ext('external'), expect: ext('external-expect') };
  const writers = inKernel ? [external.ct, external.expect].map((c) => c as WriteThroughCache) : [];
  const filter: CompiledFilter = compileFilter(filterSpec(config));
  const keyOf = (rec: CtRecord): string | null => tupleKey(rec);
  const peek = createFlowPeeker();
  const acceptCt = (rec: CtRecord): boolean => {
    const s = peek(rec);
    return s !== null && filter(s);
  };
  const expectSync = sync.expectationSync;
  const acceptExpect = (rec: CtRecord): boolean => {
    if (expectSync === false) return false;
    if (expectSync === 'all') return true;
    const d = decodeExpectation(rec);
    return d.ok && d.value.helper !== undefined && expectSync.includes(d.value.helper);
  };

  const engine = createSyncEngine({
    mode: mode.name,
    transport: deps.transport,
    clock,
    random: deps.random,
    internal,
    external,
    keyOf: (rec) => keyOf(rec) ?? undefined,
    syncDrop: { ct: CT_SYNC_DROP },
    logger,
    options: mode.engine,
  });

  // A peer that restarted may have lost destroys we never heard of: ask it for a
  // full resync; the bulk's sweep removes its stale entries from our external cache.
  engine.onPeerEvent((ev) => {
    if (ev.type === 'restart') {
      logger.info({ peer: ev.peer }, 'peer restarted: requesting a resync');
      engine.requestResync();
    }
  });

  const mirrors: Mirror[] = [];
  const mirrorOf = new Map<CtKind, Mirror>();
  const overrunResync = config.general.netlinkOverrunResync;
  const addMirror = (kind: CtKind): void => {
    const m = createMirror({
      table,
      cache: internal[kind],
      kind,
      keyOf,
      accept: kind === 'ct' ? acceptCt : acceptExpect,
      clock,
      logger,
      rcvbuf: config.general.netlinkBufferSize,
      ...(config.general.netlinkBufferSizeMaxGrowth !== undefined ? { rcvbufMax: config.general.netlinkBufferSizeMaxGrowth } : {}),
      // NetlinkOverrunResync: after an overrun, resync once the event burst has passed, at the latest after N s (off: never).
      overrunResync: overrunResync === false ? false : { maxDelayMs: overrunResync * 1000 },
      reliable: config.general.netlinkEventsReliable,
      // Peers learn our table through FT-FW's reset/resync or a bulk send, not a burst of 'new'.
      emitInitial: false,
      // A resync re-reads every entry; only real state changes go to the peers.
      same: sameFlow,
      // Entries we wrote for the peers (DisableExternalCache on) are not local flows.
      ...(inKernel ? { skip: (key: string) => external[kind].has(key) } : {}),
    });
    m.onChange((c) => engine.local(c));
    mirrors.push(m);
    mirrorOf.set(kind, m);
  };
  addMirror('ct');
  if (expectSync !== false) addMirror('expect');

  /** Counters of the external cache's kernel writes, as status `sync` entries. */
  const kernelWriteCounters = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const w of writers) for (const [k, v] of Object.entries(w.writeStats())) out[`externalInKernel.${k}`] = (out[`externalInKernel.${k}`] ?? 0) + v;
    return out;
  };

  const startedAt = clock.now();
  const counters = { flushKernel: 0, resyncKernel: 0, commits: 0 };
  let committing = false;
  let resumeTimer: TimerHandle | null = null;
  let state: HaState = 'INIT';
  let lastTransition: DaemonStatus['lastTransition'];

  const setState = (to: HaState, steps: TransitionStep[] = []): void => {
    if (to !== state || steps.length > 0) {
      lastTransition = { from: state, to, atEpochMs: Date.now(), steps };
      logger.info({ from: state, to, steps }, 'state change');
    }
    state = to;
  };

  const commit = async (kind: CommitKind, progress?: (p: CommitProgress) => void): Promise<CommitResult> => {
    if (committing) throw new DaemonError('EBUSY', 'a commit is already running');
    committing = true;
    const t0 = clock.now();
    let committed = 0;
    let failed = 0;
    // Our own commit would flood us with one event per entry, processed on this
    // event loop while the commit waits. Stop listening instead; the restart
    // below reconciles the internal cache with one dump (conntrackd's -c is
    // followed by -f and -R for the same reason).
    if (resumeTimer !== null) clock.clear(resumeTimer);
    resumeTimer = null;
    for (const m of mirrors) m.pause();
    try {
      for (const k of kinds(kind)) {
        const recs = copyOut(external[k].entries());
        let reported = 0;
        const every = deps.commitChunk ?? 25_000;
        // One batch: the kernel table overlaps its own window writing with the
        // kernel's insert work, so the commit is not cut into separate calls.
        const res = await table.create(recs, {
          onProgress: (done, total) => {
            if (done - reported < every && done < total) return;
            reported = done;
            progress?.({ done, total });
          },
        });
        committed += res.ok;
        failed += res.failed.length;
        for (const f of res.failed.slice(0, 5)) logger.warn({ code: f.code, msg: f.message }, 'commit: entry refused by the kernel');
      }
    } finally {
      committing = false;
      // Resubscribe a little later, so that what follows a commit (taking the
      // virtual addresses, the next CLI step) is not queued behind the
      // reconciling dump of the whole table on this event loop.
      resumeTimer = clock.setTimeout(() => {
        resumeTimer = null;
        for (const m of mirrors) m.start().catch((e: unknown) => logger.warn({ err: String(e) }, 'mirror restart after commit failed'));
      }, RESUME_AFTER_COMMIT_MS);
    }
    counters.commits++;
    const seconds = (clock.now() - t0) / 1000;
    logger.info({ committed, failed, seconds }, 'commit done');
    return { committed, failed, seconds };
  };

  const sources: StatsSources = {
    internal,
    external,
    engine,
    transport: deps.transport,
    mirrors: () => mirrors.map((m) => m.stats()),
    filter,
    counters,
    uptimeSeconds: () => (clock.now() - startedAt) / 1000,
    netlinkBufferSize: config.general.netlinkBufferSize ?? 0,
    // DisableExternalCache on keeps the external cache (also written to the kernel): still shown.
    externalDisabled: false,
    linkName: linkName(sync),
  };

  const api: DaemonApi = {
    commit,
    async flushCache(which: CacheName | 'all') {
      if (which !== 'external') for (const c of [internal.ct, internal.expect]) c.clear();
      if (which !== 'internal') for (const c of [external.ct, external.expect]) c.clear();
      logger.info({ which }, 'caches flushed');
    },
    async flushKernel(kind: CommitKind) {
      for (const k of kinds(kind)) await table.flush(k);
      counters.flushKernel++;
      logger.info({ kind }, 'kernel table flushed');
    },
    async dumpCache(which: CacheName, kind: CtKind): Promise<DumpEntry[]> {
      const cache = (which === 'internal' ? internal : external)[kind];
      const now = clock.now();
      const out: DumpEntry[] = [];
      for (const [key, r] of cache.entries()) {
        const at = cache.refreshedAt(key) ?? now;
        out.push({ record: { kind: r.kind, family: r.family, attrs: Buffer.from(r.attrs) }, ageSeconds: Math.max(0, Math.floor((now - at) / 1000)) });
      }
      return out;
    },
    async stats(section: StatsSection): Promise<StatsResult> {
      return buildStats(section, sources);
    },
    async resyncKernel(kind: CommitKind) {
      if (resumeTimer !== null) {
        // Still paused after a commit: resubscribe now (start() dumps and reconciles).
        clock.clear(resumeTimer);
        resumeTimer = null;
        for (const m of mirrors) await m.start();
      }
      for (const k of kinds(kind)) await mirrorOf.get(k)?.resync();
      counters.resyncKernel++;
    },
    async requestResync() {
      engine.requestResync();
      engine.flush();
    },
    async bulkSend() {
      engine.bulkSend();
      engine.flush();
    },
    async shortenTimers() {
      const n = await shortenTimeouts(table, mode.purgeTimeoutS, logger);
      logger.info({ entries: n, purgeTimeout: mode.purgeTimeoutS }, 'kernel timers shortened');
    },
    async kill() {
      setState('STOPPING');
      clock.setTimeout(() => deps.onKill?.(), 0);
    },
    async status(): Promise<DaemonStatus> {
      const st = engine.stats();
      return {
        pid: process.pid,
        version: deps.version,
        state,
        mode: mode.name,
        uptimeSeconds: Math.floor((clock.now() - startedAt) / 1000),
        peers: st.peers.map((p) => ({
          address: p.id,
          state: 'up',
          lastSeenSeconds: Math.max(0, Math.floor((clock.now() - p.lastHeard) / 1000)),
        })),
        cache: {
          internal: internal.ct.size,
          external: external.ct.size,
          internalExpect: internal.expect.size,
          externalExpect: external.expect.size,
        },
        lastTransition,
        sync: {
          ...st.modeStats,
          rejected: Object.values(st.rejected).reduce((a, b) => a + b, 0),
          ...authCounters(deps.transport),
          ...kernelWriteCounters(),
        },
      };
    },
  };

  return {
    api,
    engine,
    caches: { internal, external },
    setState,
    async start() {
      // Fill the internal cache before the sync link opens: a resync request
      // answered from a partial cache would sweep the peers' entries of ours.
      for (const m of mirrors) await m.start();
      await deps.transport.open();
      engine.start();
      logger.info({ mode: mode.name, internal: internal.ct.size }, 'daemon started');
    },
    acceptFlow: acceptCt,
    externalInKernel: inKernel
      ? {
          async drain() {
            for (const w of writers) await w.drain();
          },
          stats(): WriteThroughStats {
            const [a, b] = writers.map((w) => w.writeStats());
            const out = { ...(a as WriteThroughStats) };
            for (const k of Object.keys(out) as Array<keyof WriteThroughStats>) out[k] += b?.[k] ?? 0;
            return out;
          },
        }
      : null,
    async stop() {
      if (resumeTimer !== null) clock.clear(resumeTimer);
      for (const w of writers) w.stop();
      for (const m of mirrors) m.stop();
      engine.flush();
      engine.stop();
    },
  };
}

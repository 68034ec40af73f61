/**
 * The logic behind org.ctsync.Daemon1, free of any D-Bus library: argument
 * checks, one state-changing call at a time (a second one gets Busy), a
 * cached snapshot for properties (read synchronously by the bus), and
 * change detection that produces StateChanged / TransitionFinished events.
 *
 * The snapshot is refreshed after every state-changing call and every
 * `pollMs` on the injected clock.
 */
import type { DaemonApi, DaemonStatus, HaState, TransitionStep } from '../daemon/api';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { CtsyncDbusError, DBUS_ERROR, toDbusError } from './errors';
import { flattenStats, parseCache, parseKind, parseSection, type VariantValue } from './values';

export interface Snapshot {
  state: HaState | 'UNKNOWN';
  mode: string;
  internalCacheSize: number;
  externalCacheSize: number;
  version: string;
  pid: number;
}

export interface TransitionEvent {
  from: HaState;
  to: HaState;
  atEpochMs: number;
  totalMs: number;
  steps: TransitionStep[];
}

export interface CoreEvents {
  stateChanged(from: string, to: string): void;
  transitionFinished(t: TransitionEvent): void;
  propertiesChanged(changed: Partial<Snapshot>): void;
}

export interface DbusCoreOptions {
  api: DaemonApi;
  clock: Clock;
  logger: Logger;
  /** Status poll period; default 1000 ms. 0 disables polling. */
  pollMs?: number;
}

export interface DbusCore {
  commit(kind: unknown): Promise<[number, number, number]>;
  flush(which: unknown): Promise<void>;
  resync(kind: unknown): Promise<void>;
  requestResync(): Promise<void>;
  bulkSend(): Promise<void>;
  shortenTimers(): Promise<void>;
  getStats(section: unknown): Promise<Map<string, VariantValue>>;
  getState(): Promise<string>;
  snapshot(): Snapshot;
  /** Re-read the daemon status, emitting events for what changed. */
  refresh(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

const EMPTY: Snapshot = { state: 'UNKNOWN', mode: '', internalCacheSize: 0, externalCacheSize: 0, version: '', pid: 0 };

function snapshotOf(st: DaemonStatus): Snapshot {
  return {
    state: st.state,
    mode: st.mode,
    internalCacheSize: st.cache.internal,
    externalCacheSize: st.cache.external,
    version: st.version,
    pid: st.pid,
  };
}

export function createDbusCore(opts: DbusCoreOptions, events: CoreEvents): DbusCore {
  const { api, clock, logger } = opts;
  const pollMs = opts.pollMs ?? 1000;
  let snap: Snapshot = { ...EMPTY };
  let lastTransitionAt: number | undefined;
  let running: { name: string; since: number } | undefined;
  let timer: TimerHandle | undefined;
  let refreshing: Promise<void> | undefined;
  let stopped = false;

  function apply(st: DaemonStatus): void {
    const next = snapshotOf(st);
    const changed: Partial<Snapshot> = {};
    for (const k of Object.keys(next) as Array<keyof Snapshot>) {
      if (next[k] !== snap[k]) (changed as Record<string, unknown>)[k] = next[k];
    }
    const prevState = snap.state;
    snap = next;
    if (Object.keys(changed).length > 0) events.propertiesChanged(changed);
    if (changed.state !== undefined) events.stateChanged(prevState, next.state);
    const t = st.lastTransition;
    if (t && t.atEpochMs !== lastTransitionAt) {
      const first = lastTransitionAt === undefined && prevState === 'UNKNOWN';
      lastTransitionAt = t.atEpochMs;
      // A transition that finished before we started is history, not an event.
      if (!first) {
        const totalMs = t.steps.reduce((s, x) => s + x.ms, 0);
        events.transitionFinished({ from: t.from, to: t.to, atEpochMs: t.atEpochMs, totalMs, steps: t.steps });
      }
    }
  }

  async function refresh(): Promise<void> {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        apply(await api.status());
      } catch (e) {
        logger.warn({ err: toDbusError(e).message }, 'dbus: status refresh failed');
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  /** Run one state-changing call; a second concurrent one is refused with Busy. */
  async function exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (running) {
      const secs = Math.round((clock.now() - running.since) / 1000);
      throw new CtsyncDbusError(DBUS_ERROR.busy, `${running.name} is running (started ${secs}s ago); retry when it has finished`);
    }
    running = { name, since: clock.now() };
    try {
      return await fn();
    } catch (e) {
      const err = toDbusError(e);
      logger.warn({ method: name, error: err.errorName }, `dbus: ${name} failed: ${err.message}`);
      throw err;
    } finally {
      running = undefined;
      if (!stopped) await refresh();
    }
  }

  function schedule(): void {
    if (stopped || pollMs <= 0) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      void refresh().then(schedule);
    }, pollMs);
  }

  return {
    async commit(kind) {
      const k = parseKind(kind);
      return exclusive('Commit', async () => {
        const r = await api.commit(k);
        return [r.committed, r.failed, r.seconds];
      });
    },
    async flush(which) {
      const w = parseCache(which);
      return exclusive('Flush', () => api.flushCache(w));
    },
    async resync(kind) {
      const k = parseKind(kind);
      return exclusive('Resync', () => api.resyncKernel(k));
    },
    requestResync: () => exclusive('RequestResync', () => api.requestResync()),
    bulkSend: () => exclusive('BulkSend', () => api.bulkSend()),
    shortenTimers: () => exclusive('ShortenTimers', () => api.shortenTimers()),
    async getStats(section) {
      const s = parseSection(section);
      try {
        return flattenStats(await api.stats(s));
      } catch (e) {
        throw toDbusError(e);
      }
    },
    async getState() {
      try {
        const st = await api.status();
        apply(st);
        return st.state;
      } catch (e) {
        throw toDbusError(e);
      }
    },
    snapshot: () => ({ ...snap }),
    refresh,
    async start() {
      await refresh();
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clock.clear(timer);
      timer = undefined;
    },
  };
}

/**
 * The kernel mirror keeps a cache (the internal cache) equal to the kernel's
 * conntrack (or expectation) table, through the filter, and reports every
 * effective change to its listeners: that is what the sync engine ships.
 *
 *  - start(): subscribe to events first, then dump and fill the cache, so no
 *    event between the dump and the subscription is lost.
 *  - While a dump runs, events are buffered (newest event per key wins) and
 *    applied after the dump, in arrival order of their latest occurrence.
 *  - Overrun (ENOBUFS): events were lost, so dump again and reconcile: upsert
 *    what the dump shows, delete cache entries the kernel no longer has.
 *    Overruns during a resync are coalesced into one more resync.
 *  - Filtered new/update events are ignored (the cache keeps its previous
 *    version, as conntrackd does); destroy events are always applied.
 *  - A failed dump is logged, counted and retried after retryMs.
 *
 * Records handed to listeners are never cache views: event or dump records
 * (views into a socket read that stay valid) or copies. A listener that keeps
 * one for long copies it (a kept view pins the whole read buffer).
 */
import type { KernelTable, EventSubscription } from '../netlink/table';
import type { CtEvent, CtKind, CtRecord } from '../netlink/types';
import type { Clock, TimerHandle } from '../util/clock';
import type { Cache, CacheLogger, UpsertResult } from './types';

export type ChangeType = 'new' | 'update' | 'destroy';

export interface MirrorChange {
  type: ChangeType;
  key: string;
  record: CtRecord;
}

export interface MirrorStats {
  /** Events received from the kernel. */
  events: number;
  /** new/update events (or dump records) rejected by the filter. */
  filtered: number;
  /** Records keyOf() could not key (malformed); ignored. */
  unkeyed: number;
  /** new/update events (or dump records) of entries skip() says are not ours. */
  foreign: number;
  /** Upserts the cache refused (HashLimit). */
  refused: number;
  overruns: number;
  /** Dumps done (the first fill included). */
  resyncs: number;
  /** Changes made by reconciliation after a dump. */
  added: number;
  removed: number;
  changed: number;
  dumpErrors: number;
  listenerErrors: number;
}

export interface MirrorOptions {
  table: KernelTable;
  cache: Cache;
  kind: CtKind;
  /** Canonical key of a record, or null when the record cannot be keyed. */
  keyOf: (rec: CtRecord) => string | null;
  /** The compiled filter applied to a record (e.g. rec => filter(peekFlow(rec))). */
  accept: (rec: CtRecord) => boolean;
  /**
   * Keys whose kernel entries this node wrote for its peers (the external
   * cache kept in the kernel, write-through.ts): their new/update events and
   * dump records are not local flows. Destroys are applied as usual.
   */
  skip?: (key: string) => boolean;
  clock: Clock;
  logger?: CacheLogger;
  /** Report the first fill's entries as 'new' changes (default true). */
  emitInitial?: boolean;
  /** Delay before retrying a failed dump (default 1000 ms). */
  retryMs?: number;
  /** Socket receive buffer for the event subscription. */
  rcvbuf?: number;
  /**
   * [NetlinkBufferSizeMaxGrowth] after an overrun the next event socket gets
   * twice the buffer, up to this size (as conntrackd grows its buffer).
   */
  rcvbufMax?: number;
  /**
   * True when a dumped record is the same entry state as the cached one (e.g.
   * ignoring the timeout countdown); such records are not reported as changes
   * by a resync. Default: byte equality.
   */
  same?: (cached: CtRecord, dumped: CtRecord) => boolean;
  /**
   * [NetlinkOverrunResync] When to resync after an overrun. Undefined: at
   * once. `false`: never by itself (counted and logged; `-R` resyncs). An
   * object: the events are read on a fresh socket meanwhile, and the dump
   * runs once the burst has passed (fewer than `quietRate` events per second
   * over a `checkMs` period), at the latest `maxDelayMs` after the overrun. A
   * dump in the middle of a burst stalls the event socket and overruns it
   * again; conntrackd waits a fixed 30 s by default instead.
   */
  overrunResync?: false | { maxDelayMs: number; quietRate?: number; checkMs?: number };
  /** [NetlinkEventsReliable] Reliable event delivery on the subscription (NETLINK_BROADCAST_ERROR). */
  reliable?: boolean;
}

export interface Mirror {
  start(): Promise<void>;
  /** Dump and reconcile now (conntrackd -R). Coalesces with a running resync. */
  resync(): Promise<void>;
  onChange(listener: (c: MirrorChange) => void): () => void;
  stats(): MirrorStats;
  /** True while a dump is in progress. */
  readonly syncing: boolean;
  /**
   * Stop listening to kernel events (e.g. while this node writes a large batch
   * into the kernel whose events it does not need); start() resubscribes and
   * reconciles with a dump, so nothing that happened meanwhile is missed.
   */
  pause(): void;
  stop(): void;
}

/** A burst has passed when fewer events than this arrive per second. */
const DEFAULT_QUIET_RATE = 10_000;
const DEFAULT_CHECK_MS = 100;

class KernelMirror implements Mirror {
  private readonly o: MirrorOptions;
  private readonly listeners: Array<(c: MirrorChange) => void> = [];
  private sub: EventSubscription | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private first = true;
  private stopped = false;
  private retry: TimerHandle | null = null;
  /** Receive buffer of the next event socket (grows after overruns). */
  private rcvbuf: number | undefined;
  /** Events buffered during a dump: key -> newest event (Map keeps first-seen order; re-set moves nothing). */
  private pending = new Map<string, CtEvent>();
  private readonly st: MirrorStats = {
    events: 0,
    filtered: 0,
    unkeyed: 0,
    foreign: 0,
    refused: 0,
    overruns: 0,
    resyncs: 0,
    added: 0,
    removed: 0,
    changed: 0,
    dumpErrors: 0,
    listenerErrors: 0,
  };

  /** Deferred resync after an overrun: the check timer, when the overrun was, events since the last check. */
  private deferred: TimerHandle | null = null;
  /** Reconciliation epoch for Cache.markSeen (never 0: a fresh slot's mark). */
  private epoch = 0;
  private overrunAt = 0;
  private recent = 0;

  constructor(o: MirrorOptions) {
    this.o = o;
    this.rcvbuf = o.rcvbuf;
  }

  get syncing(): boolean {
    return this.running !== null;
  }

  async start(): Promise<void> {
    if (this.sub !== null) return;
    this.stopped = false;
    this.subscribe();
    await this.resync();
  }

  private subscribe(): void {
    this.sub = this.o.table.subscribe(
      { kinds: [this.o.kind], ...(this.rcvbuf !== undefined ? { rcvbuf: this.rcvbuf } : {}), ...(this.o.reliable === true ? { reliable: true } : {}) },
      {
        onEvents: (evs) => this.onEvents(evs),
        onOverrun: () => this.onOverrun(),
        onError: (code) => this.o.logger?.warn({ kind: this.o.kind, code }, 'conntrack event socket error'),
      },
    );
  }

  resync(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  onChange(listener: (c: MirrorChange) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  stats(): MirrorStats {
    return { ...this.st };
  }

  pause(): void {
    this.cancelDeferred(); // start() resyncs anyway
    this.sub?.close();
    this.sub = null;
  }

  stop(): void {
    this.stopped = true;
    this.cancelDeferred();
    this.sub?.close();
    this.sub = null;
    if (this.retry !== null) this.o.clock.clear(this.retry);
    this.retry = null;
    this.pending.clear();
  }

  private onEvents(evs: CtEvent[]): void {
    this.st.events += evs.length;
    this.recent += evs.length;
    const now = this.o.clock.now();
    for (const ev of evs) {
      if (ev.record.kind !== this.o.kind) continue;
      const key = this.o.keyOf(ev.record);
      if (key === null) {
        this.st.unkeyed++;
        continue;
      }
      if (this.running !== null) {
        // Newest wins; delete first so the key moves to the end (arrival order of its latest event).
        this.pending.delete(key);
        // Owned copy: event records are views into a whole socket read.
        const r = ev.record;
        this.pending.set(key, { type: ev.type, record: { kind: r.kind, family: r.family, attrs: Buffer.from(r.attrs) } });
      } else {
        this.apply(key, ev, now);
      }
    }
  }

  private onOverrun(): void {
    this.st.overruns++;
    this.o.logger?.warn({ kind: this.o.kind }, 'conntrack event overrun, resyncing with the kernel table');
    // A netlink socket reports ENOBUFS once and then drops silently while it
    // stays congested (until its queue has been read empty): events dropped
    // after the resync dump started would be lost without a word. So start
    // over on a fresh socket (it reports its own overruns), then dump.
    this.sub?.close();
    this.sub = null;
    const max = this.o.rcvbufMax ?? 0;
    if (this.rcvbuf !== undefined && max > this.rcvbuf) {
      this.rcvbuf = Math.min(max, this.rcvbuf * 2);
      this.o.logger?.warn({ kind: this.o.kind, rcvbuf: this.rcvbuf }, 'conntrack event buffer doubled (NetlinkBufferSizeMaxGrowth)');
    }
    if (this.stopped) return;
    const when = this.o.overrunResync;
    if (when === undefined) {
      void this.start();
      return;
    }
    // Keep reading the events on a fresh socket; resync later (or never: `false`).
    this.subscribe();
    if (when === false) {
      this.o.logger?.warn({ kind: this.o.kind }, 'NetlinkOverrunResync off: the internal cache may miss changes until a resync (-R)');
      return;
    }
    this.overrunAt = this.o.clock.now();
    if (this.deferred === null) this.checkQuiet(when.maxDelayMs, when.quietRate ?? DEFAULT_QUIET_RATE, when.checkMs ?? DEFAULT_CHECK_MS);
  }

  /** Resync once fewer than `quietRate` events per second arrive, or `maxDelayMs` after the last overrun. */
  private checkQuiet(maxDelayMs: number, quietRate: number, checkMs: number): void {
    this.recent = 0;
    this.deferred = this.o.clock.setTimeout(() => {
      this.deferred = null;
      if (this.stopped) return;
      const quiet = (this.recent * 1000) / checkMs < quietRate;
      if (quiet || this.o.clock.now() - this.overrunAt >= maxDelayMs) {
        this.o.logger?.info?.({ kind: this.o.kind, afterMs: this.o.clock.now() - this.overrunAt, quiet }, 'resyncing after the overrun');
        void this.resync();
      } else {
        this.checkQuiet(maxDelayMs, quietRate, checkMs);
      }
    }, checkMs);
  }

  private cancelDeferred(): void {
    if (this.deferred !== null) this.o.clock.clear(this.deferred);
    this.deferred = null;
  }

  /** Apply one event to the cache and report the effective change. */
  private apply(key: string, ev: CtEvent, now: number): void {
    if (ev.type === 'destroy') {
      if (this.o.cache.remove(key)) this.emit({ type: 'destroy', key, record: ev.record });
      return;
    }
    if (this.o.skip?.(key) === true) {
      this.st.foreign++;
      return;
    }
    if (!this.o.accept(ev.record)) {
      this.st.filtered++;
      return;
    }
    this.upsert(key, ev.record, false, now);
  }

  private upsert(key: string, rec: CtRecord, reconcile: boolean, now: number): UpsertResult {
    const r = this.o.cache.upsert(key, rec, now);
    if (r === 'created') {
      if (reconcile) this.st.added++;
      this.emit({ type: 'new', key, record: rec });
    } else if (r === 'updated') {
      if (reconcile) this.st.changed++;
      this.emit({ type: 'update', key, record: rec });
    } else if (r === 'refused') {
      this.st.refused++;
    }
    return r;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.dumpOnce();
    } while (this.again && !this.stopped);
  }

  private async dumpOnce(): Promise<void> {
    let records: CtRecord[];
    try {
      records = await this.o.table.dump(this.o.kind);
    } catch (err) {
      this.st.dumpErrors++;
      this.o.logger?.warn({ kind: this.o.kind, err: String(err) }, 'conntrack dump failed, will retry');
      this.flushPending();
      this.scheduleRetry();
      return;
    }
    if (this.stopped) return;
    this.st.resyncs++;
    const initial = this.first;
    this.first = false;
    const quiet = initial && this.o.emitInitial === false;
    const saved = quiet ? this.listeners.splice(0) : null;
    try {
      this.reconcile(records, !initial);
    } finally {
      if (saved !== null) this.listeners.push(...saved);
    }
    this.flushPending();
  }

  private reconcile(records: CtRecord[], count: boolean): void {
    const now = this.o.clock.now();
    const cache = this.o.cache;
    // Which cache keys the dump lacks: marked in the cache when it can (no set of a million keys), else a Set.
    const marking = cache.markSeen !== undefined && cache.unmarked !== undefined;
    const epoch = (this.epoch = (this.epoch + 1) >>> 0 || 1);
    const seen = marking ? null : new Set<string>();
    for (const rec of records) {
      if (rec.kind !== this.o.kind) continue;
      const key = this.o.keyOf(rec);
      if (key === null) {
        this.st.unkeyed++;
        continue;
      }
      const cached = marking ? cache.markSeen?.(key, epoch) : (seen?.add(key), undefined);
      // A buffered event for this key is newer than or as new as the dump; it decides.
      if (this.pending.has(key)) continue;
      if (this.o.skip?.(key) === true) {
        this.st.foreign++;
        continue;
      }
      if (!this.o.accept(rec)) {
        this.st.filtered++;
        continue;
      }
      if (this.o.same !== undefined) {
        const c = marking ? cached : cache.get(key);
        if (c !== undefined && this.o.same(c, rec)) continue;
      }
      // A key created here is in the dump too.
      if (this.upsert(key, rec, count, now) === 'created' && marking) cache.markSeen?.(key, epoch);
    }
    const gone: string[] = [];
    if (marking) {
      for (const key of cache.unmarked?.(epoch) ?? []) if (!this.pending.has(key)) gone.push(key);
    } else {
      for (const key of cache.keys()) if (!seen?.has(key) && !this.pending.has(key)) gone.push(key);
    }
    for (const key of gone) {
      const rec = cache.delete(key);
      if (rec === undefined) continue;
      if (count) this.st.removed++;
      this.emit({ type: 'destroy', key, record: rec });
    }
  }


  private flushPending(): void {
    const evs = this.pending;
    this.pending = new Map();
    const now = this.o.clock.now();
    for (const [key, ev] of evs) this.apply(key, ev, now);
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry !== null) return;
    this.retry = this.o.clock.setTimeout(() => {
      this.retry = null;
      void this.resync();
    }, this.o.retryMs ?? 1000);
  }

  private emit(c: MirrorChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.st.listenerErrors++;
        this.o.logger?.warn({ err: String(err), key: c.key }, 'mirror listener failed');
      }
    }
  }
}

/** Build a kernel mirror; call start() to subscribe and fill the cache. */
export function createMirror(opts: MirrorOptions): Mirror {
  return new KernelMirror(opts);
}

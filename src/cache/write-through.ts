/**
 * A cache that also keeps its entries in the kernel's conntrack table
 * (`DisableExternalCache on`): the backup's kernel already holds the peers'
 * flows when it is promoted, so it can take the virtual addresses before
 * anything else and no packet of a replicated flow finds the table empty.
 *
 * Unlike conntrackd, which then has no external cache at all, the entries
 * stay in memory too (for -i, -s, the bulk sweep and a fix-up commit). Every
 * change of the inner cache is queued per key (the newest wins) and written
 * in batches every `flushMs`: created/updated entries as creates (EEXIST is
 * retried as an update by the table), removed ones as deletes (ENOENT is
 * fine: the kernel timed them out). clear() and purge() do not touch the
 * kernel: a flush of the external cache at promotion must leave the entries
 * where they are, and kernel timeouts outlive cache timeouts anyway.
 */
import type { KernelTable } from '../netlink/table';
import type { CtRecord } from '../netlink/types';
import type { Clock, TimerHandle } from '../util/clock';
import type { Cache, CacheLogger, CacheStats, UpsertResult } from './types';

export interface WriteThroughOptions {
  table: KernelTable;
  clock: Clock;
  logger?: CacheLogger;
  /** Delay between a change and its kernel write, ms (default 20). */
  flushMs?: number;
  /** Entries per kernel batch (default 8192). */
  maxBatch?: number;
}

export interface WriteThroughStats {
  /** Changes waiting for their kernel write. */
  pending: number;
  written: number;
  deleted: number;
  /** Writes the kernel refused (ENOENT on delete not counted). */
  failed: number;
  /** Kernel batches that failed as a whole (socket error, timeout). */
  batchErrors: number;
}

export interface WriteThroughCache extends Cache {
  /** Write everything queued now; resolves when the kernel has it. */
  drain(): Promise<void>;
  writeStats(): WriteThroughStats;
  /** Stop writing (pending changes are dropped). */
  stop(): void;
}

type Op = { del: false } | { del: true; rec: CtRecord };

export function writeThrough(inner: Cache, o: WriteThroughOptions): WriteThroughCache {
  const flushMs = o.flushMs ?? 20;
  const maxBatch = o.maxBatch ?? 8192;
  let queue = new Map<string, Op>();
  let timer: TimerHandle | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const st = { written: 0, deleted: 0, failed: 0, batchErrors: 0 };
  const PUT: Op = { del: false };
  // A full kernel table refuses every batch: one warning per 5 s, with the count since the last.
  let lastWarn = Number.NEGATIVE_INFINITY;
  let quiet = 0;
  const warn = (obj: object, msg: string): void => {
    const now = o.clock.now();
    if (now - lastWarn < 5000) {
      quiet++;
      return;
    }
    o.logger?.warn({ ...obj, suppressed: quiet }, msg);
    lastWarn = now;
    quiet = 0;
  };

  const schedule = (): void => {
    if (timer !== null || running !== null || stopped) return;
    timer = o.clock.setTimeout(() => {
      timer = null;
      void flush();
    }, flushMs);
  };

  const copy = (r: CtRecord): CtRecord => ({ kind: r.kind, family: r.family, attrs: Buffer.from(r.attrs) });

  const writeBatch = async (puts: CtRecord[], dels: CtRecord[]): Promise<void> => {
    try {
      if (puts.length > 0) {
        const r = await o.table.create(puts);
        st.written += r.ok;
        st.failed += r.failed.length;
        if (r.failed.length > 0) warn({ failed: r.failed.length, first: r.failed[0]?.code }, 'external cache: kernel refused entries');
      }
      if (dels.length > 0) {
        const r = await o.table.delete(dels);
        st.deleted += r.ok;
        const bad = r.failed.filter((f) => f.code !== 'ENOENT');
        st.failed += bad.length;
        if (bad.length > 0) warn({ failed: bad.length, first: bad[0]?.code }, 'external cache: kernel refused deletes');
      }
    } catch (e) {
      st.batchErrors++;
      warn({ err: String(e) }, 'external cache: kernel write failed');
    }
  };

  const flush = (): Promise<void> => {
    if (running !== null) return running;
    running = (async () => {
      while (queue.size > 0 && !stopped) {
        const batch = queue;
        queue = new Map();
        let puts: CtRecord[] = [];
        let dels: CtRecord[] = [];
        for (const [key, op] of batch) {
          if (op.del) dels.push(op.rec);
          else {
            const r = inner.get(key);
            if (r !== undefined) puts.push(copy(r));
          }
          if (puts.length + dels.length >= maxBatch) {
            await writeBatch(puts, dels);
            puts = [];
            dels = [];
          }
        }
        await writeBatch(puts, dels);
      }
    })().finally(() => {
      running = null;
      if (queue.size > 0) schedule();
    });
    return running;
  };

  const cache: WriteThroughCache = {
    get name() {
      return inner.name;
    },
    get size() {
      return inner.size;
    },
    get: (key) => inner.get(key),
    has: (key) => inner.has(key),
    refreshedAt: (key) => inner.refreshedAt(key),
    entries: () => inner.entries(),
    keys: () => inner.keys(),
    stats: (): CacheStats => inner.stats(),
    upsert(key: string, record: CtRecord, now: number): UpsertResult {
      const r = inner.upsert(key, record, now);
      if (r === 'created' || r === 'updated') {
        queue.set(key, PUT);
        schedule();
      }
      return r;
    },
    delete(key) {
      const r = inner.delete(key);
      if (r !== undefined) {
        queue.set(key, { del: true, rec: copy(r) });
        schedule();
      }
      return r;
    },
    remove(key) {
      const r = inner.get(key);
      if (r === undefined) return false;
      const rec = copy(r);
      inner.remove(key);
      queue.set(key, { del: true, rec });
      schedule();
      return true;
    },
    clear() {
      inner.clear();
      queue.clear();
    },
    purge: (now) => inner.purge(now),
    async drain() {
      if (timer !== null) {
        o.clock.clear(timer);
        timer = null;
      }
      while ((queue.size > 0 || running !== null) && !stopped) await flush();
    },
    writeStats: () => ({ pending: queue.size, ...st }),
    stop() {
      stopped = true;
      if (timer !== null) o.clock.clear(timer);
      timer = null;
      queue.clear();
    },
  };
  return cache;
}

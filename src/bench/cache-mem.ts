/**
 * Cache benchmark: memory per flow at 200k and 1M realistic IPv4 TCP records
 * (src/bench/cache-records.ts, 192 attribute bytes each, 12-byte keys), and
 * operation rates on the packed cache.
 *
 * Each memory point runs in a fresh child process (node --expose-gc) so RSS
 * starts clean: RSS/flow = (RSS after fill and GC - RSS before) / flows.
 * Reference: conntrackd 1.4.7 measured ~600 bytes RSS per flow at 200k flows
 * on the same machine. Run compiled: `node dist/bench/cache-mem.js` (after npm run build).
 */
import { execFileSync } from 'node:child_process';
import { createCache } from '../cache/packed-cache';
import type { CtRecord } from '../netlink/types';
import { synthFlow, synthKey, tcpFlowRecord } from './cache-records';

export type BenchRow = Record<string, string | number>;

export interface BenchSection {
  name: string;
  run(): Promise<BenchRow[]>;
}

export interface CacheBenchOptions {
  /** Flow counts for the memory points; default [200_000, 1_000_000]. */
  sizes?: number[];
  /** Flows for the ops/s measurement; default 200_000. */
  opsFlows?: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

/** Fill a cache with n flows in this process and measure. */
export function measureMemory(n: number): BenchRow {
  gc();
  const m0 = process.memoryUsage();
  const cache = createCache({ name: 'bench', limit: n + 1 });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const f = synthFlow(i);
    cache.upsert(synthKey(f), tcpFlowRecord(f), i);
  }
  const fillMs = performance.now() - t0;
  gc();
  const m1 = process.memoryUsage();
  const per = (a: number, b: number): number => Math.round((a - b) / n);
  return {
    case: `memory ${n} IPv4 TCP flows`,
    flows: cache.size,
    recordBytes: tcpFlowRecord(synthFlow(0)).attrs.length,
    rssBytesPerFlow: per(m1.rss, m0.rss),
    heapBytesPerFlow: per(m1.heapUsed, m0.heapUsed),
    externalBytesPerFlow: per(m1.external, m0.external),
    fillSeconds: Number((fillMs / 1000).toFixed(2)),
    gcExposed: (globalThis as { gc?: unknown }).gc !== undefined ? 'yes' : 'no',
  };
}

function rate(name: string, ops: number, fn: () => void): BenchRow {
  const t0 = performance.now();
  fn();
  const s = (performance.now() - t0) / 1000;
  return { case: name, ops, opsPerSec: Math.round(ops / s) };
}

/** Operation rates on pre-encoded records (encoding cost excluded). */
export function measureOps(n: number): BenchRow[] {
  const keys: string[] = [];
  const recs: CtRecord[] = [];
  const alt: CtRecord[] = [];
  for (let i = 0; i < n; i++) {
    const f = synthFlow(i);
    keys.push(synthKey(f));
    recs.push(tcpFlowRecord(f));
    alt.push(tcpFlowRecord({ ...f, timeout: f.timeout - 1 }));
  }
  const cache = createCache({ name: 'ops', limit: n });
  const rows: BenchRow[] = [];
  rows.push(rate('upsert (create)', n, () => keys.forEach((k, i) => cache.upsert(k, recs[i] as CtRecord, 1))));
  rows.push(rate('upsert (unchanged)', n, () => keys.forEach((k, i) => cache.upsert(k, recs[i] as CtRecord, 2))));
  rows.push(rate('upsert (update)', n, () => keys.forEach((k, i) => cache.upsert(k, alt[i] as CtRecord, 3))));
  let sink = 0;
  rows.push(
    rate('get', n, () => {
      for (const k of keys) sink += cache.get(k)?.attrs.length ?? 0;
    }),
  );
  rows.push(
    rate('iterate entries', n, () => {
      for (const [, r] of cache.entries()) sink += r.attrs.length;
    }),
  );
  rows.push(rate('remove', n, () => keys.forEach((k) => cache.remove(k))));
  if (sink < 0) rows.push({ case: 'impossible' });
  return rows;
}

/** Run one memory point in a child process (clean RSS), or in-process when not compiled. */
function childMemory(n: number): BenchRow {
  if (!__filename.endsWith('.js')) return { ...measureMemory(n), note: 'in-process (not compiled)' };
  const out = execFileSync(process.execPath, ['--expose-gc', __filename, '--child', String(n)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as BenchRow;
}

export function cacheMemSection(opts: CacheBenchOptions = {}): BenchSection {
  return {
    name: 'cache-mem',
    run(): Promise<BenchRow[]> {
      const rows: BenchRow[] = [];
      for (const n of opts.sizes ?? [200_000, 1_000_000]) rows.push(childMemory(n));
      rows.push(...measureOps(opts.opsFlows ?? 200_000));
      return Promise.resolve(rows);
    },
  };
}

/** The section with default options, for the bench runner. */
export const cacheMemBench: BenchSection = cacheMemSection();

if (require.main === module) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    process.stdout.write(`${JSON.stringify(measureMemory(Number(process.argv[i + 1])))}\n`);
  } else {
    void cacheMemBench.run().then((rows) => console.table(rows));
  }
}

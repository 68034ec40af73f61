/**
 * Failover benchmark: the lab of src/lab (client, two firewalls, server; TCP
 * streams through the master, SIGKILL of the master) run side by side in one
 * go for each HA stack, on the same lab shape and the same generated tables:
 *   ctsyncd-vrrp   ctsyncd with its embedded VRRP (the whole stack), fast failover on
 *   ctsyncd-vrrp-rfc  the same with the RFC's master down interval only
 *   conntrackd     keepalived + conntrackd 1.4.7 (the reference)
 *   ctsyncd        keepalived + ctsyncd through the conntrackd CLI
 * per VRRP advert interval (VRRPv3 for all) and background table size.
 * Reported per run: longest client-side stall, broken / hung streams, and
 * the offsets from the crash of detection, commit, addresses, first resume;
 * ratio = stall / the reference's stall in the same cell.
 *
 * Environment:
 *   CTSYNC_BENCH_FO_FLOWS     comma list of background flow counts (default "0,100000"; add 1000000 by hand)
 *   CTSYNC_BENCH_FO_ADVERTS   comma list of advert intervals in seconds (default "1,0.1")
 *   CTSYNC_BENCH_FO_VARIANTS  comma list (default "ctsyncd-vrrp,ctsyncd-vrrp-rfc,conntrackd,ctsyncd")
 *   CTSYNC_BENCH_FO_STREAMS   TCP streams per run (default 50, as issue 5's acceptance)
 *   CTSYNC_BENCH_FO_RUNS      runs per cell (default 1); with more, the variants take turns run by run
 *                             and a summary row per cell gives the median, min and max stall
 *   CTSYNC_BENCH_FO_KEEP      1: keep the run directories (daemon logs) instead of removing them
 *
 * Writes bench-out/failover-<date>.json (every run's data) and
 * bench-out/failover-<date>.svg (the timelines), also as failover-latest.*.
 * Namespaces are removed also on failure and on SIGINT / SIGTERM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { runFailover, type FailoverResult } from '../lab/failover';
import { VARIANTS, type Variant } from '../lab/ha-stack';
import { sweepLabs } from '../lab/topology';
import { renderTimeline } from '../lab/timeline';
import { VARIANT_LABEL } from '../lab/report';
import { summarize, type FailoverSummary } from '../lab/summary';
import { createLogger } from '../util/log';
import type { BenchRow, BenchSection } from './section';

const PREFIX = 'bfo';
const REFERENCE: Variant = 'conntrackd';

export interface FailoverBenchOptions {
  flows: number[];
  adverts: number[];
  variants: Variant[];
  streams: number;
  /** Runs per cell (flows, advert, variant). */
  runs: number;
  outDir: string;
}

function list(v: string | undefined, dflt: string): string[] {
  return (v ?? dflt).split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function failoverOptionsFromEnv(env: NodeJS.ProcessEnv): FailoverBenchOptions {
  const nums = (name: string, dflt: string): number[] =>
    list(env[name], dflt).map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: '${s}' is not a number >= 0`);
      return n;
    });
  const variants = list(env.CTSYNC_BENCH_FO_VARIANTS, 'ctsyncd-vrrp,ctsyncd-vrrp-rfc,conntrackd,ctsyncd').map((s) => {
    if (!VARIANTS.includes(s as Variant)) throw new Error(`CTSYNC_BENCH_FO_VARIANTS: unknown '${s}' (have: ${VARIANTS.join(', ')})`);
    return s as Variant;
  });
  const adverts = nums('CTSYNC_BENCH_FO_ADVERTS', '1,0.1');
  for (const a of adverts) if (a < 0.01 || a > 40.95) throw new Error(`CTSYNC_BENCH_FO_ADVERTS: ${a} s is outside VRRPv3's 0.01..40.95 s`);
  return {
    flows: nums('CTSYNC_BENCH_FO_FLOWS', '0,100000').map(Math.round),
    adverts,
    variants,
    streams: Math.max(1, Math.round(Number(env.CTSYNC_BENCH_FO_STREAMS ?? 50))),
    runs: Math.max(1, Math.round(Number(env.CTSYNC_BENCH_FO_RUNS ?? 1)) || 1),
    outDir: 'bench-out',
  };
}

interface Cell {
  flows: number;
  advert: number;
  variant: Variant;
  /** Run number within its cell, from 1. */
  run?: number;
  result?: FailoverResult;
  summary?: FailoverSummary;
  error?: string;
}

function ms(v: number | null | undefined): string | number {
  return v === null || v === undefined ? '-' : v;
}

export function failoverRows(cells: Cell[]): BenchRow[] {
  return cells.map((c): BenchRow => {
    const ref = cells.find((x) => x.flows === c.flows && x.advert === c.advert && x.variant === REFERENCE && x.run === c.run)?.summary;
    const s = c.summary;
    const r = c.result;
    const run: BenchRow = c.run !== undefined ? { run: c.run } : {};
    if (s === undefined || r === undefined) {
      return { flows: c.flows, advert_s: c.advert, stack: c.variant, ...run, error: c.error ?? 'no result' };
    }
    return {
      flows: c.flows,
      advert_s: c.advert,
      stack: c.variant,
      ...run,
      replicated: r.replicatedBeforeCrash ?? '-',
      detect_ms: ms(s.detectMs),
      commit_ms: ms(s.commitDoneMs),
      vips_ms: ms(s.vipsMs),
      resume_ms: ms(s.firstResumeMs),
      stall_ms: s.maxStallMs,
      stall_ratio: ref !== undefined && ref.maxStallMs > 0 ? Math.round((s.maxStallMs / ref.maxStallMs) * 100) / 100 : '-',
      broken: s.broken,
      hung: s.hung,
      survived: `${r.survived}/${r.verdicts.length}`,
      // fw2 was MASTER before the crash: a false failover, the stall is not the crash's.
      early_master: r.fw2MasterBeforeCrash ? 'YES' : 'no',
    };
  });
}

/** Per (flows, advert, variant): median, min and max of the longest stall over its runs (only with several runs). */
export function failoverSummaryRows(cells: Cell[]): BenchRow[] {
  const groups = new Map<string, Cell[]>();
  for (const c of cells) {
    const k = `${c.flows}|${c.advert}|${c.variant}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const rows: BenchRow[] = [];
  for (const g of groups.values()) {
    const first = g[0];
    if (first === undefined || g.length < 2) continue;
    const stalls = g.flatMap((c) => (c.summary !== undefined ? [c.summary.maxStallMs] : [])).sort((a, b) => a - b);
    const mid = stalls.length === 0 ? '-' : stalls.length % 2 === 1 ? stalls[(stalls.length - 1) / 2] : Math.round(((stalls[stalls.length / 2 - 1] ?? 0) + (stalls[stalls.length / 2] ?? 0)) / 2);
    rows.push({
      flows: first.flows,
      advert_s: first.advert,
      stack: first.variant,
      run: `median of ${stalls.length}/${g.length}`,
      stall_ms: mid ?? '-',
      stall_min_ms: stalls[0] ?? '-',
      stall_max_ms: stalls[stalls.length - 1] ?? '-',
      broken: g.reduce((n, c) => n + (c.summary?.broken ?? 0), 0),
      early_master: g.some((c) => c.result?.fw2MasterBeforeCrash === true) ? 'YES' : 'no',
    });
  }
  return rows;
}

export async function runFailoverBench(o: FailoverBenchOptions): Promise<{ rows: BenchRow[]; files: string[] }> {
  const log = createLogger({ name: 'bench-failover', level: process.env.CTSYNC_LOG_LEVEL ?? 'warn' });
  const date = new Date().toISOString().replace(/[:.]/g, '-');
  const runRoot = path.resolve(o.outDir, `failover-run-${date}`);
  fs.mkdirSync(runRoot, { recursive: true });
  const onSignal = (): void => {
    sweepLabs(PREFIX, false, process.pid);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const cells: Cell[] = [];
  const loads: string[] = [];
  let seq = 0;
  try {
    // Cells in run order: with several runs, the variants take turns run by run.
    const order: Array<{ flows: number; advert: number; run: number; variant: Variant }> = [];
    for (const flows of o.flows) {
      for (const advert of o.adverts) {
        for (let run = 1; run <= o.runs; run++) for (const variant of o.variants) order.push({ flows, advert, run, variant });
      }
    }
    for (const { flows, advert, run, variant } of order) {
      seq += 1;
      const cell: Cell = o.runs > 1 ? { flows, advert, variant, run } : { flows, advert, variant };
      cells.push(cell);
      loads.push(loadavg()[0]?.toFixed(2) ?? '?');
      process.stdout.write(`failover: ${variant}, advert ${advert} s, ${flows} flows${o.runs > 1 ? `, run ${run}/${o.runs}` : ''} ...\n`);
      try {
        // Detection takes 3 adverts + skew, the commit grows with the table, and a client
        // retransmits at ~0.2, 0.6, 1.4, 3, 6.2, 12.6 s: watch long enough to see it resume.
        const observeMs = 6000 + advert * 4000 + flows / 10;
        const r = await runFailover({
          prefix: PREFIX, seq, variant, advertInt: advert, vrrpVersion: 3, flows, streams: o.streams,
          runDir: path.join(runRoot, `${seq}-${variant}-${advert}-${flows}-${run}`), logger: log,
          warmupMs: 2000, observeMs, syncTimeoutMs: 60_000 + flows / 2,
        });
        cell.result = r;
        cell.summary = summarize(r);
      } catch (e) {
        cell.error = (e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 200) ?? 'error';
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    sweepLabs(PREFIX, false, process.pid);
  }
  const rows = [...failoverRows(cells), ...failoverSummaryRows(cells)];
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version },
    options: { ...o, loadavgBeforeEachRun: loads },
    rows,
    runs: cells,
  };
  const done = cells.filter((c) => c.result !== undefined);
  const svg = renderTimeline(
    done.map((c) => {
      const r = c.result as FailoverResult;
      return { ...r, label: `${VARIANT_LABEL[c.variant]}, advert ${c.advert} s, ${c.flows} flows: ${r.survived}/${r.verdicts.length} survived, stall ${c.summary?.maxStallMs ?? '?'} ms` };
    }),
    { title: 'ctsync failover benchmark: SIGKILL of the master firewall (fw1) while TCP streams run through it' },
  );
  const files: string[] = [];
  for (const name of [`failover-${date}`, 'failover-latest']) {
    fs.writeFileSync(path.join(o.outDir, `${name}.json`), `${JSON.stringify(report, null, 1)}\n`);
    fs.writeFileSync(path.join(o.outDir, `${name}.svg`), svg);
    files.push(path.join(o.outDir, `${name}.json`), path.join(o.outDir, `${name}.svg`));
  }
  // CTSYNC_BENCH_FO_KEEP=1 keeps every run's directory (daemon logs, configs) for a look afterwards.
  if (process.env.CTSYNC_BENCH_FO_KEEP !== '1') fs.rmSync(runRoot, { recursive: true, force: true });
  else process.stdout.write(`kept: ${runRoot}\n`);
  rows.push({ flows: `stall_ratio = stall / ${REFERENCE}'s stall in the same row group (lower is better)` });
  rows.push({ flows: `load average (1 min) before each run: ${loads.join(' ')}` });
  rows.push({ flows: `written: ${files.slice(0, 2).join(', ')}` });
  return { rows, files };
}

export const failoverBench: BenchSection = {
  name: 'failover',
  description: 'failover stall and broken streams: ctsyncd (embedded VRRP) vs keepalived + conntrackd / + ctsyncd, adverts 1 s and 100 ms, 0/100k flows (root, namespaces)',
  run: async () => (await runFailoverBench(failoverOptionsFromEnv(process.env))).rows,
};

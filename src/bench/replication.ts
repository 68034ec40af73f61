/**
 * Replication benchmark, ctsync against conntrackd (Debian 1.4.7), run in
 * one go on identical generated tables and the same lab shape: two
 * namespaces on a veth sync link, FT-FW over UDP, one conntrackd.conf for
 * both (src/bench/replication-node.ts). Per table size and implementation:
 * replication lag of a burst, RSS per flow, bulk send and commit (200k run),
 * and the CPU time of both daemons in each phase.
 *
 * Environment:
 *   CTSYNC_BENCH_REPL_N      flows of the main run (default 200000)
 *   CTSYNC_BENCH_REPL_BIG    flows of the memory run (default 1000000; 0 skips it)
 *   CTSYNC_BENCH_REPL_IMPLS  comma list (default "conntrackd,ctsync")
 *   CTSYNC_NODE_OPTIONS      extra node flags for ctsyncd, e.g. "--cpu-prof --cpu-prof-dir=bench-out/prof"
 *
 * Daemons, namespaces and the nf_conntrack_max change are undone also on
 * failure and on SIGINT / SIGTERM / SIGHUP.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { conntrackdImpl } from './conntrackd-pair';
import { compareRows, writeReport, type ReplicationReport } from './report';
import { ctsyncImpl } from './replication-ctsync';
import type { ReplicationLab } from './replication-lab';
import type { Implementation } from './replication-node';
import { runPair, type PairResult } from './replication-phases';
import type { BenchRow, BenchSection } from './section';

export interface ReplicationBenchOptions {
  n: number;
  /** 0 = no memory run at a second size. */
  big: number;
  impls: Implementation[];
  log?: (line: string) => void;
}

const IMPLS: Record<string, Implementation> = { conntrackd: conntrackdImpl, ctsync: ctsyncImpl };

export function optionsFromEnv(env: NodeJS.ProcessEnv): ReplicationBenchOptions {
  const names = (env.CTSYNC_BENCH_REPL_IMPLS ?? 'conntrackd,ctsync').split(',').map((s) => s.trim());
  const impls = names.map((s) => {
    const i = IMPLS[s];
    if (!i) throw new Error(`CTSYNC_BENCH_REPL_IMPLS: unknown implementation '${s}' (have: conntrackd, ctsync)`);
    return i;
  });
  return { n: Number(env.CTSYNC_BENCH_REPL_N ?? 200_000), big: Number(env.CTSYNC_BENCH_REPL_BIG ?? 1_000_000), impls };
}

function load(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function conntrackdVersion(): string {
  try {
    return execFileSync('conntrackd', ['-v'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'not installed';
  }
}

export async function runReplicationBench(o: ReplicationBenchOptions): Promise<{ rows: BenchRow[]; report: ReplicationReport; file: string }> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  let current: ReplicationLab | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    current?.cleanup();
    process.stderr.write(`replication bench: ${sig}, cleaned up\n`);
    process.exit(130);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const results: PairResult[] = [];
  const errors: string[] = [];
  const rows: BenchRow[] = [];
  const loads: string[] = [load()];
  try {
    const sizes = o.big > 0 && o.big !== o.n ? [o.n, o.big] : [o.n];
    let seq = 0;
    for (const n of sizes) {
      const byImpl = new Map<string, PairResult>();
      for (const impl of o.impls) {
        log(`  ${impl.name}, ${n} flows (load ${load()}) ...`);
        try {
          const r = await runPair(impl, { n, seq: seq++, bulkAndCommit: n === o.n, onLab: (l) => (current = l) });
          results.push(r);
          byImpl.set(impl.name, r);
        } catch (e) {
          const msg = `${impl.name} at ${n}: ${e instanceof Error ? e.message : String(e)}`;
          errors.push(msg);
          log(`  FAILED ${msg}`);
        }
        loads.push(load());
      }
      rows.push(...compareRows(n, byImpl.get('ctsync'), byImpl.get('conntrackd')));
    }
  } finally {
    for (const s of signals) process.off(s, onSignal);
    current = null;
  }
  const report: ReplicationReport = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version, conntrackd: conntrackdVersion() },
    options: { n: o.n, big: o.big, impls: o.impls.map((i) => i.name).join(','), nodeOptions: process.env.CTSYNC_NODE_OPTIONS ?? '', loadavg: loads.join(' | ') },
    rows,
    results,
    errors,
  };
  const file = writeReport(report);
  rows.push({ metric: 'ratio = ctsync / conntrackd; every metric is lower-is-better, so ratio < 1 means ctsync is better' });
  rows.push({ metric: `load average before/after each run: ${loads.join(' | ')}` });
  rows.push({ metric: `details: ${file}` });
  for (const e of errors) rows.push({ metric: `FAILED: ${e}` });
  if (results.length === 0) throw new Error(`${errors.join('; ')} (report: ${file})`);
  return { rows, report, file };
}

export const replicationBench: BenchSection = {
  name: 'replication',
  description: 'replication lag, bulk send, commit, RSS/flow and CPU: ctsyncd vs conntrackd pairs (root, namespaces)',
  run: async () => (await runReplicationBench(optionsFromEnv(process.env))).rows,
};

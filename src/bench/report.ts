/**
 * Side-by-side report of the replication benchmark: one row per metric with
 * ctsync, conntrackd, the ratio ctsync / conntrackd and the target. Every
 * metric here is "lower is better", so a ratio under 1 means ctsync is
 * better. The JSON file keeps the rows and every raw result.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PairResult, PhaseResult } from './replication-phases';
import type { BenchRow } from './section';

/** Largest acceptable ratio ctsync / conntrackd, per metric key. */
export const TARGETS: Record<string, number> = {
  lag: 1,
  bulk: 1,
  commit: 0.25,
  commitAlone: 0.25,
  rssFw1: 1,
  rssFw2: 1,
};

interface Metric {
  key: string;
  label: string;
  unit: string;
  pick(r: PairResult): number | undefined;
}

const phaseMs = (p: PhaseResult | undefined): number | undefined => (p && p.complete ? p.ms : undefined);

const known = (x: number | undefined): number | undefined => (x === undefined || x < 0 ? undefined : x);
const mb = (x: number | undefined): number | undefined => (x === undefined || x < 0 ? undefined : Math.round(x / 1e4) / 100);

const METRICS: Metric[] = [
  { key: 'lag', label: 'replication lag: burst start -> fw2 external holds all', unit: 'ms', pick: (r) => phaseMs(r.burst) },
  { key: 'create', label: '  (kernel create of the burst on fw1, same for both)', unit: 'ms', pick: (r) => r.burst.detail.createMs },
  { key: 'cpuBurst1', label: '  CPU during burst, fw1 daemon', unit: 's', pick: (r) => r.burst.cpu[0] },
  { key: 'cpuBurst2', label: '  CPU during burst, fw2 daemon', unit: 's', pick: (r) => r.burst.cpu[1] },
  { key: 'pktsBurst1', label: '  sync datagrams sent by fw1 during burst', unit: 'pkts', pick: (r) => known(r.burst.sentPkts?.[0]) },
  { key: 'mbBurst1', label: '  sync bytes sent by fw1 during burst', unit: 'MB', pick: (r) => mb(r.burst.sentBytes?.[0]) },
  { key: 'bulk', label: 'bulk send: -B on fw1 -> fw2 external holds all', unit: 'ms', pick: (r) => phaseMs(r.bulk) },
  { key: 'bulkCmd', label: '  (-B client returned after)', unit: 'ms', pick: (r) => r.bulk?.detail.commandMs },
  { key: 'cpuBulk1', label: '  CPU during bulk, fw1 daemon', unit: 's', pick: (r) => r.bulk?.cpu[0] },
  { key: 'cpuBulk2', label: '  CPU during bulk, fw2 daemon', unit: 's', pick: (r) => r.bulk?.cpu[1] },
  { key: 'pktsBulk1', label: '  sync datagrams sent by fw1 during bulk', unit: 'pkts', pick: (r) => known(r.bulk?.sentPkts?.[0]) },
  { key: 'mbBulk1', label: '  sync bytes sent by fw1 during bulk', unit: 'MB', pick: (r) => mb(r.bulk?.sentBytes?.[0]) },
  { key: 'commit', label: 'commit: -c on fw2 -> returned and kernel holds all (fw1 daemon running)', unit: 'ms', pick: (r) => phaseMs(r.commit) },
  { key: 'commitCmd', label: '  (-c client returned after)', unit: 'ms', pick: (r) => r.commit?.detail.commandMs },
  { key: 'cpuCommit1', label: '  CPU during commit, fw1 daemon', unit: 's', pick: (r) => r.commit?.cpu[0] },
  { key: 'cpuCommit2', label: '  CPU during commit, fw2 daemon', unit: 's', pick: (r) => r.commit?.cpu[1] },
  { key: 'pktsCommit2', label: '  sync datagrams sent by fw2 during commit', unit: 'pkts', pick: (r) => known(r.commit?.sentPkts?.[1]) },
  { key: 'commitAlone', label: 'commit again after fw1 stopped (as at a failover; flushed first)', unit: 'ms', pick: (r) => phaseMs(r.commitAlone) },
  { key: 'cpuCommitAlone2', label: '  CPU during that commit, fw2 daemon', unit: 's', pick: (r) => r.commitAlone?.cpu[1] },
  // Only meaningful when the caches hold all n flows.
  { key: 'rssFw1', label: 'RSS per flow, fw1 (internal cache)', unit: 'B/flow', pick: (r) => (r.caches.fw1Internal >= r.n ? r.rssPerFlow[0] : undefined) },
  { key: 'rssFw2', label: 'RSS per flow, fw2 (external cache)', unit: 'B/flow', pick: (r) => (r.caches.fw2External >= r.n ? r.rssPerFlow[1] : undefined) },
  { key: 'idleRss', label: '  idle RSS after start (fw1)', unit: 'KiB', pick: (r) => r.idleRssKiB[0] },
];

function ratioCells(key: string, ours: number | undefined, theirs: number | undefined): BenchRow {
  if (ours === undefined || theirs === undefined || theirs <= 0) return { ratio: '', better: '', target: '' };
  const ratio = ours / theirs;
  const better = Math.abs(ratio - 1) < 0.005 ? 'same' : ratio < 1 ? 'ctsync' : 'conntrackd';
  const target = TARGETS[key];
  return {
    ratio: ratio.toFixed(2),
    better,
    target: target === undefined ? '' : `<= ${target} ${ratio <= target ? 'met' : 'MISSED'}`,
  };
}

/** Rows for one table size, from the results of both implementations. */
export function compareRows(n: number, ours: PairResult | undefined, theirs: PairResult | undefined): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const m of METRICS) {
    const a = ours ? m.pick(ours) : undefined;
    const b = theirs ? m.pick(theirs) : undefined;
    if (a === undefined && b === undefined) continue;
    rows.push({
      flows: n,
      metric: m.label,
      unit: m.unit,
      ctsync: a ?? (ours ? 'incomplete' : 'not run'),
      conntrackd: b ?? (theirs ? 'incomplete' : 'not run'),
      ...ratioCells(m.key, a, b),
    });
  }
  for (const r of [ours, theirs]) {
    if (!r) continue;
    for (const [name, p] of [['burst', r.burst], ['bulk', r.bulk], ['commit', r.commit], ['commit after fw1 stopped', r.commitAlone]] as const) {
      if (p && !p.complete) rows.push({ flows: n, metric: `${r.impl}: ${name} INCOMPLETE, reached ${p.reached} of ${n}` });
    }
  }
  return rows;
}

export interface ReplicationReport {
  date: string;
  machine: Record<string, string | number>;
  options: Record<string, string | number>;
  rows: BenchRow[];
  results: PairResult[];
  errors: string[];
}

/** Write bench-out/replication-<date>.json and bench-out/replication-latest.json; returns the first path. */
export function writeReport(report: ReplicationReport, dir = 'bench-out'): string {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const file = join(dir, `replication-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, 'replication-latest.json'), text);
  return file;
}

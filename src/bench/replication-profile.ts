/**
 * Summary of a V8 CPU profile (`node --cpu-prof`, a .cpuprofile JSON file):
 * self time per function and per source file, largest first, as a share of
 * all samples. Used to say where ctsyncd spends its time in the replication
 * benchmark: `node dist/bench/replication-profile.js FILE.cpuprofile [TOP]`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  name: string;
  /** Self time, ms. */
  ms: number;
  /** Share of all sampled time, percent. */
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: ProfileLine[];
  files: ProfileLine[];
}

function shortUrl(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 1);
  const j = url.indexOf('node_modules/');
  if (j >= 0) return url.slice(j);
  return url.replace(/^file:\/\//, '') || '(native/vm)';
}

function top(m: Map<string, number>, total: number, k: number): ProfileLine[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((1000 * us) / total) / 10 }));
}

export function summarizeProfile(p: CpuProfile, k = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const url = shortUrl(n.callFrame.url);
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    files.set(url, (files.get(url) ?? 0) + us);
    total += us;
  }
  return { totalMs: Math.round(total / 1000), functions: top(fns, total || 1, k), files: top(files, total || 1, k) };
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`sampled ${s.totalMs} ms`, 'self time by function:'];
  for (const f of s.functions) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}`);
  lines.push('self time by file:');
  for (const f of s.files) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${String(f.ms).padStart(7)} ms  ${f.name}`);
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/replication-profile.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(formatSummary(summarizeProfile(p, Number(process.argv[3] ?? 25))));
}

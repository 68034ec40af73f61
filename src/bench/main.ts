/**
 * Benchmark runner: `npm run bench [-- SECTION...] [--list]`.
 *
 * Sections are discovered: every module next to this file that exports a
 * BenchSection (src/bench/section.ts) is one, so adding a section is adding
 * one file. Results are printed as tables and written as JSON to
 * bench-out/bench-<time>.json and bench-out/latest.json.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { isBenchSection, type BenchRow, type BenchSection } from './section';

/** Modules that are helpers or this runner, not sections. */
const SKIP = new Set(['main', 'section', 'netns']);

export function discoverSections(dir: string = __dirname): BenchSection[] {
  const found = new Map<string, BenchSection>();
  for (const f of readdirSync(dir).sort()) {
    const m = /^(.*)\.(js|ts)$/.exec(f);
    if (!m || f.endsWith('.d.ts') || f.endsWith('.map') || SKIP.has(m[1] ?? '')) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(dir, f)) as Record<string, unknown>;
    for (const v of Object.values(mod)) if (isBenchSection(v) && !found.has(v.name)) found.set(v.name, v);
  }
  return [...found.values()];
}

export function formatTable(rows: BenchRow[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: string | number | undefined): string =>
    v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v;
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(width[i] ?? 0)).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const sections = discoverSections();
  if (argv.includes('--list')) {
    for (const s of sections) process.stdout.write(`${s.name}${s.description ? `  ${s.description}` : ''}\n`);
    return 0;
  }
  const wanted = argv.filter((a) => !a.startsWith('--'));
  const unknown = wanted.filter((w) => !sections.some((s) => s.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown section(s): ${unknown.join(', ')}; have: ${sections.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const run = wanted.length > 0 ? sections.filter((s) => wanted.includes(s.name)) : sections;
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version };
  process.stdout.write(`machine: ${JSON.stringify(machine)}\n`);
  const results: Record<string, BenchRow[] | { error: string }> = {};
  let failed = 0;
  for (const s of run) {
    process.stdout.write(`\n== ${s.name}\n`);
    try {
      const rows = await s.run();
      results[s.name] = rows;
      process.stdout.write(`${formatTable(rows)}\n`);
    } catch (e) {
      failed++;
      const msg = e instanceof Error ? e.message : String(e);
      results[s.name] = { error: msg };
      process.stdout.write(`FAILED: ${msg}\n`);
    }
  }
  const out = { date: new Date().toISOString(), machine, results };
  mkdirSync('bench-out', { recursive: true });
  const file = join('bench-out', `bench-${out.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(join('bench-out', 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\nwritten: ${file}\n`);
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

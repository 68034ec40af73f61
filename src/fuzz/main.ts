/**
 * npm run fuzz [-- --inputs N --seed S --only NAME]: every decoder and parser
 * that reads outside input gets N generated inputs (default 1,000,000). Exit 1
 * on any finding (a throw, or an input slower than 250 ms), with its hex.
 */
import { fuzzTarget } from './run';
import { TARGETS } from './targets';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : def;
}

function main(): number {
  const inputs = Number(arg('inputs', '1000000'));
  const seed = Number(arg('seed', String(Date.now() & 0xffffffff)));
  const only = arg('only', '');
  let bad = 0;
  process.stdout.write(`fuzz: ${inputs} inputs per target, seed ${seed}\n`);
  for (const t of TARGETS) {
    if (only && t.name !== only) continue;
    const r = fuzzTarget(t, inputs, seed);
    const rate = Math.round(r.inputs / (r.ms / 1000));
    process.stdout.write(`${t.name.padEnd(22)} ${String(r.inputs).padStart(9)} inputs  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${String(rate).padStart(8)}/s  findings: ${r.findings.length}\n`);
    for (const f of r.findings) process.stdout.write(`  ${f.kind} at ${f.iteration}: ${f.detail.split('\n')[0]}\n    input: ${f.inputHex.slice(0, 400)}\n`);
    bad += r.findings.length;
  }
  return bad === 0 ? 0 : 1;
}

process.exitCode = main();

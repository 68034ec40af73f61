/** Runs fuzz targets: N generated inputs each; any throw or an input slower than the limit is a finding. */
import { generate, rng } from './mutate';
import type { FuzzTarget } from './targets';

export interface FuzzFinding {
  target: string;
  iteration: number;
  kind: 'throw' | 'slow';
  detail: string;
  inputHex: string;
}

export interface FuzzResult {
  target: string;
  inputs: number;
  ms: number;
  findings: FuzzFinding[];
}

export function fuzzTarget(t: FuzzTarget, inputs: number, seed: number, slowMs = 250): FuzzResult {
  const r = rng(seed);
  const seeds = t.seeds();
  const findings: FuzzFinding[] = [];
  const t0 = performance.now();
  for (let i = 0; i < inputs; i++) {
    const input = generate(r, seeds, t.kind === 'text');
    const s = performance.now();
    try {
      t.run(input);
    } catch (e) {
      findings.push({ target: t.name, iteration: i, kind: 'throw', detail: String((e as Error).stack ?? e), inputHex: input.toString('hex') });
      if (findings.length >= 10) break;
      continue;
    }
    const took = performance.now() - s;
    if (took > slowMs) {
      findings.push({ target: t.name, iteration: i, kind: 'slow', detail: `${took.toFixed(0)} ms`, inputHex: input.toString('hex') });
      if (findings.length >= 10) break;
    }
  }
  return { target: t.name, inputs, ms: performance.now() - t0, findings };
}

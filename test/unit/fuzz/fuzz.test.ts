/** A short fuzz run of every target inside npm test (npm run fuzz runs 1,000,000 each). */
import { describe, expect, it } from 'vitest';
import { fuzzTarget } from '../../../src/fuzz/run';
import { TARGETS } from '../../../src/fuzz/targets';

describe('fuzz (short run)', () => {
  it('has seeds for every target', () => {
    for (const t of TARGETS) expect(t.seeds().length, t.name).toBeGreaterThan(0);
  });
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: 5000 inputs, no throw, no hang', (_name, t) => {
    const r = fuzzTarget(t, 5000, 12345);
    expect(r.findings).toEqual([]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialSeq, randomU32, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from '../../../src/sync/seq';
import { seeded } from './helpers/fixtures';

describe('seq', () => {
  it('compares across the 2^32 wrap', () => {
    expect(seqLt(0xffffffff, 0)).toBe(true);
    expect(seqGt(0, 0xffffffff)).toBe(true);
    expect(seqAdd(0xffffffff, 2)).toBe(1);
    expect(seqAdd(0, -1)).toBe(0xffffffff);
    expect(seqDiff(0xfffffff0, 0x10)).toBe(0x20);
    expect(seqDiff(0x10, 0xfffffff0)).toBe(-0x20);
    expect(seqMax(0xfffffffe, 3)).toBe(3);
    expect(seqLe(5, 5) && seqGe(5, 5) && !seqLt(5, 5)).toBe(true);
  });

  it('a + n is after a for 0 < n < 2^31 (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, n) => {
        const b = seqAdd(a, n);
        expect(seqLt(a, b)).toBe(true);
        expect(seqGt(b, a)).toBe(true);
        expect(seqDiff(a, b)).toBe(n);
      }),
    );
  });

  it('initial sequence numbers come from the injected RNG only', () => {
    expect(initialSeq(seeded(7))).toBe(initialSeq(seeded(7)));
    expect(initialSeq(seeded(7))).not.toBe(initialSeq(seeded(8)));
    expect(randomU32(() => 0.5)).toBe(0x80000000);
    expect(randomU32(() => Number.NaN)).toBe(0);
  });
});

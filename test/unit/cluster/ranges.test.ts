import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { count, formatMask, fromList, fullMask, overlapping, targetAssignment, toList, unowned } from '../../../src/cluster/ranges';

describe('cluster ranges', () => {
  it('target assignment: 3 nodes, 32 buckets, sorted by id', () => {
    const t = targetAssignment([30, 10, 20], 32);
    expect([...t.entries()]).toEqual([
      [10, 0x3ff],
      [20, 0x1ffc00],
      [30, 0xffe00000],
    ]);
    expect(formatMask(t.get(20) ?? 0)).toBe('10-20');
  });

  it('is complete, disjoint, even and independent of input order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 32 }), (ids, n) => {
        const t = targetAssignment(ids, n);
        const masks = [...t.values()];
        expect(unowned(masks, n)).toBe(0);
        expect(overlapping(masks)).toBe(0);
        const sizes = masks.map(count);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect([...targetAssignment([...ids].reverse(), n).entries()]).toEqual([...t.entries()]);
      }),
    );
  });

  it('mask helpers', () => {
    expect(fullMask(32)).toBe(0xffffffff);
    expect(fullMask(5)).toBe(0x1f);
    expect(toList(0x80000005)).toEqual([0, 2, 31]);
    expect(fromList([0, 2, 31, 40, -1])).toBe(0x80000005);
    expect(formatMask(0)).toBe('-');
    expect(formatMask(0b1011101)).toBe('0,2-4,6');
    expect(unowned([0x0f, 0xf0], 8)).toBe(0);
    expect(unowned([0x0f], 8)).toBe(0xf0);
    expect(overlapping([0x0f, 0x18, 0x1])).toBe(0x09);
  });
});

import { describe, expect, it } from 'vitest';
import { cleanText, toDbusError, DBUS_ERROR } from '../../../src/dbus/errors';
import { flattenStats, parseCache, parseKind, parseSection } from '../../../src/dbus/values';

describe('dbus values', () => {
  it('parses arguments strictly', () => {
    expect(parseKind('')).toBe('all');
    expect(parseKind('ct')).toBe('ct');
    expect(() => parseKind('c')).toThrow(/kind must be one of ct, expect, all/);
    expect(parseCache('external')).toBe('external');
    expect(parseSection('')).toBe('general');
    expect(parseSection('rsqueue')).toBe('rsqueue');
    expect(() => parseSection(undefined)).toThrow();
  });

  it('flattens with types and limits', () => {
    const m = flattenStats({ a: 1, b: -2, c: 1.5, d: 'x', e: true, f: [{ g: 0 }], h: null, i: NaN });
    expect([...m.entries()]).toEqual([
      ['a', { signature: 't', value: 1n }],
      ['b', { signature: 'x', value: -2n }],
      ['c', { signature: 'd', value: 1.5 }],
      ['d', { signature: 's', value: 'x' }],
      ['e', { signature: 'b', value: true }],
      ['f.0.g', { signature: 't', value: 0n }],
    ]);
    const deep = flattenStats({ a: { b: { c: 1 } } }, { maxEntries: 10, maxDepth: 2 });
    expect(deep.get('truncated')).toEqual({ signature: 'b', value: true });
    const many = flattenStats({ a: 1, b: 2, c: 3 }, { maxEntries: 2, maxDepth: 4 });
    expect([...many.keys()]).toEqual(['a', 'b', 'truncated']);
  });

  it('error text is one clean line, bounded', () => {
    expect(cleanText('boom\n    at x (y.ts:1:1)')).toBe('boom');
    expect(cleanText('a\tb\u0000c')).toBe('a b c');
    expect(cleanText('x'.repeat(1000))).toHaveLength(512);
    expect(toDbusError('plain string').errorName).toBe(DBUS_ERROR.failed);
    expect(toDbusError(Object.assign(new Error('e'), { code: 'EBUSY' })).errorName).toBe(DBUS_ERROR.busy);
  });
});

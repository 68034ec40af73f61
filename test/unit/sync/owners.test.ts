import { describe, expect, it } from 'vitest';
import { Owners } from '../../../src/sync/owners';
import type { CtKind } from '../../../src/netlink/types';

describe('Owners', () => {
  it('one peer: no per-key map, every cached key is its own; a second peer builds the map from the cache', () => {
    const cache: Record<CtKind, Set<string>> = { ct: new Set(['a', 'b']), expect: new Set(['x']) };
    const o = new Owners((k) => cache[k]);
    o.set('ct', 'a', 'p1');
    o.set('ct', 'b', 'p1');
    o.set('expect', 'x', 'p1');
    expect(o.get('ct', 'a')).toBe('p1');
    expect([...o.ownedBy('ct', 'p1')].sort()).toEqual(['a', 'b']);
    expect(o.ownedBy('ct', 'p2').size).toBe(0);
    cache.ct.add('c');
    o.set('ct', 'c', 'p2');
    expect(o.get('ct', 'a')).toBe('p1');
    expect(o.get('ct', 'c')).toBe('p2');
    expect(o.get('expect', 'x')).toBe('p1');
    expect([...o.ownedBy('ct', 'p1')].sort()).toEqual(['a', 'b']);
    expect([...o.ownedBy('ct', 'p2')]).toEqual(['c']);
    o.delete('ct', 'a');
    expect(o.get('ct', 'a')).toBeUndefined();
  });

  it('nothing learned yet: no owner', () => {
    const o = new Owners(() => []);
    expect(o.get('ct', 'a')).toBeUndefined();
    expect(o.ownedBy('ct', 'p1').size).toBe(0);
  });
});

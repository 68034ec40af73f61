import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCache } from '../../../src/cache/packed-cache';
import type { CtRecord } from '../../../src/netlink/types';
import { synthFlow, synthKey, tcpFlowRecord } from '../../../src/bench/cache-records';

const rec = (bytes: number[] | Buffer, family: 2 | 10 = 2, kind: 'ct' | 'expect' = 'ct'): CtRecord => ({
  kind,
  family,
  attrs: Buffer.from(bytes),
});

const snapshot = (c: ReturnType<typeof createCache>): Array<[string, string, number, string]> =>
  [...c.entries()].map(([k, r]) => [k, r.kind, r.family, r.attrs.toString('hex')]);

describe('packed cache', () => {
  it('holds exact contents after a sequence of operations', () => {
    const c = createCache({ name: 'internal', limit: 100 });
    expect(c.upsert('a', rec([1, 2, 3]), 1)).toBe('created');
    expect(c.upsert('b', rec(Buffer.alloc(300, 7), 10), 2)).toBe('created');
    expect(c.upsert('c', rec([9], 2, 'expect'), 3)).toBe('created');
    expect(c.upsert('a', rec([1, 2, 3]), 4)).toBe('unchanged');
    expect(c.upsert('a', rec([1, 2, 4]), 5)).toBe('updated');
    expect(c.upsert('b', rec([5, 5]), 6)).toBe('updated'); // shrinks to another size class
    expect(c.upsert('c', rec([9], 10, 'expect'), 7)).toBe('updated'); // family change is a change
    expect(c.delete('x')).toBeUndefined();
    const removed = c.delete('a');
    expect(removed?.attrs.toString('hex')).toBe('010204');
    expect(c.upsert('d', rec([4, 4, 4, 4]), 8)).toBe('created'); // reuses a's cell
    expect(removed?.attrs.toString('hex')).toBe('010204'); // delete() returned a copy
    expect(snapshot(c)).toEqual([
      ['b', 'ct', 2, '0505'],
      ['c', 'expect', 10, '09'],
      ['d', 'ct', 2, '04040404'],
    ]);
    expect(c.size).toBe(3);
    expect(c.has('a')).toBe(false);
    expect(c.refreshedAt('b')).toBe(6);
    expect(c.stats()).toEqual({
      current: 3,
      created: 4,
      updated: 3,
      destroyed: 1,
      failed: 0,
      expired: 0,
      bytes: 3 + 2 + 1 + 4, // three 1-char keys + record bytes
    });
  });

  it('unchanged upserts refresh the time without counting', () => {
    const c = createCache({ name: 'x', limit: 10, timeoutMs: 100 });
    c.upsert('k', rec([1]), 0);
    expect(c.upsert('k', rec([1]), 90)).toBe('unchanged');
    expect(c.refreshedAt('k')).toBe(90);
    expect(c.purge(150)).toEqual([]);
    expect(c.stats().updated).toBe(0);
  });

  it('refuses beyond the limit, counts, and warns rate-limited', () => {
    const warns: object[] = [];
    const c = createCache({
      name: 'internal',
      limit: 2,
      warnIntervalMs: 1000,
      logger: { warn: (o) => void warns.push(o) },
    });
    expect(c.upsert('a', rec([1]), 0)).toBe('created');
    expect(c.upsert('b', rec([2]), 0)).toBe('created');
    expect(c.upsert('c', rec([3]), 0)).toBe('refused');
    expect(c.upsert('d', rec([4]), 500)).toBe('refused');
    expect(c.upsert('a', rec([5]), 600)).toBe('updated'); // existing keys still update
    expect(c.upsert('e', rec([6]), 1000)).toBe('refused');
    expect(c.has('c')).toBe(false);
    expect(c.stats().failed).toBe(3);
    expect(warns).toHaveLength(2);
    expect(warns[1]).toMatchObject({ cache: 'internal', limit: 2, refused: 2 });
    c.delete('b');
    expect(c.upsert('c', rec([3]), 2000)).toBe('created');
  });

  it('refuses records larger than maxRecordBytes', () => {
    const c = createCache({ name: 'x', limit: 10, maxRecordBytes: 64 });
    expect(c.upsert('big', rec(Buffer.alloc(65)), 0)).toBe('refused');
    expect(c.upsert('ok', rec(Buffer.alloc(64)), 0)).toBe('created');
    expect(c.stats().failed).toBe(1);
  });

  it('purges entries not refreshed within timeoutMs', () => {
    const c = createCache({ name: 'external', limit: 10, timeoutMs: 1000 });
    c.upsert('old', rec([1]), 0);
    c.upsert('mid', rec([2]), 500);
    c.upsert('new', rec([3]), 1200);
    expect(c.purge(999)).toEqual([]);
    expect(c.purge(1000)).toEqual(['old']);
    c.upsert('mid', rec([22]), 1400); // refreshed
    expect(c.purge(2199)).toEqual([]);
    expect(c.purge(2400).sort()).toEqual(['mid', 'new']);
    expect(c.size).toBe(0);
    expect(c.stats()).toMatchObject({ expired: 3, destroyed: 0, current: 0, bytes: 0 });
    const never = createCache({ name: 'internal', limit: 10 });
    never.upsert('k', rec([1]), 0);
    expect(never.purge(1e12)).toEqual([]);
  });

  it('entries() tolerates deleting the current key', () => {
    const c = createCache({ name: 'x', limit: 100 });
    for (let i = 0; i < 10; i++) c.upsert(`k${i}`, rec([i]), 0);
    const seen: string[] = [];
    for (const [k] of c.entries()) {
      seen.push(k);
      c.remove(k);
    }
    expect(seen).toHaveLength(10);
    expect(c.size).toBe(0);
  });

  it('clear() empties the cache and it stays usable', () => {
    const c = createCache({ name: 'x', limit: 100, chunkBytes: 256 });
    for (let i = 0; i < 50; i++) c.upsert(`k${i}`, rec(Buffer.alloc(40, i)), 0);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.stats()).toMatchObject({ current: 0, bytes: 0, destroyed: 50 });
    c.upsert('z', rec([1, 2]), 0);
    expect(c.get('z')?.attrs.toString('hex')).toBe('0102');
  });

  it('stores realistic records across many chunks', () => {
    const c = createCache({ name: 'x', limit: 10_000, chunkBytes: 4096 });
    for (let i = 0; i < 5000; i++) {
      const f = synthFlow(i);
      expect(c.upsert(synthKey(f), tcpFlowRecord(f), i)).toBe('created');
    }
    for (let i = 0; i < 5000; i += 97) {
      const f = synthFlow(i);
      expect(c.get(synthKey(f))?.attrs.equals(tcpFlowRecord(f).attrs)).toBe(true);
    }
    expect(tcpFlowRecord(synthFlow(1)).attrs.length).toBe(192);
  });

  it('matches a reference Map under random operation sequences', () => {
    const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    const bytesArb = fc.uint8Array({ minLength: 0, maxLength: 2100 });
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('upsert' as const), key: keyArb, bytes: bytesArb, family: fc.constantFrom(2 as const, 10 as const) }),
      fc.record({ op: fc.constant('delete' as const), key: keyArb }),
      fc.record({ op: fc.constant('purge' as const) }),
      fc.record({ op: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 1, max: 8 }), (ops, limit) => {
        const c = createCache({ name: 'p', limit, timeoutMs: 5, chunkBytes: 512 });
        const model = new Map<string, { hex: string; family: number; t: number }>();
        let now = 0;
        for (const o of ops) {
          now++;
          if (o.op === 'upsert') {
            const hex = Buffer.from(o.bytes).toString('hex');
            const prev = model.get(o.key);
            const expected =
              prev === undefined
                ? model.size >= limit
                  ? 'refused'
                  : 'created'
                : prev.hex === hex && prev.family === o.family
                  ? 'unchanged'
                  : 'updated';
            expect(c.upsert(o.key, rec(Buffer.from(o.bytes), o.family), now)).toBe(expected);
            if (expected !== 'refused') model.set(o.key, { hex, family: o.family, t: now });
          } else if (o.op === 'delete') {
            const got = c.delete(o.key);
            expect(got?.attrs.toString('hex')).toBe(model.get(o.key)?.hex);
            model.delete(o.key);
          } else if (o.op === 'purge') {
            const gone = [...model].filter(([, v]) => now - v.t >= 5).map(([k]) => k);
            expect(c.purge(now).sort()).toEqual(gone.sort());
            for (const k of gone) model.delete(k);
          } else {
            c.clear();
            model.clear();
          }
          expect(c.size).toBe(model.size);
        }
        const actual = [...c.entries()].map(([k, r]) => [k, r.attrs.toString('hex'), r.family]);
        const expected = [...model].map(([k, v]) => [k, v.hex, v.family]);
        expect(actual.sort()).toEqual(expected.sort());
        const bytes = [...model].reduce((a, [k, v]) => a + k.length + v.hex.length / 2, 0);
        expect(c.stats().bytes).toBe(bytes);
      }),
      { numRuns: 300 },
    );
  });
});

describe('packed cache: reconciliation marks', () => {
  it('markSeen returns the entry and unmarked lists exactly the keys not marked in that epoch, across slot reuse', () => {
    const c = createCache({ name: 't', limit: 100 });
    for (const k of ['a', 'b', 'c', 'd']) c.upsert(k, rec([1, 2, 3, 4, k.charCodeAt(0), 0, 0, 0]), 0);
    expect(c.markSeen?.('b', 1)?.attrs[4]).toBe('b'.charCodeAt(0));
    expect(c.markSeen?.('x', 1)).toBeUndefined();
    c.markSeen?.('d', 1);
    expect(c.unmarked?.(1).sort()).toEqual(['a', 'c']);
    // A slot freed and taken by a new key does not inherit the old key's mark.
    c.remove('b');
    c.upsert('e', rec([1, 2, 3, 4, 0, 0, 0, 0]), 0);
    expect(c.unmarked?.(1).sort()).toEqual(['a', 'c', 'e']);
    expect(c.unmarked?.(2).sort()).toEqual(['a', 'c', 'd', 'e']);
    c.clear();
    expect(c.unmarked?.(1)).toEqual([]);
  });
});

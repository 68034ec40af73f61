import { describe, expect, it } from 'vitest';
import { LocalBacklog } from '../../../src/sync/backlog';
import type { CtRecord } from '../../../src/netlink/types';

const rec = (n: number): CtRecord => ({ kind: 'ct', family: 2, attrs: Buffer.from([n]) });

describe('LocalBacklog', () => {
  it('keeps one change per key, the newest, at the key first arrival position', () => {
    const b = new LocalBacklog();
    b.push({ type: 'new', kind: 'ct', key: 'a', record: rec(1) });
    b.push({ type: 'new', kind: 'ct', key: 'b', record: rec(2) });
    b.push({ type: 'update', kind: 'ct', key: 'a', record: rec(3) });
    b.push({ type: 'destroy', kind: 'ct', key: 'a', record: rec(4) });
    expect(b.size).toBe(2);
    expect(b.shift()).toEqual({ type: 'destroy', kind: 'ct', key: 'a', record: rec(4) });
    expect(b.shift()).toEqual({ type: 'new', kind: 'ct', key: 'b', record: rec(2) });
    expect(b.shift()).toBeUndefined();
    expect(b.size).toBe(0);
  });

  it('a key shifted out and pushed again is queued again; FIFO order over many keys with compaction', () => {
    const b = new LocalBacklog();
    for (let i = 0; i < 5000; i++) b.push({ type: 'new', kind: 'ct', key: `k${i}`, record: rec(i & 255) });
    const got: string[] = [];
    for (let i = 0; i < 3000; i++) got.push(b.shift()?.key ?? '');
    b.push({ type: 'update', kind: 'ct', key: 'k0', record: rec(9) });
    let c = b.shift();
    while (c !== undefined) {
      got.push(c.key);
      c = b.shift();
    }
    expect(got).toEqual([...Array.from({ length: 5000 }, (_, i) => `k${i}`), 'k0']);
    b.push({ type: 'new', kind: 'ct', key: 'x', record: rec(1) });
    b.clear();
    expect(b.size).toBe(0);
    expect(b.shift()).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryTable } from '../../../src/netlink/memory-table';
import type { CtEvent, CtRecord } from '../../../src/netlink/types';

/** Test records: the key is the first 4 attribute bytes, the rest is payload. */
const rec = (n: number, v = 0, kind: 'ct' | 'expect' = 'ct'): CtRecord => {
  const attrs = Buffer.alloc(8);
  attrs.writeUInt32BE(n, 0);
  attrs.writeUInt32BE(v, 4);
  return { kind, family: 2, attrs };
};
const key = (r: CtRecord): string | null => (r.attrs.length >= 4 ? `${r.kind}:${r.attrs.readUInt32BE(0)}` : null);
const val = (r: CtRecord): number => r.attrs.readUInt32BE(4);
const summary = (e: CtEvent[]) => e.map((x) => [x.type, x.record.attrs.readUInt32BE(0), val(x.record)]);

describe('MemoryTable', () => {
  it('create / update / delete follow the kernel (EEXIST -> update, ENOENT, absent)', async () => {
    const t = new MemoryTable({ key, delivery: 'sync' });
    expect(await t.create([rec(1), rec(2)])).toEqual({ ok: 2, failed: [] });
    expect(await t.create([rec(2, 5), rec(3)])).toEqual({ ok: 2, failed: [], existed: 1 });
    expect(val(t.get(rec(2)) ?? rec(0, -1 >>> 0))).toBe(5);
    expect(await t.update([rec(4), rec(1, 7)])).toEqual({ ok: 1, failed: [{ index: 0, code: 'ENOENT', errno: 2 }] });
    expect(await t.delete([rec(9), rec(1)])).toEqual({ ok: 2, failed: [], absent: 1 });
    expect((await t.dump('ct')).map((r) => [r.attrs.readUInt32BE(0), val(r)])).toEqual([
      [2, 5],
      [3, 0],
    ]);
    expect(await t.count('ct')).toBe(2);
    expect(await t.count('expect')).toBe(0);
  });

  it('refuses records without a key, and injected faults, with their index', async () => {
    const t = new MemoryTable({ key, fault: (op, r) => (op === 'create' && r.attrs.length >= 4 && r.attrs.readUInt32BE(0) === 3 ? 'EINVAL' : null) });
    const bad: CtRecord = { kind: 'ct', family: 2, attrs: Buffer.alloc(2) };
    const r = await t.create([rec(1), bad, rec(3)]);
    expect(r).toEqual({
      ok: 1,
      failed: [
        { index: 1, code: 'EINVAL', errno: 22 },
        { index: 2, code: 'EINVAL', errno: 22 },
      ],
    });
  });

  it('enforces max entries with ENOMEM', async () => {
    const t = new MemoryTable({ key, max: 2 });
    const r = await t.create([rec(1), rec(2), rec(3)]);
    expect(r.failed).toEqual([{ index: 2, code: 'ENOMEM', errno: 12 }]);
  });

  it('emits events in order, batched on a microtask, filtered by kind and type', async () => {
    const t = new MemoryTable({ key });
    const all: CtEvent[][] = [];
    const destroys: CtEvent[] = [];
    t.subscribe({ kinds: ['ct'] }, { onEvents: (e) => all.push(e), onOverrun: () => {} });
    t.subscribe({ kinds: ['ct', 'expect'], types: ['destroy'] }, { onEvents: (e) => destroys.push(...e), onOverrun: () => {} });
    // The writes apply at once; their events are delivered on the next microtask, as one batch.
    const writes = [t.create([rec(1), rec(2), rec(1, 4), rec(5, 0, 'expect')]), t.delete([rec(2)]), t.flush('expect')];
    expect(all).toHaveLength(0);
    await Promise.all(writes);
    expect(all).toHaveLength(1);
    expect(summary(all[0] ?? [])).toEqual([
      ['new', 1, 0],
      ['new', 2, 0],
      ['update', 1, 4],
      ['destroy', 2, 0],
    ]);
    expect(summary(destroys)).toEqual([
      ['destroy', 2, 0],
      ['destroy', 5, 0],
    ]);
  });

  it('simulates overruns: the queue is lost, onOverrun is called, a dump restores the view', async () => {
    const t = new MemoryTable({ key, capacity: 3 });
    const seen: CtEvent[] = [];
    let overruns = 0;
    const sub = t.subscribe({ kinds: ['ct'] }, { onEvents: (e) => seen.push(...e), onOverrun: () => overruns++ });
    await t.create([rec(1), rec(2), rec(3), rec(4), rec(5)]);
    await Promise.resolve();
    await Promise.resolve();
    expect(sub.overruns).toBe(1);
    expect(overruns).toBe(1);
    expect(summary(seen)).toEqual([['new', 5, 0]]);
    expect((await t.dump('ct')).length).toBe(5);
    t.overrun();
    await Promise.resolve();
    expect(sub.overruns).toBe(2);
    sub.close();
    await t.create([rec(9)]);
    await Promise.resolve();
    expect(seen).toHaveLength(1);
  });

  it('inject() emits kernel-originated events (timeouts) and updates the table', async () => {
    const t = new MemoryTable({ key, delivery: 'sync' });
    const seen: CtEvent[] = [];
    t.subscribe({ kinds: ['ct'] }, { onEvents: (e) => seen.push(...e), onOverrun: () => {} });
    t.inject('new', rec(1));
    t.inject('destroy', rec(1));
    expect(summary(seen)).toEqual([
      ['new', 1, 0],
      ['destroy', 1, 0],
    ]);
    expect(t.size('ct')).toBe(0);
  });

  it('dump returns copies: mutating them does not change the table', async () => {
    const t = new MemoryTable({ key });
    const r = rec(1, 1);
    await t.create([r]);
    r.attrs.writeUInt32BE(99, 4);
    const d = await t.dump('ct');
    d[0]?.attrs.writeUInt32BE(98, 4);
    expect(val((await t.dump('ct'))[0] ?? rec(0, 0))).toBe(1);
  });
});

describe('MemoryTable with the default key (tupleKey)', () => {
  it('keys real ctnetlink records by their orig tuple', async () => {
    const { makeFlows } = await import('../../../src/bench/flows');
    const t = new MemoryTable();
    const [a, b] = makeFlows(2);
    const [a2] = makeFlows(1, { mark: 5 });
    if (!a || !b || !a2) throw new Error('no flows');
    expect(await t.create([a, b])).toEqual({ ok: 2, failed: [] });
    expect(await t.create([a2])).toEqual({ ok: 1, failed: [], existed: 1 });
    expect(t.size('ct')).toBe(2);
    expect(await t.delete([a2])).toEqual({ ok: 1, failed: [] });
    expect(t.size('ct')).toBe(1);
  });
});

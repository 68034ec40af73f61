import { describe, expect, it } from 'vitest';
import { makeFlows } from '../../../src/bench/flows';
import { createCache } from '../../../src/cache/packed-cache';
import { writeThrough } from '../../../src/cache/write-through';
import { tupleKey } from '../../../src/netlink/ct/key';
import { MemoryTable } from '../../../src/netlink/memory-table';
import { FakeClock } from '../../../src/util/clock';

function setup(max?: number) {
  const clock = new FakeClock();
  const table = new MemoryTable(max === undefined ? {} : { max });
  const warnings: string[] = [];
  const cache = writeThrough(createCache({ name: 'external', limit: 10_000 }), {
    table,
    clock,
    logger: { warn: (_o, m) => warnings.push(m ?? '') },
  });
  const flows = makeFlows(100);
  const key = (i: number): string => tupleKey(flows[i] as (typeof flows)[number]) ?? '';
  return { clock, table, cache, flows, key, warnings };
}

describe('write-through cache (DisableExternalCache on)', () => {
  it('writes creates and updates after flushMs, deletes removed entries, coalesces per key', async () => {
    const { clock, table, cache, flows, key } = setup();
    for (let i = 0; i < 100; i++) cache.upsert(key(i), flows[i] as (typeof flows)[number], 0);
    expect(table.size('ct')).toBe(0);
    expect(cache.writeStats().pending).toBe(100);
    clock.advance(20);
    await cache.drain();
    expect(table.size('ct')).toBe(100);
    // Removed twice over (remove, delete) and re-added: the newest op per key wins.
    cache.remove(key(0));
    expect(cache.delete(key(1))).toBeDefined();
    cache.remove(key(2));
    cache.upsert(key(2), flows[2] as (typeof flows)[number], 1);
    await cache.drain();
    expect(table.size('ct')).toBe(98);
    expect(table.get(flows[0] as (typeof flows)[number])).toBeUndefined();
    expect(table.get(flows[2] as (typeof flows)[number])).toBeDefined();
    expect(cache.writeStats()).toMatchObject({ pending: 0, written: 101, deleted: 2, failed: 0 });
  });

  it('clear() empties the cache but leaves the kernel entries (promotion flushes the external cache)', async () => {
    const { cache, table, flows, key } = setup();
    for (let i = 0; i < 10; i++) cache.upsert(key(i), flows[i] as (typeof flows)[number], 0);
    await cache.drain();
    cache.clear();
    await cache.drain();
    expect(cache.size).toBe(0);
    expect(table.size('ct')).toBe(10);
  });

  it('a full kernel table: refusals are counted and warned about (rate-limited); the cache keeps them', async () => {
    const { cache, table, flows, key, warnings, clock } = setup(5);
    for (let i = 0; i < 20; i++) cache.upsert(key(i), flows[i] as (typeof flows)[number], 0);
    await cache.drain();
    expect(table.size('ct')).toBe(5);
    expect(cache.size).toBe(20);
    expect(cache.writeStats()).toMatchObject({ written: 5, failed: 15 });
    for (let i = 20; i < 30; i++) cache.upsert(key(i), flows[i] as (typeof flows)[number], 0);
    await cache.drain();
    expect(warnings).toEqual(['external cache: kernel refused entries']);
    clock.advance(5000);
    cache.upsert(key(40), flows[40] as (typeof flows)[number], 0);
    await cache.drain();
    expect(warnings).toHaveLength(2);
  });
});

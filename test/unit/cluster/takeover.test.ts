import { describe, expect, it } from 'vitest';
import { releaseFlows, takeover, selectFlows } from '../../../src/cluster/takeover';
import { bucketOfRecord } from '../../../src/cluster/hash';
import { fromList, has } from '../../../src/cluster/ranges';
import { MemoryTable } from '../../../src/netlink/memory-table';
import { makeFlows } from '../../../src/bench/flows';
import type { CtRecord } from '../../../src/netlink/types';

const N = 32;
const SEED = 0x5eed;

describe('cluster takeover', () => {
  // 64 source hosts (makeFlows changes host every 60000 flows), 20 flows each.
  const external: CtRecord[] = Array.from({ length: 64 }, (_, h) => makeFlows(20, { first: h * 60_000 })).flat();
  const gained = fromList([3, 4, 17, 31]);

  it('commits exactly the external flows of the gained buckets', async () => {
    const table = new MemoryTable();
    const r = await takeover({ table, external: () => external, buckets: N, seed: SEED, chunk: 100 }, gained);
    const want = external.filter((x) => has(gained, bucketOfRecord(x, N, SEED) ?? -1));
    expect(want.length).toBeGreaterThan(0);
    expect(r).toEqual({ scanned: 1280, selected: want.length, committed: want.length, failed: {}, skipped: 0 });
    const inKernel = await table.dump('ct');
    expect(inKernel.length).toBe(want.length);
    for (const x of inKernel) expect(has(gained, bucketOfRecord(x, N, SEED) ?? -1)).toBe(true);
  });

  it('no gained bucket: nothing written', async () => {
    const table = new MemoryTable();
    const r = await takeover({ table, external: () => external, buckets: N, seed: SEED }, 0);
    expect(r.committed).toBe(0);
    expect(table.size('ct')).toBe(0);
  });

  it('counts kernel refusals by errno and skips records it cannot hash', async () => {
    let n = 0;
    const table = new MemoryTable({ fault: () => (n++ % 2 === 0 ? 'ENOMEM' : null) });
    const junk: CtRecord[] = [{ kind: 'ct', family: 2, attrs: Buffer.from([1, 2, 3]) }];
    const r = await takeover({ table, external: () => [...junk, ...external], buckets: N, seed: SEED }, gained);
    expect(r.skipped).toBe(1);
    expect(r.failed.ENOMEM).toBe(Math.ceil(r.selected / 2));
    expect(r.committed + (r.failed.ENOMEM ?? 0)).toBe(r.selected);
  });

  it('a failing table call is reported, not thrown', async () => {
    const table = new MemoryTable();
    table.create = async () => {
      throw new Error('ETIMEDOUT');
    };
    const r = await takeover({ table, external: () => external, buckets: N, seed: SEED }, gained);
    expect(r.error).toBe('ETIMEDOUT');
    expect(r.committed).toBe(0);
  });

  it('copies records out of the cache (views may be reused)', () => {
    const { picked } = selectFlows(external.slice(0, 500), 0xffffffff, N, SEED);
    expect(picked.length).toBe(500);
    expect(picked[0]?.attrs).not.toBe(external[0]?.attrs);
    expect(picked[0]?.attrs).toEqual(external[0]?.attrs);
  });
});

describe('cluster release cleanup', () => {
  it('deletes exactly the kernel flows of the released buckets', async () => {
    const table = new MemoryTable();
    const flows = Array.from({ length: 64 }, (_, h) => makeFlows(10, { first: h * 60_000 })).flat();
    await table.create(flows);
    const released = fromList([0, 1, 2, 3, 4, 5, 6, 7]);
    const want = flows.filter((x) => has(released, bucketOfRecord(x, N, SEED) ?? -1)).length;
    expect(want).toBeGreaterThan(0);
    const r = await releaseFlows({ table, buckets: N, seed: SEED }, released);
    expect(r).toEqual({ selected: want, deleted: want, failed: {} });
    const left = await table.dump('ct');
    expect(left.length).toBe(640 - want);
    for (const x of left) expect(has(released, bucketOfRecord(x, N, SEED) ?? -1)).toBe(false);
  });

  it('keep() spares entries although their bucket moved', async () => {
    const table = new MemoryTable();
    const flows = Array.from({ length: 64 }, (_, h) => makeFlows(10, { first: h * 60_000 })).flat();
    await table.create(flows);
    // Keep the flows of the first 8 source hosts (198.18.0.0-7).
    const spare = (x: CtRecord): boolean => (bucketOfRecord(x, N, SEED) ?? -1) >= 0 && flows.slice(0, 80).some((f) => f.attrs.equals(x.attrs));
    const r = await releaseFlows({ table, buckets: N, seed: SEED, keep: spare }, 0xffffffff);
    expect(r).toEqual({ selected: 560, deleted: 560, failed: {} });
    expect(table.size('ct')).toBe(80);
  });

  it('a failing dump is reported, not thrown', async () => {
    const table = new MemoryTable();
    table.dump = async () => {
      throw new Error('ECLOSED');
    };
    expect(await releaseFlows({ table, buckets: N, seed: SEED }, 1)).toEqual({ selected: 0, deleted: 0, failed: {}, error: 'ECLOSED' });
  });
});

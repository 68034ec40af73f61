/** 100,000 entries created in one batch into a namespace's table, all present afterwards. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, isRoot } from '../helpers/netns';
import { createKernelTable, type KernelTableHandle } from '../../src/netlink/kernel-table';
import { tupleKey } from '../../src/netlink/ct/key';
import { makeFlows } from '../../src/bench/flows';
import { silentLogger } from '../../src/util/log';

const N = 100_000;

describe.skipIf(!isRoot())('kernel table bulk create', () => {
  const lab = new Lab('kbk');
  let t: KernelTableHandle;
  beforeAll(() => {
    t = createKernelTable({ logger: silentLogger(), netns: lab.netns('a') });
  });
  afterAll(() => {
    t?.close();
    lab.cleanup();
  });

  it(`creates ${N} entries in one batch; count and dump agree exactly`, async () => {
    const flows = makeFlows(N);
    const r = await t.create(flows);
    expect(r.failed.slice(0, 3)).toEqual([]);
    expect(r.ok).toBe(N);
    expect(await t.count('ct')).toBe(N);
    const dumped = await t.dump('ct');
    expect(dumped).toHaveLength(N);
    const want = new Set(flows.map(tupleKey));
    const got = new Set(dumped.map(tupleKey));
    expect(got.size).toBe(N);
    let missing = 0;
    for (const k of want) if (!got.has(k)) missing++;
    expect(missing).toBe(0);
    expect(t.stats()).toMatchObject({ badMessages: 0, commandOverruns: 0 });
  });

  it('deletes them all in one batch', async () => {
    const r = await t.delete(makeFlows(N));
    expect(r).toEqual({ ok: N, failed: [] });
    expect(await t.count('ct')).toBe(0);
  });
});

describe('synthetic flows', () => {
  it('patched copies decode to the flow they stand for', async () => {
    const { decodeConntrack } = await import('../../src/netlink/ct/conntrack');
    const { flowConntrack } = await import('../../src/bench/flows');
    for (const [i, proto] of [[0, 'tcp'], [65_537, 'udp'], [123_456, 'tcp']] as const) {
      const rec = makeFlows(1, { first: i, proto })[0];
      const d = rec ? decodeConntrack(rec) : null;
      expect(d?.ok && d.value).toMatchObject(flowConntrack(i, { proto }));
    }
  });
});

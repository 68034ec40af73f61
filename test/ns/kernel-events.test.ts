/**
 * Kernel events through the kernel table, on the real kernel:
 *  - N creates / updates / destroys yield exactly N events of each type, in order per flow;
 *  - a burst of 200,000 events against a small receive buffer overruns: the
 *    overrun is reported, reading continues, and a dump restores an exact view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, isRoot, waitFor } from '../helpers/netns';
import { createKernelTable, type KernelTableHandle } from '../../src/netlink/kernel-table';
import { tupleKey } from '../../src/netlink/ct/key';
import { decodeConntrack } from '../../src/netlink/ct/conntrack';
import { makeFlows } from '../../src/bench/flows';
import { silentLogger } from '../../src/util/log';
import type { CtEvent, CtRecord } from '../../src/netlink/types';

describe.skipIf(!isRoot())('kernel table events', () => {
  const lab = new Lab('kev');
  let t: KernelTableHandle;
  beforeAll(() => {
    t = createKernelTable({ logger: silentLogger(), netns: lab.netns('a') });
  });
  afterAll(() => {
    t?.close();
    lab.cleanup();
  });

  it('N creates, updates and destroys give exactly N events of each, in order per flow', async () => {
    const N = 500;
    const got: CtEvent[] = [];
    let overruns = 0;
    const sub = t.subscribe({ kinds: ['ct'] }, { onEvents: (e) => got.push(...e), onOverrun: () => overruns++ });
    try {
      const flows = makeFlows(N, { first: 1_000_000 });
      expect((await t.create(flows)).ok).toBe(N);
      expect((await t.update(makeFlows(N, { first: 1_000_000, mark: 7 }))).ok).toBe(N);
      expect((await t.delete(flows)).ok).toBe(N);
      // A sentinel flow: once its event is in, every earlier event is too.
      const [sentinel] = makeFlows(1, { first: 2_000_000 });
      if (!sentinel) throw new Error('no sentinel');
      await t.create([sentinel]);
      const sentinelKey = tupleKey(sentinel);
      await waitFor(() => got.some((e) => tupleKey(e.record) === sentinelKey), 10_000);
      await t.delete([sentinel]);

      const perFlow = new Map<string | null, string[]>();
      for (const e of got) {
        const k = tupleKey(e.record);
        if (k === sentinelKey) continue;
        perFlow.set(k, [...(perFlow.get(k) ?? []), e.type]);
      }
      expect(perFlow.size).toBe(N);
      for (const f of flows) expect(perFlow.get(tupleKey(f))).toEqual(['new', 'update', 'destroy']);
      const updates = got.filter((e) => e.type === 'update');
      const marks = updates.map((e) => {
        const d = decodeConntrack(e.record);
        return d.ok ? d.value.mark : undefined;
      });
      expect(marks.every((m) => m === 7)).toBe(true);
      expect(overruns).toBe(0);
      expect(sub.overruns).toBe(0);
    } finally {
      sub.close();
    }
  });

  it('a 200k event burst into a small buffer overruns, keeps running, and a dump resyncs exactly', async () => {
    const view = new Map<string, CtRecord>();
    let overrunCalls = 0;
    let events = 0;
    const apply = (e: CtEvent): void => {
      const k = tupleKey(e.record);
      if (k === null) return;
      if (e.type === 'destroy') view.delete(k);
      else view.set(k, e.record);
    };
    const sub = t.subscribe(
      { kinds: ['ct'], rcvbuf: 64 * 1024 },
      {
        onEvents: (es) => {
          events += es.length;
          for (const e of es) apply(e);
        },
        onOverrun: () => overrunCalls++,
      },
    );
    try {
      const N = 100_000;
      const half = N / 2;
      const flows = makeFlows(N);
      expect((await t.create(flows)).ok).toBe(N); // 100k new
      expect((await t.update(makeFlows(half, { mark: 9 }))).ok).toBe(half); // 50k update
      expect((await t.delete(flows.slice(half))).ok).toBe(half); // 50k destroy
      await waitFor(() => overrunCalls > 0, 10_000);
      expect(sub.overruns).toBeGreaterThan(0);
      expect(events).toBeLessThan(2 * N); // events were lost

      // Resync: the dump is the truth.
      view.clear();
      for (const r of await t.dump('ct')) {
        const k = tupleKey(r);
        if (k !== null) view.set(k, r);
      }
      expect(view.size).toBe(half);
      for (const f of flows.slice(0, half)) expect(view.has(tupleKey(f) ?? '')).toBe(true);
      for (const f of flows.slice(0, half).filter((_, i) => i % 50 === 0)) {
        const r = view.get(tupleKey(f) ?? '');
        const d = r ? decodeConntrack(r) : null;
        expect(d?.ok && d.value.mark).toBe(9);
      }

      // The subscription still works after the overrun.
      const [late] = makeFlows(1, { first: 3_000_000 });
      if (!late) throw new Error('no flow');
      await t.create([late]);
      await waitFor(() => view.has(tupleKey(late) ?? ''), 10_000);
      expect(view.size).toBe(half + 1);
    } finally {
      sub.close();
      await t.flush('ct');
    }
  });
});

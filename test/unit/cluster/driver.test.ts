import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { createClusterNode, type ClusterNode } from '../../../src/cluster/driver';
import { overlapping, targetAssignment, unowned } from '../../../src/cluster/ranges';
import { Hub } from './hub';
import { memoryLink, type MemoryTransport } from '../../../src/transport/memory';
import { seededRandom } from '../../../src/transport/seeded-random';

const N = 32;

function cluster(ids: number[], opts: { failTakeover?: (id: number) => boolean } = {}) {
  const clock = new FakeClock();
  const hub = new Hub();
  const kernel = new Map<number, number>();
  const gained = new Map<number, number[]>();
  const released = new Map<number, number>();
  const nodes = new Map<number, ClusterNode>();
  const transports = new Map<number, { up: boolean }>();
  const add = (id: number): ClusterNode => {
    const t = hub.join(`203.0.113.${id}`);
    const node = createClusterNode({
      config: { self: id, buckets: N, seed: 1, intervalMs: 100, deadAfter: 3, listenIntervals: 3 },
      incarnation: 1,
      transport: t,
      clock,
      logger: silentLogger(),
      applyMask: async (m) => {
        kernel.set(id, m);
      },
      released: async (b) => {
        released.set(id, ((released.get(id) ?? 0) | b) >>> 0);
      },
      takeover: async (b) => {
        if (opts.failTakeover?.(id)) throw new Error('table busy');
        gained.set(id, [...(gained.get(id) ?? []), b]);
      },
    });
    nodes.set(id, node);
    transports.set(id, t);
    return node;
  };
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      clock.advance(10);
      hub.flush();
      for (let i = 0; i < 5; i++) await Promise.resolve();
      for (const n of nodes.values()) await n.idle();
    }
  };
  for (const id of ids) add(id);
  return { clock, hub, kernel, gained, released, nodes, transports, add, run };
}

const held = (c: ReturnType<typeof cluster>, ids: number[]): number[] => ids.map((id) => c.nodes.get(id)?.held() ?? -1);

describe('cluster driver (fake clock, in-memory hub)', () => {
  it('3 nodes converge; the kernel mask follows the claims; a dead node is taken over', async () => {
    const c = cluster([1, 2, 3]);
    for (const n of c.nodes.values()) await n.start();
    await c.run(1000);
    const t3 = targetAssignment([1, 2, 3], N);
    expect(held(c, [1, 2, 3])).toEqual([t3.get(1), t3.get(2), t3.get(3)]);
    for (const id of [1, 2, 3]) expect(c.kernel.get(id)).toBe(t3.get(id));
    // Started together: each took over only its own share (no grab-all-then-hand-back).
    for (const id of [1, 2, 3]) expect((c.gained.get(id) ?? []).reduce((a, b) => a | b, 0) >>> 0).toBe(t3.get(id));
    c.gained.clear();

    // Node 2 dies (sync link and agent gone).
    const t = c.transports.get(2);
    if (t) t.up = false;
    c.nodes.get(2)?.stop();
    await c.run(1000);
    const t2 = targetAssignment([1, 3], N);
    expect(held(c, [1, 3])).toEqual([t2.get(1), t2.get(3)]);
    expect(unowned(held(c, [1, 3]), N)).toBe(0);
    expect(overlapping(held(c, [1, 3]))).toBe(0);
    // Takeover ran for the gained buckets before the claim.
    for (const id of [1, 3]) {
      const g = (c.gained.get(id) ?? []).reduce((a, b) => a | b, 0) >>> 0;
      expect(g).toBe(((t2.get(id) ?? 0) & (t3.get(2) ?? 0)) >>> 0);
    }
    for (const id of [1, 3]) expect(c.kernel.get(id)).toBe(t2.get(id));
  });

  it('graceful leave hands every bucket over before it resolves', async () => {
    const c = cluster([1, 2]);
    for (const n of c.nodes.values()) await n.start();
    await c.run(800);
    const leaving = c.nodes.get(2)?.leave(5000);
    await c.run(600);
    await expect(leaving).resolves.toBe(true);
    expect(c.nodes.get(2)?.held()).toBe(0);
    expect(c.nodes.get(1)?.held()).toBe(0xffffffff);
    expect(c.kernel.get(2)).toBe(0);
    // The released-flows hook ran for exactly the buckets node 2 gave away.
    expect(c.released.get(2)).toBe(0xffff0000);
    expect(c.released.get(1)).toBeUndefined();
  });

  it('a failed takeover is retried; the bucket stays with its old owner meanwhile', async () => {
    let failing = true;
    const c = cluster([1], { failTakeover: (id) => id === 2 && failing });
    await c.nodes.get(1)?.start();
    await c.run(600);
    expect(c.nodes.get(1)?.held()).toBe(0xffffffff);
    const n2 = c.add(2);
    await n2.start();
    await c.run(1000);
    expect(n2.held()).toBe(0);
    expect(c.nodes.get(1)?.held()).toBe(0xffffffff);
    expect(n2.stats().takeoverFailures).toBeGreaterThan(0);
    failing = false;
    await c.run(600);
    const t = targetAssignment([1, 2], N);
    expect(held(c, [1, 2])).toEqual([t.get(1), t.get(2)]);
  });

  it('garbage on the sync link is counted, not fatal', async () => {
    const c = cluster([1, 2]);
    for (const n of c.nodes.values()) await n.start();
    c.hub.ends[0]?.send(Buffer.from('not a heartbeat at all, but long enough'));
    await c.run(800);
    expect(c.nodes.get(2)?.stats().decodeErrors).toEqual({ MAGIC: 1 });
    const t = targetAssignment([1, 2], N);
    expect(held(c, [1, 2])).toEqual([t.get(1), t.get(2)]);
  });
});

describe('cluster driver over memoryLink (two nodes, lossy, reordering)', () => {
  it('converges once the faults stop, and never leaves a bucket unclaimed after forming', async () => {
    const clock = new FakeClock();
    const link = memoryLink(seededRandom(7));
    link.setFaults({ loss: 0.3, reorder: 0.2, duplicate: 0.1 });
    const mk = (id: number, t: MemoryTransport): ClusterNode =>
      createClusterNode({
        config: { self: id, buckets: N, seed: 1, intervalMs: 100, deadAfter: 4, listenIntervals: 3 },
        incarnation: 1,
        transport: t,
        clock,
        logger: silentLogger(),
        applyMask: async () => undefined,
      });
    const a = mk(1, link.a);
    const b = mk(2, link.b);
    await a.start();
    await b.start();
    let formed = false;
    const gaps: number[] = [];
    const run = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10);
        link.flush();
        for (let i = 0; i < 5; i++) await Promise.resolve();
        await a.idle();
        await b.idle();
        const all = (a.held() | b.held()) >>> 0;
        if (all === 0xffffffff) formed = true;
        else if (formed) gaps.push(clock.now());
      }
    };
    await run(5000);
    link.setFaults({});
    await run(1500);
    expect(gaps).toEqual([]);
    const t = targetAssignment([1, 2], N);
    expect([a.held(), b.held()]).toEqual([t.get(1), t.get(2)]);
  });
});

/**
 * startCluster on in-memory parts: two nodes on a memory hub (heartbeats),
 * MemoryTables as kernels, a recording nft runner, packed caches as the
 * daemons' external caches. Real clock with 20 ms heartbeats; bounded polls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeFlows } from '../../../src/bench/flows';
import { createCache } from '../../../src/cache/packed-cache';
import type { Cache } from '../../../src/cache/types';
import { bucketOfRecord } from '../../../src/cluster/hash';
import { has } from '../../../src/cluster/ranges';
import type { ClusterConfig } from '../../../src/config/conntrackd-types';
import type { DaemonApi, DaemonStatus } from '../../../src/daemon/api';
import { prepareCluster, startCluster, trackInitialSync, type ClusterHandle } from '../../../src/daemon/cluster';
import type { PeerEvent } from '../../../src/sync/engine';
import { tupleKey } from '../../../src/netlink/ct/key';
import { MemoryTable } from '../../../src/netlink/memory-table';
import type { CtRecord } from '../../../src/netlink/types';
import { FakeClock, systemClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { waitFor } from '../../helpers/netns';
import { Hub } from '../cluster/hub';

const N = 32;
const SEED = 0x5eed;

function cfg(id: number): ClusterConfig {
  return {
    nodeId: id,
    family: 4,
    address: `203.0.113.${id}`,
    peers: [1, 2].filter((p) => p !== id).map((p) => `203.0.113.${p}`),
    port: 3781,
    buckets: N,
    hashSeed: SEED,
    interfaces: ['lan', 'wan'],
    heartbeatInterval: 20,
    deadAfter: 3,
    listenIntervals: 5,
    ipv6: false,
    multicastMac: false,
    table: 'ctsync_cluster',
    initialSyncWaitMs: 0,
    line: 1,
  };
}

function fakeApi(): DaemonApi {
  const st: DaemonStatus = { pid: 1, version: 't', state: 'INIT', mode: 'ftfw', uptimeSeconds: 0, peers: [], cache: { internal: 0, external: 0 } };
  return { status: async () => st } as unknown as DaemonApi;
}

interface Node {
  id: number;
  table: MemoryTable;
  external: Cache;
  api: DaemonApi;
  scripts: string[];
  handle: ClusterHandle;
  up: { up: boolean };
}

describe('startCluster (daemon wiring, in memory)', () => {
  const nodes: Node[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) n.handle.node.stop();
  });

  async function start(hub: Hub, id: number, externalFlows: CtRecord[]): Promise<Node> {
    const table = new MemoryTable();
    const external = createCache({ name: 'external', limit: 100_000 });
    for (const r of externalFlows) external.upsert(tupleKey(r) ?? '', r, 0);
    const api = fakeApi();
    const scripts: string[] = [];
    const transport = hub.join(`203.0.113.${id}`);
    const handle = await startCluster(cfg(id), {
      daemon: { api, caches: { external: { ct: external, expect: createCache({ name: 'x', limit: 10 }) } } },
      table,
      clock: systemClock(),
      logger: silentLogger(),
      nft: async (s) => {
        scripts.push(s);
      },
      transport,
      incarnation: 1,
      leaveTimeoutMs: 2000,
      ownAddresses: () => [],
    });
    const n: Node = { id, table, external, api, scripts, handle, up: transport };
    nodes.push(n);
    return n;
  }

  it('two nodes split the buckets; the survivor commits exactly the dead node\'s flows from its external cache; status carries the cluster', async () => {
    const hub = new Hub(true);
    // 64 source hosts, 10 flows each: node 1 "replicated" all of them from node 2.
    const flows = Array.from({ length: 64 }, (_, h) => makeFlows(10, { first: h * 60_000 })).flat();
    const n1 = await start(hub, 1, flows);
    const n2 = await start(hub, 2, []);
    await waitFor(() => n1.handle.node.held() === 0xffff && n2.handle.node.held() === 0xffff0000, 5000);
    await n1.handle.node.idle();
    // Node 1 gained 0-15 at the start: only flows of those buckets were committed.
    const first = await n1.table.dump('ct');
    const inLow = flows.filter((f) => (bucketOfRecord(f, N, SEED) ?? 99) < 16);
    expect(first.length).toBe(inLow.length);
    expect(n1.scripts.at(-1)).toContain('jhash ct original ip saddr mod 32 seed 0x5eed { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 } accept');

    const s = await n1.api.status();
    expect(s.cluster).toEqual({
      nodeId: 1,
      phase: 'active',
      buckets: N,
      held: Array.from({ length: 16 }, (_, i) => i),
      aim: Array.from({ length: 16 }, (_, i) => i),
      members: [1, 2],
      takeovers: { runs: 1, committed: inLow.length, failed: 0 },
      releases: { runs: 0, deleted: 0 },
    });
    expect(s.pid).toBe(1);

    // Node 2 dies: node 1 takes 16-31 and commits their flows.
    n2.up.up = false;
    n2.handle.node.stop();
    await waitFor(() => n1.handle.node.held() === 0xffffffff, 5000);
    await n1.handle.node.idle();
    const all = await n1.table.dump('ct');
    expect(all.length).toBe(flows.length);
    expect((await n1.api.status()).cluster?.takeovers).toEqual({ runs: 2, committed: flows.length, failed: 0 });

    // Graceful stop: the rule keeps no bucket, status loses its cluster field.
    await n1.handle.stop();
    expect(n1.scripts.at(-1)).not.toContain('jhash');
    expect(n1.scripts.at(-1)).toContain('drop');
    expect((await n1.api.status()).cluster).toBeUndefined();
  });

  it('prepare deletes the entries an earlier run left in the kernel table, except connections to the node itself', async () => {
    const hub = new Hub(true);
    const table = new MemoryTable();
    const flows = Array.from({ length: 8 }, (_, h) => makeFlows(5, { first: h * 60_000 })).flat();
    await table.create(flows);
    const scripts: string[] = [];
    const prep = (own: string[]) =>
      prepareCluster(cfg(1), {
        daemon: { api: fakeApi(), caches: { external: { ct: createCache({ name: 'e', limit: 1000 }), expect: createCache({ name: 'x', limit: 10 }) } } },
        table,
        clock: systemClock(),
        logger: silentLogger(),
        nft: async (s) => {
          scripts.push(s);
        },
        transport: hub.join('203.0.113.1'),
        ownAddresses: () => own,
      });
    // makeFlows' destination 198.19.0.1 as one of our own (management) addresses: kept.
    await prep(['198.19.0.1', '127.0.0.1']);
    expect(table.size('ct')).toBe(flows.length);
    const prepared = await prep([]);
    expect(table.size('ct')).toBe(0);
    expect(scripts.length).toBeGreaterThan(0);
    for (const sc of scripts) expect(sc).not.toContain('jhash');
    const h = await prepared.start();
    h.node.stop();
  });

  it('a released bucket\'s flows leave the kernel table of the old owner', async () => {
    const hub = new Hub(true);
    const flows = Array.from({ length: 64 }, (_, h) => makeFlows(5, { first: h * 60_000 })).flat();
    const n1 = await start(hub, 1, flows);
    await waitFor(() => n1.handle.node.held() === 0xffffffff, 5000);
    await n1.handle.node.idle();
    expect((await n1.table.dump('ct')).length).toBe(flows.length);
    const n2 = await start(hub, 2, flows);
    await waitFor(() => n1.handle.node.held() === 0xffff && n2.handle.node.held() === 0xffff0000, 5000);
    await waitFor(async () => {
      await n1.handle.node.idle();
      return (await n1.api.status()).cluster?.releases.runs === 1;
    }, 5000);
    const left = await n1.table.dump('ct');
    for (const r of left) expect(has(0xffff, bucketOfRecord(r, N, SEED) ?? -1)).toBe(true);
    expect(left.length).toBe(flows.filter((f) => (bucketOfRecord(f, N, SEED) ?? 99) < 16).length);
    expect((await n1.api.status()).cluster?.releases.deleted).toBe(flows.length - left.length);
  });
});

describe('trackInitialSync', () => {
  function fakeEngine(): { onPeerEvent(h: (ev: PeerEvent) => void): () => void; emit(ev: PeerEvent): void; subscribers(): number } {
    const hs = new Set<(ev: PeerEvent) => void>();
    return {
      onPeerEvent(h) {
        hs.add(h);
        return () => hs.delete(h);
      },
      emit: (ev) => hs.forEach((h) => h(ev)),
      subscribers: () => hs.size,
    };
  }

  it('resolves once every peer completed a bulk; other events do not count', async () => {
    const clock = new FakeClock();
    const e = fakeEngine();
    let res: { done: string[]; missing: string[] } | undefined;
    const t = trackInitialSync(e, ['203.0.113.2', '203.0.113.3']);
    // Bulks that arrive before wait() count too.
    e.emit({ type: 'bulk-done', peer: '203.0.113.3', swept: 0 });
    void t.wait(3000, clock).then((r) => (res = r));
    e.emit({ type: 'bulk-incomplete', peer: '203.0.113.2', expected: 5, got: 4 });
    e.emit({ type: 'bulk-done', peer: '198.51.100.9', swept: 0 });
    await Promise.resolve();
    expect(res).toBeUndefined();
    e.emit({ type: 'bulk-done', peer: '203.0.113.2', swept: 1 });
    await Promise.resolve();
    expect(res).toEqual({ done: ['203.0.113.3', '203.0.113.2'], missing: [] });
    expect(e.subscribers()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('gives up after the wait and names the missing peers', async () => {
    const clock = new FakeClock();
    const e = fakeEngine();
    let res: { done: string[]; missing: string[] } | undefined;
    void trackInitialSync(e, ['203.0.113.2', '203.0.113.3']).wait(3000, clock).then((r) => (res = r));
    e.emit({ type: 'bulk-done', peer: '203.0.113.2', swept: 0 });
    clock.advance(2999);
    await Promise.resolve();
    expect(res).toBeUndefined();
    clock.advance(1);
    await Promise.resolve();
    expect(res).toEqual({ done: ['203.0.113.2'], missing: ['203.0.113.3'] });
    expect(e.subscribers()).toBe(0);
  });
});

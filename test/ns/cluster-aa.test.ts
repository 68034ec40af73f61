/**
 * Active-active on the real kernel: 3 firewall namespaces behind a switch
 * namespace share one IP and one MAC on each side (a unicast MAC flooded by
 * a bridge without learning, or a multicast MAC); the nft rules of
 * src/cluster/kernel.ts let each forward only its buckets. A client with 64
 * source addresses opens 300 TCP connections through the cluster IP.
 *
 * The heartbeats run in-process over an in-memory hub (the membership
 * protocol itself is tested on its own), and flow state is "replicated" by
 * dumping the other nodes' kernel tables (createKernelTable) before a
 * change, standing in for the sync engine (cluster-daemon.test.ts runs the
 * same topology with real ctsyncd daemons and real replication). Topology
 * helpers: helpers/cluster-lab.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { PORT, addFirewallNs, buildClusterNet, flowsOn as flowsIn, type LineProc } from './helpers/cluster-lab';
import { Hub } from '../unit/cluster/hub';
import { createClusterNode, type ClusterNode } from '../../src/cluster/driver';
import { createClusterRules, nftRunner } from '../../src/cluster/kernel';
import { releaseFlows, takeover } from '../../src/cluster/takeover';
import { bucketOfText } from '../../src/cluster/hash';
import { has, overlapping, targetAssignment, unowned } from '../../src/cluster/ranges';
import { createKernelTable } from '../../src/netlink/kernel-table';
import { peekFlow } from '../../src/netlink/ct/peek';
import type { KernelTable } from '../../src/netlink/table';
import type { CtRecord } from '../../src/netlink/types';
import { systemClock } from '../../src/util/clock';
import { silentLogger } from '../../src/util/log';

const N = 32;
const SEED = 0x5eed;
const ok = isRoot() && have('nft') && have('conntrack');

interface Fw {
  id: number;
  ns: string;
  node: ClusterNode;
  table: KernelTable;
  external: CtRecord[];
  transport: { up: boolean };
}

type MacMode = 'shared unicast MAC' | 'multicast MAC';

describe.skipIf(!ok).each<MacMode>(['shared unicast MAC', 'multicast MAC'])('active-active cluster on the kernel (3 nodes, %s, nft jhash rules)', (mode) => {
  const mcast = mode === 'multicast MAC';
  const lab = new Lab('cl');
  const hub = new Hub(true);
  const clock = systemClock();
  const log = silentLogger();
  const fws = new Map<number, Fw>();
  let sw = '';
  let client: LineProc;

  afterAll(() => {
    for (const f of fws.values()) {
      f.node.stop();
      f.table.close();
    }
    lab.cleanup();
  });

  async function addFirewall(id: number, beforeStart?: (fw: Fw) => Promise<void>): Promise<Fw> {
    const ns = addFirewallNs(lab, sw, id, { mcast });
    const rules = createClusterRules({ buckets: N, seed: SEED, interfaces: ['lan', 'wan'], multicastMac: mcast }, nftRunner(ns));
    const table = createKernelTable({ netns: lab.nsPath(ns), logger: log });
    const transport = hub.join(`203.0.113.${id}`);
    const fw: Fw = { id, ns, table, external: [], transport, node: undefined as unknown as ClusterNode };
    fw.node = createClusterNode({
      config: { self: id, buckets: N, seed: SEED, intervalMs: 100, deadAfter: 3, listenIntervals: 3 },
      incarnation: 1,
      transport,
      clock,
      logger: log,
      applyMask: (m) => rules.apply(m),
      released: async (gone) => {
        const r = await releaseFlows({ table, buckets: N, seed: SEED }, gone);
        if (r.error) throw new Error(r.error);
      },
      takeover: async (gained) => {
        const r = await takeover({ table, external: () => fw.external, buckets: N, seed: SEED }, gained);
        if (r.error || Object.keys(r.failed).length > 0) throw new Error(`takeover: ${JSON.stringify(r)}`);
      },
    });
    if (beforeStart) await beforeStart(fw);
    fws.set(id, fw);
    await fw.node.start();
    return fw;
  }

  const live = (): Fw[] => [...fws.values()].filter((f) => f.transport.up);

  async function converged(): Promise<void> {
    await waitFor(() => {
      const ids = live().map((f) => f.id);
      const target = targetAssignment(ids, N);
      return live().every((f) => f.node.held() === target.get(f.id) && f.node.state().pending === 0);
    }, 15_000);
    for (const f of live()) await f.node.idle();
    const masks = live().map((f) => f.node.held());
    expect(unowned(masks, N)).toBe(0);
    expect(overlapping(masks)).toBe(0);
  }

  const flowsOn = (ns: string): string[] => flowsIn(lab, ns);

  /** Stand-in for the sync engine: each node's external cache = the others' entries. */
  async function replicate(to: Fw, from: Fw[]): Promise<void> {
    to.external = [];
    for (const f of from) {
      for (const r of await f.table.dump("ct")) if (peekFlow(r)?.dport === PORT) to.external.push(r);
    }
  }

  const ownerOf = (flow: string): number[] => {
    const b = bucketOfText(flow.split(':')[0] ?? '', N, SEED);
    return live().filter((f) => b !== null && has(f.node.held(), b)).map((f) => f.id);
  };

  beforeAll(async () => {
    const net = await buildClusterNet(lab, { mcast });
    sw = net.sw;
    client = net.client;
    for (const id of [1, 2, 3]) await addFirewall(id);
  }, 60_000);

  let firstFlows: string[] = [];

  it('three nodes converge to complete, disjoint, even buckets', async () => {
    await converged();
    expect(live().map((f) => f.node.held())).toEqual([0x3ff, 0x1ffc00, 0xffe00000]);
    // The rule in force is listable and carries this node's buckets (node 1: 0-9).
    const want = 'jhash ct original ip saddr mod 32 seed 0x5eed { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 } accept';
    await waitFor(() => lab.exec(fws.get(1)?.ns ?? '', 'nft list table ip ctsync_cluster').includes(want), 10_000, 100);
    expect(lab.exec(fws.get(1)?.ns ?? '', 'nft list table ip ctsync_cluster')).toContain(want);
  });

  it('300 connections: each flow is tracked by exactly the node whose bucket (our hash) it falls in', async () => {
    client.send('open 300');
    const line = await client.next('opened', 30_000);
    const [, okN, failN, list = ''] = line.split(' ');
    expect([okN, failN]).toEqual(['300', '0']);
    firstFlows = list.split(',');
    const seen = new Map<string, number[]>();
    for (const f of live()) for (const fl of flowsOn(f.ns)) seen.set(fl, [...(seen.get(fl) ?? []), f.id]);
    for (const fl of firstFlows) expect({ fl, on: seen.get(fl) ?? [] }).toEqual({ fl, on: ownerOf(fl) });
    expect([...seen.keys()].length).toBe(300);
    for (const f of live()) expect(flowsOn(f.ns).length).toBeGreaterThan(0);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 300 0');
  });

  it('node 2 loses its links: survivors take its buckets, commit its flows, established connections continue', async () => {
    const f2 = fws.get(2);
    if (!f2) throw new Error('no node 2');
    for (const f of [1, 3]) {
      const me = fws.get(f);
      if (me) await replicate(me, [...fws.values()].filter((o) => o !== me));
    }
    const f2flows = flowsOn(f2.ns);
    expect(f2flows.length).toBeGreaterThan(0);
    lab.exec(f2.ns, 'ip link set lan down && ip link set wan down');
    f2.transport.up = false;
    f2.node.stop();
    await converged();
    expect(live().map((f) => f.node.held())).toEqual([0xffff, 0xffff0000]);
    // Node 2's flows are now in the survivors' tables, each on its new owner.
    const now = new Map<string, number>();
    for (const f of live()) for (const fl of flowsOn(f.ns)) now.set(fl, f.id);
    for (const fl of f2flows) expect({ fl, on: now.get(fl) }).toEqual({ fl, on: ownerOf(fl)[0] });
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 300 0');
  });

  it('a fourth node joins and takes an even share; old and new connections work', async () => {
    // Its external cache is filled before it starts (the sync engine's job).
    await addFirewall(4, (f4) => replicate(f4, live()));
    await converged();
    const held = live().map((f) => f.node.held());
    expect(held).toEqual([0x3ff, 0x1ffc00, 0xffe00000]);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 300 0');
    client.send('open 90');
    const line = await client.next('opened', 30_000);
    const [, okN, failN, list = ''] = line.split(' ');
    expect([okN, failN]).toEqual(['90', '0']);
    const fresh = list.split(',');
    const seen = new Map<string, number[]>();
    for (const f of live()) for (const fl of flowsOn(f.ns)) seen.set(fl, [...(seen.get(fl) ?? []), f.id]);
    for (const fl of fresh) expect({ fl, on: seen.get(fl) ?? [] }).toEqual({ fl, on: ownerOf(fl) });
    expect(fresh.filter((fl) => ownerOf(fl)[0] === 4).length).toBeGreaterThan(0);
    // Nodes 1 and 3 deleted the flows of the buckets they handed to node 4:
    // every one of the 390 flows is now in exactly its owner's table.
    for (const fl of [...firstFlows, ...fresh]) expect({ fl, on: seen.get(fl) ?? [] }).toEqual({ fl, on: ownerOf(fl) });
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 390 0');
  });
});

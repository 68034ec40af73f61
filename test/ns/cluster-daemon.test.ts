/**
 * Active-active with real daemons: 3 firewall namespaces behind a switch
 * namespace (helpers/cluster-lab.ts: shared IP and MAC per leg, flooded),
 * each running `bin/ctsyncd -C conf -d` with a Cluster section, replicating
 * with FT-FW over Multicast on a shared sync segment (bridge brs,
 * 203.0.113.0/24, group 225.0.0.50). Heartbeats are UDP unicast on the same
 * segment. A client with 64 source addresses opens 300 TCP connections
 * through the cluster IP.
 *
 * Checked: the daemons agree on complete, disjoint, even bucket ranges (read
 * from `status`); each flow is tracked by exactly its owner; the sync engine
 * brings node 2's flows into the others' external caches; node 2's daemon is
 * SIGKILLed and its links cut: the survivors take its buckets, commit its
 * flows from their external caches (real replication, nothing simulated)
 * and every connection still echoes.
 */
import { isAlive } from '../../src/lab/shell';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOfText } from '../../src/cluster/hash';
import { fromList, overlapping, unowned } from '../../src/cluster/ranges';
import { createControlClient } from '../../src/control/client';
import type { Request } from '../../src/control/protocol';
import type { DaemonStatus } from '../../src/daemon/api';
import { peekFlow } from '../../src/netlink/ct/peek';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { PORT, addFirewallNs, buildClusterNet, flowsOn, parseOpened, type LineProc } from './helpers/cluster-lab';

const ROOT = resolve(__dirname, '..', '..');
const CTSYNCD = join(ROOT, 'bin', 'ctsyncd');
const N = 32;
const SEED = 0x5eed;
const IDS = [1, 2, 3];
const ok = isRoot() && have('nft') && have('conntrack') && existsSync(join(ROOT, 'dist', 'daemon', 'main.js'));

interface Node {
  id: number;
  ns: string;
  conf: string;
  socket: string;
  lock: string;
  log: string;
}

function conf(id: number, dir: string): string {
  const peers = IDS.filter((p) => p !== id).map((p) => `\t\tIPv4_address 203.0.113.${p}`);
  return [
    'Sync {',
    '\tMode FTFW {',
    '\t}',
    '\tMulticast {',
    '\t\tIPv4_address 225.0.0.50',
    '\t\tGroup 3780',
    `\t\tIPv4_interface 203.0.113.${id}`,
    '\t\tInterface sync0',
    '\t}',
    '}',
    'General {',
    `\tLockFile ${dir}/n${id}.lock`,
    `\tLogFile ${dir}/n${id}.log`,
    '\tUNIX {',
    `\t\tPath ${dir}/n${id}.ctl`,
    '\t}',
    '\tFilter From Userspace {',
    '\t\tProtocol Accept {',
    '\t\t\tTCP',
    '\t\t}',
    '\t}',
    '}',
    'Cluster {',
    `\tNodeId ${id}`,
    `\tIPv4_address 203.0.113.${id}`,
    '\tPeers {',
    ...peers,
    '\t}',
    '\tPort 3791',
    '\tClusterInterface lan',
    '\tClusterInterface wan',
    '\tBuckets 32',
    '\tHashSeed 0x5eed',
    '\tHeartbeatInterval 200',
    '\tDeadAfter 5',
    '}',
    '',
  ].join('\n');
}

describe.skipIf(!ok)('ctsyncd active-active: 3 daemons, Cluster sections, FT-FW over Multicast', () => {
  const lab = new Lab('cd');
  const dir = mkdtempSync(join(tmpdir(), `ctsync-${lab.tag}-`));
  const nodes = new Map<number, Node>();
  const down = new Set<number>();
  let client: LineProc;
  let flows: string[] = [];

  afterAll(() => {
    for (const n of nodes.values()) {
      try {
        execFileSync('ip', ['netns', 'exec', n.ns, process.execPath, CTSYNCD, '-C', n.conf, '-k'], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        /* not running: the lab kills what is left */
      }
    }
    lab.cleanup();
    if (!process.env.CTSYNC_KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
  });

  const node = (id: number): Node => {
    const n = nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  };
  const live = (): Node[] => [...nodes.values()].filter((n) => !down.has(n.id));
  const logTail = (id: number): string => {
    try {
      return readFileSync(node(id).log, 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };

  async function call(id: number, req: Request, onChunk?: (recs: Array<{ kind: string; family: number; attrs: string }>) => void): Promise<Record<string, unknown>> {
    const c = createControlClient({ path: node(id).socket, timeoutMs: 20_000, idleTimeoutMs: 20_000, maxFrame: 64 * 1024 * 1024 });
    const r = await c.call(req, { onChunk: (e) => onChunk?.(e) });
    if (!r.ok) throw new Error(`node ${id}: ${req.cmd}: ${r.code}: ${r.message}`);
    return r.body;
  }
  const status = async (id: number): Promise<DaemonStatus> => (await call(id, { cmd: 'status' })) as unknown as DaemonStatus;

  /** "src:sport" of the echo flows in a daemon cache. */
  async function cacheFlows(id: number, which: 'internal' | 'external'): Promise<Set<string>> {
    const out = new Set<string>();
    await call(id, { cmd: 'dumpCache', which, kind: 'ct' }, (recs) => {
      for (const e of recs) {
        const f = peekFlow({ kind: 'ct', family: e.family as 2 | 10, attrs: Buffer.from(e.attrs, 'base64') });
        if (f && f.dport === PORT) out.add(`${f.src}:${f.sport}`);
      }
    });
    return out;
  }

  /** Held buckets per live node, once every live node holds its even target share. */
  async function converged(expected: number[][]): Promise<Map<number, number>> {
    const held = new Map<number, number>();
    try {
      await waitFor(async () => {
        const sts = await Promise.all(live().map((n) => status(n.id)));
        const ids = live().map((n) => n.id);
        sts.forEach((s, i) => held.set(ids[i] ?? 0, fromList(s.cluster?.held ?? [])));
        return sts.every((s, i) => s.cluster?.phase === 'active' && JSON.stringify(s.cluster.held) === JSON.stringify(expected[i]) && JSON.stringify(s.cluster.members) === JSON.stringify(ids));
      }, 20_000, 100);
    } catch (e) {
      throw new Error(`not converged: ${JSON.stringify(await Promise.all(live().map((n) => status(n.id).then((s) => s.cluster))))}\n${(e as Error).message}`);
    }
    return held;
  }

  const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  let owners = new Map<number, number>();
  const ownerOf = (flow: string): number[] => {
    const b = bucketOfText(flow.split(':')[0] ?? '', N, SEED);
    return [...owners].filter(([, m]) => b !== null && ((m >>> b) & 1) === 1).map(([id]) => id);
  };

  beforeAll(async () => {
    const net = await buildClusterNet(lab, { mcast: false });
    client = net.client;
    lab.exec(net.sw, 'ip link add brs type bridge mcast_snooping 0 && ip link set brs up');
    for (const id of IDS) {
      const ns = addFirewallNs(lab, net.sw, id, { mcast: false });
      lab.veth(ns, 'sync0', net.sw, `s${id}`);
      lab.exec(net.sw, `ip link set s${id} master brs`);
      lab.exec(ns, `ip addr add 203.0.113.${id}/24 dev sync0 && ip route add 224.0.0.0/4 dev sync0`);
      const n: Node = { id, ns, conf: join(dir, `n${id}.conf`), socket: join(dir, `n${id}.ctl`), lock: join(dir, `n${id}.lock`), log: join(dir, `n${id}.log`) };
      writeFileSync(n.conf, conf(id, dir));
      nodes.set(id, n);
    }
    const started = await Promise.all(
      IDS.map(
        (id) =>
          new Promise<{ id: number; code: number; err: string }>((res) => {
            execFile('ip', ['netns', 'exec', node(id).ns, process.execPath, CTSYNCD, '-C', node(id).conf, '-d'], { timeout: 40_000 }, (err, _o, stderr) =>
              res({ id, code: err ? 1 : 0, err: String(stderr) }),
            );
          }),
      ),
    );
    for (const s of started) if (s.code !== 0) throw new Error(`node ${s.id}: ctsyncd -d failed: ${s.err}\n${logTail(s.id)}`);
  }, 90_000);

  it('the daemons agree on complete, disjoint, even bucket ranges (from status)', async () => {
    owners = await converged([range(0, 9), range(10, 20), range(21, 31)]);
    expect(unowned(owners.values(), N)).toBe(0);
    expect(overlapping(owners.values())).toBe(0);
    // The rule follows the held set once the nft command of the last release has run (bounded wait).
    const want = 'jhash ct original ip saddr mod 32 seed 0x5eed { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 } accept';
    await waitFor(() => lab.exec(node(1).ns, 'nft list table ip ctsync_cluster').includes(want), 10_000, 100);
    expect(lab.exec(node(1).ns, 'nft list table ip ctsync_cluster')).toContain(want);
    // `ctsyncd status` prints the cluster lines.
    const out = execFileSync('ip', ['netns', 'exec', node(2).ns, process.execPath, CTSYNCD, '-C', node(2).conf, 'status'], { encoding: 'utf8', timeout: 20_000 });
    expect(out).toContain('cluster:  node 2 active, holds 10-20 of 32 buckets (aim 10-20)');
    expect(out).toContain('          members 1,2,3;');
  });

  it('300 connections: each flow is tracked by exactly its owner and replicated to both peers', async () => {
    client.send('open 300');
    const o = parseOpened(await client.next('opened', 30_000));
    expect([o.ok, o.fail]).toEqual(['300', '0']);
    flows = o.flows;
    const seen = new Map<string, number[]>();
    for (const n of live()) for (const fl of flowsOn(lab, n.ns)) seen.set(fl, [...(seen.get(fl) ?? []), n.id]);
    for (const fl of flows) expect({ fl, on: seen.get(fl) ?? [] }).toEqual({ fl, on: ownerOf(fl) });
    expect(seen.size).toBe(300);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 300 0');
    // Real replication: every node's external cache = the other two nodes' flows.
    await waitFor(async () => {
      for (const n of live()) {
        const ext = await cacheFlows(n.id, 'external');
        const want = flows.filter((fl) => ownerOf(fl)[0] !== n.id);
        if (ext.size !== want.length || want.some((fl) => !ext.has(fl))) return false;
      }
      return true;
    }, 20_000, 200);
  });

  it("node 2's daemon is killed and its links cut: its buckets move, its flows continue", async () => {
    const n2 = node(2);
    const mine = flows.filter((fl) => ownerOf(fl)[0] === 2);
    expect(mine.length).toBeGreaterThan(0);
    const pid = Number(readFileSync(n2.lock, 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    lab.exec(n2.ns, 'ip link set lan down && ip link set wan down && ip link set sync0 down');
    down.add(2);
    owners = await converged([range(0, 15), range(16, 31)]);
    expect(unowned(owners.values(), N)).toBe(0);
    expect(overlapping(owners.values())).toBe(0);
    // Node 2's flows are now in the survivors' kernel tables, each on its new owner only.
    const now = new Map<string, number[]>();
    for (const n of live()) for (const fl of flowsOn(lab, n.ns)) now.set(fl, [...(now.get(fl) ?? []), n.id]);
    for (const fl of mine) expect({ fl, on: now.get(fl) ?? [] }).toEqual({ fl, on: ownerOf(fl) });
    const sts = await Promise.all(live().map((n) => status(n.id)));
    const committed = sts.reduce((a, s) => a + (s.cluster?.takeovers.committed ?? 0), 0);
    expect(committed).toBeGreaterThanOrEqual(mine.length);
    expect(sts.map((s) => s.cluster?.takeovers.failed)).toEqual([0, 0]);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 300 0');
  });

  it('after the failure, new flows of each survivor still replicate to the other', async () => {
    client.send('open 60');
    const o = parseOpened(await client.next('opened', 30_000));
    expect([o.ok, o.fail]).toEqual(['60', '0']);
    for (const fl of o.flows) expect(ownerOf(fl)).toHaveLength(1);
    await waitFor(async () => {
      for (const n of live()) {
        const ext = await cacheFlows(n.id, 'external');
        if (o.flows.some((fl) => ownerOf(fl)[0] !== n.id && !ext.has(fl))) return false;
      }
      return true;
    }, 10_000, 200);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 360 0');
    flows = [...flows, ...o.flows];
  });

  it('node 2 restarts: it waits for the full resync, takes its share back with the flows, the others release theirs', async () => {
    const n2 = node(2);
    lab.exec(n2.ns, 'ip link set sync0 up');
    const r = await new Promise<{ code: number; err: string }>((res) => {
      execFile('ip', ['netns', 'exec', n2.ns, process.execPath, CTSYNCD, '-C', n2.conf, '-d'], { timeout: 40_000 }, (err, _o, stderr) => res({ code: err ? 1 : 0, err: String(stderr) }));
    });
    if (r.code !== 0) throw new Error(`node 2 restart failed: ${r.err}\n${logTail(2)}`);
    expect(readFileSync(n2.log, 'utf8')).toContain('cluster: full resync received from every peer');
    lab.exec(n2.ns, 'ip link set lan up && ip link set wan up');
    down.delete(2);
    owners = await converged([range(0, 9), range(10, 20), range(21, 31)]);
    // Every one of the 360 flows is in exactly its owner's kernel table.
    await waitFor(() => {
      const seen = new Map<string, number[]>();
      for (const n of live()) for (const fl of flowsOn(lab, n.ns)) seen.set(fl, [...(seen.get(fl) ?? []), n.id]);
      return flows.every((fl) => JSON.stringify(seen.get(fl) ?? []) === JSON.stringify(ownerOf(fl)));
    }, 10_000, 200);
    expect(flows.filter((fl) => ownerOf(fl)[0] === 2).length).toBeGreaterThan(0);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 360 0');
  });

  // The old owners' destroys reach the third node after the new owner's
  // announcements; src/sync/apply.ts ignores destroys from a peer that is not
  // the entry's owner (counted as foreignDestroys).
  it('after the rejoin every external cache holds exactly the other nodes\' flows', async () => {
    await waitFor(async () => {
      for (const n of live()) {
        const ext = await cacheFlows(n.id, 'external');
        const want = flows.filter((fl) => ownerOf(fl)[0] !== n.id);
        if (ext.size !== want.length || want.some((fl) => !ext.has(fl))) return false;
      }
      return true;
    }, 5000, 200);
  });

  it('node 3 stops gracefully (ctsyncd -k): its buckets move before it goes, its flows continue, its rule forwards nothing', async () => {
    const n3 = node(3);
    const pid = Number(readFileSync(n3.lock, 'utf8').trim());
    execFileSync('ip', ['netns', 'exec', n3.ns, process.execPath, CTSYNCD, '-C', n3.conf, '-k'], { stdio: 'ignore', timeout: 20_000 });
    await waitFor(() => !isAlive(pid), 20_000, 100);
    expect(readFileSync(n3.log, 'utf8')).toContain('"handed":true');
    // Its links stay up: the rule left behind must keep it from forwarding anything.
    const rule = lab.exec(n3.ns, 'nft list table ip ctsync_cluster');
    expect(rule).not.toContain('jhash');
    expect(rule).toContain('drop');
    expect(flowsOn(lab, n3.ns)).toEqual([]);
    down.add(3);
    owners = await converged([range(0, 15), range(16, 31)]);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 360 0');
  });
});

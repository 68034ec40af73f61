/**
 * pfsync-style deferral with real daemons: 2 firewall namespaces behind the
 * switch namespace of helpers/cluster-lab.ts, each running `ctsyncd -d` with
 * a Cluster section and `Defer on` (FT-FW over Multicast on a sync bridge).
 *
 * Checked, without timing assertions:
 *  - every new connection's SYN was held by its owner and released because
 *    the peer acknowledged the flow (acceptedAfterAck = the owner's flows,
 *    no timeout), and the peer's external cache holds every flow;
 *  - node 2 stops (`-k`, buckets handed to node 1): new connections through
 *    node 1 still open, each SYN released by the bounded delay
 *    (acceptedOnTimeout grows by the new flows);
 *  - on stop the deferral rule is gone.
 * The hold times measured by the daemons are printed.
 */
import { isAlive } from '../../src/lab/shell';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOfText } from '../../src/cluster/hash';
import type { DeferralStatus } from '../../src/cluster/deferral-run';
import { createControlClient } from '../../src/control/client';
import type { Request } from '../../src/control/protocol';
import type { DaemonStatus } from '../../src/daemon/api';
import { peekFlow } from '../../src/netlink/ct/peek';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { PORT, addFirewallNs, buildClusterNet, parseOpened, type LineProc } from './helpers/cluster-lab';

const ROOT = resolve(__dirname, '..', '..');
const CTSYNCD = join(ROOT, 'bin', 'ctsyncd');
const IDS = [1, 2];
const TIMEOUT_MS = 400;
const ok = isRoot() && have('nft') && have('conntrack') && existsSync(join(ROOT, 'dist', 'daemon', 'main.js'));

function conf(id: number, dir: string): string {
  const peer = IDS.filter((p) => p !== id).map((p) => `\t\tIPv4_address 203.0.113.${p}`);
  return [
    'Sync {', '\tMode FTFW {', '\t}', '\tMulticast {', '\t\tIPv4_address 225.0.0.50', '\t\tGroup 3780', `\t\tIPv4_interface 203.0.113.${id}`, '\t\tInterface sync0', '\t}', '}',
    'General {', `\tLockFile ${dir}/n${id}.lock`, `\tLogFile ${dir}/n${id}.log`, '\tUNIX {', `\t\tPath ${dir}/n${id}.ctl`, '\t}',
    '\tFilter From Userspace {', '\t\tProtocol Accept {', '\t\t\tTCP', '\t\t}', '\t}', '}',
    'Cluster {', `\tNodeId ${id}`, `\tIPv4_address 203.0.113.${id}`, '\tPeers {', ...peer, '\t}', '\tPort 3792',
    '\tClusterInterface lan', '\tClusterInterface wan', '\tHeartbeatInterval 200', '\tDeadAfter 5',
    '\tDefer on', '\tDeferQueue 4242', `\tDeferTimeout ${TIMEOUT_MS}`, '}', '',
  ].join('\n');
}

type ClusterWithDeferral = NonNullable<DaemonStatus['cluster']> & { deferral?: DeferralStatus };

describe.skipIf(!ok)('ctsyncd active-active with Defer on: 2 daemons', () => {
  const lab = new Lab('df');
  const dir = mkdtempSync(join(tmpdir(), `ctsync-${lab.tag}-`));
  const ns = new Map<number, string>();
  const running = new Set<number>();
  let client: LineProc;
  const sock = (id: number): string => join(dir, `n${id}.ctl`);
  const confPath = (id: number): string => join(dir, `n${id}.conf`);
  const logTail = (id: number): string => {
    try {
      return readFileSync(join(dir, `n${id}.log`), 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  };

  afterAll(() => {
    for (const id of running) {
      try {
        execFileSync('ip', ['netns', 'exec', ns.get(id) ?? '', process.execPath, CTSYNCD, '-C', confPath(id), '-k'], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        /* the lab kills what is left */
      }
    }
    lab.cleanup();
    if (!process.env.CTSYNC_KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
  });

  async function call(id: number, req: Request, onChunk?: (recs: Array<{ family: number; attrs: string }>) => void): Promise<Record<string, unknown>> {
    const c = createControlClient({ path: sock(id), timeoutMs: 20_000, idleTimeoutMs: 20_000, maxFrame: 64 * 1024 * 1024 });
    const r = await c.call(req, { onChunk: (e) => onChunk?.(e) });
    if (!r.ok) throw new Error(`node ${id}: ${req.cmd}: ${r.code}: ${r.message}`);
    return r.body;
  }
  const cluster = async (id: number): Promise<ClusterWithDeferral | undefined> => ((await call(id, { cmd: 'status' })) as unknown as DaemonStatus).cluster as ClusterWithDeferral | undefined;
  async function external(id: number): Promise<Set<string>> {
    const out = new Set<string>();
    await call(id, { cmd: 'dumpCache', which: 'external', kind: 'ct' }, (recs) => {
      for (const e of recs) {
        const f = peekFlow({ kind: 'ct', family: e.family as 2 | 10, attrs: Buffer.from(e.attrs, 'base64') });
        if (f && f.dport === PORT) out.add(`${f.src}:${f.sport}`);
      }
    });
    return out;
  }
  /** ctsyncd -k, then wait until the process is gone (-k only schedules the stop). */
  async function stop(id: number): Promise<void> {
    const pid = Number(readFileSync(join(dir, `n${id}.lock`), 'utf8').trim());
    execFileSync('ip', ['netns', 'exec', ns.get(id) ?? '', process.execPath, CTSYNCD, '-C', confPath(id), '-k'], { stdio: 'ignore', timeout: 20_000 });
    running.delete(id);
    await waitFor(() => !isAlive(pid), 20_000, 50);
  }
  const owner = (flow: string): number => ((bucketOfText(flow.split(':')[0] ?? '', 32, 0x5eed) ?? 0) < 16 ? 1 : 2);

  beforeAll(async () => {
    const net = await buildClusterNet(lab, { mcast: false });
    client = net.client;
    lab.exec(net.sw, 'ip link add brs type bridge mcast_snooping 0 && ip link set brs up');
    for (const id of IDS) {
      const n = addFirewallNs(lab, net.sw, id, { mcast: false });
      ns.set(id, n);
      lab.veth(n, 'sync0', net.sw, `s${id}`);
      lab.exec(net.sw, `ip link set s${id} master brs`);
      lab.exec(n, `ip addr add 203.0.113.${id}/24 dev sync0 && ip route add 224.0.0.0/4 dev sync0`);
      writeFileSync(confPath(id), conf(id, dir));
    }
    const started = await Promise.all(
      IDS.map(
        (id) =>
          new Promise<{ id: number; code: number; err: string }>((res) => {
            execFile('ip', ['netns', 'exec', ns.get(id) ?? '', process.execPath, CTSYNCD, '-C', confPath(id), '-d'], { timeout: 40_000 }, (err, _o, stderr) =>
              res({ id, code: err ? 1 : 0, err: String(stderr) }),
            );
          }),
      ),
    );
    for (const s of started) {
      if (s.code !== 0) throw new Error(`node ${s.id}: ctsyncd -d failed: ${s.err}\n${logTail(s.id)}`);
      running.add(s.id);
    }
    await waitFor(async () => {
      const [a, b] = await Promise.all(IDS.map(cluster));
      return a?.phase === 'active' && b?.phase === 'active' && a.held.length === 16 && b.held.length === 16 && a.held[0] === 0;
    }, 20_000, 100);
  }, 60_000);

  it('each SYN is held until the peer acknowledged the flow; every connection opens', async () => {
    const before = await Promise.all(IDS.map(cluster));
    for (const c of before) expect(c?.deferral).toMatchObject({ queue: 4242, timeoutMs: TIMEOUT_MS, deferred: 0, pending: 0 });
    client.send('open 40');
    const o = parseOpened(await client.next('opened', 30_000));
    expect([o.ok, o.fail]).toEqual(['40', '0']);
    const mine = (id: number): string[] => o.flows.filter((f) => owner(f) === id);
    expect(mine(1).length).toBeGreaterThan(0);
    expect(mine(2).length).toBeGreaterThan(0);
    const after = await Promise.all(IDS.map(cluster));
    for (const [i, id] of IDS.entries()) {
      const d = after[i]?.deferral;
      // Every flow of this node: its SYN waited for the peer's acknowledgement, none timed out.
      expect({ id, deferred: d?.deferred, acked: d?.acceptedAfterAck, timeouts: d?.acceptedOnTimeout, pending: d?.pending, errors: d?.errors }).toEqual({
        id,
        deferred: mine(id).length,
        acked: mine(id).length,
        timeouts: 0,
        pending: 0,
        errors: 0,
      });
      // ... so the peer holds each of them.
      const ext = await external(id === 1 ? 2 : 1);
      expect(mine(id).filter((f) => !ext.has(f))).toEqual([]);
      console.log(`node ${id}: ${d?.deferred} SYNs held until acknowledged, mean ${((d?.delayMsTotal ?? 0) / Math.max(1, d?.deferred ?? 1)).toFixed(1)} ms, max ${d?.delayMsMax.toFixed(1)} ms (${d?.backend}, ${d?.attach})`);
    }
    // One connection at a time: the hold of a lone SYN.
    const holds: number[] = [];
    for (let k = 0; k < 5; k++) {
      const b = await Promise.all(IDS.map(cluster));
      client.send('open 1');
      const one = parseOpened(await client.next('opened', 30_000));
      expect([one.ok, one.fail]).toEqual(['1', '0']);
      const a = await Promise.all(IDS.map(cluster));
      const i = IDS.indexOf(owner(one.flows[0] ?? ''));
      const da = a[i]?.deferral;
      const db = b[i]?.deferral;
      expect((da?.acceptedAfterAck ?? 0) - (db?.acceptedAfterAck ?? 0)).toBe(1);
      holds.push((da?.delayMsTotal ?? 0) - (db?.delayMsTotal ?? 0));
    }
    console.log(`lone SYNs held ${holds.map((h) => h.toFixed(1)).join(', ')} ms`);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 45 0');
  });

  it('with node 2 stopped (no acknowledgements) new connections still open, after the bounded delay', async () => {
    await stop(2);
    await waitFor(async () => (await cluster(1))?.held.length === 32, 20_000, 100);
    expect(lab.exec(ns.get(2) ?? '', 'nft list ruleset')).not.toContain('queue');
    const before = (await cluster(1))?.deferral;
    client.send('open 10');
    const o = parseOpened(await client.next('opened', 30_000));
    expect([o.ok, o.fail]).toEqual(['10', '0']);
    const d = (await cluster(1))?.deferral;
    expect((d?.acceptedOnTimeout ?? 0) - (before?.acceptedOnTimeout ?? 0)).toBe(10);
    expect((d?.acceptedAfterAck ?? 0) - (before?.acceptedAfterAck ?? 0)).toBe(0);
    expect(d?.delayMsMax).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    console.log(`node 1 alone: 10 SYNs released on timeout, max hold ${d?.delayMsMax.toFixed(1)} ms (DeferTimeout ${TIMEOUT_MS})`);
    client.send('round');
    expect(await client.next('round', 30_000)).toBe('round 55 0');
  });

  it('stop removes the deferral rule', async () => {
    await stop(1);
    expect(lab.exec(ns.get(1) ?? '', 'nft list ruleset')).not.toContain('queue');
  });
});

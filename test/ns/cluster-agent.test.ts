/**
 * The standalone agent (src/cluster/main.ts) as real processes, one per
 * firewall namespace, heartbeating over UDP on a sync bridge: the nft rule
 * in each namespace must follow the membership (start, crash, join,
 * graceful leave). No flow state here: see cluster-aa.test.ts for that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { fromList, targetAssignment } from '../../src/cluster/ranges';

const ok = isRoot() && have('nft');
const root = path.resolve(__dirname, '..', '..');
const N = 32;

describe.skipIf(!ok)('cluster agent processes over UDP (nft rules follow membership)', () => {
  const lab = new Lab('ca');
  let sw = '';
  let out = '';
  const procs = new Map<number, ChildProcess>();
  const ns = new Map<number, string>();

  afterAll(() => {
    lab.cleanup();
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  beforeAll(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsync-cluster-'));
    execFileSync(
      path.join(root, 'node_modules', '.bin', 'tsc'),
      ['--outDir', out, '--rootDir', path.join(root, 'src'), '--target', 'ES2022', '--module', 'commonjs', '--strict', '--esModuleInterop',
        '--types', 'node', '--skipLibCheck', path.join(root, 'src', 'cluster', 'main.ts')],
      { cwd: root, stdio: 'pipe' },
    );
    sw = lab.netns('sw');
    lab.exec(sw, 'ip link add br0 type bridge && ip link set br0 up');
  }, 60_000);

  function startAgent(id: number): ChildProcess {
    let n = ns.get(id);
    if (!n) {
      n = lab.netns(`n${id}`);
      ns.set(id, n);
      lab.veth(n, 'sync', sw, `s${id}`, `203.0.113.${id}/24`);
      lab.exec(sw, `ip link set s${id} master br0`);
    }
    const peers = [1, 2, 3, 4].filter((p) => p !== id).map((p) => `203.0.113.${p}`).join(',');
    const p = spawn(
      'ip',
      ['netns', 'exec', n, process.execPath, path.join(out, 'cluster', 'main.js'), '--id', String(id), '--bind', `203.0.113.${id}`,
        '--peers', peers, '--interfaces', 'lan,wan', '--interval', '100', '--seed', '0x5eed'],
      { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_PATH: path.join(root, 'node_modules'), CTSYNC_LOG_LEVEL: 'warn' } },
    );
    lab.onCleanup(() => {
      if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, 'SIGKILL');
    });
    procs.set(id, p);
    return p;
  }

  /** Buckets in the node's nft rule (null: no table yet). */
  function ruleMask(id: number): number | null {
    const text = lab.exec(ns.get(id) ?? '', 'nft list table ip ctsync_cluster 2>/dev/null', { allowFail: true });
    if (!text.includes('chain prerouting')) return null;
    const m = /jhash ct original ip saddr mod 32 seed 0x5eed \{ ([^}]*) \} accept/.exec(text);
    if (!m) return 0;
    const list: number[] = [];
    for (const part of (m[1] ?? '').split(',').map((x) => x.trim())) {
      const [lo, hi] = part.split('-').map(Number);
      for (let b = lo ?? 0; b <= (hi ?? lo ?? 0); b++) list.push(b);
    }
    return fromList(list);
  }

  async function rulesFollow(ids: number[]): Promise<void> {
    const t = targetAssignment(ids, N);
    await waitFor(() => ids.every((id) => ruleMask(id) === t.get(id)), 15_000, 50);
  }

  it('three agents: each namespace forwards its even share', async () => {
    for (const id of [1, 2, 3]) startAgent(id);
    await rulesFollow([1, 2, 3]);
    expect([1, 2, 3].map(ruleMask)).toEqual([0x3ff, 0x1ffc00, 0xffe00000]);
  });

  it('agent 2 is killed (no handoff): the others take its buckets', async () => {
    procs.get(2)?.kill('SIGKILL');
    await rulesFollow([1, 3]);
  });

  it('agent 4 joins: an even share of three', async () => {
    startAgent(4);
    await rulesFollow([1, 3, 4]);
  });

  it('agent 1 leaves on SIGTERM: hands over, exits 0, forwards nothing', async () => {
    const p = procs.get(1);
    const exited = new Promise<number | null>((r) => p?.once('exit', (code) => r(code)));
    p?.kill('SIGTERM');
    // ip netns exec forwards the signal to node (same process group via exec).
    expect(await exited).toBe(0);
    await rulesFollow([3, 4]);
    expect(ruleMask(1)).toBe(0);
  });
});

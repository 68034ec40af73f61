/**
 * ctsyncd as one node of the benchmark pair: `node bin/ctsyncd -C conf` in
 * the foreground inside its namespace (extra node flags from the
 * CTSYNC_NODE_OPTIONS environment variable, e.g. `--cpu-prof
 * --cpu-prof-dir=bench-out/prof`), client commands through bin/ctsyncd as a
 * user would run them, cache sizes for polling through the control socket
 * (`status`), in process so polling costs no node start-up.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createControlClient } from '../control/client';
import { run } from './conntrackd-pair';
import { pollUntil, type ReplicationLab } from './replication-lab';
import { socketPath, type Implementation, type SyncNode } from './replication-node';

export const CTSYNCD_BIN = join(__dirname, '..', '..', 'bin', 'ctsyncd');

function nodeOptions(): string[] {
  return (process.env.CTSYNC_NODE_OPTIONS ?? '').split(/\s+/).filter((s) => s.length > 0);
}

function isCounts(v: unknown): v is { internal: number; external: number } {
  const c = v as { internal?: unknown; external?: unknown } | null;
  return typeof c === 'object' && c !== null && typeof c.internal === 'number' && typeof c.external === 'number';
}

export const ctsyncImpl: Implementation = {
  name: 'ctsync',
  async start(lab: ReplicationLab, ns: string, conf: string, label: string): Promise<SyncNode> {
    const proc = lab.spawn(ns, [process.execPath, ...nodeOptions(), CTSYNCD_BIN, '-C', conf], `${label}.log`);
    const sock = socketPath(lab.dir, label);
    const control = createControlClient({ path: sock, timeoutMs: 10_000 });
    const node: SyncNode = {
      ns,
      conf,
      proc,
      async counts() {
        const r = await control.call({ cmd: 'status' });
        if (!r.ok) return null;
        const cache = r.body.cache;
        return isCounts(cache) ? { internal: cache.internal, external: cache.external } : null;
      },
      command: (args) => run(process.execPath, [CTSYNCD_BIN, '-C', conf, ...args], 600_000),
    };
    const up = await pollUntil(async () => proc.exited() || (existsSync(sock) && (await node.counts()) !== null), 30_000, 50);
    if (!up || proc.exited()) throw new Error(`ctsyncd ${label} did not start: ${lab.log(`${label}.log`).slice(-800)}`);
    return node;
  },
};

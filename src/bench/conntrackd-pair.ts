/**
 * conntrackd (conntrack-tools, Debian 1.4.7) as one node of the benchmark
 * pair: the daemon runs in the foreground inside its namespace; its client
 * (`conntrackd -C conf ...`) talks to it over the UNIX socket named in the
 * configuration, so the client runs from the benchmark's own namespace.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pollUntil, type ReplicationLab } from './replication-lab';
import { socketPath, type CacheCounts, type CommandResult, type Implementation, type SyncNode } from './replication-node';

/** Run a program; never rejects. */
export function run(file: string, args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20, env: env ?? process.env }, (err, stdout, stderr) => {
      resolve({ ms: performance.now() - t0, ok: err === null, output: `${stdout}${stderr}` });
    });
  });
}

/** "cache:internal\tactive objects:\t\t  N" lines of `conntrackd -s cache` (layout: test/fixtures/control/stats-cache.txt). */
export function parseCacheStats(text: string): CacheCounts | null {
  const internal = /cache:internal\s+active objects:\s+(\d+)/.exec(text);
  const external = /cache:external\s+active objects:\s+(\d+)/.exec(text);
  if (!internal) return null;
  return { internal: Number(internal[1]), external: external ? Number(external[1]) : 0 };
}

export const conntrackdImpl: Implementation = {
  name: 'conntrackd',
  async start(lab: ReplicationLab, ns: string, conf: string, label: string): Promise<SyncNode> {
    const proc = lab.spawn(ns, ['conntrackd', '-C', conf], `${label}.log`);
    const client = (args: string[], timeoutMs = 600_000): Promise<CommandResult> => run('conntrackd', ['-C', conf, ...args], timeoutMs);
    const node: SyncNode = {
      ns,
      conf,
      proc,
      async counts() {
        const r = await client(['-s', 'cache'], 10_000);
        return r.ok ? parseCacheStats(r.output) : null;
      },
      command: (args) => client(args),
    };
    const sock = socketPath(lab.dir, label);
    const up = await pollUntil(async () => proc.exited() || (existsSync(sock) && (await node.counts()) !== null), 15_000, 50);
    if (!up || proc.exited()) throw new Error(`conntrackd ${label} did not start: ${lab.log(`${label}.log`).slice(-500)}`);
    return node;
  },
};

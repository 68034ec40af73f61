/**
 * Long-lived TCP streams client -> server through the lab firewalls, and a
 * background-flow generator that fills a firewall's conntrack table.
 * The agents are src/lab/stream-agent.ts, run with node inside the namespaces.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nsSpawn, killGroup, pollUntil } from './shell';
import { parseReport, type StreamRecord } from './stream-stats';
import { createKernelTable } from '../netlink/kernel-table';
import { makeFlows } from '../bench/flows';
import type { Logger } from '../util/log';

/** dist/lab/stream-agent.js next to this file when built, else the repository's dist/. */
export function defaultAgentPath(): string {
  const here = path.join(__dirname, 'stream-agent.js');
  if (fs.existsSync(here)) return here;
  return path.resolve(__dirname, '..', '..', 'dist', 'lab', 'stream-agent.js');
}

export interface StreamOptions {
  clientNs: string;
  serverNs: string;
  serverAddr: string;
  port?: number;
  streams: number;
  /** ms between chunks on each stream; default 10. */
  intervalMs?: number;
  chunkBytes?: number;
  agentPath?: string;
  /** node binary; default process.execPath. */
  node?: string;
  /** Deadline for listening/connected, ms; default 10 s. */
  startTimeoutMs?: number;
}

export interface StreamRun {
  /** Stop the client and return its per-stream record. */
  stop(timeoutMs?: number): Promise<StreamRecord[]>;
  /** Kill both agents (idempotent). */
  kill(): void;
}

interface Lines {
  next(pred: (o: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown> | null>;
  raw: string[];
}

function lineReader(child: ChildProcess): Lines {
  const seen: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      raw.push(l);
      try {
        const o = JSON.parse(l) as unknown;
        if (typeof o === 'object' && o !== null) seen.push(o as Record<string, unknown>);
      } catch {
        /* not a JSON line; kept in raw */
      }
    });
  }
  child.stderr?.on('data', (d: Buffer) => raw.push(d.toString()));
  return {
    raw,
    next: async (pred, timeoutMs) => {
      const hit = await pollUntil(() => seen.find(pred) ?? (child.exitCode !== null ? 'exited' : null), timeoutMs, 10);
      return hit && hit !== 'exited' ? hit : null;
    },
  };
}

export async function startStreams(o: StreamOptions): Promise<StreamRun> {
  const node = o.node ?? process.execPath;
  const agent = o.agentPath ?? defaultAgentPath();
  const port = String(o.port ?? 5001);
  const timeout = o.startTimeoutMs ?? 10_000;
  const server = nsSpawn(o.serverNs, [node, agent, 'server', '--host', o.serverAddr, '--port', port]);
  const sLines = lineReader(server);
  let client: ChildProcess | null = null;
  const kill = (): void => {
    if (client) killGroup(client);
    killGroup(server);
  };
  try {
    if (!(await sLines.next((m) => m.event === 'listening', timeout))) {
      throw new Error(`stream server did not listen: ${sLines.raw.join(' ')}`);
    }
    client = nsSpawn(o.clientNs, [
      node, agent, 'client', '--host', o.serverAddr, '--port', port,
      '--streams', String(o.streams), '--interval', String(o.intervalMs ?? 10), '--chunk', String(o.chunkBytes ?? 64),
    ]);
    const c = client;
    const cLines = lineReader(c);
    if (!(await cLines.next((m) => m.event === 'connected', timeout))) {
      throw new Error(`stream client did not connect: ${cLines.raw.join(' ')}`);
    }
    return {
      kill,
      stop: async (stopTimeout = 10_000) => {
        c.stdin?.write('stop\n');
        const rep = await cLines.next((m) => m.event === 'report', stopTimeout);
        kill();
        if (!rep) throw new Error(`stream client gave no report: ${cLines.raw.slice(-5).join(' ')}`);
        const parsed = parseReport(JSON.stringify(rep));
        if (!parsed) throw new Error('stream client report is malformed');
        return parsed;
      },
    };
  } catch (e) {
    kill();
    throw e;
  }
}

export interface FlowFill {
  created: number;
  failed: number;
  ms: number;
}

/**
 * Create `count` established-looking TCP flows (198.18.0.0/15 -> 198.19.0.1:80,
 * src/bench/flows.ts) in the conntrack table of namespace `ns` over ctnetlink.
 * The kernel reports them as NEW events, so a sync daemon there replicates them.
 */
export async function fillFlows(ns: string, count: number, logger: Logger, timeoutSec = 3600): Promise<FlowFill> {
  const t0 = Date.now();
  const table = createKernelTable({ netns: ns, logger });
  try {
    let created = 0;
    let failed = 0;
    const batch = 10_000;
    for (let first = 0; first < count; first += batch) {
      const recs = makeFlows(Math.min(batch, count - first), { first, timeout: timeoutSec });
      const res = await table.create(recs);
      created += res.ok;
      failed += res.failed.length;
    }
    return { created, failed, ms: Date.now() - t0 };
  } finally {
    table.close();
  }
}

/**
 * An FTP session through the lab firewalls: the server (src/lab/ftp-agent.ts)
 * in the server namespace, the client in the client namespace, both run with
 * node inside the namespaces. Passive mode only, so every data connection is
 * a RELATED flow the firewall's ftp helper expected from the 227/229 reply.
 *
 * The session the failover uses: RETR of a large paced file (PASV) that runs
 * across the crash, then, once told `go`, NOOP + EPSV + RETR of a small file
 * on the same control connection (an expectation the new master's helper
 * must create from the replicated control entry), then QUIT.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nsSpawn, killGroup, pollUntil } from './shell';
import { fileName } from './ftp-proto';
import { parseFtpReport, type FtpRecord } from './ftp-stats';

/** dist/lab/ftp-agent.js next to this file when built, else the repository's dist/. */
export function defaultFtpAgentPath(): string {
  const here = path.join(__dirname, 'ftp-agent.js');
  if (fs.existsSync(here)) return here;
  return path.resolve(__dirname, '..', '..', 'dist', 'lab', 'ftp-agent.js');
}

export interface FtpFile {
  size: number;
  mode: 'PASV' | 'EPSV';
  /** Content seed; default: the file's index + 1. */
  seed?: number;
}

export interface FtpOptions {
  clientNs: string;
  serverNs: string;
  serverAddr: string;
  /** Files fetched in order on one control connection. */
  files: FtpFile[];
  /** Server pacing: `chunkBytes` every `intervalMs`; default 16384 per 10 ms. */
  chunkBytes?: number;
  intervalMs?: number;
  /** The client waits for release('data') before the first data connection, and release('retr') before its RETR. */
  holdData?: boolean;
  /** The client waits for go() before the second file. */
  waitGo?: boolean;
  agentPath?: string;
  node?: string;
  /** Deadline for listening / logged in, ms; default 10 s. */
  startTimeoutMs?: number;
}

type Msg = Record<string, unknown>;

export interface FtpSession {
  /** Wait (bounded) for a client event, e.g. 'passive', 'data', 'transfer', 'done'; null on timeout or exit. */
  event(name: string, timeoutMs: number, pred?: (m: Msg) => boolean): Promise<Msg | null>;
  /** Let the client open the first data connection / send its RETR (with holdData). */
  release(what: 'data' | 'retr'): void;
  /** Let the client fetch the next files (with waitGo). */
  go(): void;
  /** Epoch ms of the client's last event or data receipt seen (progress), or null. */
  lastProgress(): number | null;
  done(): boolean;
  /** Stop the client and return its record. */
  stop(timeoutMs?: number): Promise<FtpRecord>;
  /** Kill both agents (idempotent). */
  kill(): void;
}

interface Reader {
  seen: Msg[];
  raw: string[];
  lastAt: number | null;
}

function reader(child: ChildProcess): Reader {
  const r: Reader = { seen: [], raw: [], lastAt: null };
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      r.raw.push(l.length > 300 ? `${l.slice(0, 300)}...` : l);
      r.lastAt = Date.now();
      try {
        const o = JSON.parse(l) as unknown;
        if (typeof o === 'object' && o !== null) r.seen.push(o as Msg);
      } catch {
        /* not a JSON line; kept in raw */
      }
    });
  }
  child.stderr?.on('data', (d: Buffer) => r.raw.push(d.toString()));
  return r;
}

function waitFor(child: ChildProcess, r: Reader, name: string, timeoutMs: number, pred?: (m: Msg) => boolean): Promise<Msg | null> {
  return pollUntil(() => r.seen.find((m) => m.event === name && (pred === undefined || pred(m))) ?? (child.exitCode !== null ? 'exited' : null), timeoutMs, 10)
    .then((hit) => (hit && hit !== 'exited' ? hit : null));
}

export async function startFtp(o: FtpOptions): Promise<FtpSession> {
  const node = o.node ?? process.execPath;
  const agent = o.agentPath ?? defaultFtpAgentPath();
  const timeout = o.startTimeoutMs ?? 10_000;
  const server = nsSpawn(o.serverNs, [
    node, agent, 'server', '--host', o.serverAddr,
    '--chunk', String(o.chunkBytes ?? 16_384), '--interval', String(o.intervalMs ?? 10),
  ]);
  const sr = reader(server);
  let client: ChildProcess | null = null;
  const kill = (): void => {
    if (client) killGroup(client);
    killGroup(server);
  };
  try {
    if (!(await waitFor(server, sr, 'listening', timeout))) throw new Error(`ftp server did not listen: ${sr.raw.join(' ')}`);
    const names = o.files.map((f, i) => fileName(f.size, f.seed ?? i + 1));
    const c = nsSpawn(o.clientNs, [
      node, agent, 'client', '--host', o.serverAddr, '--files', names.join(','), '--modes', o.files.map((f) => f.mode).join(','),
      ...(o.holdData ? ['--hold-data'] : []), ...(o.waitGo ? ['--wait-go'] : []),
    ]);
    client = c;
    const cr = reader(c);
    if (!(await waitFor(c, cr, 'logged-in', timeout))) throw new Error(`ftp client did not log in: ${cr.raw.join(' ')}`);
    return {
      event: (name, ms, pred) => waitFor(c, cr, name, ms, pred),
      release: (what) => c.stdin?.write(`${what}\n`),
      go: () => c.stdin?.write('go\n'),
      lastProgress: () => cr.lastAt,
      done: () => cr.seen.some((m) => m.event === 'done' || m.event === 'failed'),
      kill,
      stop: async (stopTimeout = 10_000) => {
        c.stdin?.write('stop\n');
        const rep = await waitFor(c, cr, 'report', stopTimeout);
        kill();
        if (!rep) throw new Error(`ftp client gave no report: ${cr.raw.slice(-5).join(' ')}`);
        const parsed = parseFtpReport(JSON.stringify(rep));
        if (!parsed) throw new Error('ftp client report is malformed');
        return parsed;
      },
    };
  } catch (e) {
    kill();
    throw e;
  }
}

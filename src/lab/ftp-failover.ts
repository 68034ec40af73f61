/**
 * The FTP part of a failover run (used by failover.ts when `ftp` is set):
 *   before the crash  log in, PASV; while the client holds the data
 *                     connection, wait (bounded) for the expectation in fw2's
 *                     external cache; then the data connection, and while the
 *                     client holds its RETR, wait (bounded) for the control and
 *                     data entries on fw2; then RETR of a paced file sized to
 *                     run until about the middle of the observation;
 *   after the crash   once fw2 holds the addresses: `go`, the client sends
 *                     NOOP, EPSV (a new expectation, made by fw2's helper from
 *                     the replicated control entry) and RETR of a small file;
 *   at the end        wait while the session still progresses (bounded), then
 *                     its record, verdict and what fw2 held.
 */
import { startFtp, type FtpSession } from './ftp';
import { analyzeFtp, type FtpRecord, type FtpVerdict } from './ftp-stats';
import { pollUntil } from './shell';
import type { Lab } from './topology';
import { LAB_NET } from './topology';
import type { HaStack } from './ha-stack';

export interface FtpScenario {
  /** Server pacing, bytes per interval; default 16384 per 10 ms (1.6 MB/s). */
  chunkBytes?: number;
  intervalMs?: number;
  /** The second file (after the failover), in chunks; default 50. */
  secondChunks?: number;
  /** After the observation, wait this long at most for a session that still progresses, ms; default 5000. */
  graceMs?: number;
  agentPath?: string;
}

/** What fw2 held before the crash, as lines of `-e expect` / `-e ct` (null: not seen within the bound or no sync daemon). */
export interface FtpReplication {
  expectation: string | null;
  control: string | null;
  data: string | null;
  /** fw2's kernel entry of the control connection after the run (`conntrack -L`), to show its helper. */
  fw2KernelControl: string | null;
}

export interface FtpOutcome {
  record: FtpRecord;
  verdict: FtpVerdict;
  replication: FtpReplication;
  /** Data port of the first (across the crash) transfer. */
  dataPort: number | null;
}

export interface FtpRunning {
  session: FtpSession;
  replication: FtpReplication;
  dataPort: number | null;
}

const SEEN_MS = 5000;

function lineWith(text: string, ...parts: RegExp[]): string | null {
  return text.split('\n').find((l) => parts.every((p) => p.test(l)))?.trim() ?? null;
}

/**
 * The first line of fw2's external cache (`-e expect` / `-e ct`) with the data or control port.
 * The dump goes through grep in fw2's namespace: with 20 000 background flows it is 20 000 lines.
 */
function fw2Line(ha: HaStack, what: 'expect' | 'ct', port: number, ...parts: RegExp[]): string | null {
  return lineWith(ha.syncCli(1, `-e ${what} 2>/dev/null | grep -E 'dport=${port}([^0-9]|$)'`), ...parts);
}

export async function ftpBeforeCrash(lab: Lab, ha: HaStack, o: FtpScenario, runMs: number): Promise<FtpRunning> {
  const chunk = o.chunkBytes ?? 16_384;
  const interval = o.intervalMs ?? 10;
  const firstSize = chunk * Math.max(10, Math.round(runMs / interval));
  const session = await startFtp({
    clientNs: lab.ns.client, serverNs: lab.ns.server, serverAddr: LAB_NET.server,
    files: [{ size: firstSize, mode: 'PASV' }, { size: chunk * (o.secondChunks ?? 50), mode: 'EPSV' }],
    chunkBytes: chunk, intervalMs: interval, holdData: true, waitGo: true, ...(o.agentPath ? { agentPath: o.agentPath } : {}),
  });
  const replication: FtpReplication = { expectation: null, control: null, data: null, fw2KernelControl: null };
  try {
    const pasv = await session.event('passive', 10_000);
    const port = typeof pasv?.port === 'number' ? pasv.port : null;
    if (port === null) throw new Error('ftp: no 227 reply to PASV');
    const sync = ha.variant !== 'none';
    const dport = new RegExp(`dport=${port}\\b`);
    const client = new RegExp(`src=${LAB_NET.client.replace(/\./g, '\\.')}\\b`);
    if (sync) replication.expectation = await pollUntil(() => fw2Line(ha, 'expect', port, dport, client), SEEN_MS, 100);
    session.release('data');
    if (!(await session.event('data-connected', 10_000))) throw new Error('ftp: the data connection was not made');
    if (sync) {
      await pollUntil(() => {
        replication.control ??= fw2Line(ha, 'ct', 21, /dport=21\b/, client);
        replication.data ??= fw2Line(ha, 'ct', port, dport, client);
        return replication.control !== null && replication.data !== null;
      }, SEEN_MS, 100);
    }
    session.release('retr');
    if (!(await session.event('data', 10_000))) throw new Error('ftp: no data after RETR');
    return { session, replication, dataPort: port };
  } catch (e) {
    session.kill();
    throw e;
  }
}

export async function ftpFinish(lab: Lab, f: FtpRunning, o: FtpScenario, crashAt: number, endAt: number): Promise<FtpOutcome> {
  const grace = o.graceMs ?? 5000;
  await pollUntil(() => {
    const last = f.session.lastProgress();
    return f.session.done() || last === null || Date.now() - last > 1500;
  }, grace, 50);
  const stoppedAt = Date.now();
  const record = await f.session.stop();
  f.replication.fw2KernelControl = lineWith(
    lab.exec(lab.ns.fw2, 'conntrack -L -p tcp --dport 21 2>/dev/null', true),
    new RegExp(`src=${LAB_NET.client.replace(/\./g, '\\.')}\\b`),
  );
  return { record, verdict: analyzeFtp(record, { at: crashAt, end: Math.max(endAt, stoppedAt) }), replication: f.replication, dataPort: f.dataPort };
}

/**
 * ctsyncd command line: conntrackd-compatible client commands over the control
 * socket, plus `status`. Exit status: 0 on success, 1 on any failure,
 * including a failure inside the daemon (conntrackd would return 0 there).
 * All I/O is injected (runCli(argv, deps)) so it is unit-testable.
 */
import type { CommitResult, DaemonStatus, StatsResult } from '../daemon/api';
import type { Conntrack, CtRecord, Decoded, Expectation } from '../netlink/types';
import { DEFAULT_CONFIG, parseArgs, usage, type Action } from './args';
import type { ClientOptions, ControlClient } from './client';
import { socketFromConfigFile, type SocketConfig } from './config-path';
import { formatConntrackText, formatConntrackXml, formatExpectText } from './format';
import { formatStats, formatStatus } from './format-stats';
import type { Request, WireEntry } from './protocol';

export interface Output {
  write(s: string): unknown;
}

export interface CliDeps {
  stdout: Output;
  stderr: Output;
  /** stdout is a terminal: show a progress line during long commits. */
  isTTY: boolean;
  version: string;
  connect(opts: ClientOptions): ControlClient;
  /** Default: read UNIX { Path } of the config file. */
  resolveSocket?(configFile: string): Promise<SocketConfig>;
  decodeConntrack(rec: CtRecord): Decoded<Conntrack>;
  decodeExpect?(rec: CtRecord): Decoded<Expectation>;
  /** -d (daemonize) or no command at all (run in the foreground). */
  runDaemon(opts: { config: string; daemonize: boolean }): Promise<number>;
  /** Wall clock in ms, for `status`; default Date.now. */
  now?(): number;
}

/** Commits with at least this many entries show a progress line on a TTY. */
const PROGRESS_MIN = 1000;

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    if (parsed.usage) deps.stderr.write(usage());
    deps.stderr.write(`Error: ${parsed.message}\n`);
    return 1;
  }
  for (const w of parsed.warnings) deps.stderr.write(`${w}\n`);
  const config = parsed.config ?? DEFAULT_CONFIG;
  switch (parsed.mode) {
    case 'help':
      deps.stdout.write(usage());
      return 0;
    case 'version':
      deps.stdout.write(`ctsyncd v${deps.version} (conntrackd 1.4.7 compatible command line)\n`);
      return 0;
    case 'daemon':
    case 'foreground':
      return deps.runDaemon({ config, daemonize: parsed.mode === 'daemon' });
    case 'request':
      break;
  }
  const action = parsed.action;
  if (!action) return 1;
  const sock = await (deps.resolveSocket ?? socketFromConfigFile)(config);
  if (!sock.ok) {
    deps.stderr.write(`ctsyncd: ${sock.message}\n`);
    return 1;
  }
  const isCommit = action.cmd === 'commit';
  const client = deps.connect({
    path: sock.path,
    ...(sock.group !== undefined ? { group: sock.group } : {}),
    // A commit of a large cache may take minutes; everything else is quick.
    timeoutMs: isCommit ? 600_000 : 30_000,
    idleTimeoutMs: isCommit ? 600_000 : 10_000,
  });
  try {
    return await perform(action, client, deps);
  } catch (e) {
    deps.stderr.write(`ctsyncd: internal error: ${(e as Error).message}\n`);
    return 1;
  }
}

function toRequest(a: Action): Request {
  if (a.cmd === 'dump') return { cmd: 'dumpCache', which: a.which, kind: a.kind };
  return a;
}

async function perform(action: Action, client: ControlClient, deps: CliDeps): Promise<number> {
  const out = deps.stdout;
  let badEntries = 0;
  let progressShown = false;
  const res = await client.call(toRequest(action), {
    onProgress(p) {
      if (!deps.isTTY || p.total < PROGRESS_MIN) return;
      const pct = p.total ? Math.floor((p.done * 100) / p.total) : 100;
      out.write(`\rcommitting: ${p.done}/${p.total} entries (${pct}%)`);
      progressShown = true;
    },
    onChunk(entries) {
      if (action.cmd !== 'dump') return;
      let text = '';
      for (const e of entries) {
        const line = formatEntry(e, action.xml, action.which === 'external', deps);
        if (line === undefined) badEntries += 1;
        else text += `${line}\n`;
      }
      if (text) out.write(text);
    },
  });
  if (progressShown) out.write('\r\x1b[K');
  if (!res.ok) {
    deps.stderr.write(`ctsyncd: ${res.message}\n`);
    return 1;
  }
  switch (action.cmd) {
    case 'commit': {
      const r = res.body as Partial<CommitResult>;
      const committed = r.committed ?? 0;
      const failed = r.failed ?? 0;
      const secs = (r.seconds ?? 0).toFixed(2);
      const msg = `commit: ${committed} entries committed, ${failed} failed, ${secs} seconds\n`;
      if (failed > 0) {
        deps.stderr.write(`ctsyncd: ${msg}`);
        return 1;
      }
      out.write(msg);
      return 0;
    }
    case 'stats':
      if (!isStats(res.body)) {
        deps.stderr.write('ctsyncd: malformed statistics from the daemon\n');
        return 1;
      }
      out.write(formatStats(res.body));
      return 0;
    case 'status':
      out.write(formatStatus(res.body as unknown as DaemonStatus, (deps.now ?? Date.now)()));
      return 0;
    case 'dump':
      if (badEntries > 0) {
        deps.stderr.write(`ctsyncd: ${badEntries} entries could not be decoded and were not shown\n`);
        return 1;
      }
      return 0;
    default:
      return 0;
  }
}

function formatEntry(e: WireEntry, xml: boolean, external: boolean, deps: CliDeps): string | undefined {
  const rec: CtRecord = { kind: e.kind, family: e.family as CtRecord['family'], attrs: Buffer.from(e.attrs, 'base64') };
  if (e.kind === 'expect') {
    const d = deps.decodeExpect?.(rec);
    return d?.ok ? formatExpectText(d.value, e.age) : undefined;
  }
  const d = deps.decodeConntrack(rec);
  if (!d.ok) return undefined;
  return xml ? formatConntrackXml(d.value, { omitId: external }) : formatConntrackText(d.value, e.age);
}

const STATS_KINDS: readonly string[] = ['general', 'network', 'cache', 'runtime', 'link', 'rsqueue', 'queue', 'process', 'expect'];

function isStats(b: Record<string, unknown>): b is Record<string, unknown> & StatsResult {
  return typeof b.kind === 'string' && STATS_KINDS.includes(b.kind);
}

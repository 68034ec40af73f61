/**
 * The HA processes of one lab firewall, started and stopped one by one:
 * keepalived in the foreground (output lines timed on arrival) and ctsyncd
 * with its embedded VRRP speaker (`ctsyncd -C conf --vrrp-config vrrp.conf -d`).
 * Used by the HA stack (ha-stack.ts) and by the acceptance tests that mix
 * keepalived and ctsyncd in one VRID.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { LAB_NET } from './topology';
import { nsExec, nsSpawn, killGroup, pollUntil, sh, quote } from './shell';

export interface LogLine {
  t: number;
  line: string;
}

export function repoRoot(): string {
  // dist/lab or src/lab -> repository root
  return path.resolve(__dirname, '..', '..');
}

export function defaultCtsyncdBin(): string {
  return path.join(repoRoot(), 'bin', 'ctsyncd');
}

/** `current active connections` of one cache in `-s` output, or null. */
export function cacheCount(stats: string, which: 'internal' | 'external'): number | null {
  const at = stats.indexOf(`cache ${which}:`);
  if (at < 0) return null;
  const m = /current active connections:\s*(\d+)/.exec(stats.slice(at));
  return m && m[1] !== undefined ? Number(m[1]) : null;
}

/** The HA state in `ctsyncd status` output (`state:    MASTER`), or null. */
export function statusState(status: string): string | null {
  const m = /^state:\s+(\S+)/m.exec(status);
  return m && m[1] !== undefined ? m[1] : null;
}

/** Which of the lab's virtual addresses namespace `fw` holds. */
export function vipsOf(fw: string): { lan: boolean; wan: boolean } {
  const a = sh(`ip -n ${fw} -4 -o addr show`, { allowFail: true });
  return { lan: a.includes(` ${LAB_NET.lanVip}/`), wan: a.includes(` ${LAB_NET.wanVip}/`) };
}

export function ownsBothVips(fw: string): boolean {
  const v = vipsOf(fw);
  return v.lan && v.wan;
}

export interface KeepalivedProc {
  readonly child: ChildProcess;
  readonly log: LogLine[];
  /** SIGTERM (keepalived sends priority 0 and removes its VIPs); resolves once it exited (SIGKILL after 5 s). */
  stop(): Promise<void>;
  kill(): void;
}

/** keepalived -n -l -D in `fw` with per-run pid files under `dir`. */
export function startKeepalived(fw: string, dir: string, conf: string, log: LogLine[] = []): KeepalivedProc {
  // stdbuf: keepalived's console log must arrive line by line (lines are timed on arrival).
  const child = nsSpawn(fw, [
    'stdbuf', '-oL', '-eL', 'keepalived', '-n', '-l', '-D', '-P', '-f', conf,
    '-p', path.join(dir, 'keepalived.pid'), '-r', path.join(dir, 'vrrp.pid'), '-c', path.join(dir, 'checkers.pid'),
  ]);
  for (const s of [child.stdout, child.stderr]) {
    if (s) createInterface({ input: s }).on('line', (line) => log.push({ t: Date.now(), line }));
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    log,
    async stop() {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      // The group leader is `ip netns exec`, which exec'd stdbuf, which exec'd keepalived.
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        return;
      }
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!done) killGroup(child);
    },
    kill: () => killGroup(child),
  };
}

export interface EmbeddedOptions {
  fw: string;
  bin: string;
  /** conntrackd.conf of the node. */
  config: string;
  /** keepalived.conf (VRRP part) for --vrrp-config. */
  vrrpConfig: string;
  /** Extra daemon flags, e.g. ['--heartbeat']. */
  extra?: string[];
  /** Deadline for the daemon to answer `status` with a VRRP state, ms; default 15 s. */
  startTimeoutMs?: number;
}

export interface EmbeddedProc {
  /** Run a client command (`-s`, `status`, `-k`...); '' on failure. */
  cli(args: string): string;
  /** The HA state from `ctsyncd status`, or null when it does not answer. */
  state(): string | null;
  /** `ctsyncd -k` (graceful: priority 0 first); resolves once the control socket is gone (5 s max). */
  stop(): Promise<void>;
}

/** Start `ctsyncd -C conf --vrrp-config vrrp.conf -d` in `fw`; throws with its output when it does not come up. */
export async function startEmbedded(o: EmbeddedOptions): Promise<EmbeddedProc> {
  const cli = (args: string): string => nsExec(o.fw, `${quote(o.bin)} -C ${quote(o.config)} ${args}`, { allowFail: true, timeoutMs: 60_000 });
  const state = (): string | null => statusState(cli('status'));
  const extra = (o.extra ?? []).map(quote).join(' ');
  const out = nsExec(o.fw, `${quote(o.bin)} -C ${quote(o.config)} --vrrp-config ${quote(o.vrrpConfig)} ${extra} -d 2>&1`, {
    allowFail: true,
    timeoutMs: 30_000,
  });
  const up = await pollUntil(() => {
    const s = state();
    return s === 'BACKUP' || s === 'MASTER' || s === 'FAULT';
  }, o.startTimeoutMs ?? 15_000, 50);
  if (!up) {
    // The daemon's own log (LogFile next to the config in the lab) says why; keep its last lines.
    let tail = '';
    try {
      tail = fs.readFileSync(path.join(path.dirname(o.config), 'conntrackd.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      tail = '(no daemon log)';
    }
    throw new Error(`ctsyncd --vrrp-config did not start in ${o.fw}: ${out.trim()} ${state() === null ? 'status: no answer' : `status: ${state()}`}; log: ${tail}`);
  }
  return {
    cli,
    state,
    async stop() {
      cli('-k');
      await pollUntil(() => state() === null, 5000, 20);
    },
  };
}

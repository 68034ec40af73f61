/**
 * The replication benchmark's lab: two firewall namespaces joined by a veth
 * sync link, daemon processes started inside them, /proc readers for their
 * memory and CPU, and the global nf_conntrack_max raised for the run.
 *
 *   fw1 sync0 198.19.255.1/24 ──── fw2 sync0 198.19.255.2/24
 *
 * The sync link is outside 198.18.0.0/16, where the generated flows live
 * (src/bench/flows.ts), so the daemons' own-address filters keep the flows.
 * cleanup() is synchronous so a signal handler can call it; it kills every
 * process started here, deletes the namespaces and restores the sysctl.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raiseConntrackLimits } from '../daemon/sysctl';

export const SYNC_IF = 'sync0';
export const SYNC_ADDR = ['198.19.255.1', '198.19.255.2'] as const;

export function sh(cmd: string, timeoutMs = 120_000): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, maxBuffer: 64 << 20 });
}

/** A daemon started by the lab: its pid is the daemon's own (ip netns exec execs it). */
export interface LabProcess {
  pid: number;
  exited(): boolean;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly done: Promise<number | string>;
}

export class ReplicationLab {
  readonly tag: string;
  readonly dir: string;
  readonly fw: [string, string];
  private readonly procs: LabProcess[] = [];
  private namespaces: string[] = [];
  private readonly restoreMax: Array<() => void> = [];

  /** prefix: up to 4 characters; seq distinguishes labs of one process. */
  constructor(prefix: string, seq: number) {
    this.tag = `${prefix.slice(0, 4)}${process.pid.toString(36)}${seq.toString(36)}`;
    this.dir = mkdtempSync(join(tmpdir(), `ctsync-repl-${this.tag}-`));
    this.fw = [`${this.tag}fw1`, `${this.tag}fw2`];
  }

  /** Create fw1, fw2 and the sync link. */
  build(): void {
    for (const ns of this.fw) {
      sh(`ip netns add ${ns}`);
      this.namespaces.push(ns);
      sh(`ip -n ${ns} link set lo up`);
    }
    const [a, b] = this.fw;
    const x = `${this.tag}a`.slice(-15);
    const y = `${this.tag}b`.slice(-15);
    sh(`ip link add ${x} type veth peer name ${y}`);
    sh(`ip link set ${x} netns ${a} name ${SYNC_IF} && ip link set ${y} netns ${b} name ${SYNC_IF}`);
    for (const [i, ns] of this.fw.entries()) {
      sh(`ip -n ${ns} addr add ${SYNC_ADDR[i] ?? ''}/24 dev ${SYNC_IF} && ip -n ${ns} link set ${SYNC_IF} up`);
    }
  }

  /** Raise the global conntrack limit and hash buckets to at least n (restored by cleanup). */
  raiseConntrackMax(n: number): void {
    this.restoreMax.push(raiseConntrackLimits(n));
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  /** Start argv inside ns, output appended to <dir>/<logName>. */
  spawn(ns: string, argv: string[], logName: string, env: NodeJS.ProcessEnv = {}): LabProcess {
    const fd = openSync(join(this.dir, logName), 'a');
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: { ...process.env, ...env },
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
    let ended = false;
    const done = new Promise<number | string>((resolve) => {
      child.once('exit', (code, sig) => {
        ended = true;
        resolve(code ?? sig ?? -1);
      });
      child.once('error', () => {
        ended = true;
        resolve(-1);
      });
    });
    const p: LabProcess = { pid: child.pid, exited: () => ended, done };
    this.procs.push(p);
    return p;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has ended. */
  async stop(p: LabProcess, graceMs = 15_000): Promise<void> {
    if (p.exited()) return;
    signal(p.pid, 'SIGTERM');
    const t = setTimeout(() => signal(-p.pid, 'SIGKILL'), graceMs);
    await p.done;
    clearTimeout(t);
  }

  log(logName: string): string {
    try {
      return readFileSync(join(this.dir, logName), 'utf8');
    } catch {
      return '';
    }
  }

  /** Synchronous and idempotent: processes, namespaces, sysctl, temporary files. */
  cleanup(keepDir = false): void {
    for (const p of this.procs.splice(0)) if (!p.exited()) signal(-p.pid, 'SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      try {
        sh(`ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}`);
      } catch {
        /* keep cleaning */
      }
    }
    for (const restore of this.restoreMax.splice(0).reverse()) restore();
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Resident set size in KiB (VmRSS of /proc/PID/status), or -1. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/** USER_HZ: /proc/PID/stat counts CPU time in these ticks (100 on Linux). */
const TICKS = 100;

/** CPU seconds of a process (all threads, plus reaped children): utime+stime+cutime+cstime. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name "(...)": state is field 3, utime 14 .. cstime 17 (proc(5)).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const f = (n: number): number => Number(rest[n - 3] ?? 0);
    return (f(14) + f(15) + f(16) + f(17)) / TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Poll until fn() is truthy or the deadline passes; returns the value or null on timeout. */
export async function pollUntil<T>(fn: () => T | Promise<T>, timeoutMs: number, stepMs: number): Promise<T | null> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > end) return null;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Wait until the processes are idle: their CPU over one window of windowMs
 * stays under maxShare of one core, or maxMs passes. Returns the ms waited.
 */
export async function settle(pids: number[], windowMs = 500, maxShare = 0.05, maxMs = 20_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const before = pids.map(cpuSeconds);
    await new Promise((r) => setTimeout(r, windowMs));
    const used = pids.map((p, i) => cpuSeconds(p) - (before[i] ?? 0));
    if (used.every((u) => u <= (maxShare * windowMs) / 1000)) return Math.round(performance.now() - t0);
    if (performance.now() - t0 > maxMs) return Math.round(performance.now() - t0);
  }
}

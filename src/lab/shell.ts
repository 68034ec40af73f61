/**
 * Shell helpers for the failover lab: run a command (in a namespace),
 * spawn a long-running process, and poll with a deadline. No module state.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface ShOptions {
  input?: string;
  /** Return '' instead of throwing when the command fails. */
  allowFail?: boolean;
  timeoutMs?: number;
}

export function sh(cmd: string, opts: ShOptions = {}): string {
  try {
    return execFileSync('sh', ['-c', cmd], {
      encoding: 'utf8',
      input: opts.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
      timeout: opts.timeoutMs ?? 120_000,
    });
  } catch (e) {
    if (opts.allowFail) return '';
    const err = e as { stderr?: string; stdout?: string };
    throw new Error(`command failed: ${cmd}\n${err.stderr ?? ''}${err.stdout ?? ''}`.trimEnd());
  }
}

export function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Run a shell command inside network namespace `ns`. */
export function nsExec(ns: string, cmd: string, opts: ShOptions = {}): string {
  return sh(`ip netns exec ${ns} sh -c ${quote(cmd)}`, opts);
}

/** Start argv inside `ns` in its own process group (so it can be killed with its children). */
export function nsSpawn(ns: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
}

/** SIGKILL a spawned process group; ignores processes that are gone. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Poll until fn() returns a truthy value; null when the deadline passes. */
export async function pollUntil<T>(fn: () => T | Promise<T>, timeoutMs: number, stepMs = 25): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await delay(stepMs);
  }
}

/** A timed pause that is part of a scenario ("streams run 2 s before the crash"), not synchronisation. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Pids of processes whose pid file is `path`, or null. */
export function readPid(path: string): number | null {
  const txt = sh(`cat ${quote(path)} 2>/dev/null`, { allowFail: true }).trim();
  const n = Number.parseInt(txt, 10);
  return Number.isInteger(n) && n > 1 ? n : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

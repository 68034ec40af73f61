/**
 * Daemon lifecycle: lock file, `-d` daemonization with a readiness channel,
 * graceful stop on SIGTERM/SIGINT, and systemd notifications.
 *
 * Lock file: like conntrackd's LockFile (created O_EXCL, mode 0600), but it
 * holds our pid so a lock left by a dead process is detected and replaced.
 *
 * Daemonization: the parent re-spawns itself detached (new session) with the
 * write end of a pipe as fd 3 and CTSYNC_READY_FD=3 in the environment. The
 * child writes "READY\n" once its control socket listens, or "ERROR <msg>\n".
 * The parent then checks that the control socket answers and exits 0, or
 * prints the child's error and exits 1.
 */
import { spawn as nodeSpawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import net from 'node:net';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';

// ---------------------------------------------------------------- lock file

export type LockResult = { ok: true; release(): void } | { ok: false; message: string };

/** Is `pid` a live process that could be a ctsyncd (not a recycled pid of something else)? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /ctsync|node/.test(cmd);
  } catch {
    return true;
  }
}

export function acquireLock(path: string, pid: number = process.pid): LockResult {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') return { ok: false, message: `cannot create lockfile \`${path}': ${code ?? String(e)}` };
      let text = '';
      try {
        text = readFileSync(path, 'utf8').trim();
      } catch {
        continue; // removed meanwhile: retry
      }
      const holder = /^\d+$/.test(text) ? Number(text) : NaN;
      if (Number.isNaN(holder)) {
        return { ok: false, message: `lockfile \`${path}' exists, perhaps conntrackd or ctsyncd already running? (remove it if not)` };
      }
      if (pidAlive(holder)) {
        return { ok: false, message: `lockfile \`${path}' exists, ctsyncd already running (pid ${holder})` };
      }
      try {
        unlinkSync(path); // stale: its pid is dead
      } catch {
        /* raced with another starter; retry */
      }
      continue;
    }
    writeSync(fd, `${pid}\n`);
    closeSync(fd);
    return {
      ok: true,
      release() {
        try {
          if (readFileSync(path, 'utf8').trim() === String(pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      },
    };
  }
  return { ok: false, message: `cannot take lockfile \`${path}'` };
}

// ---------------------------------------------------------------- systemd notify

export type NotifyState = 'READY=1' | 'WATCHDOG=1' | 'STOPPING=1' | `STATUS=${string}`;

export interface Notifier {
  readonly enabled: boolean;
  notify(state: NotifyState): void;
}

export interface NotifierDeps {
  env: NodeJS.ProcessEnv;
  pid: number;
  /** Native sd_notify (src/netlink/native.ts) when available; returns false on failure. */
  native?: (state: string) => boolean;
  /** Fallback runner; default spawns `systemd-notify` (needs NotifyAccess=all in the unit). */
  run?: (cmd: string, args: string[]) => void;
  logger?: Logger;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const enabled = Boolean(deps.env.NOTIFY_SOCKET);
  const run = deps.run ?? ((cmd: string, args: string[]) => void spawnSync(cmd, args, { stdio: 'ignore', timeout: 2000 }));
  return {
    enabled,
    notify(state) {
      if (!enabled) return;
      if (deps.native?.(state)) return;
      try {
        run('systemd-notify', [`--pid=${deps.pid}`, state]);
      } catch (e) {
        deps.logger?.warn({ err: (e as Error).message }, 'systemd-notify failed');
      }
    },
  };
}

/** Watchdog ping interval from WATCHDOG_USEC (half of it), or undefined when not requested for us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

// ---------------------------------------------------------------- signals and stop

export interface SignalSource {
  on(sig: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
  off(sig: 'SIGTERM' | 'SIGINT', fn: () => void): unknown;
}

export interface LifecycleOptions {
  signals: SignalSource;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  pid: number;
  /** Stops the daemon (closes the control server, which removes the socket, sockets, timers). */
  onStop(reason: string): Promise<void>;
  /** Called after the stop, e.g. to release the lock. */
  afterStop?(): void;
}

export interface Lifecycle {
  /** Control socket listens and the daemon works: tell systemd and a waiting `-d` parent. */
  ready(): void;
  /** Graceful stop; idempotent; resolves when done. */
  stop(reason: string): Promise<void>;
  readonly stopped: Promise<void>;
}

export function createLifecycle(o: LifecycleOptions): Lifecycle {
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let watchdog: TimerHandle | undefined;
  const onTerm = (): void => void lc.stop('SIGTERM');
  const onInt = (): void => void lc.stop('SIGINT');
  o.signals.on('SIGTERM', onTerm);
  o.signals.on('SIGINT', onInt);

  const lc: Lifecycle = {
    stopped,
    ready() {
      o.notifier.notify('READY=1');
      const every = watchdogIntervalMs(o.env, o.pid);
      if (every !== undefined && o.notifier.enabled && !watchdog) {
        watchdog = o.clock.setInterval(() => o.notifier.notify('WATCHDOG=1'), every);
      }
      signalParent({ ok: true }, o.env);
    },
    stop(reason) {
      if (stopping) return stopping;
      o.logger.info({ reason }, 'stopping');
      o.notifier.notify('STOPPING=1');
      if (watchdog) o.clock.clear(watchdog);
      stopping = (async () => {
        try {
          await o.onStop(reason);
        } catch (e) {
          o.logger.error({ err: (e as Error).message }, 'error while stopping');
        } finally {
          o.signals.off('SIGTERM', onTerm);
          o.signals.off('SIGINT', onInt);
          o.afterStop?.();
          resolveStopped();
        }
      })();
      return stopping;
    },
  };
  return lc;
}

// ---------------------------------------------------------------- daemonization

export const READY_FD_ENV = 'CTSYNC_READY_FD';

/** In the daemonized child: report readiness or a start failure to the waiting parent (once). */
export function signalParent(r: { ok: true } | { ok: false; message: string }, env: NodeJS.ProcessEnv = process.env): void {
  const fd = Number(env[READY_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  delete env[READY_FD_ENV];
  try {
    writeSync(fd, r.ok ? 'READY\n' : `ERROR ${r.message.replace(/\n/g, ' ')}\n`);
    closeSync(fd);
  } catch {
    /* parent gone */
  }
}

export interface DaemonizeOptions {
  execPath: string;
  /** Arguments of the child (the same command line without -d). */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Control socket the parent probes once the child says READY. */
  socketPath?: string;
  readyTimeoutMs?: number;
  spawn?: typeof nodeSpawn;
}

export type DaemonizeResult = { ok: true; pid: number } | { ok: false; message: string };

export function daemonize(o: DaemonizeOptions): Promise<DaemonizeResult> {
  const spawnFn = o.spawn ?? nodeSpawn;
  const opts: SpawnOptions = {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...o.env, [READY_FD_ENV]: '3' },
  };
  const child = spawnFn(o.execPath, o.args, opts);
  const timeoutMs = o.readyTimeoutMs ?? 30_000;
  return new Promise<DaemonizeResult>((resolve) => {
    let text = '';
    let done = false;
    const finish = (r: DaemonizeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const pipe = child.stdio[3];
      pipe?.removeAllListeners('data');
      (pipe as net.Socket | null)?.destroy();
      if (!r.ok && child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      child.unref();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `ctsyncd did not become ready within ${timeoutMs / 1000}s` }), timeoutMs);
    child.on('error', (e) => finish({ ok: false, message: `cannot start ctsyncd: ${e.message}` }));
    child.on('exit', (code, sig) =>
      finish({ ok: false, message: `ctsyncd exited (${sig ?? `code ${code}`}) before it was ready${text ? `: ${text.trim()}` : ''}` }),
    );
    child.stdio[3]?.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      const line = text.slice(0, nl);
      if (line.startsWith('ERROR ')) return finish({ ok: false, message: line.slice(6) });
      if (line !== 'READY') return finish({ ok: false, message: `unexpected readiness message '${line.slice(0, 80)}'` });
      if (!o.socketPath) return finish({ ok: true, pid: child.pid ?? 0 });
      probe(o.socketPath).then((ok) =>
        finish(ok ? { ok: true, pid: child.pid ?? 0 } : { ok: false, message: `ctsyncd said ready but its control socket ${o.socketPath} does not answer` }),
      );
    });
  });
}

function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The command line for the daemonized child: the same arguments without -d / --daemon. */
export function argsWithoutDaemonFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-C' || a === '--config') {
      out.push(a, argv[i + 1] ?? '');
      i++;
      continue;
    }
    if (a !== '-d' && a !== '--daemon') out.push(a);
  }
  return out;
}

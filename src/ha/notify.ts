/**
 * keepalived-style notify scripts (keepalived.conf(5), vrrp_notify.c contract):
 *   - the state script (notify_master / notify_backup / notify_fault /
 *     notify_stop) runs with its own arguments only;
 *   - then the generic `notify` script runs with four arguments appended:
 *     TYPE NAME STATE PRIORITY, TYPE = INSTANCE | GROUP,
 *     STATE = MASTER | BACKUP | FAULT | STOP, PRIORITY = the instance's
 *     priority (0 for groups).
 * Scripts are spawned directly (argv, no shell), never awaited by the state
 * machine, and killed (SIGKILL to the process) after a timeout.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { NotifyConfig, NotifyScript } from '../config/keepalived-types';

export type NotifyType = 'INSTANCE' | 'GROUP';
export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export type SpawnFn = (cmd: string, args: string[], opts: SpawnOptions) => ChildProcess;

export interface NotifierDeps {
  clock: Clock;
  logger: Logger;
  /** ms before a script is killed (default 10000). */
  timeoutMs?: number;
  spawn?: SpawnFn;
}

export interface NotifyStats {
  started: number;
  ok: number;
  failed: number;
  timedOut: number;
  spawnErrors: number;
}

export interface Notifier {
  notify(type: NotifyType, name: string, state: NotifyState, priority: number, cfg: NotifyConfig): void;
  /** Scripts still running. */
  running(): number;
  /** Resolves when no script is running. */
  idle(): Promise<void>;
  stats(): NotifyStats;
}

/** Argument vectors keepalived would run for this transition, in order. */
export function notifyCommands(type: NotifyType, name: string, state: NotifyState, priority: number, cfg: NotifyConfig): string[][] {
  const specific: Record<NotifyState, NotifyScript | undefined> = { MASTER: cfg.master, BACKUP: cfg.backup, FAULT: cfg.fault, STOP: cfg.stop };
  const out: string[][] = [];
  const s = specific[state];
  if (s !== undefined && s.argv.length > 0) out.push([...s.argv]);
  if (cfg.any !== undefined && cfg.any.argv.length > 0) out.push([...cfg.any.argv, type, name, state, String(priority)]);
  return out;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const spawn = deps.spawn ?? (nodeSpawn as SpawnFn);
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const stats: NotifyStats = { started: 0, ok: 0, failed: 0, timedOut: 0, spawnErrors: 0 };
  let running = 0;
  let waiters: Array<() => void> = [];
  const done = (): void => {
    running -= 1;
    if (running === 0) {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    }
  };
  const run = (argv: string[]): void => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) return;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { stdio: 'ignore' });
    } catch (e) {
      stats.spawnErrors += 1;
      deps.logger.warn({ cmd, err: (e as Error).message }, 'notify script could not be started');
      return;
    }
    stats.started += 1;
    running += 1;
    const t0 = deps.clock.now();
    let finished = false;
    const timer = deps.clock.setTimeout(() => {
      if (finished) return;
      stats.timedOut += 1;
      deps.logger.warn({ cmd, timeoutMs }, 'notify script timed out; killing it');
      child.kill('SIGKILL');
    }, timeoutMs);
    const finish = (code: number | null, signal: string | null, err?: Error): void => {
      if (finished) return;
      finished = true;
      deps.clock.clear(timer);
      const ms = deps.clock.now() - t0;
      if (err !== undefined) {
        stats.spawnErrors += 1;
        deps.logger.warn({ cmd, err: err.message }, 'notify script failed to run');
      } else if (code === 0) {
        stats.ok += 1;
        deps.logger.info({ cmd, args, ms }, 'notify script done');
      } else {
        stats.failed += 1;
        deps.logger.warn({ cmd, args, code, signal, ms }, 'notify script failed');
      }
      done();
    };
    child.once('error', (e) => finish(null, null, e));
    child.once('exit', (code, signal) => finish(code, signal));
  };
  return {
    notify(type, name, state, priority, cfg) {
      for (const argv of notifyCommands(type, name, state, priority, cfg)) run(argv);
    },
    running: () => running,
    idle: () => (running === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    stats: () => ({ ...stats }),
  };
}

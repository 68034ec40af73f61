/**
 * Main-thread side of the VRRP thread (worker.ts): starts it, answers its
 * transition hooks with the daemon's transitions (awaited, in order), and
 * mirrors the speakers' states for D-Bus (org.keepalived.Vrrp1) and status.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { VrrpDbusSpeaker } from '../../dbus/vrrp';
import type { Logger } from '../../util/log';
import type { VrrpState } from '../vrrp/machine';
import type { VrrpHooks } from '../vrrp/speaker';
import type { FromThread, ThreadOptions, ToThread } from './messages';

export interface VrrpThread {
  /** Instances that could not start (interface missing, socket error...). */
  readonly failed: ReadonlyArray<{ instance: string; code: string; message?: string }>;
  speakers(): VrrpDbusSpeaker[];
  /** Fast failover: the peer's state on the sync link as last reported by the thread; null when off or not heard yet. */
  liveness(): { state: 'alive' | 'silent'; sinceEpochMs: number } | null;
  /** Graceful stop (priority 0 from masters, addresses removed); resolves when the thread has exited. */
  stop(): Promise<void>;
}

export interface VrrpThreadDeps {
  options: ThreadOptions;
  hooks: VrrpHooks;
  logger: Logger;
  /** Compiled worker script; default the worker.js next to this file. */
  script?: string;
  /** The thread must report started within this time (ms). Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Called when the thread ends after a successful start without stop()
   * (an uncaught error in it): the node no longer speaks VRRP, so the daemon
   * should stop (and its supervisor restart it) rather than hold addresses mutely.
   */
  onDied?(reason: string): void;
}

class SpeakerMirror implements VrrpDbusSpeaker {
  private st: VrrpState;
  private readonly fns: Array<(from: VrrpState, to: VrrpState) => void> = [];
  constructor(
    readonly name: string,
    state: VrrpState,
    private readonly send: (m: ToThread) => void,
  ) {
    this.st = state;
  }
  state(): VrrpState {
    return this.st;
  }
  onTransition(fn: (from: VrrpState, to: VrrpState) => void): void {
    this.fns.push(fn);
  }
  sendGarp(): void {
    this.send({ t: 'garp', name: this.name });
  }
  moved(from: VrrpState, to: VrrpState): void {
    this.st = to;
    for (const f of this.fns) f(from, to);
  }
}

export function startVrrpThread(deps: VrrpThreadDeps): Promise<VrrpThread> {
  const { logger, hooks } = deps;
  const worker = new Worker(deps.script ?? join(__dirname, 'worker.js'), { workerData: deps.options });
  const send = (m: ToThread): void => worker.postMessage(m);
  const mirrors = new Map<string, SpeakerMirror>();
  let exited = false;
  let started = false;
  let stopping = false;
  let live: { state: 'alive' | 'silent'; sinceEpochMs: number } | null = null;
  const exitedP = new Promise<void>((resolve) => worker.once('exit', () => { exited = true; resolve(); }));
  // Called as they arrive, like the speakers call them in-process: the
  // transitions order them (and the instances of a sync group wait for each other).
  const runHook = (m: Extract<FromThread, { t: 'hook' }>): void => {
    void (async () => {
      try {
        await hooks[m.hook]?.(m.name);
      } catch (e) {
        logger.error({ hook: m.hook, instance: m.name, err: (e as Error).message }, 'transition hook failed');
      }
      if (!exited) send({ t: 'hook-done', id: m.id });
    })();
  };

  return new Promise<VrrpThread>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('the VRRP thread did not start in time'));
      void worker.terminate();
    }, deps.startTimeoutMs ?? 30_000);
    let lastError = '';
    worker.on('error', (e) => {
      lastError = e.message;
      logger.error({ err: e.message }, 'VRRP thread failed');
      clearTimeout(timer);
      reject(e);
    });
    worker.on('message', (m: FromThread) => {
      switch (m.t) {
        case 'started': {
          clearTimeout(timer);
          started = true;
          for (const s of m.speakers) mirrors.set(s.name, new SpeakerMirror(s.name, s.state, send));
          resolve({
            failed: m.failed,
            speakers: () => [...mirrors.values()],
            liveness: () => (live === null ? null : { ...live }),
            async stop() {
              if (exited) return;
              stopping = true;
              send({ t: 'stop' });
              const t = setTimeout(() => void worker.terminate(), 10_000);
              await exitedP;
              clearTimeout(t);
            },
          });
          break;
        }
        case 'start-failed':
          clearTimeout(timer);
          reject(new Error(m.error));
          void worker.terminate();
          break;
        case 'transition':
          mirrors.get(m.name)?.moved(m.from, m.to);
          break;
        case 'hook':
          runHook(m);
          break;
        case 'liveness':
          live = { state: m.state, sinceEpochMs: Date.now() };
          break;
        case 'stopped':
          break;
      }
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) logger.warn({ code }, 'VRRP thread exited');
      reject(new Error(`the VRRP thread exited (code ${code})`));
      if (started && !stopping) deps.onDied?.(lastError || `exit code ${code}`);
    });
  });
}

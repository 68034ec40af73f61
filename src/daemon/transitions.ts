/**
 * HA transitions run by the embedded VRRP speaker (or heartbeat), in the
 * order that closes the reset window:
 *
 *  to MASTER:  commit the external cache into the kernel BEFORE the virtual
 *              addresses are taken (beforeMaster is awaited by the speaker),
 *              then, once the addresses are ours: flush the external cache,
 *              resync the internal cache with the kernel, bulk-send to peers.
 *  to BACKUP:  shorten kernel timers, request a resync from the new master.
 *  to FAULT:   shorten kernel timers.
 *
 * Every step is timed and logged; the whole transition is recorded on the
 * daemon (status, D-Bus TransitionFinished). Instances of one sync group call
 * the hooks once each: the first runs the transition, the others join it.
 */
import type { VrrpHooks } from '../ha/vrrp/speaker';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { DaemonApi, HaState, TransitionStep } from './api';

export interface TransitionDeps {
  api: DaemonApi;
  clock: Clock;
  logger: Logger;
  setState(state: HaState, steps?: TransitionStep[]): void;
}

export interface Transitions extends VrrpHooks {
  /** The state the last transition reached (or is running towards). */
  readonly target: HaState;
}

export function createTransitions(deps: TransitionDeps): Transitions {
  const { api, clock, logger } = deps;
  let target: HaState = 'INIT';
  let running: Promise<void> = Promise.resolve();
  let steps: TransitionStep[] = [];
  let current = '';

  const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    const t0 = clock.now();
    try {
      await fn();
      const ms = Math.round(clock.now() - t0);
      steps.push({ name, ms, ok: true });
      logger.info({ step: name, ms }, 'transition step done');
    } catch (e) {
      const ms = Math.round(clock.now() - t0);
      const error = (e as Error).message;
      steps.push({ name, ms, ok: false, error });
      logger.error({ step: name, ms, err: error }, 'transition step failed');
    }
  };

  /** Run `body` as the transition to `to`, after any transition still running; join one already going there. */
  const go = (to: HaState, phase: string, body: () => Promise<void>): Promise<void> => {
    const key = `${to}:${phase}`;
    if (current === key) return running;
    current = key;
    running = running.then(async () => {
      if (phase === 'before' || to !== 'MASTER') steps = [];
      target = to;
      await body();
      deps.setState(to, [...steps]);
    });
    return running;
  };

  return {
    get target() {
      return target;
    },
    beforeMaster(name) {
      logger.info({ instance: name }, 'becoming MASTER: committing the external cache before taking the addresses');
      return go('MASTER', 'before', async () => {
        await step('commit', () => api.commit('all'));
      });
    },
    afterMaster(name) {
      logger.info({ instance: name }, 'MASTER: addresses taken');
      return go('MASTER', 'after', async () => {
        await step('flush-external', () => api.flushCache('external'));
        await step('resync-kernel', () => api.resyncKernel('all'));
        await step('bulk-send', () => api.bulkSend());
      });
    },
    afterBackup(name) {
      logger.info({ instance: name }, 'BACKUP');
      return go('BACKUP', 'after', async () => {
        await step('shorten-timers', () => api.shortenTimers());
        await step('request-resync', () => api.requestResync());
      });
    },
    afterFault(name) {
      logger.info({ instance: name }, 'FAULT');
      return go('FAULT', 'after', async () => {
        await step('shorten-timers', () => api.shortenTimers());
      });
    },
  };
}

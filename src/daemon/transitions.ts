/**
 * HA transitions run by the embedded VRRP speaker (or heartbeat), in the
 * order that closes the reset window:
 *
 *  to MASTER:  commit the external cache into the kernel BEFORE the virtual
 *              addresses are taken (beforeMaster is awaited by the speaker),
 *              then, once the addresses are ours: flush the external cache,
 *              resync the internal cache with the kernel, bulk-send to peers.
 *              With the external cache kept in the kernel (DisableExternalCache
 *              on) the entries are there already: wait for the last pending
 *              writes, take the addresses, then commit as a fix-up.
 *  to BACKUP:  shorten kernel timers, request a resync from the new master.
 *  to FAULT:   shorten kernel timers.
 *
 * Every step is timed and logged; the whole transition is recorded on the
 * daemon (status, D-Bus TransitionFinished). Instances of one sync group call
 * the hooks once each: the first runs the transition, the others join it.
 * The after-MASTER steps (full dumps, bulk send: seconds with large tables,
 * on this event loop) start only once every instance that went for MASTER
 * has its addresses (or after GROUP_ADDRESS_WAIT_MS), so they do not delay
 * the other instances' addresses.
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
  /**
   * Set when the external cache is kept in the kernel table (DisableExternalCache on):
   * becoming MASTER then only waits for the pending kernel writes before the
   * addresses are taken, and commits (a fix-up of entries the kernel timed out) after.
   */
  externalInKernel?: { drain(): Promise<void> } | null;
}

/** Upper bound on waiting for the other instances' addresses before the after-MASTER steps. */
export const GROUP_ADDRESS_WAIT_MS = 2000;

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
  // Instances that went for MASTER and have not taken their addresses yet.
  const awaitingAddresses = new Set<string>();
  let addressesTaken: (() => void) | null = null;
  const settleAddresses = (): void => {
    if (awaitingAddresses.size > 0 || addressesTaken === null) return;
    const done = addressesTaken;
    addressesTaken = null;
    done();
  };
  const allAddressesTaken = (): Promise<void> =>
    awaitingAddresses.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = clock.setTimeout(() => {
            logger.warn({ waiting: [...awaitingAddresses] }, 'after-MASTER steps start without every instance\'s addresses');
            awaitingAddresses.clear();
            settleAddresses();
          }, GROUP_ADDRESS_WAIT_MS);
          addressesTaken = () => {
            clock.clear(timer);
            resolve();
          };
        });
  /** `name` has its addresses, or is no longer going for MASTER. */
  const noLongerAwaited = (name: string): void => {
    awaitingAddresses.delete(name);
    settleAddresses();
  };

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
      awaitingAddresses.add(name);
      const inKernel = deps.externalInKernel;
      return go('MASTER', 'before', async () => {
        if (inKernel) await step('external-in-kernel', () => inKernel.drain());
        else await step('commit', () => api.commit('all'));
      });
    },
    afterMaster(name) {
      logger.info({ instance: name }, 'MASTER: addresses taken');
      noLongerAwaited(name);
      return go('MASTER', 'after', async () => {
        await allAddressesTaken();
        if (deps.externalInKernel) await step('commit', () => api.commit('all'));
        await step('flush-external', () => api.flushCache('external'));
        await step('resync-kernel', () => api.resyncKernel('all'));
        await step('bulk-send', () => api.bulkSend());
      });
    },
    afterBackup(name) {
      logger.info({ instance: name }, 'BACKUP');
      noLongerAwaited(name);
      return go('BACKUP', 'after', async () => {
        await step('shorten-timers', () => api.shortenTimers());
        await step('request-resync', () => api.requestResync());
      });
    },
    afterFault(name) {
      logger.info({ instance: name }, 'FAULT');
      noLongerAwaited(name);
      return go('FAULT', 'after', async () => {
        await step('shorten-timers', () => api.shortenTimers());
      });
    },
  };
}

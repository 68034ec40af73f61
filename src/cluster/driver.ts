/**
 * Driver: runs one node's membership state machine on a transport and a
 * clock, and turns its actions into work: heartbeats out, takeover + kernel
 * rule for gained buckets, kernel rule for released ones. Kernel work is
 * serialized and always applies the mask of the state at that moment.
 */
import type { Transport } from '../transport/types';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { decodeHeartbeat, encodeHeartbeat } from './wire';
import { formatMask } from './ranges';
import {
  aim,
  heldMask,
  initialState,
  kernelMask,
  step,
  view,
  type MemberAction,
  type MemberConfig,
  type MemberEvent,
  type MemberState,
} from './membership';

export interface ClusterNodeOptions {
  config: MemberConfig;
  /** Must grow across restarts of this node (default: wall-clock seconds). */
  incarnation?: number;
  transport: Transport;
  clock: Clock;
  logger: Logger;
  /** Commit the flows of `buckets` (takeover.ts); resolves before the kernel opens them. */
  takeover?: (buckets: number) => Promise<void>;
  /** Make the kernel forward exactly `mask` (kernel.ts createClusterRules().apply). */
  applyMask: (mask: number) => Promise<void>;
  /** Optional: after released buckets are closed in the kernel, e.g. releaseFlows (takeover.ts). */
  released?: (buckets: number) => Promise<void>;
  /** Called after every state change (tests, status). */
  onChange?: (s: MemberState) => void;
}

export interface ClusterNodeStats {
  decodeErrors: Record<string, number>;
  sendFailures: number;
  takeoverFailures: number;
  applyFailures: number;
}

export interface ClusterNode {
  start(): Promise<void>;
  /** Hand every bucket to the others, then resolve (or after timeoutMs). */
  leave(timeoutMs?: number): Promise<boolean>;
  /** Stop at once (no handoff), like a crash of this node's agent. */
  stop(): void;
  state(): MemberState;
  held(): number;
  /** Kernel work still queued (tests wait for it). */
  idle(): Promise<void>;
  stats(): ClusterNodeStats;
}

export function createClusterNode(o: ClusterNodeOptions): ClusterNode {
  const { clock, logger } = o;
  let st = initialState(o.config, o.incarnation ?? Math.floor(Date.now() / 1000), clock.now());
  let timer: TimerHandle | null = null;
  let running = false;
  let work: Promise<void> = Promise.resolve();
  const stats: ClusterNodeStats = { decodeErrors: {}, sendFailures: 0, takeoverFailures: 0, applyFailures: 0 };
  const leftWaiters: Array<() => void> = [];

  const dispatch = (ev: MemberEvent): void => {
    if (!running) return;
    const r = step(st, ev, clock.now());
    const before = heldMask(st);
    st = r.state;
    for (const a of r.actions) act(a);
    if (heldMask(st) !== before) {
      logger.info({ held: formatMask(heldMask(st)), aim: formatMask(aim(st)), view: view(st) }, 'cluster: buckets changed');
    }
    o.onChange?.(st);
  };

  const queue = (fn: () => Promise<void>): void => {
    work = work.then(fn, fn);
  };

  const act = (a: MemberAction): void => {
    switch (a.type) {
      case 'send':
        if (!o.transport.send(encodeHeartbeat(a.msg))) stats.sendFailures++;
        break;
      case 'acquire':
        queue(async () => {
          try {
            if (o.takeover) await o.takeover(a.buckets);
            await o.applyMask(kernelMask(st));
          } catch (e) {
            stats.takeoverFailures++;
            logger.warn({ err: String(e), buckets: formatMask(a.buckets) }, 'cluster: takeover failed, will retry');
            dispatch({ type: 'acquire-failed', buckets: a.buckets });
            return;
          }
          dispatch({ type: 'acquired', buckets: a.buckets });
        });
        break;
      case 'release':
        queue(async () => {
          try {
            await o.applyMask(kernelMask(st));
          } catch (e) {
            stats.applyFailures++;
            logger.warn({ err: String(e) }, 'cluster: kernel rule update failed');
            return;
          }
          // Only what is still not ours once the rule is in force.
          const gone = (a.buckets & ~kernelMask(st)) >>> 0;
          if (o.released && gone !== 0) {
            await o.released(gone).catch((e: unknown) => logger.warn({ err: String(e) }, 'cluster: cleanup of released flows failed'));
          }
        });
        break;
      case 'peer-up':
        logger.info({ node: a.node, incarnation: a.incarnation }, 'cluster: peer up');
        break;
      case 'peer-down':
        logger.warn({ node: a.node, reason: a.reason }, 'cluster: peer down');
        break;
      case 'reject':
        logger.warn({ node: a.node, reason: a.reason }, 'cluster: heartbeat rejected');
        break;
      case 'left':
        for (const w of leftWaiters.splice(0)) w();
        break;
    }
  };

  const onDatagram = (d: Buffer): void => {
    const r = decodeHeartbeat(d);
    if (!r.ok) {
      stats.decodeErrors[r.code] = (stats.decodeErrors[r.code] ?? 0) + 1;
      logger.debug({ code: r.code, msg: r.message }, 'cluster: bad heartbeat');
      return;
    }
    dispatch({ type: 'heartbeat', msg: r.value });
  };

  return {
    async start() {
      o.transport.onDatagram(onDatagram);
      await o.transport.open();
      await o.applyMask(0);
      running = true;
      st = { ...st, startedAt: clock.now() };
      dispatch({ type: 'tick' });
      timer = clock.setInterval(() => dispatch({ type: 'tick' }), o.config.intervalMs);
    },
    leave(timeoutMs = 10_000) {
      return new Promise<boolean>((resolve) => {
        if (!running || st.phase === 'left') return resolve(true);
        const t = clock.setTimeout(() => resolve(false), timeoutMs);
        leftWaiters.push(() => {
          clock.clear(t);
          resolve(true);
        });
        dispatch({ type: 'leave' });
      });
    },
    stop() {
      running = false;
      if (timer) clock.clear(timer);
      timer = null;
    },
    state: () => st,
    held: () => heldMask(st),
    idle: async () => {
      for (;;) {
        const w = work;
        await w;
        if (w === work) return;
      }
    },
    stats: () => ({ ...stats, decodeErrors: { ...stats.decodeErrors } }),
  };
}

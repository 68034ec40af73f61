/**
 * Starts and stops pfsync-style deferral on a cluster node: binds the
 * nfnetlink queue, installs the rule that feeds it (deferral-rules.ts), and
 * runs the deferral logic (deferral.ts) between the two. Order on start:
 * queue first, then the rule (no packet waits for a queue nobody reads;
 * with `bypass` it would pass anyway). On stop: rule off, every held packet
 * accepted, then the queue closed (closing drops what is still queued).
 */
import type { Cache } from '../cache/types';
import { tupleKey } from '../netlink/ct/key';
import { openNfQueue, type NfQueue, type NfQueueOptions, type NfQueueStats, type OpenResult } from '../netlink/nfqueue-client';
import type { CtRecord } from '../netlink/types';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { createDeferral, type DeferralEngine, type DeferralStats } from './deferral';
import { installDeferRule, type DeferBackend, type DeferRule, type IptRunner } from './deferral-rules';
import type { ClusterRules } from './kernel';

export interface DeferralRunOptions {
  queue: number;
  timeoutMs: number;
  interfaces: string[];
  ipv6: boolean;
  rules: ClusterRules;
  ipt: IptRunner;
  engine: DeferralEngine;
  internal: Cache;
  accept?: (rec: CtRecord) => boolean;
  clock: Clock;
  logger: Logger;
  netns?: string;
  /** Replaces openNfQueue (tests). */
  openQueue?: (o: NfQueueOptions) => Promise<OpenResult>;
}

/** What `status` shows under cluster.deferral. */
export interface DeferralStatus extends DeferralStats {
  queue: number;
  timeoutMs: number;
  /** Where the rule lives: nft (the cluster table) or iptables (security table fallback). */
  backend: DeferBackend;
  /** What the kernel attaches to a queued packet: conntrack (NFQA_CT) or packet (headers). */
  attach: 'conntrack' | 'packet';
  socket: Pick<NfQueueStats, 'packets' | 'bad' | 'overruns' | 'sendErrors' | 'verdictErrors'>;
}

export interface DeferralHandle {
  status(): DeferralStatus;
  stop(): Promise<void>;
}

export async function startDeferral(o: DeferralRunOptions): Promise<DeferralHandle> {
  const log = o.logger;
  let handle: ((ps: Parameters<NfQueueOptions['onPackets']>[0]) => void) | undefined;
  const opened = await (o.openQueue ?? openNfQueue)({
    queue: o.queue,
    logger: log,
    clock: o.clock,
    ...(o.netns !== undefined ? { netns: o.netns } : {}),
    // Packets can only arrive once the rule is in; `handle` is set before that.
    onPackets: (ps) => handle?.(ps),
  });
  if (!opened.ok) throw new Error(`deferral queue ${o.queue}: ${opened.message}`);
  const q: NfQueue = opened.queue;
  const deferral = createDeferral({
    queue: q,
    engine: o.engine,
    internal: o.internal,
    keyOf: tupleKey,
    ...(o.accept !== undefined ? { accept: o.accept } : {}),
    clock: o.clock,
    logger: log,
    timeoutMs: o.timeoutMs,
    source: q.attach === 'conntrack' ? 'conntrack' : 'packet',
  });
  handle = (ps) => deferral.handle(ps);
  let rule: DeferRule;
  try {
    rule = await installDeferRule(o.rules, o.ipt, { interfaces: o.interfaces, queue: o.queue, ipv6: o.ipv6 });
  } catch (e) {
    await q.close();
    throw e instanceof Error ? e : new Error(String(e));
  }
  log.info({ queue: o.queue, timeoutMs: o.timeoutMs, backend: rule.backend, attach: q.attach }, 'cluster: deferral of new flows on');
  let stopped = false;
  return {
    status() {
      const s = q.stats();
      return {
        ...deferral.stats(),
        queue: o.queue,
        timeoutMs: o.timeoutMs,
        backend: rule.backend,
        attach: q.attach,
        socket: { packets: s.packets, bad: s.bad, overruns: s.overruns, sendErrors: s.sendErrors, verdictErrors: s.verdictErrors },
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await rule.remove().catch((e: unknown) => log.warn({ err: String(e) }, 'cluster: could not remove the deferral rule'));
      deferral.stop();
      await q.close();
      log.info({ stats: deferral.stats() }, 'cluster: deferral stopped');
    },
  };
}

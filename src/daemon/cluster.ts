/**
 * Active-active mode of ctsyncd (conntrackd.conf "Cluster { ... }"): runs
 * the membership driver of src/cluster next to the sync engine.
 *
 *  - heartbeats: UDP unicast to every configured peer (UdpPeersTransport),
 *    on their own port of the sync link;
 *  - applyMask: the nft table of src/cluster/kernel.ts (jhash buckets);
 *  - takeover: before a gained bucket opens, the flows of exactly that
 *    bucket are committed from the daemon's EXTERNAL cache (what the sync
 *    engine replicated from the peers) into the kernel table;
 *  - released: once a bucket is closed, its entries leave the kernel table
 *    (releaseFlows), so this node stops tracking and announcing them.
 *
 * There is no VRRP master here: every node replicates its own flows to all
 * peers (the Sync link, Multicast for more than two nodes) and keeps theirs
 * in its external cache; no commit-all ever happens. The daemon's `status`
 * gains a `cluster` field (the api object's status method is wrapped, and
 * restored by stop()).
 *
 * `Defer on` (pfsync-style deferral, src/cluster/deferral*.ts): the first
 * packet of each new flow waits in an nfnetlink queue until the peers have
 * acknowledged its state (at most DeferTimeout ms); its counters appear as
 * `cluster.deferral` in status.
 */
import { networkInterfaces } from 'node:os';
import type { ClusterConfig } from '../config/conntrackd-types';
import { createClusterNode, type ClusterNode } from '../cluster/driver';
import { deferOf } from '../config/conntrackd-cluster';
import { iptRunner, type IptRunner } from '../cluster/deferral-rules';
import { startDeferral, type DeferralHandle, type DeferralStatus } from '../cluster/deferral-run';
import { createClusterRules, nftRunner, type NftRunner } from '../cluster/kernel';
import { aim, heldMask, view } from '../cluster/membership';
import { formatMask, fullMask, toList } from '../cluster/ranges';
import { releaseFlows, takeover } from '../cluster/takeover';
import { UdpPeersTransport } from '../cluster/udp-peers';
import { peekFlow } from '../netlink/ct/peek';
import type { KernelTable } from '../netlink/table';
import type { CtRecord } from '../netlink/types';
import type { NfQueueOptions, OpenResult } from '../netlink/nfqueue-client';
import type { LocalChange, PeerEvent } from '../sync/engine';
import type { Transport } from '../transport/types';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { ClusterStatus, DaemonApi } from './api';
import type { Caches } from './daemon';

export interface ClusterDeps {
  /**
   * The running daemon: its api (status is decorated), its external cache,
   * and its sync engine (peer events: the first bulk from each peer).
   */
  daemon: {
    api: DaemonApi;
    caches: { external: Caches; internal?: Caches };
    engine?: {
      onPeerEvent(h: (ev: PeerEvent) => void): () => void;
      /** Deferral (Defer on) needs these two and caches.internal. */
      local?(change: LocalChange): void;
      delivered?(timeoutMs: number): Promise<boolean>;
    };
  };
  table: KernelTable;
  clock: Clock;
  logger: Logger;
  /** Namespace name for `ip netns exec ... nft` (tests); default: our own namespace. */
  netns?: string;
  /** Replaces `nft -f -` (unit tests). */
  nft?: NftRunner;
  /** Replaces the UDP heartbeat transport (unit tests). */
  transport?: Transport;
  /** Must grow across restarts; default wall-clock seconds. */
  incarnation?: number;
  /** Graceful handover time on stop(), ms. Default 3000. */
  leaveTimeoutMs?: number;
  /**
   * This node's own addresses outside the cluster interfaces (management,
   * sync link): entries to them are never deleted on a release. Default:
   * os.networkInterfaces() minus ClusterInterface, read at each release.
   */
  ownAddresses?: () => string[];
  /** Deferral: the daemon's flow filter (flows it refuses are not held). Default: every flow. */
  accept?: (rec: CtRecord) => boolean;
  /** Deferral: replaces the iptables runner of the rule fallback (unit tests). */
  ipt?: IptRunner;
  /** Deferral: replaces the nfnetlink queue socket (unit tests). */
  openQueue?: (o: NfQueueOptions) => Promise<OpenResult>;
}

/** The cluster field of `status`, with the deferral counters when Defer is on. */
export type ClusterStatusWithDeferral = ClusterStatus & { deferral?: DeferralStatus };

export interface ClusterHandle {
  readonly node: ClusterNode;
  status(): ClusterStatusWithDeferral;
  /** Hand every bucket to the others, leave the rule with no bucket (forward nothing), close. */
  stop(): Promise<void>;
}

export interface PreparedCluster {
  /** After daemon.start(): wait for the peers' full resync, then join. */
  start(): Promise<ClusterHandle>;
}

/** prepareCluster + start, for callers whose daemon runs already (tests). */
export async function startCluster(cfg: ClusterConfig, d: ClusterDeps): Promise<ClusterHandle> {
  return (await prepareCluster(cfg, d)).start();
}

/**
 * Before daemon.start(): close the rule (a rule left by a crashed run must
 * not forward) and delete the entries of every bucket from the kernel table:
 * a starting node owns no bucket, and entries left from an earlier run are
 * stale (their TCP windows lag behind the flows, which other nodes carried
 * meanwhile); the daemon must neither keep nor announce them. Starts
 * listening for the peers' resyncs.
 */
export async function prepareCluster(cfg: ClusterConfig, d: ClusterDeps): Promise<PreparedCluster> {
  const { table, logger } = d;
  const log = logger.child({ layer: 'cluster', nodeId: cfg.nodeId });
  const seed = cfg.hashSeed;
  const buckets = cfg.buckets;
  const rules = createClusterRules(
    { buckets, seed, interfaces: cfg.interfaces, table: cfg.table, ipv6: cfg.ipv6, multicastMac: cfg.multicastMac },
    d.nft ?? nftRunner(d.netns),
  );
  const transport = d.transport ?? new UdpPeersTransport({ family: cfg.family, bindAddress: cfg.address, port: cfg.port, peers: cfg.peers });
  const counts = { takeovers: 0, committed: 0, takeoverFailed: 0, releases: 0, deleted: 0 };
  const ownAddresses = d.ownAddresses ?? (() => addressesOutside(cfg.interfaces));
  // Connections to this node itself (not through the cluster legs) stay when buckets move.
  const keepOwn = (): ((rec: CtRecord) => boolean) => {
    const own = new Set(ownAddresses());
    return (rec) => {
      const f = peekFlow(rec);
      return f !== null && own.has(f.dst);
    };
  };

  const external = (): Iterable<CtRecord> => {
    const it = d.daemon.caches.external.ct.entries();
    return (function* () {
      for (const [, r] of it) yield r;
    })();
  };

  const node = createClusterNode({
    config: {
      self: cfg.nodeId,
      buckets,
      seed,
      intervalMs: cfg.heartbeatInterval,
      deadAfter: cfg.deadAfter,
      listenIntervals: cfg.listenIntervals,
    },
    ...(d.incarnation !== undefined ? { incarnation: d.incarnation } : {}),
    transport,
    clock: d.clock,
    logger: log,
    applyMask: (mask) => rules.apply(mask),
    // Before the rule opens `gained`: commit exactly their flows from the external cache.
    takeover: async (gained) => {
      const r = await takeover({ table, external, buckets, seed }, gained);
      counts.takeovers++;
      counts.committed += r.committed;
      const failed = Object.values(r.failed).reduce((a, b) => a + b, 0);
      counts.takeoverFailed += failed;
      log.info({ buckets: formatMask(gained), scanned: r.scanned, selected: r.selected, committed: r.committed, failed: r.failed, skipped: r.skipped }, 'cluster: takeover');
      // A whole call failed (socket, timeout): do not claim; the driver retries at the next tick.
      if (r.error !== undefined) throw new Error(`takeover: ${r.error}`);
      // Single entries the kernel refused (e.g. ENOMEM, EINVAL) are counted and logged, not retried:
      // retrying would hold the bucket closed for every other flow in it.
    },
    released: async (gone) => {
      const r = await releaseFlows({ table, buckets, seed, keep: keepOwn() }, gone);
      counts.releases++;
      counts.deleted += r.deleted;
      log.info({ buckets: formatMask(gone), selected: r.selected, deleted: r.deleted, failed: r.failed }, 'cluster: released flows deleted');
      if (r.error !== undefined) throw new Error(`release: ${r.error}`);
    },
  });

  let deferral: DeferralHandle | undefined;
  const status = (): ClusterStatusWithDeferral => {
    const st = node.state();
    const out: ClusterStatusWithDeferral = {
      nodeId: cfg.nodeId,
      phase: st.phase,
      buckets,
      held: toList(heldMask(st)),
      aim: toList(aim(st)),
      members: [...view(st)].sort((a, b) => a - b),
      takeovers: { runs: counts.takeovers, committed: counts.committed, failed: counts.takeoverFailed },
      releases: { runs: counts.releases, deleted: counts.deleted },
    };
    if (deferral !== undefined) out.deferral = deferral.status();
    return out;
  };

  /** Defer on: queue + rule + logic; a failure is logged and the node runs without deferral. */
  const startDefer = async (): Promise<void> => {
    const dc = deferOf(cfg);
    if (dc === undefined) return;
    const engine = d.daemon.engine;
    const internal = d.daemon.caches.internal;
    const local = engine?.local?.bind(engine);
    const delivered = engine?.delivered?.bind(engine);
    if (local === undefined || delivered === undefined || internal === undefined) {
      log.error('cluster: Defer on needs the sync engine and the internal cache; deferral off');
      return;
    }
    try {
      deferral = await startDeferral({
        queue: dc.queue,
        timeoutMs: dc.timeoutMs,
        interfaces: cfg.interfaces,
        ipv6: cfg.ipv6,
        rules,
        ipt: d.ipt ?? iptRunner(d.netns),
        engine: { local, delivered },
        internal: internal.ct,
        ...(d.accept !== undefined ? { accept: d.accept } : {}),
        clock: d.clock,
        logger: log,
        ...(d.netns !== undefined ? { netns: d.netns } : {}),
        ...(d.openQueue !== undefined ? { openQueue: d.openQueue } : {}),
      });
    } catch (e) {
      log.error({ err: e instanceof Error ? e.message : String(e), queue: dc.queue }, 'cluster: deferral could not start; new flows are not held');
    }
  };

  await rules.apply(0);
  const stale = await releaseFlows({ table, buckets, seed, keep: keepOwn() }, fullMask(buckets));
  if (stale.selected > 0 || stale.error !== undefined) {
    log.info({ selected: stale.selected, deleted: stale.deleted, failed: stale.failed, error: stale.error }, 'cluster: entries of an earlier run deleted');
  }
  const synced = d.daemon.engine && cfg.initialSyncWaitMs > 0 ? trackInitialSync(d.daemon.engine, cfg.peers) : undefined;

  const join = async (): Promise<ClusterHandle> => {
    // Join only once the peers' tables are here (or after InitialSyncWait):
    // a takeover commits from the external cache, so it must be complete.
    if (synced) {
      const r = await synced.wait(cfg.initialSyncWaitMs, d.clock);
      if (r.missing.length > 0) log.warn({ synced: r.done, missing: r.missing, waitedMs: cfg.initialSyncWaitMs }, 'cluster: no full resync from some peers; joining anyway');
      else log.info({ synced: r.done }, 'cluster: full resync received from every peer');
    }

    // Decorate the daemon's status (control socket, D-Bus) with the cluster view.
    const api = d.daemon.api;
    const baseStatus = api.status;
    api.status = async () => ({ ...(await baseStatus.call(api)), cluster: status() });

    await startDefer();
    try {
      await node.start();
    } catch (e) {
      api.status = baseStatus;
      await deferral?.stop();
      node.stop();
      await transport.close().catch(() => undefined);
      throw e instanceof Error ? e : new Error(String(e));
    }
    log.info(
      { address: cfg.address, peers: cfg.peers, port: cfg.port, buckets, seed: `0x${seed.toString(16)}`, interfaces: cfg.interfaces },
      'cluster: active-active mode started',
    );

    let stopped = false;
    return {
      node,
      status,
      async stop() {
        if (stopped) return;
        stopped = true;
        // Alone in the view: nobody can take the buckets, do not wait for a claim.
        const alone = view(node.state()).length <= 1;
        const handed = alone ? false : await node.leave(d.leaveTimeoutMs ?? 3000);
        node.stop();
        await node.idle();
        // Rule off, held packets accepted, queue closed: before the table loses its buckets.
        await deferral?.stop();
        // No bucket: this node forwards nothing on the cluster legs until it runs again.
        await rules.apply(0).catch((e: unknown) => log.warn({ err: String(e) }, 'cluster: could not close the rule'));
        await transport.close().catch(() => undefined);
        api.status = baseStatus;
        log.info({ handed }, 'cluster: stopped');
      },
    };
  };

  return { start: join };
}

/** Addresses of every interface not in `clusterIfs` (lo, management, sync link). */
export function addressesOutside(clusterIfs: readonly string[]): string[] {
  const out: string[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (clusterIfs.includes(name)) continue;
    for (const a of list ?? []) out.push(a.address.toLowerCase());
  }
  return out;
}

/**
 * Records complete bulks (FT-FW resyncs) from the addresses of `peers` as
 * they arrive; wait() resolves once every one has come, or after `ms`.
 */
export function trackInitialSync(
  engine: { onPeerEvent(h: (ev: PeerEvent) => void): () => void },
  peers: readonly string[],
): { wait(ms: number, clock: Clock): Promise<{ done: string[]; missing: string[] }> } {
  const missing = new Set(peers);
  const done: string[] = [];
  let wake: (() => void) | undefined;
  const off = engine.onPeerEvent((ev) => {
    if (ev.type !== 'bulk-done' || !missing.delete(ev.peer)) return;
    done.push(ev.peer);
    if (missing.size === 0) wake?.();
  });
  return {
    wait(ms, clock) {
      return new Promise((resolve) => {
        let timer: ReturnType<Clock['setTimeout']> | undefined;
        const finish = (): void => {
          wake = undefined;
          off();
          if (timer) clock.clear(timer);
          resolve({ done: [...done], missing: [...missing] });
        };
        if (missing.size === 0) return finish();
        wake = finish;
        timer = clock.setTimeout(finish, ms);
      });
    },
  };
}

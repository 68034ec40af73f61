/**
 * ctsync extension to conntrackd.conf: the "Cluster" section, a sibling of
 * "Sync", that turns on active-active mode (docs/active-active.md).
 *
 *   Cluster {
 *     NodeId 1                      # default: IPv4_address as a u32
 *     IPv4_address 203.0.113.1      # heartbeat address (or IPv6_address)
 *     Peers {
 *       IPv4_address 203.0.113.2
 *       IPv4_address 203.0.113.3
 *     }
 *     Port 3781
 *     ClusterInterface lan          # repeat for every cluster-facing leg
 *     ClusterInterface wan
 *     Buckets 32
 *     HashSeed 0x5eed
 *     HeartbeatInterval 200         # ms
 *     DeadAfter 3                   # intervals
 *     ListenIntervals 3
 *     HashIPv6 off
 *     MulticastMAC off
 *     Table ctsync_cluster
 *     InitialSyncWait 3000          # ms
 *     Defer off                     # pfsync-style deferral of new flows' first packet
 *     DeferQueue 4242               # nfnetlink queue number
 *     DeferTimeout 50               # ms, longest hold
 *   }
 *
 * Pure: statements in, a ClusterConfig (defaults applied) or undefined plus
 * file:line diagnostics out.
 */
import { isIPv4 } from 'node:net';
import { Stmt, posOf, wordPos } from './blocktree';
import { Ctx, boolOpt, checked, noteRepeat, plainBlock, single, uintOpt, unknownOption } from './conntrackd-common';
import { CONNTRACKD_DEFAULTS, ClusterConfig, SyncConfig } from './conntrackd-types';
import { Result, parseIfName, parseIp } from './values';

const CLUSTER_KEYS = [
  'NodeId', 'IPv4_address', 'IPv6_address', 'Peers', 'Port', 'ClusterInterface', 'Buckets', 'HashSeed',
  'HeartbeatInterval', 'DeadAfter', 'ListenIntervals', 'HashIPv6', 'MulticastMAC', 'Table', 'InitialSyncWait',
  'Defer', 'DeferQueue', 'DeferTimeout',
];

/** Deferral settings (Defer on): src/cluster/deferral.ts. */
export interface ClusterDeferConfig {
  /** nfnetlink queue number, 0..65535. Default 4242. */
  queue: number;
  /** Longest hold of a new flow's first packet, ms. Default 50. */
  timeoutMs: number;
}

export const DEFER_DEFAULTS: ClusterDeferConfig = { queue: 4242, timeoutMs: 50 };

/** A ClusterConfig as readCluster returns it: `defer` present when Defer is on. */
export type ClusterConfigWithDefer = ClusterConfig & { defer?: ClusterDeferConfig };

/** The deferral settings of a parsed Cluster section, or undefined when Defer is off. */
export function deferOf(cfg: ClusterConfig): ClusterDeferConfig | undefined {
  return (cfg as ClusterConfigWithDefer).defer;
}
const WHERE = 'Cluster';
/** Same character set the nft rule writer accepts (src/cluster/kernel.ts). */
const NFT_IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** u32 written in decimal or 0x-hex (HashSeed). */
export function parseU32(text: string): Result<number> {
  const hex = /^0x[0-9a-fA-F]{1,8}$/.test(text);
  if (!hex && !/^[0-9]{1,10}$/.test(text)) return { ok: false, reason: `expected a decimal or 0x-hex number, got '${text}'` };
  const v = hex ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (v > 0xffffffff) return { ok: false, reason: `${text} does not fit in 32 bits` };
  return { ok: true, value: v };
}

function ipv4ToU32(addr: string): number {
  return addr.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}

interface Acc {
  nodeId?: number;
  address?: { family: 4 | 6; address: string };
  peers: Array<{ family: 4 | 6; address: string; line: number }>;
  interfaces: string[];
  vals: Map<string, number | boolean | string>;
}

function readPeers(ctx: Ctx, s: Stmt, acc: Acc): void {
  const block = plainBlock(ctx, s, WHERE);
  if (!block) return;
  const where = `${WHERE}/Peers`;
  for (const o of block) {
    const key = o.name.quoted ? '' : o.name.text;
    if (key !== 'IPv4_address' && key !== 'IPv6_address') {
      unknownOption(ctx, o, where, ['IPv4_address', 'IPv6_address']);
      continue;
    }
    const w = single(ctx, o, where);
    const ip = w ? checked(ctx, o, w, parseIp(w.text, key === 'IPv4_address' ? 4 : 6)) : undefined;
    if (!ip) continue;
    if (acc.peers.some((p) => p.address === ip.address)) {
      ctx.sink.error(posOf(o), `peer ${ip.address} listed twice in ${where}`);
      continue;
    }
    acc.peers.push({ ...ip, line: o.line });
  }
}

function readOne(ctx: Ctx, o: Stmt, acc: Acc, seen: Map<string, number>): void {
  const key = o.name.quoted ? '' : o.name.text;
  if (key !== 'Peers' && key !== 'ClusterInterface' && CLUSTER_KEYS.includes(key)) noteRepeat(ctx, seen, o, WHERE);
  const num = (min: number, max: number): void => {
    const v = uintOpt(ctx, o, WHERE, min, max);
    if (v !== undefined) acc.vals.set(key, v);
  };
  switch (key) {
    case 'NodeId': {
      const w = single(ctx, o, WHERE);
      const v = w ? checked(ctx, o, w, parseU32(w.text)) : undefined;
      if (v === 0 && w) ctx.sink.error(wordPos(o.file, w), "invalid value for 'NodeId': must not be 0");
      else if (v !== undefined) acc.nodeId = v;
      return;
    }
    case 'IPv4_address':
    case 'IPv6_address': {
      const w = single(ctx, o, WHERE);
      const ip = w ? checked(ctx, o, w, parseIp(w.text, key === 'IPv4_address' ? 4 : 6)) : undefined;
      if (ip) acc.address = ip;
      return;
    }
    case 'Peers':
      return readPeers(ctx, o, acc);
    case 'ClusterInterface': {
      const w = single(ctx, o, WHERE);
      const name = w ? checked(ctx, o, w, parseIfName(w.text)) : undefined;
      if (w && name !== undefined && !NFT_IFNAME.test(name)) {
        ctx.sink.error(wordPos(o.file, w), `invalid value for 'ClusterInterface': '${name}' has characters nft rules cannot carry`);
      } else if (name !== undefined && !acc.interfaces.includes(name)) acc.interfaces.push(name);
      return;
    }
    case 'Port':
      return num(1, 65535);
    case 'Buckets':
      return num(1, 32);
    case 'HeartbeatInterval':
      return num(10, 60_000);
    case 'DeadAfter':
      return num(2, 100);
    case 'ListenIntervals':
      return num(1, 100);
    case 'InitialSyncWait':
      return num(0, 600_000);
    case 'DeferQueue':
      return num(0, 65535);
    case 'DeferTimeout':
      return num(1, 10_000);
    case 'HashSeed': {
      const w = single(ctx, o, WHERE);
      const v = w ? checked(ctx, o, w, parseU32(w.text)) : undefined;
      if (v !== undefined) acc.vals.set(key, v);
      return;
    }
    case 'HashIPv6':
    case 'MulticastMAC':
    case 'Defer': {
      const v = boolOpt(ctx, o, WHERE);
      if (v !== undefined) acc.vals.set(key, v);
      return;
    }
    case 'Table': {
      const w = single(ctx, o, WHERE);
      if (w && !/^[A-Za-z0-9_]{1,32}$/.test(w.text)) ctx.sink.error(wordPos(o.file, w), `invalid value for 'Table': expected 1..32 letters, digits or '_', got '${w.text}'`);
      else if (w) acc.vals.set(key, w.text);
      return;
    }
    default:
      unknownOption(ctx, o, WHERE, CLUSTER_KEYS);
  }
}

/** Read "Cluster { ... }"; undefined when it is unusable (errors given). */
export function readCluster(ctx: Ctx, s: Stmt): ClusterConfig | undefined {
  const block = plainBlock(ctx, s, 'the top level');
  if (!block) return undefined;
  const acc: Acc = { peers: [], interfaces: [], vals: new Map() };
  const seen = new Map<string, number>();
  const before = ctx.sink.items.filter((d) => d.severity === 'error').length;
  for (const o of block) readOne(ctx, o, acc, seen);
  const at = posOf(s);
  if (!acc.address) ctx.sink.error(at, "missing 'IPv4_address' (or 'IPv6_address') in Cluster: the heartbeat address");
  if (acc.peers.length === 0) ctx.sink.error(at, "missing 'Peers { IPv4_address ... }' in Cluster");
  if (acc.peers.length > CONNTRACKD_DEFAULTS.clusterMaxPeers) {
    ctx.sink.error(at, `too many peers in Cluster: ${acc.peers.length} (at most ${CONNTRACKD_DEFAULTS.clusterMaxPeers}, 8 nodes)`);
  }
  if (acc.interfaces.length === 0) ctx.sink.error(at, "missing 'ClusterInterface' in Cluster: name every cluster-facing interface");
  const addr = acc.address;
  if (addr) {
    for (const p of acc.peers) {
      if (p.family !== addr.family) ctx.sink.error({ file: s.file, line: p.line }, `peer ${p.address} is not of the heartbeat address's family (IPv${addr.family})`);
      if (p.address === addr.address) ctx.sink.error({ file: s.file, line: p.line }, `peer ${p.address} is this node's own address`);
    }
  }
  let nodeId = acc.nodeId;
  if (nodeId === undefined && addr && isIPv4(addr.address)) nodeId = ipv4ToU32(addr.address);
  if (nodeId === undefined && addr) ctx.sink.error(at, "missing 'NodeId' in Cluster (required with an IPv6 heartbeat address)");
  const errors = ctx.sink.items.filter((d) => d.severity === 'error').length;
  if (errors > before || !addr || nodeId === undefined) return undefined;
  const n = (k: string, d: number): number => {
    const v = acc.vals.get(k);
    return typeof v === 'number' ? v : d;
  };
  const b = (k: string): boolean => acc.vals.get(k) === true;
  const table = acc.vals.get('Table');
  if (!b('Defer') && (acc.vals.has('DeferQueue') || acc.vals.has('DeferTimeout'))) {
    ctx.sink.warning(at, "'DeferQueue'/'DeferTimeout' in Cluster have no effect without 'Defer on'");
  }
  const out: ClusterConfigWithDefer = {
    nodeId,
    family: addr.family,
    address: addr.address,
    peers: acc.peers.map((p) => p.address),
    port: n('Port', CONNTRACKD_DEFAULTS.clusterPort),
    buckets: n('Buckets', CONNTRACKD_DEFAULTS.clusterBuckets),
    hashSeed: n('HashSeed', CONNTRACKD_DEFAULTS.clusterHashSeed),
    interfaces: acc.interfaces,
    heartbeatInterval: n('HeartbeatInterval', CONNTRACKD_DEFAULTS.clusterHeartbeatInterval),
    deadAfter: n('DeadAfter', CONNTRACKD_DEFAULTS.clusterDeadAfter),
    listenIntervals: n('ListenIntervals', CONNTRACKD_DEFAULTS.clusterListenIntervals),
    ipv6: b('HashIPv6'),
    multicastMac: b('MulticastMAC'),
    table: typeof table === 'string' ? table : CONNTRACKD_DEFAULTS.clusterTable,
    initialSyncWaitMs: n('InitialSyncWait', CONNTRACKD_DEFAULTS.clusterInitialSyncWait),
    line: s.line,
  };
  if (b('Defer')) out.defer = { queue: n('DeferQueue', DEFER_DEFAULTS.queue), timeoutMs: n('DeferTimeout', DEFER_DEFAULTS.timeoutMs) };
  return out;
}

/**
 * Cross-section checks: a cluster takes over flows from the external cache,
 * so it needs a Sync section whose external cache is on. Only FT-FW (and
 * NOTRACK with StartupResync) bring a full resync at start: with the other
 * modes InitialSyncWait defaults to 0 (waiting would only delay the join).
 */
export function checkClusterSync(ctx: Ctx, stmt: Stmt, sync: SyncConfig | undefined, cluster: ClusterConfig | undefined): void {
  if (!sync) {
    ctx.sink.error(posOf(stmt), "'Cluster' needs a 'Sync' section: takeover commits the flows the peers replicated");
    return;
  }
  const m = sync.mode;
  if (m.mode !== 'alarm' && m.disableExternalCache) {
    ctx.sink.error(posOf(stmt), "'Cluster' needs the external cache: remove 'DisableExternalCache on' from Sync/Mode");
  }
  if (cluster && deferOf(cluster) && m.mode !== 'ftfw') {
    const w = stmt.block?.find((o) => !o.name.quoted && o.name.text === 'Defer');
    ctx.sink.warning(posOf(w ?? stmt), `'Defer on' in Cluster: Mode ${m.mode.toUpperCase()} has no acknowledgements; a held packet is released once its state is sent, not when the peers have it`);
  }
  const bulkOnStart = m.mode === 'ftfw' || (m.mode === 'notrack' && m.startupResync);
  if (bulkOnStart || !cluster) return;
  const written = stmt.block?.find((o) => !o.name.quoted && o.name.text === 'InitialSyncWait');
  if (!written) cluster.initialSyncWaitMs = 0;
  else if (cluster.initialSyncWaitMs > 0) {
    ctx.sink.warning(posOf(written), `'InitialSyncWait' in Cluster: Mode ${m.mode.toUpperCase()} brings no full resync at start${m.mode === 'notrack' ? " (set 'StartupResync on')" : ''}; the wait only delays the join`);
  }
}

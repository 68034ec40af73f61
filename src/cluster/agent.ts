/**
 * Standalone active-active agent: membership over UDP to the peers, nft
 * enforcement in the local namespace. Flow takeover is optional here: give
 * `takeover` (e.g. takeover.ts over the daemon's external cache) to commit
 * replicated flows before a bucket opens; without it, connections of a
 * failed node survive only if their entries reach the new owner some other
 * way (see docs/active-active.md).
 *
 *   ctsync-cluster --id 1 --bind 203.0.113.1 --peers 203.0.113.2,203.0.113.3 \
 *                  --interfaces lan,wan [--port 3781] [--buckets 32] [--seed 0x5eed]
 *                  [--interval 200] [--dead-after 3] [--listen 3] [--ipv6] [--multicast-mac]
 */
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { createClusterNode, type ClusterNode } from './driver';
import { createClusterRules, nftRunner, type NftRunner } from './kernel';
import { textToBytes } from './hash';
import { MAX_BUCKETS, MAX_NODES } from './ranges';
import { UdpPeersTransport } from './udp-peers';

export interface AgentOptions {
  id: number;
  bind: string;
  peers: string[];
  port: number;
  buckets: number;
  seed: number;
  interfaces: string[];
  intervalMs: number;
  deadAfter: number;
  listenIntervals: number;
  ipv6: boolean;
  multicastMac: boolean;
}

export type ParseResult = { ok: true; value: AgentOptions } | { ok: false; error: string };

const num = (v: string | undefined): number => (v === undefined ? NaN : Number(v));

/** Parse agent flags; --id defaults to the IPv4 bind address as a u32 (the seed paper's NodeID). */
export function parseAgentArgs(argv: string[]): ParseResult {
  const m = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--ipv6' || a === '--multicast-mac') flags.add(a);
    else if (a.startsWith('--') && i + 1 < argv.length) m.set(a, argv[++i] ?? '');
    else return { ok: false, error: `unexpected argument ${a}` };
  }
  const bind = m.get('--bind');
  if (!bind || !textToBytes(bind)) return { ok: false, error: '--bind ADDRESS is required' };
  const peers = (m.get('--peers') ?? '').split(',').filter(Boolean);
  if (peers.length === 0 || peers.length > MAX_NODES - 1 || peers.some((p) => !textToBytes(p))) {
    return { ok: false, error: `--peers: 1..${MAX_NODES - 1} addresses` };
  }
  const bindBytes = textToBytes(bind);
  const id = m.has('--id') ? num(m.get('--id')) : bindBytes && bindBytes.length === 4 ? bindBytes.readUInt32BE(0) : NaN;
  const o: AgentOptions = {
    id,
    bind,
    peers,
    port: m.has('--port') ? num(m.get('--port')) : 3781,
    buckets: m.has('--buckets') ? num(m.get('--buckets')) : MAX_BUCKETS,
    seed: m.has('--seed') ? num(m.get('--seed')) : 0x5eed,
    interfaces: (m.get('--interfaces') ?? '').split(',').filter(Boolean),
    intervalMs: m.has('--interval') ? num(m.get('--interval')) : 200,
    deadAfter: m.has('--dead-after') ? num(m.get('--dead-after')) : 3,
    listenIntervals: m.has('--listen') ? num(m.get('--listen')) : 3,
    ipv6: flags.has('--ipv6'),
    multicastMac: flags.has('--multicast-mac'),
  };
  const int = (v: number, lo: number, hi: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;
  if (!int(o.id, 1, 0xffffffff)) return { ok: false, error: '--id: 1..4294967295' };
  if (!int(o.port, 1, 65535)) return { ok: false, error: '--port: 1..65535' };
  if (!int(o.buckets, 1, MAX_BUCKETS)) return { ok: false, error: `--buckets: 1..${MAX_BUCKETS}` };
  if (!int(o.seed, 0, 0xffffffff)) return { ok: false, error: '--seed: u32' };
  if (o.interfaces.length === 0) return { ok: false, error: '--interfaces IF[,IF...] is required' };
  if (!int(o.intervalMs, 10, 60_000)) return { ok: false, error: '--interval: 10..60000 ms' };
  if (!int(o.deadAfter, 2, 100)) return { ok: false, error: '--dead-after: 2..100 intervals' };
  if (!int(o.listenIntervals, 1, 100)) return { ok: false, error: '--listen: 1..100 intervals' };
  return { ok: true, value: o };
}

export interface AgentDeps {
  clock: Clock;
  logger: Logger;
  /** Default: `nft -f -` in the current namespace. */
  nft?: NftRunner;
  takeover?: (buckets: number) => Promise<void>;
}

export interface Agent {
  node: ClusterNode;
  transport: UdpPeersTransport;
  /** Hand the buckets over, then close (rules stay, with no bucket: this node forwards nothing). */
  shutdown(timeoutMs?: number): Promise<boolean>;
}

export async function startAgent(o: AgentOptions, d: AgentDeps): Promise<Agent> {
  const transport = new UdpPeersTransport({ family: o.bind.includes(':') ? 6 : 4, bindAddress: o.bind, port: o.port, peers: o.peers });
  const rules = createClusterRules(
    { buckets: o.buckets, seed: o.seed, interfaces: o.interfaces, ipv6: o.ipv6, multicastMac: o.multicastMac },
    d.nft ?? nftRunner(),
  );
  const node = createClusterNode({
    config: { self: o.id, buckets: o.buckets, seed: o.seed, intervalMs: o.intervalMs, deadAfter: o.deadAfter, listenIntervals: o.listenIntervals },
    transport,
    clock: d.clock,
    logger: d.logger,
    applyMask: (mask) => rules.apply(mask),
    takeover: d.takeover,
  });
  await node.start();
  return {
    node,
    transport,
    async shutdown(timeoutMs = 5000) {
      const ok = await node.leave(timeoutMs);
      node.stop();
      await node.idle();
      await rules.apply(0).catch(() => undefined);
      await transport.close();
      return ok;
    },
  };
}

/**
 * Kernel enforcement: an nftables table that lets a node forward (and
 * answer) only the flows of its buckets, applied with `nft -f -`.
 *
 *   table ip ctsync_cluster {
 *     chain prerouting {
 *       type filter hook prerouting priority -150; policy accept;
 *       iifname != { "lan0", "wan0" } accept
 *       jhash ct original ip saddr mod 32 seed 0x5eed { 0, 1, 2 } accept
 *       drop
 *     }
 *   }
 *
 * `jhash ct original ip saddr mod N seed S` is the expression iptables-nft
 * itself uses for `-m cluster --cluster-total-nodes N --cluster-hash-seed S`
 * (xt_cluster), and the same function as src/cluster/hash.ts. Priority -150
 * (mangle) runs after conntrack (-200), so the entry exists; a packet of a
 * flow not ours is dropped before its entry is confirmed, so the entry
 * never enters this node's table. Packets without an entry (invalid) are
 * dropped too: no node forwards what it cannot track.
 *
 * With deferral on (src/cluster/deferral.ts) the table gets a second chain
 * that sends the first packet of every new flow arriving on a cluster
 * interface to an nfnetlink queue, after the forward filter (priority 100,
 * so packets the policy drops are never queued):
 *
 *     chain defer {
 *       type filter hook forward priority 100; policy accept;
 *       iifname { "lan0", "wan0" } ct state new queue num 4242 bypass
 *     }
 *
 * `bypass` (NF_QUEUE_NR(n) | NF_VERDICT_FLAG_QUEUE_BYPASS): with no process
 * bound to the queue the packet is accepted, so traffic flows when the
 * daemon is gone.
 *
 * The family is spelled out (`ct original ip saddr`): nft 1.0.6 accepts the
 * bare `ct original saddr` but then aborts when it lists the ruleset.
 *
 * Every update replaces the whole table in one nft transaction (atomic).
 */
import { execFile } from 'node:child_process';
import { fullMask, toList } from './ranges';

export interface ClusterRuleOptions {
  buckets: number;
  seed: number;
  /** Interfaces that carry cluster traffic (the shared MAC/IP legs). */
  interfaces: string[];
  /** Table name; default ctsync_cluster. */
  table?: string;
  /** Also an ip6 table (IPv6 hashes the 16-byte source like xt_cluster). */
  ipv6?: boolean;
  /**
   * The cluster MAC is a multicast MAC (xt_cluster's recommended setup):
   * unicast-IP packets arrive as PACKET_MULTICAST and must be turned into
   * PACKET_HOST, or IP drops them instead of forwarding.
   */
  multicastMac?: boolean;
  /** Deferral: queue the first packet of new forwarded flows to this nfnetlink queue (0..65535). */
  deferQueue?: number;
}

/** Priority of the deferral chain in the forward hook: after the usual filter (0). */
export const DEFER_PRIORITY = 100;

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

function chain(o: ClusterRuleOptions, mask: number, v6: boolean): string {
  const ifs = o.interfaces.map((i) => `"${i}"`).join(', ');
  const lines = [
    '  chain prerouting {',
    '    type filter hook prerouting priority -150; policy accept;',
    `    iifname != { ${ifs} } accept`,
  ];
  if (v6) lines.push('    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept');
  if (o.multicastMac) {
    lines.push(v6 ? '    ip6 daddr != ff00::/8 meta pkttype multicast meta pkttype set host' : '    ip daddr != 224.0.0.0/4 meta pkttype multicast meta pkttype set host');
  }
  const list = toList(mask & fullMask(o.buckets));
  if (list.length > 0) {
    lines.push(`    jhash ct original ${v6 ? 'ip6' : 'ip'} saddr mod ${o.buckets} seed 0x${(o.seed >>> 0).toString(16)} { ${list.join(', ')} } accept`);
  }
  lines.push('    drop', '  }');
  if (o.deferQueue !== undefined) {
    lines.push(
      '  chain defer {',
      `    type filter hook forward priority ${DEFER_PRIORITY}; policy accept;`,
      `    iifname { ${ifs} } ct state new queue num ${o.deferQueue} bypass`,
      '  }',
    );
  }
  return lines.join('\n');
}

/** The nft script that makes this node forward exactly the buckets of `mask`. */
export function clusterRuleset(o: ClusterRuleOptions, mask: number): string {
  if (o.buckets < 1 || o.buckets > 32) throw new RangeError(`buckets ${o.buckets}: 1..32`);
  if (o.interfaces.length === 0 || o.interfaces.some((i) => !IFNAME.test(i))) throw new RangeError('bad interface list');
  const t = o.table ?? 'ctsync_cluster';
  if (!/^[A-Za-z0-9_]{1,32}$/.test(t)) throw new RangeError(`bad table name ${t}`);
  const q = o.deferQueue;
  if (q !== undefined && (!Number.isInteger(q) || q < 0 || q > 0xffff)) throw new RangeError(`bad queue number ${q}`);
  const out: string[] = [];
  const fams: Array<['ip' | 'ip6', boolean]> = [['ip', false]];
  if (o.ipv6) fams.push(['ip6', true]);
  for (const [fam, v6] of fams) {
    // Declare-then-delete makes the script work whether or not the table exists.
    out.push(`table ${fam} ${t}`, `delete table ${fam} ${t}`, `table ${fam} ${t} {`, chain(o, mask, v6), '}');
  }
  return out.join('\n') + '\n';
}

/** Script that removes the cluster tables. */
export function clusterRulesetRemove(o: Pick<ClusterRuleOptions, 'table' | 'ipv6'>): string {
  const t = o.table ?? 'ctsync_cluster';
  const fams = o.ipv6 ? ['ip', 'ip6'] : ['ip'];
  return fams.map((f) => `table ${f} ${t}\ndelete table ${f} ${t}\n`).join('');
}

/** Runs an nft script; rejects with nft's message on failure. */
export type NftRunner = (script: string) => Promise<void>;

/** `nft -f -`, inside namespace `netns` (ip netns exec) when given. */
export function nftRunner(netns?: string, nft = 'nft'): NftRunner {
  return (script) =>
    new Promise((resolve, reject) => {
      const [cmd, args] = netns ? ['ip', ['netns', 'exec', netns, nft, '-f', '-']] : [nft, ['-f', '-']];
      const child = execFile(cmd, args, { timeout: 10_000 }, (err, _out, stderr) => {
        if (err) reject(new Error(`nft failed: ${String(stderr).trim() || err.message}`));
        else resolve();
      });
      child.stdin?.end(script);
    });
}

export interface ClusterRules {
  /** Forward exactly `mask`; a no-op when it is already applied. */
  apply(mask: number): Promise<void>;
  /**
   * Deferral chain on (queue number) or off (null); re-applies the current
   * mask at once when one is in force, else takes effect with the next apply().
   */
  setDefer(queue: number | null): Promise<void>;
  remove(): Promise<void>;
  /** Mask in force (null before the first apply). */
  readonly current: number | null;
}

export function createClusterRules(o: ClusterRuleOptions, run: NftRunner): ClusterRules {
  let current: number | null = null;
  let defer = o.deferQueue;
  const opts = (): ClusterRuleOptions => {
    const { deferQueue: _omit, ...rest } = o;
    return defer === undefined ? rest : { ...rest, deferQueue: defer };
  };
  return {
    async apply(mask) {
      const m = (mask & fullMask(o.buckets)) >>> 0;
      if (current === m) return;
      await run(clusterRuleset(opts(), m));
      current = m;
    },
    async setDefer(queue) {
      const next = queue ?? undefined;
      if (next === defer) return;
      const before = defer;
      defer = next;
      if (current === null) return;
      try {
        await run(clusterRuleset(opts(), current));
      } catch (e) {
        defer = before;
        throw e;
      }
    },
    async remove() {
      await run(clusterRulesetRemove(o));
      current = null;
    },
    get current() {
      return current;
    },
  };
}

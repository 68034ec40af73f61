/**
 * nftables ruleset for a stateful firewall node: drop by default, accept
 * established/related, drop invalid, accept the sync link from the peers
 * and VRRP (IP protocol 112, RFC 5798 section 5.1.1.4; group 224.0.0.18 /
 * ff02::12, section 5.1.1.2 / 5.1.2.2) on the LAN and WAN sides, forward new
 * flows from LAN to WAN. Owns one table (inet ctsync_fw) and replaces it
 * atomically when loaded with `nft -f`.
 */
import { LIVENESS_DEFAULT_PORT } from '../ha/liveness';
import type { InitContext } from './types';

const VRRP_PROTO = 112;

function ipMatch(address: string): string {
  return address.includes(':') ? `ip6 saddr ${address}` : `ip saddr ${address}`;
}

function syncRules(ctx: InitContext): string[] {
  const { node, peers, cluster } = ctx;
  const port = cluster.sync.port;
  const l4 = cluster.sync.transport === 'tcp' ? 'tcp' : 'udp';
  const rules = peers.map((p) => `\t\tiifname "${node.syncInterface}" ${ipMatch(p.syncAddress)} ${l4} dport ${port} accept`);
  // Fast failover's liveness probes (UDP, conntrackd.conf Sync/FastFailover).
  if (cluster.sync.fastFailoverMs !== undefined) {
    for (const p of peers) rules.push(`\t\tiifname "${node.syncInterface}" ${ipMatch(p.syncAddress)} udp dport ${LIVENESS_DEFAULT_PORT} accept`);
  }
  if (cluster.sync.transport === 'multicast') {
    rules.push(`\t\tiifname "${node.syncInterface}" ip daddr ${cluster.sync.multicastGroup ?? '225.0.0.50'} udp dport ${port} accept`);
  }
  return rules;
}

export function renderNftRuleset(ctx: InitContext): string {
  const { node, cluster } = ctx;
  const vrrpIfs = [...new Set([node.lanInterface, node.wanInterface])].map((i) => `"${i}"`).join(', ');
  const v6 = [...cluster.vips.lan, ...cluster.vips.wan].some((v) => v.family === 6);
  return [
    '#!/usr/sbin/nft -f',
    `# Stateful firewall for node ${node.name} of cluster ${cluster.name}; written by \`ctsyncd init\`.`,
    '# Load with: nft -f nftables.conf  (replaces table inet ctsync_fw only)',
    'table inet ctsync_fw',
    'delete table inet ctsync_fw',
    '',
    'table inet ctsync_fw {',
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    '\t\tct state established,related accept',
    '\t\tct state invalid drop',
    '\t\tiif "lo" accept',
    '\t\t# state replication (ctsyncd / conntrackd)',
    ...syncRules(ctx),
    '\t\t# VRRP adverts',
    `\t\tiifname { ${vrrpIfs} } ip daddr 224.0.0.18 ip protocol ${VRRP_PROTO} accept`,
    ...(v6 ? [`\t\tiifname { ${vrrpIfs} } ip6 daddr ff02::12 ip6 nexthdr ${VRRP_PROTO} accept`] : []),
    '\t\t# neighbour discovery and ping',
    '\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept',
    '\t\ticmp type echo-request limit rate 10/second accept',
    '\t\ticmpv6 type echo-request limit rate 10/second accept',
    '\t}',
    '',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy drop;',
    '\t\tct state established,related accept',
    '\t\tct state invalid counter drop',
    `\t\tiifname "${node.lanInterface}" oifname "${node.wanInterface}" ct state new accept`,
    '\t}',
    '',
    '\tchain output {',
    '\t\ttype filter hook output priority filter; policy accept;',
    '\t}',
    '}',
    '',
  ].join('\n');
}

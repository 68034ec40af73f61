/**
 * Sync configuration for one node, in conntrackd.conf syntax (one statement
 * per line, tabs), read back by src/config/conntrackd.ts. Unicast (UDP/TCP)
 * needs exactly one peer; three or more nodes need multicast.
 */
import { LIVENESS_DEFAULT_PORT as FAST_FAILOVER_PORT } from '../ha/liveness';
import type { InitContext } from './types';

export type Rendered = { ok: true; text: string } | { ok: false; error: string };

const BUFFER = 1249280; // conntrackd's example socket buffer size

function ipKey(family: 4 | 6, what: 'address' | 'Destination_Address' | 'interface'): string {
  return `IPv${family}_${what}`;
}

function family(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function modeBlock(ctx: InitContext): string[] {
  switch (ctx.cluster.sync.mode) {
    case 'ftfw':
      return ['\tMode FTFW {', '\t\tResendQueueSize 131072', '\t\tPurgeTimeout 60', '\t\tACKWindowSize 300', '\t\tDisableExternalCache Off', '\t}'];
    case 'alarm':
      return ['\tMode ALARM {', '\t\tRefreshTime 15', '\t\tCacheTimeout 180', '\t\tPurgeTimeout 60', '\t}'];
    case 'notrack':
      return ['\tMode NOTRACK {', '\t\tPurgeTimeout 60', '\t\tDisableExternalCache Off', '\t}'];
  }
}

function linkBlock(ctx: InitContext): Rendered {
  const { node, peers, cluster } = ctx;
  const fam = family(node.syncAddress);
  if (cluster.sync.transport === 'multicast') {
    if (fam !== 4) return { ok: false, error: 'multicast sync needs an IPv4 sync_address' };
    return {
      ok: true,
      text: [
        '\tMulticast {',
        `\t\tIPv4_address ${cluster.sync.multicastGroup ?? '225.0.0.50'}`,
        `\t\tGroup ${cluster.sync.port}`,
        `\t\tIPv4_interface ${node.syncAddress}`,
        `\t\tInterface ${node.syncInterface}`,
        `\t\tSndSocketBuffer ${BUFFER}`,
        `\t\tRcvSocketBuffer ${BUFFER}`,
        '\t\tChecksum on',
        '\t}',
      ].join('\n'),
    };
  }
  const peer = peers[0];
  if (peers.length !== 1 || !peer) {
    return { ok: false, error: `${cluster.sync.transport} sync links two nodes; this cluster has ${peers.length + 1} (use sync_transport = multicast)` };
  }
  if (family(peer.syncAddress) !== fam) return { ok: false, error: `sync addresses of ${node.name} and ${peer.name} are of different families` };
  const block = cluster.sync.transport === 'tcp' ? 'TCP' : 'UDP';
  return {
    ok: true,
    text: [
      `\t${block} {`,
      `\t\t${ipKey(fam, 'address')} ${node.syncAddress}`,
      `\t\t${ipKey(fam, 'Destination_Address')} ${peer.syncAddress}`,
      `\t\tPort ${cluster.sync.port}`,
      `\t\tInterface ${node.syncInterface}`,
      `\t\tSndSocketBuffer ${BUFFER}`,
      `\t\tRcvSocketBuffer ${BUFFER}`,
      '\t\tChecksum on',
      '\t}',
    ].join('\n'),
  };
}

/**
 * ctsync extension (docs/auth.md): every sync datagram sealed with HMAC-SHA256
 * under the shared key; all nodes need the same key file.
 */
function authBlock(ctx: InitContext): string[] {
  if (ctx.keyFile === undefined) return [];
  return ['\tAuth {', `\t\tKeyFile ${ctx.keyFile}`, '\t}'];
}

/** ctsync extension (docs/ha.md): liveness probes for the embedded VRRP's fast failover. */
function fastFailoverBlock(ctx: InitContext): string[] {
  const ms = ctx.cluster.sync.fastFailoverMs;
  if (ms === undefined) return [];
  return ['\tFastFailover {', `\t\tInterval ${ms}`, '\t\tMisses 5', `\t\tPort ${FAST_FAILOVER_PORT}`, '\t}'];
}

/** Addresses whose flows are the firewall's own: loopback, VIPs, sync addresses. */
function ignoredAddresses(ctx: InitContext): string[] {
  const out = ['\t\t\tIPv4_address 127.0.0.1', '\t\t\tIPv6_address ::1'];
  const seen = new Set<string>(['127.0.0.1', '::1']);
  const add = (fam: 4 | 6, a: string): void => {
    if (seen.has(a)) return;
    seen.add(a);
    out.push(`\t\t\tIPv${fam}_address ${a}`);
  };
  for (const v of [...ctx.cluster.vips.lan, ...ctx.cluster.vips.wan]) add(v.family, v.address);
  for (const n of [ctx.node, ...ctx.peers]) add(family(n.syncAddress), n.syncAddress);
  return out;
}

export function renderConntrackdConf(ctx: InitContext): Rendered {
  const link = linkBlock(ctx);
  if (!link.ok) return link;
  const lines = [
    `# ctsyncd sync configuration for node ${ctx.node.name} of cluster ${ctx.cluster.name}.`,
    '# Written by `ctsyncd init`; conntrackd.conf syntax (conntrackd 1.4.7 reads it too, except the',
    '# ctsync extensions ControlGroup, Sync/Auth and Sync/FastFailover).',
    'Sync {',
    ...modeBlock(ctx),
    ...authBlock(ctx),
    ...fastFailoverBlock(ctx),
    link.text,
    '}',
    '',
    'General {',
    '\tHashLimit 262144',
    `\tLockFile ${ctx.paths.lockFile}`,
    '\tUNIX {',
    `\t\tPath ${ctx.paths.controlSocket}`,
    '\t}',
    ...(ctx.group ? [`\tControlGroup ${ctx.group}`] : []),
    '\tNetlinkBufferSize 2097152',
    '\tNetlinkBufferSizeMaxGrowth 8388608',
    '\tNetlinkOverrunResync On',
    '\tFilter From Userspace {',
    '\t\tProtocol Accept {',
    '\t\t\tTCP',
    '\t\t\tSCTP',
    '\t\t\tDCCP',
    '\t\t\tUDP',
    '\t\t\tICMP',
    '\t\t\tIPv6-ICMP',
    '\t\t}',
    '\t\tAddress Ignore {',
    ...ignoredAddresses(ctx),
    '\t\t}',
    '\t}',
    '}',
    '',
  ];
  return { ok: true, text: lines.join('\n') };
}

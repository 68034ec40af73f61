/**
 * Typed model of conntrackd.conf (conntrack-tools 1.4 syntax, see conntrackd.conf(5)).
 * Every field has its default applied; defaults are conntrackd's own
 * (src/read_config_yy.y init_config() and the manual page).
 */
import { Cidr, IpAddr } from './values';
import { Diagnostic } from './diagnostics';

export type SyncModeName = 'ftfw' | 'alarm' | 'notrack';

export interface FtfwModeConfig {
  mode: 'ftfw';
  /** Objects waiting for acknowledgement. Default 131072. */
  resendQueueSize: number;
  /** Seconds; undefined = approximate per-entry timeout (conntrackd default: not set). */
  commitTimeout?: number;
  /** Seconds before the flush scheduled by `-t`. Default 60. */
  purgeTimeout: number;
  /** Acknowledgement window. Default 300. */
  ackWindowSize: number;
  /** Default false. */
  disableExternalCache: boolean;
  /** Request a full resync from the peer at startup. Default false. */
  startupResync: boolean;
}

export interface AlarmModeConfig {
  mode: 'alarm';
  /** Seconds between refreshes of an unchanged entry. Default 60. */
  refreshTime: number;
  /** Seconds an external entry lives without news. Default 180. */
  cacheTimeout: number;
  commitTimeout?: number;
  purgeTimeout: number;
}

export interface NotrackModeConfig {
  mode: 'notrack';
  /** Default false. */
  disableInternalCache: boolean;
  /** Default false. */
  disableExternalCache: boolean;
  commitTimeout?: number;
  purgeTimeout: number;
  startupResync: boolean;
}

export type SyncModeConfig = FtfwModeConfig | AlarmModeConfig | NotrackModeConfig;

interface LinkCommon {
  /** Written as "Multicast Default {" etc.: the initially active link. */
  isDefault: boolean;
  interface?: string;
  /** Bytes; undefined = kernel default (net.core.wmem_default). */
  sndSocketBuffer?: number;
  /** Bytes; undefined = kernel default (net.core.rmem_default). */
  rcvSocketBuffer?: number;
  /** Message checksums. Default on. */
  checksum: boolean;
  /** Line of the block, for later diagnostics. */
  line: number;
}

export interface MulticastLink extends LinkCommon {
  kind: 'multicast';
  family: 4 | 6;
  /** Multicast group address (destination). */
  group: string;
  /** UDP port ("Group" keyword). */
  port: number;
  /** IPv4 address of the sending interface (IPv4_interface). */
  interfaceAddress?: string;
}

export interface UnicastLink extends LinkCommon {
  kind: 'udp' | 'tcp';
  family: 4 | 6;
  /** Local address to bind; undefined = any. */
  address?: string;
  /** The peer's address. */
  destination: string;
  port: number;
  /** TCP only: channel error queue length. Default 128. */
  errorQueueLength: number;
}

export type LinkConfig = MulticastLink | UnicastLink;

/** ctsync extension: Sync { Auth { KeyFile PATH  PreviousKeyFile PATH  Encrypt on } }. */
export interface AuthConfig {
  keyFile: string;
  previousKeyFile?: string;
  /** Default false (authenticate only). */
  encrypt: boolean;
}

/**
 * ctsync extension: Sync { FastFailover { Interval MS  Misses N  Port P } }.
 * Liveness probes between the two nodes over the sync link, used by the
 * embedded VRRP to take over before the master down interval (docs/ha.md).
 */
export interface FastFailoverConfig {
  /** ms between probes; default 20. */
  intervalMs: number;
  /** Probes missed before the peer counts as silent; default 5. */
  misses: number;
  /** UDP port; default 3782. */
  port: number;
  line: number;
}

export interface SyncConfig {
  mode: SyncModeConfig;
  /** 1 to 4 dedicated links, all of the same kind. */
  links: LinkConfig[];
  /** Index into `links` of the initially active link (the one marked Default, else 0). */
  defaultLink: number;
  /** Default false. */
  tcpWindowTracking: boolean;
  /** false = off (default), 'all' = "ExpectationSync on", or the helper names listed. */
  expectationSync: false | 'all' | string[];
  auth?: AuthConfig;
  fastFailover?: FastFailoverConfig;
}

export type FilterPolicy = 'accept' | 'ignore';

/** TCP conntrack states, values of enum tcp_conntrack (linux/netfilter/nf_conntrack_tcp.h). */
export const TCP_STATES = {
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  /** conntrack-tools' name for TCP_CONNTRACK_SYN_SENT2 (9). */
  LISTEN: 9,
} as const;
export type TcpStateName = keyof typeof TCP_STATES;

export interface FilterConfig {
  /** "Filter From Kernelspace" asks for kernel-side filtering. Default userspace. */
  from: 'userspace' | 'kernelspace';
  protocol?: { policy: FilterPolicy; protocols: { name: string; number: number }[] };
  address?: { policy: FilterPolicy; addresses: Cidr[] };
  state?: { policy: FilterPolicy; tcpStates: TcpStateName[] };
}

export interface GeneralConfig {
  /** Default false (conntrackd: on only when built with systemd). */
  systemd: boolean;
  /** Default 65536. Accepted, but ctsync's cache sizes itself. */
  hashSize: number;
  /** Maximum cached entries. Default 262144. */
  hashLimit: number;
  /** null = off (default); "on" = /var/log/conntrackd.log. */
  logFile: string | null;
  /** null = off (default); "on" = 'daemon'. */
  syslog: string | null;
  /** Default /var/lock/conntrack.lock. */
  lockFile: string;
  /** Control socket. Default /var/run/conntrackd.ctl. */
  unixPath: string;
  /** Bytes; undefined = net.core.rmem_default. */
  netlinkBufferSize?: number;
  /** Bytes; undefined = no growth limit set. */
  netlinkBufferSizeMaxGrowth?: number;
  /** Seconds before resync after a netlink overrun; false = off. Default 30. */
  netlinkOverrunResync: number | false;
  /** Default false. */
  netlinkEventsReliable: boolean;
  /** Polling mode period in seconds; undefined = event-driven (default). */
  pollSecs?: number;
  /** Default 100. */
  eventIterationLimit: number;
  /** Default { type: 'rr', priority: 99 } per conntrackd.conf(5). */
  scheduler: { type: 'rr' | 'fifo'; priority: number };
  filter?: FilterConfig;
  /** ctsync extension: group allowed to use the control socket. */
  controlGroup?: string;
}

export interface StatsConfig {
  /** null = off (default); "on" = /var/log/conntrackd-stats.log. */
  logFile: string | null;
  syslog: string | null;
  netlinkEventsReliable: boolean;
}

/**
 * ctsync extension: "Cluster { ... }", an active-active cluster (see
 * docs/active-active.md). Read by conntrackd-cluster.ts.
 */
export interface ClusterConfig {
  /** Non-zero u32, unique in the cluster. Default: the IPv4 heartbeat address as a u32. */
  nodeId: number;
  family: 4 | 6;
  /** Local address heartbeats are sent from and received on (IPv4_address / IPv6_address). */
  address: string;
  /** The other nodes' heartbeat addresses (Peers { IPv4_address ... }), 1..7. */
  peers: string[];
  /** UDP port of the heartbeats. Default 3781. */
  port: number;
  /** Bucket count N, 1..32, the same on every node. Default 32. */
  buckets: number;
  /** jhash seed, u32, the same on every node. Default 0x5eed. */
  hashSeed: number;
  /** Interfaces that carry cluster traffic (the shared IP/MAC legs), ClusterInterface lines. */
  interfaces: string[];
  /** Heartbeat interval, ms. Default 200. */
  heartbeatInterval: number;
  /** A peer silent for this many intervals is dead. Default 3. */
  deadAfter: number;
  /** Intervals a starting node listens before it claims buckets. Default 3. */
  listenIntervals: number;
  /** Also an ip6 rule table (HashIPv6 on). Default off. */
  ipv6: boolean;
  /** The cluster MAC is a multicast MAC (MulticastMAC on). Default off. */
  multicastMac: boolean;
  /** nftables table name. Default ctsync_cluster. */
  table: string;
  /**
   * ms a starting node waits for the first full resync (FT-FW bulk) from
   * every peer before it joins, so takeovers commit from a complete external
   * cache (InitialSyncWait). Default 3000; 0 = do not wait.
   */
  initialSyncWaitMs: number;
  /** Defer on: hold a new flow's first packet until the peers acknowledge its state (src/cluster/deferral.ts). */
  defer?: { queue: number; timeoutMs: number };
  /** Line of the Cluster block, for later diagnostics. */
  line: number;
}

export interface ConntrackdConfig {
  general: GeneralConfig;
  /** Absent when the file has no Sync section (e.g. a Stats-only file). */
  sync?: SyncConfig;
  stats?: StatsConfig;
  /** ctsync extension: active-active cluster; absent without a Cluster section. */
  cluster?: ClusterConfig;
}

export interface ConntrackdParseResult {
  config: ConntrackdConfig;
  diagnostics: Diagnostic[];
}

export const CONNTRACKD_DEFAULTS = {
  hashSize: 65536,
  hashLimit: 262144,
  logFile: '/var/log/conntrackd.log',
  statsLogFile: '/var/log/conntrackd-stats.log',
  syslogFacility: 'daemon',
  lockFile: '/var/lock/conntrack.lock',
  unixPath: '/var/run/conntrackd.ctl',
  netlinkOverrunResync: 30,
  eventIterationLimit: 100,
  schedulerPriority: 99,
  resendQueueSize: 131072,
  ackWindowSize: 300,
  purgeTimeout: 60,
  refreshTime: 60,
  cacheTimeout: 180,
  tcpErrorQueueLength: 128,
  maxLinks: 4,
  clusterPort: 3781,
  clusterBuckets: 32,
  clusterHashSeed: 0x5eed,
  clusterHeartbeatInterval: 200,
  clusterDeadAfter: 3,
  clusterListenIntervals: 3,
  clusterTable: 'ctsync_cluster',
  clusterMaxPeers: 7,
  clusterInitialSyncWait: 3000,
} as const;

export function defaultGeneral(): GeneralConfig {
  return {
    systemd: false,
    hashSize: CONNTRACKD_DEFAULTS.hashSize,
    hashLimit: CONNTRACKD_DEFAULTS.hashLimit,
    logFile: null,
    syslog: null,
    lockFile: CONNTRACKD_DEFAULTS.lockFile,
    unixPath: CONNTRACKD_DEFAULTS.unixPath,
    netlinkOverrunResync: CONNTRACKD_DEFAULTS.netlinkOverrunResync,
    netlinkEventsReliable: false,
    eventIterationLimit: CONNTRACKD_DEFAULTS.eventIterationLimit,
    scheduler: { type: 'rr', priority: CONNTRACKD_DEFAULTS.schedulerPriority },
  };
}

export type { Cidr, IpAddr };

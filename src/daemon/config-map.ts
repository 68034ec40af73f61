/**
 * Maps the parsed conntrackd.conf model onto the options of each layer:
 * transport specs, the flow filter, the sync mode and the engine.
 * Pure functions; no I/O.
 */
import type { FilterSpec } from '../cache/filter';
import type { Cidr, ConntrackdConfig, LinkConfig, SyncConfig } from '../config/conntrackd-types';
import type { SyncEngineOptions } from '../sync/engine';
import type { TransportSpec } from '../transport/registry';
import type { CreateOptions } from '../netlink/ct/create';

/** Transport specs in preference order: the Default link first. */
export function transportSpecs(sync: SyncConfig): TransportSpec[] {
  const order = sync.links.map((_, i) => i);
  const d = sync.defaultLink;
  if (d > 0 && d < order.length) {
    order.splice(d, 1);
    order.unshift(d);
  }
  return order.map((i) => linkSpec(sync.links[i] as LinkConfig));
}

function linkSpec(l: LinkConfig): TransportSpec {
  const common = {
    interface: l.interface,
    sndBuf: l.sndSocketBuffer,
    rcvBuf: l.rcvSocketBuffer,
    checksum: l.checksum,
  };
  if (l.kind === 'multicast') {
    return {
      kind: 'Multicast',
      options: {
        ...common,
        group: l.port,
        ...(l.family === 4
          ? { ipv4Address: l.group, ipv4Interface: l.interfaceAddress }
          : { ipv6Address: l.group }),
      },
    };
  }
  const addr =
    l.family === 4
      ? { ipv4Address: l.address, ipv4Destination: l.destination }
      : { ipv6Address: l.address, ipv6Destination: l.destination };
  const options = { ...common, ...addr, port: l.port };
  return l.kind === 'tcp' ? { kind: 'TCP', options } : { kind: 'UDP', options };
}

/** The firewall's own sync-link addresses, always ignored by the filter. */
export function ownAddresses(sync: SyncConfig | undefined): string[] {
  const out: string[] = [];
  for (const l of sync?.links ?? []) {
    if (l.kind === 'multicast') {
      if (l.interfaceAddress) out.push(l.interfaceAddress);
    } else if (l.address) {
      out.push(l.address);
    }
  }
  return out;
}

export function filterSpec(cfg: ConntrackdConfig): FilterSpec {
  const f = cfg.general.filter;
  const spec: FilterSpec = { ignoreOwn: ownAddresses(cfg.sync) };
  if (f?.protocol) spec.protocol = { logic: f.protocol.policy, protocols: f.protocol.protocols.map((p) => p.number) };
  if (f?.address) {
    spec.address = {
      logic: f.address.policy,
      addresses: f.address.addresses.map((c) => cidrText(c)),
    };
  }
  if (f?.state) spec.state = { logic: f.state.policy, tcp: [...f.state.tcpStates] };
  return spec;
}

function cidrText(c: Cidr): string {
  return `${c.address}/${c.prefix}`;
}

export interface ModeSettings {
  name: 'ftfw' | 'alarm' | 'notrack';
  engine: SyncEngineOptions;
  /** External cache expiry (ALARM CacheTimeout), ms; 0 = never. */
  externalTimeoutMs: number;
  purgeTimeoutS: number;
  disableExternalCache: boolean;
}

export function modeSettings(sync: SyncConfig): ModeSettings {
  const m = sync.mode;
  switch (m.mode) {
    case 'ftfw':
      return {
        name: 'ftfw',
        engine: {
          startupResync: m.startupResync,
          ftfw: { resendQueueSize: m.resendQueueSize, ackWindowSize: m.ackWindowSize },
        },
        externalTimeoutMs: 0,
        purgeTimeoutS: m.purgeTimeout,
        disableExternalCache: m.disableExternalCache,
      };
    case 'alarm':
      return {
        name: 'alarm',
        engine: { alarm: { refreshTimeMs: m.refreshTime * 1000 } },
        externalTimeoutMs: m.cacheTimeout * 1000,
        purgeTimeoutS: m.purgeTimeout,
        disableExternalCache: false,
      };
    case 'notrack':
      return {
        name: 'notrack',
        engine: { startupResync: m.startupResync },
        externalTimeoutMs: 0,
        purgeTimeoutS: m.purgeTimeout,
        disableExternalCache: m.disableExternalCache,
      };
  }
}

/**
 * How committed entries are written, as conntrackd writes them: with
 * `TCPWindowTracking Off` (its default) TCP entries get IP_CT_TCP_FLAG_BE_LIBERAL
 * in both directions (the windows tracked by the peer may be stale after a
 * failover), and `CommitTimeout N` sets their timeout to N seconds.
 */
export function commitOptions(sync: SyncConfig | undefined): CreateOptions {
  if (!sync) return {};
  const out: CreateOptions = { beLiberal: !sync.tcpWindowTracking };
  if (sync.mode.commitTimeout !== undefined) out.timeout = sync.mode.commitTimeout;
  return out;
}

/**
 * Builds a transport from a conntrackd.conf-style block name ("UDP",
 * "Multicast", "TCP") and its options. The config layer maps the parsed
 * conntrackd.conf keys to these option objects; key names are noted on each
 * field. Validation returns a typed error, never throws.
 */
import { isIP } from 'node:net';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { LinkMonitor } from './link-monitor';
import { checkMulticastOptions, MulticastTransport } from './multicast';
import { createRedundantGroup, type FailbackPolicy, type RedundantGroup, type RedundantLink } from './redundant';
import { TcpTransport, type TcpRole } from './tcp';
import type { Transport } from './types';
import { UdpTransport } from './udp';

/** conntrackd.conf `UDP { ... }` (also used by `TCP { ... }`). */
export interface UdpOptions {
  /** IPv4_address: local address to bind (default any; TCP needs it unless `role` is set). */
  ipv4Address?: string;
  /** IPv4_Destination_Address: the peer. */
  ipv4Destination?: string;
  /** IPv6_address */
  ipv6Address?: string;
  /** IPv6_Destination_Address */
  ipv6Destination?: string;
  /** Port: bound locally and used as destination port. */
  port: number;
  /** Extension: destination port when it differs from Port (e.g. through a proxy). */
  destinationPort?: number;
  /** Interface: the sync link (MTU, IPv6 zone, link monitoring). */
  interface?: string;
  /** SndSocketBuffer, bytes. */
  sndBuf?: number;
  /** RcvSocketBuffer, bytes. */
  rcvBuf?: number;
  /** Extension: raise net.core.{r,w}mem_max when a buffer request exceeds it. */
  raiseSysctl?: boolean;
  /** Checksum: accepted for compatibility; the kernel always checksums UDP here. */
  checksum?: boolean;
}

/** conntrackd.conf `TCP { ... }`: the UDP keys plus queue/role extensions. */
export interface TcpOptions extends UdpOptions {
  role?: TcpRole;
  maxQueue?: number;
}

/** conntrackd.conf `Multicast { ... }`. */
export interface MulticastOptions {
  /** IPv4_address: the multicast group. */
  ipv4Address?: string;
  /** IPv4_interface: local IPv4 address of the sync interface. */
  ipv4Interface?: string;
  /** IPv6_address: the multicast group. */
  ipv6Address?: string;
  /** Group: the UDP port. */
  group: number;
  /** Interface: the sync link. Required for IPv6. */
  interface?: string;
  sndBuf?: number;
  rcvBuf?: number;
  raiseSysctl?: boolean;
  checksum?: boolean;
}

export type TransportSpec =
  | { kind: 'UDP'; options: UdpOptions }
  | { kind: 'TCP'; options: TcpOptions }
  | { kind: 'Multicast'; options: MulticastOptions };

export interface TransportDeps {
  clock: Clock;
  logger?: Logger;
}

export type RegistryErrorCode = 'UNKNOWN_TRANSPORT' | 'BAD_OPTION' | 'MISSING_OPTION' | 'BAD_REDUNDANCY';
export interface RegistryError {
  code: RegistryErrorCode;
  detail: string;
}
export type BuildResult<T> = { ok: true; transport: T } | { ok: false; error: RegistryError };

const fail = (code: RegistryErrorCode, detail: string): { ok: false; error: RegistryError } => ({ ok: false, error: { code, detail } });

function validPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** Map a block name (case-insensitive) to its spec kind. */
export function transportKind(name: string): TransportSpec['kind'] | null {
  const n = name.toLowerCase();
  return n === 'udp' ? 'UDP' : n === 'tcp' ? 'TCP' : n === 'multicast' ? 'Multicast' : null;
}

/** Both endpoints of a unicast block, from either the IPv4 or the IPv6 keys. */
function endpoints(o: UdpOptions): { family: 4 | 6; local: string; peer: string } | RegistryError {
  const v4 = o.ipv4Address !== undefined || o.ipv4Destination !== undefined;
  const v6 = o.ipv6Address !== undefined || o.ipv6Destination !== undefined;
  if (v4 && v6) return { code: 'BAD_OPTION', detail: 'mixes IPv4 and IPv6 addresses' };
  const family = v6 ? 6 : 4;
  const local = (family === 4 ? o.ipv4Address : o.ipv6Address) ?? (family === 4 ? '0.0.0.0' : '::');
  const peer = family === 4 ? o.ipv4Destination : o.ipv6Destination;
  if (peer === undefined) return { code: 'MISSING_OPTION', detail: `IPv${family}_Destination_Address` };
  for (const a of [local, peer]) {
    if (isIP(a.split('%')[0] ?? '') !== family) return { code: 'BAD_OPTION', detail: `not an IPv${family} address: ${a}` };
  }
  return { family, local, peer };
}

export function buildTransport(spec: TransportSpec, deps: TransportDeps): BuildResult<Transport> {
  const o = spec.options;
  if (spec.kind === 'Multicast') {
    const m = spec.options;
    if (!validPort(m.group)) return fail('BAD_OPTION', `Group (port) must be 1..65535: ${String(m.group)}`);
    const family = m.ipv6Address !== undefined ? 6 : 4;
    const group = family === 6 ? m.ipv6Address : m.ipv4Address;
    if (group === undefined) return fail('MISSING_OPTION', 'IPv4_address or IPv6_address (multicast group)');
    const mopts = {
      family,
      group,
      port: m.group,
      interface: m.interface,
      interfaceAddress: family === 4 ? m.ipv4Interface : undefined,
      sndBuf: m.sndBuf,
      rcvBuf: m.rcvBuf,
      raiseSysctl: m.raiseSysctl,
      logger: deps.logger,
    } as const;
    const err = checkMulticastOptions(mopts);
    if (err) return fail(err.code === 'NO_INTERFACE' ? 'MISSING_OPTION' : 'BAD_OPTION', err.detail);
    return { ok: true, transport: new MulticastTransport(mopts) };
  }
  const u = o as UdpOptions;
  if (!validPort(u.port)) return fail('BAD_OPTION', `Port must be 1..65535: ${String(u.port)}`);
  if (u.destinationPort !== undefined && !validPort(u.destinationPort)) return fail('BAD_OPTION', 'bad destination port');
  const ep = endpoints(u);
  if ('code' in ep) return { ok: false, error: ep };
  const peerPort = u.destinationPort ?? u.port;
  if (spec.kind === 'UDP') {
    return {
      ok: true,
      transport: new UdpTransport({
        family: ep.family,
        localAddress: ep.local,
        localPort: u.port,
        peerAddress: ep.peer,
        peerPort,
        interface: u.interface,
        sndBuf: u.sndBuf,
        rcvBuf: u.rcvBuf,
        raiseSysctl: u.raiseSysctl,
        logger: deps.logger,
      }),
    };
  }
  const t = spec.options;
  if (t.role === undefined && (t.ipv4Address ?? t.ipv6Address) === undefined) {
    return fail('MISSING_OPTION', 'TCP needs its local IPv4_address/IPv6_address to pick the connecting side (or an explicit role)');
  }
  return {
    ok: true,
    transport: new TcpTransport({
      localAddress: ep.local,
      localPort: u.port,
      peerAddress: ep.peer,
      peerPort,
      role: t.role,
      maxQueue: t.maxQueue,
      clock: deps.clock,
      logger: deps.logger,
    }),
  };
}

/** Build from a block name and a loosely typed options object (as mapped from config). */
export function buildTransportByName(name: string, options: object, deps: TransportDeps): BuildResult<Transport> {
  const kind = transportKind(name);
  if (kind === null) return fail('UNKNOWN_TRANSPORT', name);
  return buildTransport({ kind, options } as TransportSpec, deps);
}

export interface RedundantDeps extends TransportDeps {
  monitor: LinkMonitor;
  failback?: FailbackPolicy;
  /** Index of the Default link in `specs`. */
  preferred?: number;
}

/**
 * Several transport blocks form a redundant group (conntrackd allows several
 * UDP/Multicast/TCP blocks, the one marked Default being preferred: pass its
 * index as `preferred`). Each needs an Interface to be monitored.
 */
export function buildRedundant(specs: TransportSpec[], deps: RedundantDeps): BuildResult<RedundantGroup> {
  const links: RedundantLink[] = [];
  for (const spec of specs) {
    const ifname = spec.options.interface;
    if (ifname === undefined) return fail('BAD_REDUNDANCY', `a redundant ${spec.kind} link needs Interface`);
    const r = buildTransport(spec, deps);
    if (!r.ok) return r;
    links.push({ transport: r.transport, ifname });
  }
  const g = createRedundantGroup({ links, monitor: deps.monitor, failback: deps.failback, preferred: deps.preferred, logger: deps.logger });
  if (!g.ok) return fail('BAD_REDUNDANCY', `${g.error.code}: ${g.error.count} links`);
  return { ok: true, transport: g.group };
}

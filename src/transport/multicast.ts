/**
 * IPv4/IPv6 multicast sync transport (conntrackd "Multicast" channel).
 * Joins the group on one interface, sends to group:port with TTL / hop limit 1
 * (the sync link is one hop) and IP_MULTICAST_LOOP off; datagrams that still
 * come from one of our own addresses with our port are dropped and counted.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../util/log';
import { DgramSocket, plainAddress, type DatagramStats } from './dgram-socket';
import { readSysfs, type SysfsReader } from './link-monitor';
import { payloadMtu, type BufferResult } from './sockbuf';
import type { Transport } from './types';

export interface MulticastTransportOptions {
  family: 4 | 6;
  /** Multicast group address (IPv4 224.0.0.0/4, IPv6 ff00::/8). */
  group: string;
  port: number;
  /** Interface of the sync link (required for IPv6, used for the MTU). */
  interface?: string;
  /** IPv4 only: local address of the interface (conntrackd IPv4_interface); default: its first IPv4 address. */
  interfaceAddress?: string;
  sndBuf?: number;
  rcvBuf?: number;
  raiseSysctl?: boolean;
  mtu?: number;
  logger?: Logger;
  readSysfs?: SysfsReader;
  /** Our own addresses, for dropping looped-back datagrams; default from os.networkInterfaces(). */
  localAddresses?: () => string[];
}

export type MulticastConfigError = { code: 'NO_INTERFACE' | 'NO_INTERFACE_ADDRESS' | 'NOT_MULTICAST'; detail: string };

/** True for 224.0.0.0/4 (RFC 5771) or ff00::/8 (RFC 4291 section 2.7). */
export function isMulticastAddress(addr: string, family: 4 | 6): boolean {
  if (family === 4) {
    const first = Number.parseInt(addr.split('.')[0] ?? '', 10);
    return first >= 224 && first <= 239;
  }
  return /^ff[0-9a-f]{2}:/i.test(addr);
}

function allLocalAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(plainAddress(a.address));
  return out;
}

function firstIpv4(ifname: string): string | undefined {
  return networkInterfaces()[ifname]?.find((a) => a.family === 'IPv4')?.address;
}

/** Check the options without touching the network; null when fine. */
export function checkMulticastOptions(o: MulticastTransportOptions): MulticastConfigError | null {
  if (!isMulticastAddress(o.group, o.family)) return { code: 'NOT_MULTICAST', detail: o.group };
  if (o.family === 6 && o.interface === undefined) return { code: 'NO_INTERFACE', detail: 'IPv6 multicast needs an interface' };
  if (o.family === 4 && o.interfaceAddress === undefined && o.interface === undefined) {
    return { code: 'NO_INTERFACE', detail: 'IPv4 multicast needs an interface or its address' };
  }
  return null;
}

export class MulticastTransport implements Transport {
  readonly name: string;
  readonly mtu: number;
  private readonly io: DgramSocket;
  private handler: ((d: Buffer, from: string) => void) | null = null;
  private own = new Set<string>();

  constructor(private readonly opts: MulticastTransportOptions) {
    this.name = `multicast${opts.family === 6 ? '6' : ''}`;
    this.mtu = opts.mtu ?? payloadMtu(opts.family, opts.interface, opts.readSysfs ?? readSysfs);
    this.io = new DgramSocket({
      family: opts.family,
      // IPv4: binding the group address makes Linux deliver only that group's datagrams.
      bindAddress: opts.family === 4 ? opts.group : '::',
      port: opts.port,
      reuseAddr: true,
      buffers: { sndBuf: opts.sndBuf, rcvBuf: opts.rcvBuf, raiseSysctl: opts.raiseSysctl },
      logger: opts.logger,
    });
  }

  send(datagram: Buffer): boolean {
    if (datagram.length > this.mtu) {
      this.io.st.oversize++;
      this.io.st.sendErrors++;
      return false;
    }
    return this.io.send(datagram, this.opts.port, this.opts.group);
  }

  onDatagram(handler: (datagram: Buffer, from: string) => void): void {
    this.handler = handler;
  }

  async open(): Promise<void> {
    const err = checkMulticastOptions(this.opts);
    if (err) throw new Error(`${err.code}: ${err.detail}`);
    const { family, group, interface: ifname } = this.opts;
    let ifaceSpec: string;
    if (family === 4) {
      const a = this.opts.interfaceAddress ?? (ifname !== undefined ? firstIpv4(ifname) : undefined);
      if (a === undefined) throw new Error(`NO_INTERFACE_ADDRESS: no IPv4 address on ${ifname ?? '?'}`);
      ifaceSpec = a;
    } else {
      // libuv reads the zone of "::%IF" as the interface index (IPV6_MULTICAST_IF / ipv6mr_interface).
      ifaceSpec = `::%${ifname ?? ''}`;
    }
    this.own = new Set((this.opts.localAddresses ?? allLocalAddresses)().map(plainAddress));
    const sock = await this.io.open((msg, rinfo) => {
      if (rinfo.port === this.opts.port && this.own.has(plainAddress(rinfo.address))) {
        this.io.st.ownDropped++;
        return;
      }
      this.io.countRecv(msg);
      this.handler?.(msg, rinfo.address);
    });
    try {
      sock.addMembership(group, ifaceSpec);
      sock.setMulticastInterface(ifaceSpec);
      sock.setMulticastTTL(1);
      sock.setMulticastLoopback(false);
    } catch (e) {
      await this.io.close();
      throw e;
    }
  }

  close(): Promise<void> {
    return this.io.close();
  }

  stats(): DatagramStats {
    return { ...this.io.st };
  }

  buffers(): BufferResult | null {
    return this.io.buffers;
  }
}

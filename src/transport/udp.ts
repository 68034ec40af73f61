/**
 * UDP unicast sync transport (conntrackd "UDP" channel), IPv4 or IPv6.
 * Binds local address:port, sends to the peer address:port, and drops (and
 * counts) datagrams from any other source address.
 * Send buffers are handed to the kernel without copying: do not modify a
 * Buffer after passing it to send().
 */
import type { Logger } from '../util/log';
import { DgramSocket, plainAddress, withZone, type DatagramStats } from './dgram-socket';
import { readSysfs, type SysfsReader } from './link-monitor';
import { payloadMtu, type BufferResult } from './sockbuf';
import type { Transport } from './types';

export interface UdpTransportOptions {
  family: 4 | 6;
  /** Local address to bind ("0.0.0.0" / "::" for any). */
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  /** Interface of the sync link: used for the MTU and as zone of link-local IPv6 addresses. */
  interface?: string;
  /** Also require the peer's source port to equal peerPort (default false). */
  checkPeerPort?: boolean;
  sndBuf?: number;
  rcvBuf?: number;
  /** Raise net.core.{r,w}mem_max when a buffer request exceeds it. */
  raiseSysctl?: boolean;
  /** Payload MTU override; default interface MTU (or 1500) minus IP/UDP headers. */
  mtu?: number;
  logger?: Logger;
  readSysfs?: SysfsReader;
}

export class UdpTransport implements Transport {
  readonly name: string;
  readonly mtu: number;
  private readonly io: DgramSocket;
  private readonly peer: string;
  private readonly peerPlain: string;
  private handler: ((d: Buffer, from: string) => void) | null = null;

  constructor(private readonly opts: UdpTransportOptions) {
    this.name = `udp${opts.family === 6 ? '6' : ''}`;
    this.mtu = opts.mtu ?? payloadMtu(opts.family, opts.interface, opts.readSysfs ?? readSysfs);
    this.peer = withZone(opts.peerAddress, opts.interface);
    this.peerPlain = plainAddress(opts.peerAddress);
    this.io = new DgramSocket({
      family: opts.family,
      bindAddress: withZone(opts.localAddress, opts.interface),
      port: opts.localPort,
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
    return this.io.send(datagram, this.opts.peerPort, this.peer);
  }

  onDatagram(handler: (datagram: Buffer, from: string) => void): void {
    this.handler = handler;
  }

  async open(): Promise<void> {
    await this.io.open((msg, rinfo) => {
      if (plainAddress(rinfo.address) !== this.peerPlain || (this.opts.checkPeerPort === true && rinfo.port !== this.opts.peerPort)) {
        this.io.st.unexpectedSource++;
        if (this.io.st.unexpectedSource === 1 || this.io.st.unexpectedSource % 1000 === 0) {
          this.opts.logger?.warn({ from: rinfo.address, port: rinfo.port, count: this.io.st.unexpectedSource }, 'datagram from unexpected source dropped');
        }
        return;
      }
      this.io.countRecv(msg);
      this.handler?.(msg, rinfo.address);
    });
  }

  close(): Promise<void> {
    return this.io.close();
  }

  stats(): DatagramStats {
    return { ...this.io.st };
  }

  /** Socket buffer sizes obtained at open(), null before. */
  buffers(): BufferResult | null {
    return this.io.buffers;
  }
}

/**
 * Plumbing shared by the UDP and multicast transports: one node dgram socket,
 * counters, and a receive path that never throws (socket errors are logged
 * and counted, the transport keeps running).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../util/log';
import { applyBuffers, type BufferRequest, type BufferResult } from './sockbuf';
import { emptyTransportStats, type TransportStats } from './types';

export interface DatagramStats extends TransportStats {
  /** Datagrams from a source we do not talk to (dropped). */
  unexpectedSource: number;
  /** Our own multicast datagrams looped back (dropped). */
  ownDropped: number;
  /** Sends refused because the datagram exceeds the MTU. */
  oversize: number;
}

export function emptyDatagramStats(): DatagramStats {
  return { ...emptyTransportStats(), unexpectedSource: 0, ownDropped: 0, oversize: 0 };
}

/** "fe80::1%eth0" -> "fe80::1"; IPv4-mapped "::ffff:192.0.2.1" -> "192.0.2.1". */
export function plainAddress(addr: string): string {
  const pct = addr.indexOf('%');
  const a = (pct >= 0 ? addr.slice(0, pct) : addr).toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** Add the interface as zone to an IPv6 link-local address that lacks one. */
export function withZone(addr: string, ifname: string | undefined): string {
  if (ifname === undefined || addr.includes('%')) return addr;
  return /^fe[89ab]/i.test(addr) ? `${addr}%${ifname}` : addr;
}

export interface DgramSocketOptions {
  family: 4 | 6;
  bindAddress: string;
  port: number;
  reuseAddr?: boolean;
  buffers: BufferRequest;
  logger?: Logger;
}

export class DgramSocket {
  readonly st = emptyDatagramStats();
  sock: Socket | null = null;
  buffers: BufferResult | null = null;

  constructor(private readonly opts: DgramSocketOptions) {}

  /** Create and bind; `onMessage` gets every datagram (filtering is the caller's). */
  async open(onMessage: (msg: Buffer, rinfo: RemoteInfo) => void): Promise<Socket> {
    const { family, bindAddress, port, logger } = this.opts;
    const sock = createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: this.opts.reuseAddr ?? false, ipv6Only: family === 6 });
    sock.on('message', (msg, rinfo) => onMessage(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      sock.once('error', onErr);
      sock.bind({ address: bindAddress, port, exclusive: true }, () => {
        sock.off('error', onErr);
        resolve();
      });
    });
    sock.on('error', (e) => {
      this.st.recvErrors++;
      logger?.warn({ err: e.message }, 'sync socket error');
    });
    this.buffers = applyBuffers(sock, this.opts.buffers, logger);
    this.sock = sock;
    return sock;
  }

  /** Send one datagram; counts success or failure when the kernel answers. */
  send(datagram: Buffer, port: number, address: string): boolean {
    const sock = this.sock;
    if (sock === null) {
      this.st.sendErrors++;
      return false;
    }
    sock.send(datagram, port, address, (err) => {
      if (err) {
        this.st.sendErrors++;
        this.opts.logger?.debug({ err: err.message }, 'sync send failed');
        return;
      }
      this.st.sentDatagrams++;
      this.st.sentBytes += datagram.length;
    });
    return true;
  }

  countRecv(msg: Buffer): void {
    this.st.recvDatagrams++;
    this.st.recvBytes += msg.length;
  }

  async close(): Promise<void> {
    const sock = this.sock;
    this.sock = null;
    if (sock === null) return;
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

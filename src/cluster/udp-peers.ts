/**
 * Heartbeat transport for the standalone agent: one UDP socket bound to the
 * node's sync address, each datagram sent to every configured peer
 * (unicast fan-out; no multicast routing needed). Datagrams from any
 * address that is not a peer are dropped and counted.
 */
import * as dgram from 'node:dgram';
import { emptyTransportStats, type Transport, type TransportStats } from '../transport/types';

export interface UdpPeersOptions {
  family: 4 | 6;
  bindAddress: string;
  port: number;
  peers: string[];
  /** Largest datagram; default 1400. */
  mtu?: number;
}

export class UdpPeersTransport implements Transport {
  readonly name = 'udp-peers';
  readonly mtu: number;
  private sock: dgram.Socket | null = null;
  private handler: ((d: Buffer, from: string) => void) | null = null;
  private readonly st = emptyTransportStats();
  private readonly peers: Set<string>;
  /** Datagrams from addresses that are not peers. */
  foreign = 0;

  constructor(private readonly o: UdpPeersOptions) {
    this.mtu = o.mtu ?? 1400;
    this.peers = new Set(o.peers);
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: this.o.family === 6 ? 'udp6' : 'udp4', reuseAddr: true });
      s.on('message', (d, rinfo) => {
        if (!this.peers.has(rinfo.address)) {
          this.foreign++;
          this.st.recvErrors++;
          return;
        }
        this.st.recvDatagrams++;
        this.st.recvBytes += d.length;
        this.handler?.(d, rinfo.address);
      });
      s.on('error', () => {
        this.st.recvErrors++;
      });
      s.once('listening', () => {
        this.sock = s;
        resolve();
      });
      try {
        s.bind(this.o.port, this.o.bindAddress);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  send(datagram: Buffer): boolean {
    const s = this.sock;
    if (!s || datagram.length > this.mtu) {
      this.st.sendErrors++;
      return false;
    }
    for (const p of this.peers) {
      this.st.sentDatagrams++;
      this.st.sentBytes += datagram.length;
      s.send(datagram, this.o.port, p, (err) => {
        if (err) this.st.sendErrors++;
      });
    }
    return true;
  }

  onDatagram(handler: (datagram: Buffer, from: string) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    const s = this.sock;
    this.sock = null;
    if (!s) return Promise.resolve();
    return new Promise((r) => s.close(() => r()));
  }

  stats(): TransportStats {
    return { ...this.st };
  }
}

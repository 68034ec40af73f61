/**
 * TCP sync transport (conntrackd "TCP" channel, simplified to one connection
 * carrying both directions). Datagrams travel as u32 big-endian length frames
 * (framing.ts). One side listens, the other connects and reconnects with
 * exponential backoff on the injected clock. Sends are queued in a bounded
 * queue (oldest dropped and counted) while disconnected or while the socket
 * is applying backpressure.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { BoundedQueue } from './bounded-queue';
import { plainAddress } from './dgram-socket';
import { encodeFrame, FrameDecoder } from './framing';
import { emptyTransportStats, type Transport, type TransportStats } from './types';

export type TcpRole = 'server' | 'client' | 'auto';

export interface TcpTransportOptions {
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  /** 'auto' (default): the side with the smaller (address, port) connects, the other listens. */
  role?: TcpRole;
  clock: Clock;
  /** Datagrams held while disconnected or under backpressure (default 4096). */
  maxQueue?: number;
  /** Bytes handed to the socket before we hold back and wait for 'drain' (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Largest frame payload accepted from the peer (default 65535). */
  maxFrame?: number;
  /** Largest datagram we send (default 65535). */
  mtu?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  logger?: Logger;
}

export interface TcpStats extends TransportStats {
  queueDrops: number;
  queued: number;
  connects: number;
  disconnects: number;
  frameErrors: number;
  unexpectedSource: number;
  connected: boolean;
}

/** Which side connects in 'auto' mode: the numerically smaller endpoint text. */
export function resolveTcpRole(o: Pick<TcpTransportOptions, 'role' | 'localAddress' | 'localPort' | 'peerAddress' | 'peerPort'>): 'server' | 'client' {
  if (o.role === 'server' || o.role === 'client') return o.role;
  const a = plainAddress(o.localAddress);
  const b = plainAddress(o.peerAddress);
  if (a !== b) return a < b ? 'client' : 'server';
  return o.localPort < o.peerPort ? 'client' : 'server';
}

export class TcpTransport implements Transport {
  readonly name = 'tcp';
  readonly mtu: number;
  private readonly role: 'server' | 'client';
  private readonly queue: BoundedQueue<Buffer>;
  private readonly st = emptyTransportStats();
  private readonly extra = { connects: 0, disconnects: 0, frameErrors: 0, unexpectedSource: 0 };
  private handler: ((d: Buffer, from: string) => void) | null = null;
  private server: Server | null = null;
  private conn: Socket | null = null;
  private blocked = false;
  private closing = false;
  private backoffMs: number;
  private retry: TimerHandle | null = null;

  constructor(private readonly opts: TcpTransportOptions) {
    this.mtu = opts.mtu ?? 65535;
    this.role = resolveTcpRole(opts);
    this.queue = new BoundedQueue(opts.maxQueue ?? 4096);
    this.backoffMs = opts.reconnectMinMs ?? 100;
  }

  send(datagram: Buffer): boolean {
    if (datagram.length > this.mtu || this.closing) {
      this.st.sendErrors++;
      return false;
    }
    this.queue.push(encodeFrame(datagram));
    this.flush();
    return true;
  }

  onDatagram(handler: (datagram: Buffer, from: string) => void): void {
    this.handler = handler;
  }

  async open(): Promise<void> {
    this.closing = false;
    if (this.role === 'client') {
      this.connect();
      return;
    }
    const server = createServer((s) => this.accept(s));
    server.on('error', (e) => this.opts.logger?.warn({ err: e.message }, 'tcp sync server error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.localAddress, port: this.opts.localPort, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.retry) this.opts.clock.clear(this.retry);
    this.retry = null;
    this.conn?.destroy();
    this.conn = null;
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stats(): TcpStats {
    return {
      ...this.st,
      sendErrors: this.st.sendErrors + this.queue.dropped,
      ...this.extra,
      queueDrops: this.queue.dropped,
      queued: this.queue.length,
      connected: this.conn !== null,
    };
  }

  private accept(s: Socket): void {
    if (plainAddress(s.remoteAddress ?? '') !== plainAddress(this.opts.peerAddress)) {
      this.extra.unexpectedSource++;
      this.opts.logger?.warn({ from: s.remoteAddress }, 'tcp sync connection from unexpected source refused');
      s.destroy();
      return;
    }
    if (this.conn) {
      this.opts.logger?.info('tcp sync peer reconnected, replacing old connection');
      this.conn.destroy();
    }
    this.attach(s);
  }

  private connect(): void {
    this.retry = null;
    if (this.closing) return;
    const s = createConnection({ host: this.opts.peerAddress, port: this.opts.peerPort, localAddress: this.opts.localAddress });
    s.once('connect', () => {
      this.backoffMs = this.opts.reconnectMinMs ?? 100;
      this.attach(s);
    });
    s.on('error', (e) => this.opts.logger?.debug({ err: e.message }, 'tcp sync connect/IO error'));
    s.once('close', () => {
      if (this.conn === null || this.conn === s) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closing || this.retry) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.reconnectMaxMs ?? 5000);
    this.retry = this.opts.clock.setTimeout(() => this.connect(), delay);
  }

  private attach(s: Socket): void {
    s.setNoDelay(true);
    this.conn = s;
    this.blocked = false;
    this.extra.connects++;
    const from = plainAddress(s.remoteAddress ?? this.opts.peerAddress);
    const decoder = new FrameDecoder({ maxFrame: this.opts.maxFrame ?? 65535 });
    s.on('data', (chunk: Buffer) => {
      const r = decoder.feed(chunk);
      for (const f of r.frames) {
        this.st.recvDatagrams++;
        this.st.recvBytes += f.length;
        this.handler?.(f, from);
      }
      if (!r.ok) {
        this.extra.frameErrors++;
        this.st.recvErrors++;
        this.opts.logger?.warn({ code: r.error.code, length: r.error.length }, 'bad frame from tcp sync peer, dropping connection');
        s.destroy();
      }
    });
    s.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
    s.on('error', (e) => this.opts.logger?.debug({ err: e.message }, 'tcp sync socket error'));
    s.on('close', () => {
      if (this.conn !== s) return;
      this.conn = null;
      this.extra.disconnects++;
      this.opts.logger?.info('tcp sync connection closed');
      if (this.role === 'client') this.scheduleReconnect();
    });
    this.flush();
  }

  private flush(): void {
    const s = this.conn;
    if (s === null) return;
    const budget = this.opts.maxBufferedBytes ?? 1 << 20;
    while (!this.blocked && this.queue.length > 0) {
      const frame = this.queue.shift();
      if (frame === undefined) break;
      this.st.sentDatagrams++;
      this.st.sentBytes += frame.length - 4;
      // write() returns false past the stream's small highWaterMark; we keep
      // writing up to our own byte budget, then wait for 'drain'.
      if (!s.write(frame) && s.writableLength >= budget) this.blocked = true;
    }
  }
}

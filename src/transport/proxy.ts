/**
 * Fault-injecting UDP proxy for tests and the fault-injection harness.
 *
 *   client --> [listen socket] --faults--> [upstream socket] --> forward
 *   client <-- [listen socket] <--faults-- [upstream socket] <-- forward
 *
 * Datagrams from anyone to the listen socket go to `forward`; datagrams from
 * `forward` to the upstream socket go back to the last client seen (or a
 * fixed `client`). Each direction has its own seeded planner (faults.ts) and
 * counters. Faults can be changed at run time with setFaults().
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { plainAddress } from './dgram-socket';
import { applyBuffers } from './sockbuf';
import { checkFaults, FaultPlanner, flipBit, type ProxyFaults } from './faults';

export interface Endpoint {
  address: string;
  port: number;
}

export interface ProxyOptions {
  family: 4 | 6;
  listen: Endpoint;
  forward: Endpoint;
  /** Where the upstream socket binds (default any address, ephemeral port). */
  upstreamBind?: Endpoint;
  /** Send replies here instead of to the last client seen. */
  client?: Endpoint;
  seed: number;
  faults?: ProxyFaults;
  /** Faults for the forward -> client direction only (default: same as `faults`). */
  downFaults?: ProxyFaults;
  /** Socket buffer sizes for both proxy sockets, bytes (default: system default). */
  sndBuf?: number;
  rcvBuf?: number;
  /** A reordered datagram waits at most this long for a successor (default 50 ms). */
  reorderHoldMs?: number;
  clock: Clock;
  logger?: Logger;
}

export interface DirectionCounters {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  corrupted: number;
  sendErrors: number;
}

export interface ProxyCounters {
  /** client -> forward */
  up: DirectionCounters;
  /** forward -> client */
  down: DirectionCounters;
  /** Datagrams on the upstream socket not from `forward`, or replies with no client known. */
  unexpected: number;
}

function emptyCounters(): DirectionCounters {
  return { received: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0, corrupted: 0, sendErrors: 0 };
}

interface Direction {
  planner: FaultPlanner;
  c: DirectionCounters;
  held: { d: Buffer; timer: TimerHandle } | null;
  out: Socket;
}

export class UdpFaultProxy {
  private faults: ProxyFaults;
  private downFaults: ProxyFaults | null;
  private listenSock: Socket | null = null;
  private upSock: Socket | null = null;
  private up: Direction | null = null;
  private down: Direction | null = null;
  private client: Endpoint | null;
  private unexpected = 0;
  private readonly timers = new Set<TimerHandle>();

  constructor(private readonly opts: ProxyOptions) {
    const bad = checkFaults(opts.faults ?? {}) ?? checkFaults(opts.downFaults ?? {});
    if (bad) throw new RangeError(bad);
    this.faults = { ...opts.faults };
    this.downFaults = opts.downFaults ? { ...opts.downFaults } : null;
    this.client = opts.client ?? null;
  }

  /**
   * Replace the fault settings (rates 0..1); `down`, when given, applies to
   * the forward -> client direction instead (null: same as `f`). Returns an
   * error message or null.
   */
  setFaults(f: ProxyFaults, down: ProxyFaults | null = null): string | null {
    const bad = checkFaults(f) ?? checkFaults(down ?? {});
    if (bad) return bad;
    this.faults = { ...f };
    this.downFaults = down ? { ...down } : null;
    return null;
  }

  getFaults(): ProxyFaults {
    return { ...this.faults };
  }

  /** Faults of the forward -> client direction. */
  getDownFaults(): ProxyFaults {
    return { ...(this.downFaults ?? this.faults) };
  }

  counters(): ProxyCounters {
    return { up: { ...(this.up?.c ?? emptyCounters()) }, down: { ...(this.down?.c ?? emptyCounters()) }, unexpected: this.unexpected };
  }

  /** Bound addresses (useful with port 0). */
  addresses(): { listen: Endpoint; upstream: Endpoint } | null {
    if (!this.listenSock || !this.upSock) return null;
    const l = this.listenSock.address();
    const u = this.upSock.address();
    return { listen: { address: l.address, port: l.port }, upstream: { address: u.address, port: u.port } };
  }

  async start(): Promise<void> {
    const { family, listen, forward } = this.opts;
    const any = family === 4 ? '0.0.0.0' : '::';
    const ls = await this.bind(listen);
    const us = await this.bind(this.opts.upstreamBind ?? { address: any, port: 0 });
    this.listenSock = ls;
    this.upSock = us;
    this.up = { planner: new FaultPlanner(this.opts.seed), c: emptyCounters(), held: null, out: us };
    this.down = { planner: new FaultPlanner((this.opts.seed ^ 0x5bd1e995) >>> 0), c: emptyCounters(), held: null, out: ls };
    const fwd = plainAddress(forward.address);
    ls.on('message', (msg, rinfo) => {
      if (this.opts.client === undefined) this.client = { address: rinfo.address, port: rinfo.port };
      if (this.up) this.handle(this.up, msg, forward);
    });
    us.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      if (plainAddress(rinfo.address) !== fwd || rinfo.port !== forward.port || this.client === null || !this.down) {
        this.unexpected++;
        return;
      }
      this.handle(this.down, msg, this.client);
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) this.opts.clock.clear(t);
    this.timers.clear();
    for (const d of [this.up, this.down]) if (d?.held) this.opts.clock.clear(d.held.timer);
    const socks = [this.listenSock, this.upSock];
    this.listenSock = null;
    this.upSock = null;
    await Promise.all(socks.map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve())));
  }

  private async bind(ep: Endpoint): Promise<Socket> {
    const s = createSocket({ type: this.opts.family === 4 ? 'udp4' : 'udp6', ipv6Only: this.opts.family === 6 });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: ep.address, port: ep.port, exclusive: true }, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', (e) => this.opts.logger?.warn({ err: e.message }, 'proxy socket error'));
    applyBuffers(s, { sndBuf: this.opts.sndBuf, rcvBuf: this.opts.rcvBuf }, this.opts.logger);
    return s;
  }

  private handle(dir: Direction, msg: Buffer, to: Endpoint): void {
    dir.c.received++;
    const p = dir.planner.plan(dir === this.down && this.downFaults ? this.downFaults : this.faults, msg.length);
    if (p.drop) {
      dir.c.dropped++;
      return;
    }
    let d = msg;
    if (p.flipBit >= 0) {
      d = flipBit(msg, p.flipBit);
      dir.c.corrupted++;
    }
    const copies = p.duplicate ? 2 : 1;
    if (p.duplicate) dir.c.duplicated++;
    const emit = (): void => {
      for (let i = 0; i < copies; i++) this.transmit(dir, d, to);
    };
    if (p.delayMs > 0) {
      dir.c.delayed++;
      const t = this.opts.clock.setTimeout(() => {
        this.timers.delete(t);
        emit();
      }, p.delayMs);
      this.timers.add(t);
      return;
    }
    if (p.reorder && dir.held === null) {
      dir.c.reordered++;
      const held = { d, timer: this.opts.clock.setTimeout(() => this.release(dir, to), this.opts.reorderHoldMs ?? 50) };
      dir.held = held;
      if (copies === 2) this.transmit(dir, d, to);
      return;
    }
    emit();
    this.release(dir, to);
  }

  /** Send the held-back datagram, if any. */
  private release(dir: Direction, to: Endpoint): void {
    const h = dir.held;
    if (!h) return;
    dir.held = null;
    this.opts.clock.clear(h.timer);
    this.transmit(dir, h.d, to);
  }

  private transmit(dir: Direction, d: Buffer, to: Endpoint): void {
    try {
      dir.out.send(d, to.port, to.address, (err) => {
        if (err) dir.c.sendErrors++;
        else dir.c.forwarded++;
      });
    } catch {
      dir.c.sendErrors++; // socket already closed
    }
  }
}

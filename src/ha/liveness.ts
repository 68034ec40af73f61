/**
 * Fast failure detector over the sync link (conntrackd.conf extension
 * `Sync { FastFailover { ... } }`, docs/ha.md). Each node sends a probe
 * (src/ha/liveness-packet.ts) to its peer every `intervalMs` from the HA
 * thread; the peer counts as silent once `misses` of the sender's intervals
 * pass without one. Silence alone changes nothing: the VRRP speaker takes
 * over early only when the master's adverts have stopped too (see
 * src/ha/vrrp/early.ts), so a broken sync link cannot make a second master.
 */
import { createSocket as nodeCreateSocket, type Socket } from 'node:dgram';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import type { UdpSocketLike } from './heartbeat';
import { decodeProbe, encodeProbe, type ProbeDecode } from './liveness-packet';

/** Default UDP port of the probes (the heartbeat transport uses 3781). */
export const LIVENESS_DEFAULT_PORT = 3782;

export interface LivenessOptions {
  family: 4 | 6;
  /** Our sync-link address (bound). */
  bind: string;
  /** The peer's sync-link address: probes go there, and only probes from it count. */
  peer: string;
  port: number;
  intervalMs: number;
  misses: number;
}

export interface LivenessState {
  /** The peer was heard and then missed `misses` probes in a row. */
  silent: boolean;
  /** Clock time of the last valid probe from the peer; null: never heard. */
  lastProbeAt: number | null;
  /** When the probe after the last one was due (lastProbeAt + the peer's interval); null: never heard. */
  quietSince: number | null;
}

export type ProbeDrop = Exclude<ProbeDecode, { ok: true }>['error'] | 'source';

export interface LivenessStats {
  peer: string;
  state: 'unknown' | 'alive' | 'silent';
  probesSent: number;
  probesReceived: number;
  sendErrors: number;
  dropped: Partial<Record<ProbeDrop, number>>;
  /** Alive -> silent transitions. */
  silences: number;
  /** Probes with a new boot id (the peer's daemon restarted). */
  peerRestarts: number;
  lastProbeAt: number | null;
}

export interface LivenessMonitor {
  start(): void;
  close(): void;
  state(): LivenessState;
  /** Called on every silent/alive change. */
  onChange(fn: (s: LivenessState) => void): void;
  stats(): LivenessStats;
}

export interface LivenessDeps {
  options: LivenessOptions;
  clock: Clock;
  logger: Logger;
  random: () => number;
  createSocket?: (family: 4 | 6) => UdpSocketLike;
  /** Runs the silence decision after pending I/O is read (default setImmediate); tests run it inline. */
  defer?: (fn: () => void) => void;
}

export function createLiveness(deps: LivenessDeps): LivenessMonitor {
  const o = deps.options;
  const log = deps.logger.child({ liveness: o.peer });
  const create = deps.createSocket ?? ((f: 4 | 6): UdpSocketLike => nodeCreateSocket({ type: f === 6 ? 'udp6' : 'udp4' }) as Socket as UdpSocketLike);
  const defer = deps.defer ?? ((fn: () => void): void => void setImmediate(fn));
  const bootId = Math.floor(deps.random() * 0x100000000) >>> 0;
  const stats: LivenessStats = { peer: o.peer, state: 'unknown', probesSent: 0, probesReceived: 0, sendErrors: 0, dropped: {}, silences: 0, peerRestarts: 0, lastProbeAt: null };
  const listeners: Array<(s: LivenessState) => void> = [];
  let sock: UdpSocketLike | null = null;
  let tick: TimerHandle | null = null;
  let deadline: TimerHandle | null = null;
  let seq = 0;
  let peerBoot: number | null = null;
  let peerInterval = o.intervalMs;
  let silent = false;

  const state = (): LivenessState => ({
    silent,
    lastProbeAt: stats.lastProbeAt,
    quietSince: stats.lastProbeAt === null ? null : stats.lastProbeAt + peerInterval,
  });
  const emit = (): void => {
    const s = state();
    for (const fn of listeners) fn(s);
  };
  const drop = (why: ProbeDrop, from: string): void => {
    const n = (stats.dropped[why] ?? 0) + 1;
    stats.dropped[why] = n;
    log[n === 1 || n % 1000 === 0 ? 'warn' : 'debug']({ from, reason: why, count: n }, 'liveness probe dropped');
  };
  const send = (): void => {
    if (sock === null) return;
    seq = (seq + 1) >>> 0;
    sock.send(encodeProbe({ intervalMs: o.intervalMs, bootId, seq }), o.port, o.peer, (err) => {
      if (err === null) return;
      stats.sendErrors += 1;
      if (stats.sendErrors === 1 || stats.sendErrors % 1000 === 0) log.warn({ err: err.message, count: stats.sendErrors }, 'liveness probe send failed');
    });
    stats.probesSent += 1;
  };
  const goSilent = (): void => {
    silent = true;
    stats.state = 'silent';
    stats.silences += 1;
    log.warn({ peer: o.peer, lastProbeAgoMs: deps.clock.now() - (stats.lastProbeAt ?? 0), misses: o.misses }, 'peer silent on the sync link');
    emit();
  };
  const onMessage = (msg: Buffer, from: string): void => {
    if (from !== o.peer) return drop('source', from);
    const d = decodeProbe(msg);
    if (!d.ok) return drop(d.error, from);
    stats.probesReceived += 1;
    const now = deps.clock.now();
    stats.lastProbeAt = now;
    peerInterval = d.probe.intervalMs;
    if (peerBoot !== null && peerBoot !== d.probe.bootId) {
      stats.peerRestarts += 1;
      log.info({ peer: o.peer }, 'peer restarted (new boot id in its liveness probes)');
    }
    peerBoot = d.probe.bootId;
    if (deadline !== null) deps.clock.clear(deadline);
    deadline = deps.clock.setTimeout(() => {
      deadline = null;
      // Probes already queued in the socket while this thread was busy are read first.
      defer(() => {
        if (deadline !== null || stats.lastProbeAt !== now || silent) return;
        goSilent();
      });
    }, o.misses * peerInterval);
    if (silent || stats.state === 'unknown') {
      const was = stats.state;
      silent = false;
      stats.state = 'alive';
      log.info({ peer: o.peer, was }, 'peer alive on the sync link');
      emit();
    }
  };

  return {
    start() {
      if (sock !== null) return;
      const s = create(o.family);
      sock = s;
      s.on('error', (e) => log.warn({ err: e.message }, 'liveness socket error'));
      s.on('message', (msg, rinfo) => onMessage(msg, rinfo.address));
      s.bind(o.port, o.bind, () => undefined);
      send();
      const every = (): void => {
        send();
        tick = deps.clock.setTimeout(every, o.intervalMs);
      };
      tick = deps.clock.setTimeout(every, o.intervalMs);
    },
    close() {
      if (tick !== null) deps.clock.clear(tick);
      if (deadline !== null) deps.clock.clear(deadline);
      tick = deadline = null;
      sock?.close();
      sock = null;
    },
    state,
    onChange(fn) {
      listeners.push(fn);
    },
    stats: () => ({ ...stats, dropped: { ...stats.dropped } }),
  };
}

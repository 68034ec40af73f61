/**
 * A sync mode (NOTRACK, ALARM, FT-FW) is a plug-in behind this interface.
 * Modes do no I/O and own no timers: the engine hands them local data
 * messages, received messages and a periodic tick(now); they queue outgoing
 * messages through ModeContext.send and hand in-order received data back
 * through ModeContext.deliver. Only src/sync/modes/* knows mode semantics.
 */
import type { Cache } from '../cache/types';
import type { CtKind, CtRecord } from '../netlink/types';
import type { Logger } from '../util/log';
import type { Random } from './seq';
import type { EntryMessage, EntryOp, Message } from './wire/types';

export interface ModeContext {
  /** This engine's epoch (u32, random per start). */
  readonly epoch: number;
  readonly random: Random;
  /** Scheduler period in ms (modes spread work over ticks of this size). */
  readonly tickMs: number;
  readonly logger: Logger;
  /** Internal caches (our own flows), read by modes that walk them (ALARM). */
  readonly internal: { ct: Cache; expect: Cache };
  /** Queue a message for the scheduler to put on the wire. */
  send(msg: Message): void;
  /** A data message from `peer` that the mode accepts now (entry, bulk-start/end, resync). */
  deliver(peer: string, msg: Message): void;
  /** Start (or restart) a bulk transfer of the internal caches, framed by bulk-start/bulk-end. */
  bulkSend(): void;
  /** Build an entry message (syncAttrs applied); seq is assigned by the mode. */
  entry(kind: CtKind, op: EntryOp, record: CtRecord, flags?: number): EntryMessage;
  /** Expire external entries not refreshed within the external cache timeout. */
  purgeExternal(now: number): void;
}

export interface SyncMode {
  /** Config name: 'notrack' | 'alarm' | 'ftfw'. */
  readonly name: string;
  /** Called once by the engine's start(). */
  start(now: number): void;
  stop(): void;
  /** A locally originated data message (entry, resync, bulk framing): assign seq, queue it. */
  enqueue(msg: Message, now: number): void;
  /** A message received from `peer` (transport address) whose datagram carried `epoch`. */
  recv(peer: string, epoch: number, msg: Message, now: number): void;
  /** Periodic scheduler tick. */
  tick(now: number): void;
  /** How many more data messages may be queued now without overflowing (bulk pacing). */
  room(): number;
  /** Forget all state about a peer (it restarted or went silent). */
  peerReset(peer: string): void;
  /**
   * Delivery barrier, for modes with acknowledgements: a token for "every data
   * message enqueued so far", or null when the mode has no acknowledgements
   * (NOTRACK, ALARM: sending is all there is).
   */
  mark?(): number | null;
  /** Whether every known peer has acknowledged everything up to mark() `token` (false with no peer). */
  reached?(token: number): boolean;
  /** Messages held for retransmission. */
  resendQueueLength(): number;
  /** Mode counters (names are stable; see docs/sync-modes.md). */
  stats(): Record<string, number>;
}

/** FT-FW options; conntrackd.conf names in brackets. Times in ms. */
export interface FtfwOptions {
  /** [ResendQueueSize] messages kept until acknowledged. Default 131072. */
  resendQueueSize: number;
  /** [ACKWindowSize] acknowledge after this many delivered messages. Default 300. */
  ackWindowSize: number;
  /** Acknowledge at most this long after the first unacknowledged delivery. Default 20. */
  ackDelayMs: number;
  /** A missing message is NACKed again no sooner than this (or 2x the observed repair time, if longer). Default 50. */
  nackIntervalMs: number;
  /** ALIVE (and HELLO retry) interval. Default 500. */
  aliveIntervalMs: number;
  /** Out-of-order messages buffered per peer; further ones are dropped and NACKed later. Default 16384. */
  recvWindow: number;
  /** Most NACK ranges sent per peer per tick. Default 64. */
  maxNackRanges: number;
  /** Retransmission timeout bounds and start value (ms); RTO = SRTT + 4 RTTVAR (RFC 6298). Defaults 20, 1000, 100. */
  minRtoMs: number;
  maxRtoMs: number;
  initialRtoMs: number;
  /** Congestion window (messages in flight): floor, ceiling (0 = recvWindow), start. Defaults 256, 0, 1024. */
  minWindow: number;
  maxWindow: number;
  initialWindow: number;
  /** Window growth per window of acknowledged messages once past slow start. Default 64. */
  additiveIncrease: number;
}

/** ALARM options; conntrackd.conf names in brackets. */
export interface AlarmOptions {
  /** [RefreshTime] every internal entry is re-sent once per this period (ms). Default 15000. */
  refreshTimeMs: number;
  /** How often the external cache is purged of entries older than [CacheTimeout]. Default 1000. */
  purgeIntervalMs: number;
}

export interface ModeOptions {
  ftfw?: Partial<FtfwOptions>;
  alarm?: Partial<AlarmOptions>;
}

export type ModeFactory = (ctx: ModeContext, options: ModeOptions) => SyncMode;

/** A tiny named-counter bag (no module state: one per mode/engine instance). */
export class Counters {
  private readonly c = new Map<string, number>();
  constructor(names: readonly string[] = []) {
    for (const n of names) this.c.set(n, 0);
  }
  inc(name: string, by = 1): void {
    this.c.set(name, (this.c.get(name) ?? 0) + by);
  }
  get(name: string): number {
    return this.c.get(name) ?? 0;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.c);
  }
}

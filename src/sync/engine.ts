/**
 * The sync engine: wires a mode, a transport, the caches and a clock.
 *  - local(change): a change of the internal cache (from src/cache/mirror) -> mode.
 *  - datagrams in: decode (strict; rejections counted by code) -> peer
 *    bookkeeping (new / restarted / lost) -> mode.recv -> in-order data comes
 *    back through deliver() and is applied to the external caches.
 *  - a scheduler tick every tickMs: mode.tick, bulk walk step, then all queued
 *    messages are packed into MTU-sized datagrams and sent.
 * The engine does not open or close the transport; its owner does.
 */
import type { Cache } from '../cache/types';
import type { CtEventType, CtKind, CtRecord } from '../netlink/types';
import type { Transport } from '../transport/types';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { ExternalApplier, type KeyOf } from './apply';
import { BulkSender } from './bulk';
import { LocalBacklog } from './backlog';
import { Counters, type ModeContext, type ModeFactory, type ModeOptions, type SyncMode } from './mode';
import { modeFactory } from './modes/registry';
import { PeerTable, type PeerInfo } from './peers';
import { randomU32, type Random } from './seq';
import { compactAttrs } from './wire/compact';
import { decodeDatagram, encodeDatagrams } from './wire/datagram';
import {
  DEFAULT_LIMITS,
  entryType,
  MESSAGE_TYPES,
  WIRE_ERROR_CODES,
  type DatagramHeader,
  type DecodeLimits,
  type EntryMessage,
  type Message,
} from './wire/types';

export interface SyncEngineOptions extends ModeOptions {
  /** Node id put in every datagram (u32). Default: random from the injected RNG. */
  nodeId?: number;
  /** Scheduler period (ms). Default 10. */
  tickMs?: number;
  /** Entries a bulk transfer sends per tick at most. Default 2048. */
  bulkChunk?: number;
  /** Send at once (without waiting for the tick) when this many messages are queued. Default 512. */
  flushMessages?: number;
  /** A peer silent for this long is forgotten (ms). Default 30000. */
  peerTimeoutMs?: number;
  /** [StartupResync] ask peers for a full resync on start. Default false. */
  startupResync?: boolean;
  /** Decoder limits for received datagrams. */
  limits?: Partial<DecodeLimits>;
}

export interface SyncEngineDeps {
  /** 'notrack' | 'alarm' | 'ftfw' (any case), or a factory. */
  mode: string | ModeFactory;
  transport: Transport;
  clock: Clock;
  random: Random;
  internal: { ct: Cache; expect: Cache };
  external: { ct: Cache; expect: Cache };
  /** Canonical key of a record (src/netlink tupleKey); undefined when the record has no usable tuple. */
  keyOf: KeyOf;
  /** Top-level attribute types (flags masked) left out of what is sent, per kind (src/netlink/ct/sync-attrs). Default: none. */
  syncDrop?: Partial<Record<CtKind, ReadonlySet<number>>>;
  logger: Logger;
  options?: SyncEngineOptions;
}

export interface LocalChange {
  type: CtEventType;
  key: string;
  record: CtRecord;
}

export type PeerEvent =
  | { type: 'new' | 'restart' | 'lost'; peer: string; node: number; epoch: number }
  | { type: 'resync-requested'; peer: string }
  | { type: 'bulk-done'; peer: string; swept: number }
  | { type: 'bulk-incomplete'; peer: string; expected: number; got: number };

export interface SyncStats {
  mode: string;
  node: number;
  epoch: number;
  sent: { datagrams: number; bytes: number; errors: number; oversize: number; messages: Record<string, number> };
  received: { datagrams: number; bytes: number; loopback: number; internalErrors: number; messages: Record<string, number> };
  /** Rejected datagrams by stable code (EBADMAGIC, EBADCSUM, ...). */
  rejected: Record<string, number>;
  /** External-cache application: upserts, deletes, refused, badKey, bulk*, swept, purged. */
  external: Record<string, number>;
  /** Mode counters: for FT-FW resends, nacksSent, nacksReceived, overflows, resets, ... */
  modeStats: Record<string, number>;
  /** outgoing: messages waiting for the next datagram; resend: held by the mode; backlog: local changes waiting for room. */
  queue: { outgoing: number; resend: number; backlog: number };
  bulk: { started: number; completed: number; active: boolean };
  peers: PeerInfo[];
}

export interface SyncEngine {
  readonly mode: string;
  readonly nodeId: number;
  readonly epoch: number;
  start(): void;
  stop(): void;
  local(change: LocalChange): void;
  /** Send every internal entry to the peers, framed by bulk-start/bulk-end. */
  bulkSend(): void;
  /** Ask the peers to bulk-send their tables to us. */
  requestResync(): void;
  /** Subscribe to peer events; returns an unsubscribe function. */
  onPeerEvent(handler: (ev: PeerEvent) => void): () => void;
  stats(): SyncStats;
  /** Run one scheduler tick now (normally driven by the clock). */
  tick(): void;
  /** Send everything queued now. */
  flush(): void;
  /**
   * Resolves true once every peer has acknowledged every change handed to
   * local() before the call (FT-FW), at once after sending for modes without
   * acknowledgements, or false after `timeoutMs` (pfsync-style deferral).
   */
  delivered(timeoutMs: number): Promise<boolean>;
}

function ownedCopy(r: CtRecord): CtRecord {
  return { kind: r.kind, family: r.family, attrs: Buffer.from(r.attrs) };
}

export function createSyncEngine(deps: SyncEngineDeps): SyncEngine {
  const opts = deps.options ?? {};
  const tickMs = opts.tickMs ?? 10;
  const flushAt = opts.flushMessages ?? 512;
  const peerTimeoutMs = opts.peerTimeoutMs ?? 30_000;
  const limits: DecodeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const factory = typeof deps.mode === 'string' ? modeFactory(deps.mode) : deps.mode;
  if (factory === undefined) throw new Error(`unknown sync mode '${String(deps.mode)}'`);
  const syncDrop = deps.syncDrop ?? {};
  const { clock, transport, logger } = deps;
  const epoch = randomU32(deps.random) || 1;
  const nodeId = opts.nodeId ?? randomU32(deps.random);
  const header: DatagramHeader = { flags: 0, node: nodeId, epoch };

  const sentMsgs = new Counters(MESSAGE_TYPES);
  const recvMsgs = new Counters(MESSAGE_TYPES);
  const rejected = new Counters(WIRE_ERROR_CODES);
  const io = new Counters();
  const handlers = new Set<(ev: PeerEvent) => void>();
  const peers = new PeerTable();
  let out: Message[] = [];
  const backlog = new LocalBacklog();
  let timer: TimerHandle | undefined;
  let running = false;

  const emit = (ev: PeerEvent): void => {
    for (const h of handlers) {
      try {
        h(ev);
      } catch (err) {
        logger.warn({ err, ev: ev.type }, 'sync: peer event handler failed');
      }
    }
  };

  const entry = (kind: CtKind, op: CtEventType, record: CtRecord, flags = 0): EntryMessage => {
    // Compacted once into a new Buffer (cache records are views valid only
    // until the cache's next mutation); resends reuse it.
    const attrs = compactAttrs(record.attrs, syncDrop[kind]);
    return { type: entryType(kind, op), flags, seq: 0, family: record.family, attrs, packed: true };
  };

  const flush = (): void => {
    if (out.length === 0) return;
    const batch = out;
    out = [];
    const { datagrams, oversize } = encodeDatagrams(header, batch, transport.mtu, limits.maxMessages);
    for (const m of batch) sentMsgs.inc(m.type);
    for (const m of oversize) sentMsgs.inc(m.type, -1);
    if (oversize.length > 0) {
      io.inc('oversize', oversize.length);
      logger.warn({ count: oversize.length, mtu: transport.mtu }, 'sync: messages larger than the MTU dropped');
    }
    for (const d of datagrams) {
      if (transport.send(d)) {
        io.inc('sentDatagrams');
        io.inc('sentBytes', d.length);
      } else io.inc('sendErrors');
    }
  };

  const applier = new ExternalApplier(
    deps.external,
    deps.keyOf,
    {
      resyncRequested: (peer) => {
        emit({ type: 'resync-requested', peer });
        bulk.start(clock.now());
      },
      bulkDone: (peer, swept) => emit({ type: 'bulk-done', peer, swept }),
      bulkIncomplete: (peer, expected, got) => emit({ type: 'bulk-incomplete', peer, expected, got }),
    },
    logger,
  );

  const ctx: ModeContext = {
    epoch,
    random: deps.random,
    tickMs,
    logger,
    internal: deps.internal,
    send(msg) {
      out.push(msg);
      if (out.length >= flushAt) flush();
    },
    deliver: (peer, msg) => applier.apply(peer, msg, clock.now()),
    bulkSend: () => bulk.start(clock.now()),
    entry,
    purgeExternal: (now) => applier.purge(now),
  };
  const mode: SyncMode = factory(ctx, opts);
  /** Move backlogged local changes into the mode as far as it has room. */
  const drain = (now: number): void => {
    let n = backlog.size === 0 ? 0 : mode.room();
    while (n > 0) {
      const c = backlog.shift();
      if (c === undefined) break;
      const record = c.record ?? deps.internal[c.kind].get(c.key);
      if (record === undefined) continue; // gone from the cache meanwhile (flushed): nothing to send
      mode.enqueue(entry(c.kind, c.type, record), now);
      n--;
    }
  };
  /** delivered() callers: barrier token, resolve, timeout timer. */
  const barriers: Array<{ token: number; done: (ok: boolean) => void; timer: TimerHandle }> = [];
  const checkBarriers = (): void => {
    for (let i = barriers.length - 1; i >= 0; i--) {
      const b = barriers[i] as (typeof barriers)[number];
      if (mode.reached?.(b.token) !== true) continue;
      barriers.splice(i, 1);
      clock.clear(b.timer);
      b.done(true);
    }
  };
  const bulk = new BulkSender(deps.internal, () => mode, entry, opts.bulkChunk ?? 2048);

  const receive = (datagram: Buffer, from: string): void => {
    io.inc('recvDatagrams');
    io.inc('recvBytes', datagram.length);
    if (!running) return;
    const r = decodeDatagram(datagram, limits);
    if (!r.ok) {
      rejected.inc(r.error.code);
      logger.debug({ from, code: r.error.code, offset: r.error.offset }, `sync: datagram rejected: ${r.error.message}`);
      return;
    }
    const h = r.value.header;
    if (h.node === nodeId && h.epoch === epoch) {
      io.inc('loopback');
      return;
    }
    const now = clock.now();
    try {
      const change = peers.heard(from, h.node, h.epoch, now);
      if (change === 'restart') mode.peerReset(from);
      if (change !== 'same') emit({ type: change, peer: from, node: h.node, epoch: h.epoch });
      let acked = false;
      for (const m of r.value.messages) {
        recvMsgs.inc(m.type);
        if (m.type === 'ack') acked = true;
        mode.recv(from, h.epoch, m, now);
      }
      if (barriers.length > 0) checkBarriers();
      // An ACK may have opened the window: move waiting changes and the bulk
      // walk on now instead of at the next tick (which paced a bulk at
      // bulkChunk per tick). Modes without ACKs keep the tick's pacing.
      if (acked) {
        if (backlog.size > 0) drain(now);
        if (backlog.size === 0 && bulk.active) bulk.step(now);
      }
    } catch (err) {
      io.inc('internalErrors');
      logger.error({ err, from }, 'sync: error while handling a datagram');
    }
    // Send what is queued now (our ACKs, what an ACK let out of the window).
    flush();
  };

  const tick = (): void => {
    const now = clock.now();
    try {
      for (const p of peers.expire(now, peerTimeoutMs)) {
        mode.peerReset(p.id);
        emit({ type: 'lost', peer: p.id, node: p.node, epoch: p.epoch });
      }
      mode.tick(now);
      drain(now);
      if (backlog.size === 0) bulk.step(now);
    } catch (err) {
      io.inc('internalErrors');
      logger.error({ err }, 'sync: error in scheduler tick');
    }
    flush();
  };

  return {
    mode: mode.name,
    nodeId,
    epoch,
    start() {
      if (running) return;
      running = true;
      transport.onDatagram(receive);
      mode.start(clock.now());
      timer = clock.setInterval(tick, tickMs);
      if (opts.startupResync) this.requestResync();
    },
    stop() {
      if (!running) return;
      running = false;
      for (const b of barriers.splice(0)) {
        clock.clear(b.timer);
        b.done(false);
      }
      if (timer) clock.clear(timer);
      timer = undefined;
      bulk.stop();
      backlog.clear();
      mode.stop();
      flush();
    },
    local(change) {
      // While the mode has no room (FT-FW window and queue full), changes wait
      // here coalesced per key instead of overflowing the resend queue (which
      // would cost a stream reset and a full bulk resync).
      if (backlog.size > 0 || mode.room() <= 0) {
        const kind = change.record.kind;
        // The internal cache holds new/updated entries: only a destroy keeps its record here.
        backlog.push({
          type: change.type,
          kind,
          key: change.key,
          // A copy: event records are views into a whole socket read, which a kept view would pin.
          ...(change.type === 'destroy' || !deps.internal[kind].has(change.key) ? { record: ownedCopy(change.record) } : {}),
        });
        return;
      }
      mode.enqueue(entry(change.record.kind, change.type, change.record), clock.now());
    },
    bulkSend: () => bulk.start(clock.now()),
    delivered(timeoutMs) {
      // Changes still in the backlog have no sequence number yet: hand them to the mode first.
      drain(clock.now());
      const token = mode.mark?.() ?? null;
      flush();
      if (token === null) return Promise.resolve(true);
      if (mode.reached?.(token) === true) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const b = {
          token,
          done: resolve,
          timer: clock.setTimeout(() => {
            const i = barriers.indexOf(b);
            if (i >= 0) barriers.splice(i, 1);
            resolve(false);
          }, timeoutMs),
        };
        barriers.push(b);
      });
    },
    requestResync: () => mode.enqueue({ type: 'resync', flags: 0, seq: 0 }, clock.now()),
    onPeerEvent(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    stats(): SyncStats {
      return {
        mode: mode.name,
        node: nodeId,
        epoch,
        sent: {
          datagrams: io.get('sentDatagrams'),
          bytes: io.get('sentBytes'),
          errors: io.get('sendErrors'),
          oversize: io.get('oversize'),
          messages: sentMsgs.toJSON(),
        },
        received: {
          datagrams: io.get('recvDatagrams'),
          bytes: io.get('recvBytes'),
          loopback: io.get('loopback'),
          internalErrors: io.get('internalErrors'),
          messages: recvMsgs.toJSON(),
        },
        rejected: rejected.toJSON(),
        external: applier.st.toJSON(),
        modeStats: mode.stats(),
        queue: { outgoing: out.length, resend: mode.resendQueueLength(), backlog: backlog.size },
        bulk: { started: bulk.started, completed: bulk.completed, active: bulk.active },
        peers: peers.list(),
      };
    },
    tick,
    flush,
  };
}

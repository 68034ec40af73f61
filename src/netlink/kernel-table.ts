/**
 * KernelTable over ctnetlink: the real kernel conntrack table.
 *
 * One command socket (dump, batched writes, flush, count; one operation at a
 * time, replies matched by sequence number) and one socket per event
 * subscription. Sockets come from the native addon (src/netlink/native.ts),
 * injectable for tests. Nothing here throws on bad kernel input: bad
 * messages are counted and logged.
 */
import type { Logger } from '../util/log';
import { systemClock, type Clock } from '../util/clock';
import { isSockError, type NetlinkSocket, type NetlinkSocketOptions, type SockError } from './socket';
import { openNetlink } from './native';
import { createAttrWriter, createCopyWriter, toCreateAttrs, toDeleteAttrs, toExpectCreateAttrs, toUpdateAttrs, type CreateOptions } from './ct/create';
import type { CtKind, CtRecord } from './types';
import {
  TableError,
  type BatchResult,
  type EventHandlers,
  type EventOptions,
  type EventSubscription,
  type KernelTable,
  type WriteOptions,
} from './table';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  encodeMessage,
  parseDatagram,
  parseDone,
  parseError,
  type NlMessage,
} from './nlmsg';
import {
  AF_UNSPEC,
  CT_GET_STATS_TYPE,
  NETLINK_NETFILTER,
  encodeRequest,
  eventGroups,
  msgType,
  parseNfMessage,
  statsEntries,
  toRecord,
} from './nfnl';
import { decodeEventBatch, decodeEventViews, type EventViews } from './ct/events';
import { DEFAULT_WINDOW, type WindowLimits } from './ct-batch';
import type { AttrTransforms, WriteOp } from './ct-batch-encode';
import { writeBatch, type BatchConn } from './ct-batch-run';

/**
 * A busy event socket is read every millisecond instead of at every event:
 * receiving 200k events then costs about half the CPU (fewer wakeups,
 * syscalls and JS calls per event), and an event waits at most 1 ms.
 */
const DEFAULT_EVENT_COALESCE_MS = 1;

export type OpenNetlink = (opts: NetlinkSocketOptions) => NetlinkSocket | SockError;

export interface KernelTableOptions {
  /** Namespace name (under /var/run/netns) or path; default: the caller's namespace. */
  netns?: string;
  logger: Logger;
  /** Command socket receive buffer (forced); holds error replies of one window. Default 32 MiB. */
  rcvbuf?: number;
  /** Command socket send buffer (forced); must exceed the window bytes. Default 8 MiB. */
  sndbuf?: number;
  /** Default receive buffer of event subscriptions. Default 16 MiB. */
  eventRcvbuf?: number;
  /** Default EventOptions.coalesceMs of subscriptions (1). */
  eventCoalesceMs?: number;
  /** Default EventOptions.readerThread of subscriptions (true). */
  eventReaderThread?: boolean;
  /** Requests per datagram and datagram size of batched writes. */
  /**
   * Send batch windows from a libuv threadpool thread, so that the kernel's
   * insert work (done inside sendmsg) overlaps the writing of the next window
   * on the main thread. Default true; needs the addon's sendAsync.
   */
  overlapWrites?: boolean;
  window?: Partial<WindowLimits>;
  /** Per-operation timeout, ms (a lost reply never hangs a caller). Default 60 s. */
  timeoutMs?: number;
  /** Re-dumps when the kernel flags NLM_F_DUMP_INTR. Default 8. */
  maxDumpRetries?: number;
  clock?: Clock;
  /** First netlink sequence number; default random (injected for deterministic tests). */
  firstSeq?: number;
  /** Socket factory; default openNetlink from the native addon. */
  openSocket?: OpenNetlink;
  /** Attribute transforms for writes; default src/netlink/ct/create.ts. */
  transforms?: AttrTransforms;
  /**
   * Options of the default transforms for every conntrack create/update:
   * CTA_TIMEOUT override (conntrackd's CommitTimeout) and BE_LIBERAL TCP
   * flags (conntrackd's TCPWindowTracking off, its default).
   */
  write?: CreateOptions;
}

export interface KernelTableStats {
  /** Messages from the kernel that could not be parsed or were unexpected. */
  badMessages: number;
  /** ENOBUFS seen on the command socket. */
  commandOverruns: number;
  /** Re-dumps caused by NLM_F_DUMP_INTR. */
  dumpRestarts: number;
}

export interface KernelTableHandle extends KernelTable {
  stats(): KernelTableStats;
}

function nsPath(netns: string | undefined): string | undefined {
  if (netns === undefined) return undefined;
  return netns.includes('/') ? netns : `/var/run/netns/${netns}`;
}


function defaultTransforms(o: CreateOptions = {}): AttrTransforms {
  return {
    toCreateAttrs: (r) => toCreateAttrs(r, o),
    toUpdateAttrs: (r) => toUpdateAttrs(r, o),
    toDeleteAttrs,
    toExpectCreateAttrs,
    writer: (op) => createAttrWriter(op, o),
  };
}

/** Transforms for records whose attributes are already prepared. */
const PREPARED: AttrTransforms = {
  toCreateAttrs: (r) => r.attrs,
  toUpdateAttrs: (r) => r.attrs,
  toDeleteAttrs: (r) => r.attrs,
  toExpectCreateAttrs: (r) => r.attrs,
  writer: () => createCopyWriter(),
};

/** Reply handler of the operation in flight: 'done' ends it, an Error fails it. */
type OnReply = (m: NlMessage) => 'more' | 'done' | TableError;

interface InFlight {
  onReply: OnReply;
  onOverrun: () => void;
  finish: (err: TableError | null) => void;
}

export function createKernelTable(opts: KernelTableOptions): KernelTableHandle {
  const log = opts.logger;
  const clock = opts.clock ?? systemClock();
  const path = nsPath(opts.netns);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const window: WindowLimits = { ...DEFAULT_WINDOW, ...opts.window };
  const st: KernelTableStats = { badMessages: 0, commandOverruns: 0, dumpRestarts: 0 };
  let open: OpenNetlink | undefined = opts.openSocket;
  let transforms: AttrTransforms | undefined = opts.transforms;
  let sock: NetlinkSocket | null = null;
  let closed = false;
  let seq = (opts.firstSeq ?? Math.floor(Math.random() * 0x7fffffff) + 1) >>> 0;
  let current: InFlight | null = null;
  let tail: Promise<unknown> = Promise.resolve();
  const subs = new Set<EventSubscription>();

  const nextSeq = (): number => {
    seq = (seq + 1) >>> 0;
    return seq;
  };

  function opener(): OpenNetlink {
    open ??= openNetlink;
    return open;
  }

  function onDatagrams(datagrams: Buffer[]): void {
    for (const dg of datagrams) {
      const parsed = parseDatagram(dg);
      if (!parsed.ok) {
        st.badMessages++;
        log.warn({ err: parsed.error }, 'ctnetlink: malformed datagram on command socket');
      }
      for (const m of parsed.messages) {
        const op = current;
        if (!op) continue; // late reply of a finished (timed out) operation
        const r = op.onReply(m);
        if (r === 'done') op.finish(null);
        else if (r !== 'more') op.finish(r);
      }
    }
  }

  function onSockError(e: SockError): void {
    if (e.code === 'ENOBUFS') {
      st.commandOverruns++;
      log.warn('ctnetlink: command socket overrun (ENOBUFS)');
      current?.onOverrun();
      return;
    }
    log.error({ err: e }, 'ctnetlink: command socket error');
    current?.finish(new TableError(e.code, `socket ${e.op}: ${e.code}`, e.errno));
  }

  function command(): NetlinkSocket | TableError {
    if (closed) return new TableError('ECLOSED', 'kernel table closed');
    if (sock) return sock;
    const s = opener()({
      protocol: NETLINK_NETFILTER,
      rcvbuf: opts.rcvbuf ?? 32 << 20,
      sndbuf: opts.sndbuf ?? 8 << 20,
      extAck: true,
      capAck: true,
      netns: path,
    });
    if (isSockError(s)) return new TableError(s.code, `open ctnetlink socket: ${s.op} ${s.code}`, s.errno);
    s.start(onDatagrams, onSockError);
    // An idle command socket does not keep the process alive; an operation's timer does while it waits.
    s.unref();
    sock = s;
    return s;
  }

  /** Send `datagram` and feed replies to onReply until it says done. */
  function transact(datagram: Buffer, onReply: OnReply, onOverrun: () => void = () => {}, overlap = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const s = command();
      if (s instanceof TableError) return reject(s);
      const timer = clock.setTimeout(() => finish(new TableError('ETIMEDOUT', `no reply within ${timeoutMs} ms`)), timeoutMs);
      const finish = (err: TableError | null): void => {
        if (current !== op) return;
        current = null;
        clock.clear(timer);
        if (err) reject(err);
        else resolve();
      };
      const op: InFlight = { onReply, onOverrun, finish };
      current = op;
      const failed = (e: SockError): void => finish(new TableError(e.code, `send: ${e.code}`, e.errno));
      if (overlap && s.sendAsync) {
        const e = s.sendAsync([datagram], (err) => {
          if (err) failed(err);
        });
        if (e) failed(e);
        return;
      }
      const e = s.send([datagram]);
      if (e) failed(e);
    });
  }

  /** Run operations one at a time on the command socket. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = tail.then(fn, fn);
    tail = p.catch(() => undefined);
    return p;
  }

  function ackOrError(m: NlMessage, want: number): 'more' | 'done' | TableError {
    if (m.seq !== want) return 'more';
    if (m.type !== NLMSG_ERROR) return 'more';
    const e = parseError(m);
    if (!e.ok) return new TableError('EBADMSG', e.error.message);
    if (e.value.errno === 0) return 'done';
    return new TableError(e.value.code, e.value.message ?? e.value.code, e.value.errno);
  }

  async function dumpOnce(kind: CtKind): Promise<{ records: CtRecord[]; intr: boolean }> {
    const want = nextSeq();
    const records: CtRecord[] = [];
    let intr = false;
    const req = encodeRequest(msgType(kind, 'get'), NLM_F_REQUEST | NLM_F_DUMP, want, AF_UNSPEC, null);
    await transact(
      req,
      (m) => {
        if (m.seq !== want) return 'more';
        if ((m.flags & NLM_F_DUMP_INTR) !== 0) intr = true;
        if (m.type === NLMSG_DONE) {
          const errno = parseDone(m);
          return errno === 0 ? 'done' : new TableError('EDUMP', `dump failed: errno ${errno}`, errno);
        }
        if (m.type === NLMSG_ERROR) return ackOrError(m, want);
        const nf = parseNfMessage(m);
        // A view into this read's Buffer (fresh per read): no copy per dumped entry.
        const rec = nf.ok ? toRecord(nf.value, false) : null;
        if (rec && rec.kind === kind) records.push(rec);
        else {
          st.badMessages++;
          log.debug({ type: m.type }, 'ctnetlink: unexpected message in dump');
        }
        return 'more';
      },
      () => {
        intr = true;
      },
    );
    return { records, intr };
  }

  function dump(kind: CtKind): Promise<CtRecord[]> {
    return serial(async () => {
      const max = opts.maxDumpRetries ?? 8;
      for (let attempt = 0; ; attempt++) {
        const r = await dumpOnce(kind);
        if (!r.intr) return r.records;
        st.dumpRestarts++;
        if (attempt >= max) throw new TableError('EINTR', `dump interrupted ${attempt + 1} times`);
        log.info({ kind, attempt }, 'ctnetlink: dump interrupted, dumping again');
      }
    });
  }

  function tf(): AttrTransforms {
    transforms ??= defaultTransforms(opts.write);
    return transforms;
  }

  const batchConn: BatchConn = {
    window,
    overlap: opts.overlapWrites ?? true,
    nextSeq,
    setSeq: (n) => {
      seq = n;
    },
    transact,
    sendBarrier: (b) => {
      sock?.send([encodeMessage(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, b)]);
    },
    onBadReply: () => {
      st.badMessages++;
    },
  };

  function write(op: WriteOp, records: CtRecord[], wo: WriteOptions = {}): Promise<BatchResult> {
    return serial(() => writeBatch(batchConn, op, records, wo.prepared === true ? PREPARED : tf(), tf(), wo.onProgress));
  }

  function flush(kind: CtKind): Promise<void> {
    return serial(async () => {
      const want = nextSeq();
      const req = encodeRequest(msgType(kind, 'delete'), NLM_F_REQUEST | NLM_F_ACK, want, AF_UNSPEC, null);
      await transact(req, (m) => ackOrError(m, want));
    });
  }

  function count(kind: CtKind): Promise<number> {
    if (kind === 'expect') return dump('expect').then((r) => r.length);
    return serial(async () => {
      const want = nextSeq();
      let entries: number | null = null;
      const req = encodeRequest(CT_GET_STATS_TYPE, NLM_F_REQUEST | NLM_F_ACK, want, AF_UNSPEC, null);
      await transact(req, (m) => {
        if (m.seq === want && m.type === CT_GET_STATS_TYPE) {
          const nf = parseNfMessage(m);
          if (nf.ok) entries = statsEntries(nf.value.attrs);
          return 'more';
        }
        return ackOrError(m, want);
      });
      if (entries === null) throw new TableError('EBADMSG', 'no CTA_STATS_GLOBAL_ENTRIES in reply');
      return entries;
    });
  }

  function subscribe(eo: EventOptions, h: EventHandlers): EventSubscription {
    let overruns = 0;
    let s: NetlinkSocket | null = null;
    const sub: EventSubscription = {
      get overruns() {
        return overruns;
      },
      close() {
        subs.delete(sub);
        s?.stop();
        s?.close();
        s = null;
      },
    };
    const opened = closed
      ? ({ code: 'ECLOSED', errno: 0, op: 'open' } satisfies SockError)
      : opener()({
          protocol: NETLINK_NETFILTER,
          groups: eventGroups(eo.kinds, eo.types),
          rcvbuf: eo.rcvbuf ?? opts.eventRcvbuf ?? 16 << 20,
          noEnobufs: false,
          broadcastError: eo.reliable === true,
          netns: path,
          coalesceMs: eo.coalesceMs ?? opts.eventCoalesceMs ?? DEFAULT_EVENT_COALESCE_MS,
          readerThread: eo.readerThread ?? opts.eventReaderThread ?? true,
        });
    if (isSockError(opened)) {
      log.error({ err: opened }, 'ctnetlink: cannot open event socket');
      queueMicrotask(() => h.onError?.(opened.code));
      return sub;
    }
    s = opened;
    subs.add(sub);
    const onEvents = (r: EventViews): void => {
      // Views into this wakeup's receive Buffer (fresh per wakeup), not copies.
      if (r.bad > 0) {
        st.badMessages += r.bad;
        log.warn({ bad: r.bad, err: r.firstError }, 'ctnetlink: malformed event messages skipped');
      }
      if (r.events.length > 0) h.onEvents(r.events);
    };
    const onError = (e: SockError): void => {
      if (e.code === 'ENOBUFS') {
        overruns++;
        log.warn({ overruns }, 'ctnetlink: event socket overrun, events lost');
        h.onOverrun();
      } else {
        log.error({ err: e }, 'ctnetlink: event socket error');
        h.onError?.(e.code);
      }
    };
    // The wakeup as one Buffer + lengths when the socket offers it (no view per datagram).
    if (s.startRaw) s.startRaw((buf, lens) => onEvents(decodeEventBatch(buf, lens)), onError);
    else s.start((datagrams) => onEvents(decodeEventViews(datagrams)), onError);
    return sub;
  }

  return {
    dump,
    subscribe,
    create: (r, wo) => write('create', r, wo),
    update: (r, wo) => write('update', r, wo),
    delete: (r, wo) => write('delete', r, wo),
    flush,
    count,
    stats: () => ({ ...st }),
    close() {
      if (closed) return;
      closed = true;
      for (const sub of [...subs]) sub.close();
      current?.finish(new TableError('ECLOSED', 'kernel table closed'));
      sock?.stop();
      sock?.close();
      sock = null;
    },
  };
}

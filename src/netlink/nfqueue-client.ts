/**
 * nfnetlink_queue socket: binds one queue number with the conntrack of each
 * packet attached (NFQA_CFG_F_CONNTRACK), metadata only (NFQNL_COPY_META)
 * and fail-open (NFQA_CFG_F_FAIL_OPEN: a full queue accepts instead of
 * dropping), hands decoded packets to a handler and sends verdicts.
 *
 * The socket comes from the native addon (openNetlink, NETLINK_NETFILTER),
 * injectable for tests. Nothing here throws on kernel input; failures are
 * counted (stats) and logged. Closing the socket makes the kernel destroy
 * the queue instance, which DROPS every packet still queued
 * (nfqnl_rcv_nl_event -> nfqnl_flush(NF_DROP)): the owner decides them all
 * before close().
 */
import type { Logger } from '../util/log';
import { systemClock, type Clock } from '../util/clock';
import { openNetlink } from './native';
import { isSockError, type NetlinkSocket, type NetlinkSocketOptions, type SockError } from './socket';
import { NETLINK_NETFILTER } from './nfnl';
import { errnoName } from './nlmsg';
import {
  DEFAULT_QUEUE_LIMITS,
  NFQA_CFG_F,
  NFQNL_CFG_CMD,
  NFQNL_COPY,
  decodeQueueRead,
  encodeConfig,
  encodeVerdict,
  type QueueConfig,
  type QueueDecodeLimits,
  type QueuedPacket,
} from './nfqueue';

export type OpenNetlink = (opts: NetlinkSocketOptions) => NetlinkSocket | SockError;

export interface NfQueueOptions {
  /** Queue number, 0..65535 (the nft rule's `queue num`). */
  queue: number;
  /** Every wakeup's packets, in kernel order. A throwing handler is counted, not fatal. */
  onPackets: (packets: QueuedPacket[]) => void;
  logger: Logger;
  /** Namespace name (under /var/run/netns) or path; default: ours. */
  netns?: string;
  /** NFQA_CFG_QUEUE_MAXLEN. Default 1024 (the kernel's default). */
  maxLen?: number;
  /** Receive buffer (forced). Default 4 MiB. */
  rcvbuf?: number;
  /** Time to wait for the kernel's answer to a config request, ms. Default 5000. */
  timeoutMs?: number;
  clock?: Clock;
  limits?: Partial<QueueDecodeLimits>;
  /** First netlink sequence number. Default 1. */
  firstSeq?: number;
  /** Socket factory; default the native addon. */
  openSocket?: OpenNetlink;
  /**
   * What each packet carries: 'conntrack' (NFQA_CT, metadata only), 'packet'
   * (the first `copyRange` bytes of the packet, no NFQA_CT), or 'auto'
   * (default): conntrack, else packet when the kernel refuses it (EOPNOTSUPP:
   * built without CONFIG_NETFILTER_NETLINK_GLUE_CT).
   */
  attach?: 'auto' | 'conntrack' | 'packet';
  /** Bytes copied per packet in 'packet' mode. Default 128 (IP + TCP headers with options). */
  copyRange?: number;
}

export interface NfQueueStats {
  packets: number;
  /** Messages that could not be decoded. */
  bad: number;
  /** ENOBUFS on the socket: packet messages were lost (their packets stay queued until a batch verdict covers them). */
  overruns: number;
  verdicts: number;
  batchVerdicts: number;
  /** Verdicts the kernel refused, by errno name (ENOENT: no longer queued). */
  verdictErrors: Record<string, number>;
  sendErrors: number;
  handlerErrors: number;
}

export interface NfQueue {
  readonly queue: number;
  /** What the kernel attaches to each packet (see NfQueueOptions.attach). */
  readonly attach: 'conntrack' | 'packet';
  /** NF_ACCEPT / NF_DROP for one packet id. */
  verdict(id: number, verdict: number): void;
  /** The verdict for every queued id up to and including `maxId` (NFQNL_MSG_VERDICT_BATCH). */
  verdictBatch(maxId: number, verdict: number): void;
  stats(): NfQueueStats;
  /** Unbind (best effort, bounded) and close. Packets still queued are dropped by the kernel. */
  close(): Promise<void>;
}

export type OpenResult = { ok: true; queue: NfQueue } | { ok: false; code: string; message: string };

interface Pending {
  seq: number;
  done: (errno: number) => void;
}

function nsPath(netns: string | undefined): string | undefined {
  if (netns === undefined) return undefined;
  return netns.includes('/') ? netns : `/var/run/netns/${netns}`;
}

/**
 * The bind request, fail-open: with conntrack attached and metadata only,
 * or (packet) the first `copyRange` bytes and no conntrack.
 */
export function bindConfig(maxLen: number, attach: 'conntrack' | 'packet', copyRange = 128): QueueConfig {
  const mask = NFQA_CFG_F.CONNTRACK | NFQA_CFG_F.FAIL_OPEN;
  const value = attach === 'conntrack' ? mask : NFQA_CFG_F.FAIL_OPEN;
  const copy = attach === 'conntrack' ? { mode: NFQNL_COPY.META, range: 0 } : { mode: NFQNL_COPY.PACKET, range: copyRange };
  return { command: NFQNL_CFG_CMD.BIND, copy, maxLen, flags: { value, mask } };
}

export async function openNfQueue(o: NfQueueOptions): Promise<OpenResult> {
  if (!Number.isInteger(o.queue) || o.queue < 0 || o.queue > 0xffff) return { ok: false, code: 'EINVAL', message: `queue ${o.queue}: 0..65535` };
  const clock = o.clock ?? systemClock();
  const log = o.logger;
  const limits: QueueDecodeLimits = { ...DEFAULT_QUEUE_LIMITS, ...o.limits };
  const timeoutMs = o.timeoutMs ?? 5000;
  const open = o.openSocket ?? openNetlink;
  const path = nsPath(o.netns);
  const s = open({ protocol: NETLINK_NETFILTER, rcvbuf: o.rcvbuf ?? 4 << 20, extAck: true, capAck: true, ...(path !== undefined ? { netns: path } : {}) });
  if (isSockError(s)) return { ok: false, code: s.code, message: `open: ${s.op}: ${s.code}` };
  const sock: NetlinkSocket = s;
  const st: NfQueueStats = { packets: 0, bad: 0, overruns: 0, verdicts: 0, batchVerdicts: 0, verdictErrors: {}, sendErrors: 0, handlerErrors: 0 };
  let seq = (o.firstSeq ?? 1) >>> 0;
  let pending: Pending | null = null;
  let closed = false;
  const nextSeq = (): number => {
    seq = (seq + 1) >>> 0 || 1;
    return seq;
  };

  sock.start(
    (datagrams) => {
      const r = decodeQueueRead(datagrams, limits);
      if (r.bad > 0) {
        st.bad += r.bad;
        log.warn({ queue: o.queue, bad: r.bad, error: r.firstError }, 'nfqueue: undecodable messages');
      }
      for (const rep of r.replies) {
        if (pending !== null && rep.request.seq === pending.seq) {
          pending.done(rep.errno);
          continue;
        }
        if (rep.errno !== 0) st.verdictErrors[rep.code] = (st.verdictErrors[rep.code] ?? 0) + 1;
      }
      if (r.packets.length === 0) return;
      st.packets += r.packets.length;
      try {
        o.onPackets(r.packets);
      } catch (e) {
        st.handlerErrors++;
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'nfqueue: packet handler failed');
      }
    },
    (e) => {
      if (e.code === 'ENOBUFS') {
        st.overruns++;
        log.warn({ queue: o.queue }, 'nfqueue: socket overrun, packet messages lost');
      } else if (e.code === 'EHANDLER') {
        st.handlerErrors++;
        log.error({ err: e.message }, 'nfqueue: handler error');
      } else {
        log.warn({ code: e.code, op: e.op }, 'nfqueue: socket error');
      }
    },
  );

  /** Send one config request and wait for the kernel's answer: errno (0 = done), or -1 on timeout/send failure. */
  const configure = (cfg: QueueConfig): Promise<number> =>
    new Promise((resolve) => {
      const n = nextSeq();
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const finish = (errno: number): void => {
        if (pending?.seq === n) pending = null;
        if (timer !== undefined) clock.clear(timer);
        resolve(errno);
      };
      pending = { seq: n, done: finish };
      const err = sock.send([encodeConfig(n, o.queue, cfg)]);
      if (err !== null) {
        st.sendErrors++;
        return finish(-1);
      }
      timer = clock.setTimeout(() => finish(-1), timeoutMs);
    });

  const maxLen = o.maxLen ?? 1024;
  let attach: 'conntrack' | 'packet' = o.attach === 'packet' ? 'packet' : 'conntrack';
  const bind = (): Promise<number> => configure(bindConfig(maxLen, attach, o.copyRange));
  let errno = await bind();
  // EAGAIN: the kernel just loaded nf_conntrack_netlink for NFQA_CFG_F_CONNTRACK; ask again.
  if (errno > 0 && errnoName(errno) === 'EAGAIN') errno = await bind();
  // EOPNOTSUPP: no conntrack glue in this kernel (the flags are checked before the bind, nothing is bound).
  if (errno > 0 && errnoName(errno) === 'EOPNOTSUPP' && attach === 'conntrack' && (o.attach ?? 'auto') === 'auto') {
    attach = 'packet';
    log.info({ queue: o.queue }, 'nfqueue: the kernel cannot attach conntrack (no NETFILTER_NETLINK_GLUE_CT); copying packet headers instead');
    errno = await bind();
  }
  if (errno !== 0) {
    sock.close();
    const code = errno < 0 ? 'ETIMEDOUT' : errnoName(errno);
    return { ok: false, code, message: `bind queue ${o.queue}: ${code}${code === 'EBUSY' ? ' (another process holds this queue)' : ''}` };
  }

  const sendVerdict = (id: number, verdict: number, batch: boolean): void => {
    if (closed) return;
    const err = sock.send([encodeVerdict(nextSeq(), o.queue, id, verdict, batch)]);
    if (err !== null) {
      st.sendErrors++;
      log.warn({ code: err.code, id }, 'nfqueue: verdict not sent');
      return;
    }
    if (batch) st.batchVerdicts++;
    else st.verdicts++;
  };

  return {
    ok: true,
    queue: {
      queue: o.queue,
      attach,
      verdict: (id, v) => sendVerdict(id, v, false),
      verdictBatch: (id, v) => sendVerdict(id, v, true),
      stats: () => ({ ...st, verdictErrors: { ...st.verdictErrors } }),
      async close() {
        if (closed) return;
        const e = await configure({ command: NFQNL_CFG_CMD.UNBIND });
        if (e !== 0) log.debug({ queue: o.queue, errno: e }, 'nfqueue: unbind not acknowledged');
        closed = true;
        sock.close();
      },
    },
  };
}

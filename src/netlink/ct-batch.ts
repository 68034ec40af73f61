/**
 * Batched ctnetlink writes (pure planning + reply matching).
 *
 * A batch is cut into windows. Each window is ONE datagram holding many
 * requests (sequence numbers firstSeq, firstSeq+1, ...) without NLM_F_ACK,
 * followed by a barrier: NLMSG_NOOP with NLM_F_REQUEST|NLM_F_ACK. The kernel
 * handles every message of a datagram in order (netlink_rcv_skb), answers
 * only the failing ones with NLMSG_ERROR, and acknowledges the barrier last,
 * so one ACK tells the window is done and errors map back to an input index
 * by sequence number. The window size bounds how many error replies can queue
 * up on the socket at once (no ACK storm, no overrun).
 */
import type { BatchFailure } from './table';
import type { CtRecord } from './types';
import { NLM_F_ACK, NLM_F_REQUEST, NLMSG_HDRLEN, NLMSG_NOOP, writeHeader } from './nlmsg';
import { requestSize, writeRequest } from './nfnl';

/** One request of a batch, as produced by the caller's encoder. */
export interface BatchRequest {
  type: number;
  flags: number;
  family: number;
  attrs: Buffer;
}

/** Encoder for one record; a string is a local refusal (errno name). */
export type BatchEncoder = (rec: CtRecord) => BatchRequest | string;

export interface BatchWindow {
  /** The datagram: requests then the barrier. */
  datagram: Buffer;
  firstSeq: number;
  /** Input index of the request with sequence firstSeq + i. */
  indices: number[];
  barrierSeq: number;
}

export interface BatchPlan {
  windows: BatchWindow[];
  /** Records refused before sending (encoder said no). */
  refused: BatchFailure[];
  /** Next free sequence number. */
  nextSeq: number;
}

export interface WindowLimits {
  /** Maximum requests per datagram. */
  maxMessages: number;
  /** Maximum datagram bytes (must stay below the socket's SO_SNDBUF). */
  maxBytes: number;
}

export const DEFAULT_WINDOW: WindowLimits = { maxMessages: 4096, maxBytes: 1 << 20 };

const BARRIER_LEN = NLMSG_HDRLEN;

function nextSeqOf(seq: number): number {
  return (seq + 1) >>> 0;
}

/** Cut `records` into windows. Sequence numbers count up modulo 2^32. */
export function planBatch(
  records: CtRecord[],
  encode: BatchEncoder,
  firstSeq: number,
  limits: WindowLimits = DEFAULT_WINDOW,
): BatchPlan {
  const refused: BatchFailure[] = [];
  const windows: BatchWindow[] = [];
  let seq = firstSeq >>> 0;
  let pending: Array<{ index: number; req: BatchRequest }> = [];
  let bytes = 0;

  const flush = (): void => {
    if (pending.length === 0) return;
    const datagram = Buffer.allocUnsafe(bytes + BARRIER_LEN);
    const indices: number[] = new Array<number>(pending.length);
    let off = 0;
    const first = seq;
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i];
      if (!p) continue;
      off = writeRequest(datagram, off, p.req.type, p.req.flags | NLM_F_REQUEST, seq, p.req.family, p.req.attrs);
      indices[i] = p.index;
      seq = nextSeqOf(seq);
    }
    const barrierSeq = seq;
    writeHeader(datagram, off, { len: BARRIER_LEN, type: NLMSG_NOOP, flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 });
    seq = nextSeqOf(seq);
    windows.push({ datagram, firstSeq: first, indices, barrierSeq });
    pending = [];
    bytes = 0;
  };

  for (let index = 0; index < records.length; index++) {
    const rec = records[index];
    if (!rec) continue;
    const req = encode(rec);
    if (typeof req === 'string') {
      refused.push({ index, code: req, errno: 0, message: 'refused before sending' });
      continue;
    }
    const size = requestSize(req.attrs.length);
    if (pending.length > 0 && (pending.length >= limits.maxMessages || bytes + size + BARRIER_LEN > limits.maxBytes)) {
      flush();
    }
    pending.push({ index, req });
    bytes += size;
  }
  flush();
  return { windows, refused, nextSeq: seq };
}

/** Input index answered by a reply with sequence `seq`, or -1 when it is not one of this window's requests. */
export function indexOfSeq(w: BatchWindow, seq: number): number {
  const i = (seq - w.firstSeq) >>> 0;
  if (i >= w.indices.length) return -1;
  return w.indices[i] ?? -1;
}

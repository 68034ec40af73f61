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
import { endianness } from 'node:os';
import type { BatchFailure } from './table';
import type { CtRecord } from './types';
import { NLM_F_ACK, NLM_F_REQUEST, NLMSG_HDRLEN, NLMSG_NOOP, writeHeader } from './nlmsg';
import { NFGENMSG_LEN, NFNETLINK_V0, requestSize, writeRequest } from './nfnl';

/** One request of a batch, as produced by the caller's encoder. */
export interface BatchRequest {
  type: number;
  flags: number;
  family: number;
  attrs: Buffer;
}

/** Encoder for one record; a string is a local refusal (errno name). */
export type BatchEncoder = (rec: CtRecord) => BatchRequest | string;

/**
 * Optional fast path of an encoder: the attributes are measured, then
 * written straight into the window's datagram (no Buffer per record).
 * measure() gives the attribute bytes (a multiple of 4), an errno name
 * (refused), or null: this record goes through the BatchEncoder. write()
 * writes the attributes measured last at `off` and returns the end offset.
 */
export interface DirectEncoder {
  /** nlmsg_type and flags (NLM_F_REQUEST is added) of every request it writes. */
  type: number;
  flags: number;
  measure(rec: CtRecord): number | string | null;
  write(rec: CtRecord, buf: Buffer, off: number): number;
}

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
/** nlmsghdr + struct nfgenmsg {u8 family; u8 version; be16 res_id} (nfnetlink.h). */
const REQ_HDRLEN = NLMSG_HDRLEN + NFGENMSG_LEN;

function nextSeqOf(seq: number): number {
  return (seq + 1) >>> 0;
}

const HOST_LE = endianness() === 'LE';

/** u32 in host order (nlmsghdr fields), byte by byte: Buffer's writers validate through calls V8 does not inline. */
function putHostU32(b: Buffer, o: number, v: number): void {
  const x = v >>> 0;
  b[o + (HOST_LE ? 0 : 3)] = x & 0xff;
  b[o + (HOST_LE ? 1 : 2)] = (x >>> 8) & 0xff;
  b[o + (HOST_LE ? 2 : 1)] = (x >>> 16) & 0xff;
  b[o + (HOST_LE ? 3 : 0)] = x >>> 24;
}

/**
 * struct nlmsghdr {u32 len; u16 type; u16 flags; u32 seq; u32 pid} (host
 * order, netlink.h) + struct nfgenmsg {u8 family; u8 version; be16 res_id}.
 */
function putRequestHead(b: Buffer, off: number, len: number, type: number, flags: number, seq: number, family: number): void {
  putHostU32(b, off, len);
  putHostU32(b, off + 4, HOST_LE ? (type & 0xffff) | ((flags & 0xffff) << 16) : ((type & 0xffff) << 16) | (flags & 0xffff));
  putHostU32(b, off + 8, seq);
  putHostU32(b, off + 12, 0);
  b[off + NLMSG_HDRLEN] = family;
  b[off + NLMSG_HDRLEN + 1] = NFNETLINK_V0;
  b[off + NLMSG_HDRLEN + 2] = 0;
  b[off + NLMSG_HDRLEN + 3] = 0;
}

/** Extra bytes per request in the first guess of a window's size (create may add NAT, status, timeout). */
const GUESS_SLACK = 32;

/** Datagram bytes to allocate for a window starting at records[from]: a guess, grown on demand. */
function guessBytes(records: CtRecord[], from: number, limits: WindowLimits): number {
  let n = BARRIER_LEN;
  const to = Math.min(records.length, from + limits.maxMessages);
  for (let i = from; i < to && n < limits.maxBytes; i++) n += requestSize(records[i]?.attrs.length ?? 0) + GUESS_SLACK;
  return Math.min(n, limits.maxBytes);
}

/**
 * Cuts `records` into windows one at a time, so that the caller can write
 * window k + 1 while the kernel works on window k. Each request is written
 * into its window's datagram as it is encoded: one allocation per window
 * (grown by doubling when the first guess is short).
 */
export class BatchPlanner {
  /** Records refused before sending (encoder said no), so far. */
  readonly refused: BatchFailure[] = [];
  private index = 0;
  private seq = 0;
  private buf: Buffer | null = null;
  private off = 0;
  private indices: number[] = [];
  private carry: BatchRequest | null = null;

  constructor(
    private readonly records: CtRecord[],
    private readonly encode: BatchEncoder,
    private readonly limits: WindowLimits = DEFAULT_WINDOW,
    private readonly direct?: DirectEncoder,
  ) {}

  /**
   * The next window, its requests numbered from `firstSeq` up (modulo 2^32)
   * and its barrier last; null when every record is planned. `maxMessages`
   * can make this window smaller than the limits allow.
   */
  next(firstSeq: number, maxMessages = this.limits.maxMessages): BatchWindow | null {
    const { records, direct, limits } = this;
    const cap = Math.max(1, Math.min(maxMessages, limits.maxMessages));
    this.seq = firstSeq >>> 0;
    for (; this.index < records.length; this.index++) {
      const index = this.index;
      const rec = records[index];
      if (!rec) continue;
      if (this.indices.length >= cap) return this.close(firstSeq);
      const carried = this.carry;
      this.carry = null;
      const alen = carried ? null : direct ? measure(direct, rec) : null;
      let size: number;
      let req: BatchRequest | null = null;
      if (direct && typeof alen === 'number') size = requestSize(alen);
      else {
        const r = carried ?? (typeof alen === 'string' ? alen : this.encode(rec));
        if (typeof r === 'string') {
          this.refused.push({ index, code: r, errno: 0, message: 'refused before sending' });
          continue;
        }
        req = r;
        size = requestSize(r.attrs.length);
      }
      if (this.indices.length > 0 && this.off + size + BARRIER_LEN > limits.maxBytes) {
        // This record opens the next window; an encoded request is kept, not encoded twice
        // (a direct write is measured again: the writer's scratch state is per measure).
        this.carry = req;
        return this.close(firstSeq);
      }
      const b = this.room(size, index);
      if (req) this.off = writeRequest(b, this.off, req.type, req.flags | NLM_F_REQUEST, this.seq, req.family, req.attrs);
      else if (direct && typeof alen === 'number') {
        const end = direct.write(rec, b, this.off + REQ_HDRLEN);
        putRequestHead(b, this.off, REQ_HDRLEN + alen, direct.type, direct.flags | NLM_F_REQUEST, this.seq, rec.family);
        if (end < this.off + size) b.fill(0, end, this.off + size);
        this.off += size;
      }
      this.indices.push(index);
      this.seq = nextSeqOf(this.seq);
    }
    return this.close(firstSeq);
  }

  private close(firstSeq: number): BatchWindow | null {
    const buf = this.buf;
    if (!buf || this.indices.length === 0) return null;
    const seq = this.seq;
    writeHeader(buf, this.off, { len: BARRIER_LEN, type: NLMSG_NOOP, flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 });
    const w: BatchWindow = { datagram: buf.subarray(0, this.off + BARRIER_LEN), firstSeq: firstSeq >>> 0, indices: this.indices, barrierSeq: seq };
    this.buf = null;
    this.off = 0;
    this.indices = [];
    return w;
  }

  /** The current window's datagram with room for one more request of `size` bytes. */
  private room(size: number, from: number): Buffer {
    const need = this.off + size + BARRIER_LEN;
    if (!this.buf) {
      this.buf = Buffer.allocUnsafe(Math.max(need, guessBytes(this.records, from, this.limits)));
    } else if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(this.limits.maxBytes, this.buf.length * 2)));
      this.buf.copy(grown, 0, 0, this.off);
      this.buf = grown;
    }
    return this.buf;
  }
}

/** Cut `records` into windows, all at once (see BatchPlanner). */
export function planBatch(
  records: CtRecord[],
  encode: BatchEncoder,
  firstSeq: number,
  limits: WindowLimits = DEFAULT_WINDOW,
  direct?: DirectEncoder,
): BatchPlan {
  const planner = new BatchPlanner(records, encode, limits, direct);
  const windows: BatchWindow[] = [];
  let seq = firstSeq >>> 0;
  for (let w = planner.next(seq); w; w = planner.next(seq)) {
    windows.push(w);
    seq = nextSeqOf(w.barrierSeq);
  }
  return { windows, refused: planner.refused, nextSeq: seq };
}

/** DirectEncoder.measure; a throw is a refusal (EINVAL), as for the Buffer encoders. */
function measure(d: DirectEncoder, rec: CtRecord): number | string | null {
  try {
    return d.measure(rec);
  } catch {
    return 'EINVAL';
  }
}

/** Input index answered by a reply with sequence `seq`, or -1 when it is not one of this window's requests. */
export function indexOfSeq(w: BatchWindow, seq: number): number {
  const i = (seq - w.firstSeq) >>> 0;
  if (i >= w.indices.length) return -1;
  return w.indices[i] ?? -1;
}

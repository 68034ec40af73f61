/**
 * FT-FW receiving side, per peer: delivers data messages strictly in sequence
 * order (so a destroy can never be overtaken by an older update), buffers
 * out-of-order ones within a window, drops duplicates, NACKs gaps (as ranges,
 * repeated every nackInterval while a gap persists), and ACKs cumulatively
 * every ACKWindowSize deliveries or ackDelay after the first unacked one.
 * Tail loss is detected from the "last seq" that every control message carries.
 */
import type { Counters, FtfwOptions, ModeContext } from '../mode';
import { seqAdd, seqDiff, seqGe, seqLt, seqMax } from '../seq';
import { MsgFlag, type Message } from '../wire/types';

interface RxPeer {
  /** Next sequence number to deliver; undefined until the first message sets the baseline. */
  next: number | undefined;
  buf: Map<number, Message>;
  /** Highest sequence number known to exist. */
  maxSeen: number | undefined;
  pending: number;
  ackDueAt: number | undefined;
  lastAcked: number | undefined;
  lastNackAt: number;
}

/** Control messages this side emits; the caller stamps seq with the sender's last. */
export type ControlOut = (m: Message) => void;

const SANE_AHEAD = 1 << 30;

export class FtfwReceiver {
  private readonly peers = new Map<string, RxPeer>();

  constructor(
    private readonly ctx: ModeContext,
    private readonly o: FtfwOptions,
    private readonly st: Counters,
    private readonly control: ControlOut,
  ) {}

  private peer(id: string): RxPeer {
    let p = this.peers.get(id);
    if (p === undefined) {
      p = {
        next: undefined,
        buf: new Map(),
        maxSeen: undefined,
        pending: 0,
        ackDueAt: undefined,
        lastAcked: undefined,
        lastNackAt: Number.NEGATIVE_INFINITY,
      };
      this.peers.set(id, p);
    }
    return p;
  }

  bufferedTotal(): number {
    let n = 0;
    for (const p of this.peers.values()) n += p.buf.size;
    return n;
  }

  onData(id: string, m: Message, now: number): void {
    const p = this.peer(id);
    if (p.next === undefined) p.next = m.seq;
    const d = seqDiff(p.next, m.seq);
    if (d < 0 || p.buf.has(m.seq)) {
      this.st.inc('duplicates');
      if (d < 0) p.ackDueAt = now; // the sender is retransmitting: our ack may have been lost
      return;
    }
    p.maxSeen = p.maxSeen === undefined ? m.seq : seqMax(p.maxSeen, m.seq);
    if (d >= this.o.recvWindow) {
      this.st.inc('outOfWindow');
      this.maybeNack(id, p, now);
      return;
    }
    if (d > 0) {
      p.buf.set(m.seq, m);
      this.st.inc('outOfOrder');
      this.maybeNack(id, p, now);
      return;
    }
    this.deliver(id, p, m);
    this.drain(id, p);
    this.afterDelivery(p, now);
  }

  /** Any control message from the peer: `last` is its last assigned data seq. */
  onControl(id: string, last: number, now: number): void {
    const p = this.peer(id);
    if (p.next === undefined) {
      p.next = seqAdd(last, 1);
      return;
    }
    if (seqGe(last, p.next) && seqDiff(p.next, last) < SANE_AHEAD) {
      p.maxSeen = p.maxSeen === undefined ? last : seqMax(p.maxSeen, last);
      this.maybeNack(id, p, now);
    }
  }

  onAlive(id: string, m: Message, now: number): void {
    this.onControl(id, m.seq, now);
    if (m.flags & MsgFlag.NEED_ACK) this.sendAck(this.peer(id));
  }

  /** The peer started a new stream at `next`: skip everything before it. */
  onReset(id: string, next: number, now: number): void {
    const p = this.peer(id);
    if (p.next !== undefined && seqLt(next, p.next)) {
      this.st.inc('staleResets');
      return;
    }
    this.st.inc('resetsReceived');
    for (const s of p.buf.keys()) if (seqLt(s, next)) p.buf.delete(s);
    p.next = next;
    const before = seqAdd(next, -1);
    p.maxSeen = p.maxSeen === undefined || seqLt(p.maxSeen, before) ? before : p.maxSeen;
    p.lastAcked = undefined;
    this.drain(id, p);
    p.ackDueAt = now;
  }

  tick(now: number): void {
    for (const [id, p] of this.peers) {
      if (p.ackDueAt !== undefined && now >= p.ackDueAt) this.sendAck(p);
      if (p.next !== undefined && p.maxSeen !== undefined && seqGe(p.maxSeen, p.next)) this.maybeNack(id, p, now);
    }
  }

  forget(id: string): void {
    this.peers.delete(id);
  }

  private deliver(id: string, p: RxPeer, m: Message): void {
    p.next = seqAdd(m.seq, 1);
    p.pending++;
    this.st.inc('delivered');
    this.ctx.deliver(id, m);
  }

  private drain(id: string, p: RxPeer): void {
    for (;;) {
      if (p.next === undefined) return;
      const m = p.buf.get(p.next);
      if (m === undefined) return;
      p.buf.delete(p.next);
      this.deliver(id, p, m);
    }
  }

  private afterDelivery(p: RxPeer, now: number): void {
    if (p.pending >= this.o.ackWindowSize) this.sendAck(p);
    else if (p.pending > 0 && p.ackDueAt === undefined) p.ackDueAt = now + this.o.ackDelayMs;
  }

  private sendAck(p: RxPeer): void {
    if (p.next === undefined) return;
    const to = seqAdd(p.next, -1);
    const from = p.lastAcked === undefined || !seqLt(p.lastAcked, to) ? to : seqAdd(p.lastAcked, 1);
    p.lastAcked = to;
    p.pending = 0;
    p.ackDueAt = undefined;
    this.st.inc('acksSent');
    this.control({ type: 'ack', flags: 0, seq: 0, from, to });
  }

  /** Send NACK ranges for the gaps in [next, min(maxSeen, next + window - 1)], at most once per interval. */
  private maybeNack(_id: string, p: RxPeer, now: number): void {
    if (p.next === undefined || p.maxSeen === undefined) return;
    if (now - p.lastNackAt < this.o.nackIntervalMs) return;
    const span = Math.min(seqDiff(p.next, p.maxSeen) + 1, this.o.recvWindow);
    if (span <= 0) return;
    p.lastNackAt = now;
    let ranges = 0;
    let gapStart = -1;
    for (let i = 0; i <= span && ranges < this.o.maxNackRanges; i++) {
      const missing = i < span && !p.buf.has(seqAdd(p.next, i));
      if (missing && gapStart < 0) gapStart = i;
      if (!missing && gapStart >= 0) {
        this.st.inc('nacksSent');
        this.control({ type: 'nack', flags: 0, seq: 0, from: seqAdd(p.next, gapStart), to: seqAdd(p.next, i - 1) });
        ranges++;
        gapStart = -1;
      }
    }
  }
}

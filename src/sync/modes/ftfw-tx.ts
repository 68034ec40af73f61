/**
 * FT-FW sending side: one sequence space per engine epoch, a bounded resend
 * queue of every unacknowledged data message, cumulative ACKs per peer,
 * retransmission on NACK, ALIVE when idle or while messages are unacked, and
 * stream RESET (+ bulk resync) when a peer needs messages no longer held
 * (resend queue overflow) or greets us with HELLO.
 */
import type { Counters, FtfwOptions, ModeContext } from '../mode';
import { initialSeq, seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax } from '../seq';
import { MsgFlag, type Message, type RangeMessage } from '../wire/types';

/** Last cumulative ack of a peer in the current stream; null = known peer, nothing acked since the reset. */
type Acked = number | null;

export class FtfwSender {
  private nextSeq: number;
  /** First sequence number of the current stream (set by the last RESET). */
  private base: number;
  private readonly queue = new Map<number, Message>();
  private readonly acked = new Map<string, Acked>();
  private readonly helloEpochs = new Map<string, number>();
  private lastDataAt = Number.NEGATIVE_INFINITY;
  private lastAliveAt = Number.NEGATIVE_INFINITY;
  private lastResetSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: ModeContext,
    private readonly o: FtfwOptions,
    private readonly st: Counters,
  ) {
    this.nextSeq = initialSeq(ctx.random);
    this.base = this.nextSeq;
  }

  /** Last assigned data sequence number (carried by every control message). */
  last(): number {
    return seqAdd(this.nextSeq, -1);
  }

  queueLength(): number {
    return this.queue.size;
  }

  room(): number {
    return Math.max(0, this.o.resendQueueSize - this.queue.size - this.o.ackWindowSize);
  }

  enqueue(msg: Message, now: number): void {
    msg.seq = this.nextSeq;
    this.nextSeq = seqAdd(this.nextSeq, 1);
    this.queue.set(msg.seq, msg);
    if (this.queue.size > this.o.resendQueueSize) {
      const oldest = this.queue.keys().next();
      if (!oldest.done) this.queue.delete(oldest.value);
      this.st.inc('overflows');
    }
    this.lastDataAt = now;
    this.ctx.send(msg);
  }

  onAck(peer: string, m: RangeMessage): void {
    this.st.inc('acksReceived');
    const to = m.to;
    if (seqLt(to, seqAdd(this.base, -1)) || seqGt(to, this.last())) {
      this.st.inc('staleAcks');
      return;
    }
    const prev = this.acked.get(peer);
    this.acked.set(peer, prev === undefined || prev === null ? to : seqMax(prev, to));
    this.trim();
  }

  onNack(peer: string, m: RangeMessage, now: number): void {
    this.st.inc('nacksReceived');
    const n = seqDiff(m.from, m.to) + 1;
    if (n <= 0 || n > this.o.resendQueueSize + this.o.recvWindow) {
      this.st.inc('badNacks');
      return;
    }
    const peerAcked = this.acked.get(peer) ?? null;
    let needReset = false;
    let lost = false;
    for (let i = 0; i < n; i++) {
      const s = seqAdd(m.from, i);
      if (peerAcked !== null && seqLe(s, peerAcked)) continue; // stale NACK: already acknowledged
      if (seqLt(s, this.base)) {
        needReset = true; // the peer missed our RESET
        continue;
      }
      if (seqGt(s, this.last())) break;
      const q = this.queue.get(s);
      if (q === undefined) {
        lost = true;
        continue;
      }
      this.st.inc('resends');
      this.ctx.send({ ...q, flags: q.flags | MsgFlag.RESEND });
    }
    if (lost) {
      this.st.inc('lostOnNack');
      this.resetStream(now);
    } else if (needReset && now - this.lastResetSentAt >= this.o.nackIntervalMs) {
      this.sendReset(now);
    }
  }

  /** A HELLO from `peer` in epoch `epoch`: answer once per epoch with RESET + bulk, later HELLOs with RESET only. */
  onHello(peer: string, epoch: number, now: number): void {
    this.st.inc('hellosReceived');
    if (this.helloEpochs.get(peer) === epoch) {
      this.sendReset(now, epoch);
      return;
    }
    this.helloEpochs.set(peer, epoch);
    this.resetStream(now, epoch);
  }

  /** Start a new stream: drop the resend queue, tell peers where it starts, resend the whole table. */
  resetStream(now: number, echo?: number): void {
    this.st.inc('resets');
    this.base = this.nextSeq;
    this.queue.clear();
    for (const p of this.acked.keys()) this.acked.set(p, null);
    this.sendReset(now, echo);
    this.ctx.bulkSend();
  }

  private sendReset(now: number, echo?: number): void {
    this.lastResetSentAt = now;
    const m: Message = { type: 'reset', flags: 0, seq: this.last(), next: this.base };
    if (echo !== undefined) m.echo = echo;
    this.ctx.send(m);
  }

  /** Drop queued messages every known peer has acknowledged. */
  private trim(): void {
    let min: number | undefined;
    for (const a of this.acked.values()) {
      if (a === null) return;
      min = min === undefined || seqLt(a, min) ? a : min;
    }
    if (min === undefined) return;
    for (const s of this.queue.keys()) {
      if (!seqLe(s, min)) break;
      this.queue.delete(s);
    }
  }

  tick(now: number): void {
    if (now - this.lastAliveAt < this.o.aliveIntervalMs) return;
    const pending = this.queue.size > 0;
    if (!pending && now - this.lastDataAt < this.o.aliveIntervalMs) return;
    this.lastAliveAt = now;
    this.st.inc('alivesSent');
    this.ctx.send({ type: 'alive', flags: pending ? MsgFlag.NEED_ACK : 0, seq: this.last() });
  }

  forget(peer: string): void {
    this.acked.delete(peer);
    this.helloEpochs.delete(peer);
    this.trim();
  }
}

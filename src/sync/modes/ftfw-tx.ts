/**
 * FT-FW sending side: one sequence space per engine epoch and a bounded queue
 * of every unacknowledged data message (sent or still waiting to be sent).
 *
 * Flow control (see ftfw-flow.ts): at most `window` messages are in flight
 * (sent, not yet acknowledged by every known peer); the window grows on clean
 * ACKs and halves on loss. New data beyond the window waits in the queue and
 * is released by ACKs and ticks at a paced rate. A NACKed message is resent
 * at most once per retransmission timeout (RTO, from ACK round trips): NACKs
 * only mark messages as wanted, and due resends leave before new data, packed
 * with it into full datagrams by the engine. When nothing is acknowledged for
 * an RTO, one ALIVE asking for an ACK probes the peer (backing off), instead
 * of blind retransmission. A peer that needs a message no longer held (queue
 * overflow) or greets us with HELLO gets a stream RESET and a bulk resync.
 */
import type { Counters, FtfwOptions, ModeContext } from '../mode';
import { initialSeq, seqAdd, seqDiff, seqGt, seqLe, seqLt, seqMax } from '../seq';
import { MsgFlag, type Message, type RangeMessage } from '../wire/types';
import { CongestionWindow, Pacer, RttEstimator, type FlowOptions } from './ftfw-flow';
import { HeldRing } from './ftfw-ring';

/** Last cumulative ack of a peer in the current stream; null = known peer, nothing acked since the reset. */
type Acked = number | null;

export class FtfwSender {
  private nextSeq: number;
  /** Next sequence number to transmit for the first time. */
  private sendNext: number;
  /** First sequence number of the current stream (set by the last RESET). */
  private base: number;
  /** Held messages by seq (with last send time and transmissions); always exactly the range [head, nextSeq). */
  private readonly queue = new HeldRing();
  /** Oldest held sequence number (== nextSeq when the queue is empty). */
  private head: number;
  /** NACKed sequence numbers waiting for their resend (insertion order). */
  private readonly wanted = new Set<number>();
  private readonly acked = new Map<string, Acked>();
  private readonly helloEpochs = new Map<string, number>();
  private readonly rtt: RttEstimator;
  private readonly cc: CongestionWindow;
  private readonly pacer: Pacer;
  /** Most messages in flight from the oldest unacknowledged one: what the receiver can buffer. */
  private readonly flowLimit: number;
  /** The congestion window (through the pacer) held data back since the last ACK. */
  private windowLimited = false;
  private lastDataAt = Number.NEGATIVE_INFINITY;
  private lastAliveAt = Number.NEGATIVE_INFINITY;
  private lastResetSentAt = Number.NEGATIVE_INFINITY;
  private lastProgressAt = 0;
  private lastProbeAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: ModeContext,
    private readonly o: FtfwOptions,
    private readonly st: Counters,
  ) {
    this.nextSeq = initialSeq(ctx.random);
    this.base = this.nextSeq;
    this.sendNext = this.nextSeq;
    this.head = this.nextSeq;
    this.flowLimit = Math.max(1, Math.min(o.recvWindow, o.resendQueueSize));
    const flow: FlowOptions = {
      minRtoMs: o.minRtoMs,
      maxRtoMs: o.maxRtoMs,
      initialRtoMs: o.initialRtoMs,
      minWindow: o.minWindow,
      maxWindow: Math.max(o.minWindow, Math.min(o.maxWindow || o.recvWindow, o.recvWindow, o.resendQueueSize)),
      initialWindow: o.initialWindow,
      additiveIncrease: o.additiveIncrease,
      tickMs: ctx.tickMs,
    };
    this.rtt = new RttEstimator(flow);
    this.cc = new CongestionWindow(flow);
    this.pacer = new Pacer(flow);
  }

  /** Last sequence number put on the wire (carried by every control message). */
  last(): number {
    return seqAdd(this.sendNext, -1);
  }

  /** Last sequence number assigned to a data message (sent or not). */
  lastAssigned(): number {
    return seqAdd(this.nextSeq, -1);
  }

  /** Every known peer (at least one) acknowledged up to `seq` in this stream. */
  ackedBy(seq: number): boolean {
    if (this.acked.size === 0) return false;
    for (const a of this.acked.values()) if (a === null || seqLt(a, seq)) return false;
    return true;
  }

  queueLength(): number {
    return seqDiff(this.head, this.nextSeq);
  }

  /** The held message `s`, when `s` is in the live range [head, nextSeq). */
  private held(s: number): Message | undefined {
    return seqLe(this.head, s) && seqLt(s, this.nextSeq) ? this.queue.msg(s) : undefined;
  }

  /** Messages assigned a sequence number but not sent yet (held back by the window or the pacer). */
  unsent(): number {
    return seqDiff(this.sendNext, this.nextSeq);
  }

  /** Room for bulk data: what the window can take soon, within the queue bound. */
  room(): number {
    const queueRoom = this.o.resendQueueSize - this.queueLength() - this.o.ackWindowSize;
    return Math.max(0, Math.min(queueRoom, this.cc.window() - this.unsent()));
  }

  flowStats(): Record<string, number> {
    return {
      cwnd: this.cc.window(),
      ssthresh: Math.round(this.cc.ssthresh),
      rtoMs: Math.round(this.rtt.rto()),
      srttMs: Math.round(this.rtt.srtt ?? -1),
      inFlight: this.inFlight(),
      unsent: this.unsent(),
      wanted: this.wanted.size,
    };
  }

  enqueue(msg: Message, now: number): void {
    msg.seq = this.nextSeq;
    this.queue.put(this.head, msg.seq, msg);
    this.nextSeq = seqAdd(this.nextSeq, 1);
    if (this.queueLength() > this.o.resendQueueSize) {
      this.queue.drop(this.head);
      this.wanted.delete(this.head);
      this.head = seqAdd(this.head, 1);
      this.st.inc('overflows');
    }
    this.lastDataAt = now;
    this.pump(now, false);
  }

  onAck(peer: string, m: RangeMessage, now: number): void {
    this.st.inc('acksReceived');
    const to = m.to;
    if (seqLt(to, seqAdd(this.base, -1)) || seqGt(to, this.last())) {
      this.st.inc('staleAcks');
      return;
    }
    const prev = this.acked.get(peer);
    this.acked.set(peer, prev === undefined || prev === null ? to : seqMax(prev, to));
    this.trim(now);
    this.pump(now);
  }

  onNack(peer: string, m: RangeMessage, now: number): void {
    this.st.inc('nacksReceived');
    const n = seqDiff(m.from, m.to) + 1;
    if (n <= 0 || n > this.o.resendQueueSize + this.o.recvWindow) {
      this.st.inc('badNacks');
      return;
    }
    const peerAcked = this.acked.get(peer) ?? null;
    const sentTo = this.last();
    let needReset = false;
    let lost = false;
    for (let i = 0; i < n; i++) {
      const s = seqAdd(m.from, i);
      if (peerAcked !== null && seqLe(s, peerAcked)) continue; // stale NACK: already acknowledged
      if (seqLt(s, this.base)) {
        needReset = true; // the peer missed our RESET
        continue;
      }
      if (seqGt(s, sentTo)) {
        this.st.inc('nackedUnsent');
        break;
      }
      if (this.held(s) === undefined) {
        lost = true;
        continue;
      }
      if (this.wanted.has(s)) continue;
      if (this.queue.tries(s) === 1 && this.cc.lost(s, sentTo)) this.st.inc('lossEvents');
      this.wanted.add(s);
    }
    if (lost) {
      this.st.inc('lostOnNack');
      this.resetStream(now);
      return;
    }
    if (needReset && now - this.lastResetSentAt >= this.o.nackIntervalMs) this.sendReset(now);
    this.pump(now);
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

  /** Start a new stream: drop the queue, tell peers where it starts, resend the whole table. */
  resetStream(now: number, echo?: number): void {
    this.st.inc('resets');
    this.base = this.nextSeq;
    this.sendNext = this.nextSeq;
    this.queue.clear(this.head, this.nextSeq);
    this.head = this.nextSeq;
    this.wanted.clear();
    for (const p of this.acked.keys()) this.acked.set(p, null);
    this.lastProgressAt = now;
    this.sendReset(now, echo);
    this.ctx.bulkSend();
  }

  private sendReset(now: number, echo?: number): void {
    this.lastResetSentAt = now;
    const m: Message = { type: 'reset', flags: 0, seq: this.last(), next: this.base };
    if (echo !== undefined) m.echo = echo;
    this.ctx.send(m);
  }

  /** Sent messages not yet acknowledged by every known peer. */
  private inFlight(): number {
    return seqLt(this.head, this.sendNext) ? seqDiff(this.head, this.sendNext) : 0;
  }

  /** Drop queued messages every known peer has acknowledged; feed the RTT and the window. */
  private trim(now: number, sampleRtt = true): void {
    let min: number | undefined;
    for (const a of this.acked.values()) {
      if (a === null) return;
      min = min === undefined || seqLt(a, min) ? a : min;
    }
    if (min === undefined) return;
    const topAt = this.held(min) !== undefined ? this.queue.at(min) : undefined;
    let n = 0;
    let clean = true;
    while (seqLe(this.head, min) && this.queueLength() > 0) {
      const s = this.head;
      if (this.queue.msg(s) !== undefined && this.queue.tries(s) !== 1) clean = false;
      this.queue.drop(s);
      if (this.wanted.size > 0) this.wanted.delete(s);
      this.head = seqAdd(s, 1);
      n++;
    }
    if (n === 0) return;
    // Karn's rule, widened: an ACK that covers a resend (it waited for a repair) gives no sample.
    if (sampleRtt && clean && topAt !== undefined) this.rtt.sample(now - topAt);
    this.cc.acked(n, min, this.windowLimited);
    this.windowLimited = false;
    this.rtt.progress();
    this.lastProgressAt = now;
  }

  /** Put due resends, then new data, on the wire within the window and the pacer's budget. */
  private pump(now: number, resends = true): void {
    this.pacer.refill(now, this.cc.window(), this.rtt.srtt);
    let budget = this.pacer.available();
    if (resends && this.wanted.size > 0 && budget > 0) budget -= this.resend(now, budget);
    let inFlight = this.inFlight();
    let sent = 0;
    while (seqLt(this.sendNext, this.nextSeq)) {
      if (inFlight >= this.flowLimit) break; // the receiver's buffer (recvWindow) or the queue
      if (sent >= budget) {
        this.windowLimited = true;
        break;
      }
      const s = this.sendNext;
      this.sendNext = seqAdd(s, 1);
      const m = this.held(s);
      if (m === undefined) continue; // dropped by an overflow: the peer will NACK it and get a RESET
      if (inFlight === 0) this.lastProgressAt = now;
      this.queue.sent(s, now);
      inFlight++;
      sent++;
      this.ctx.send(m);
    }
    this.pacer.take(sent);
  }

  /** Resend wanted messages whose last transmission is at least an RTO old; returns how many. */
  private resend(now: number, budget: number): number {
    const rto = this.rtt.rto();
    let n = 0;
    for (const s of this.wanted) {
      if (n >= budget) break;
      const m = this.held(s);
      if (m === undefined) {
        this.wanted.delete(s);
        continue;
      }
      if (this.queue.tries(s) > 1 && now - this.queue.at(s) < rto) continue; // resent recently: wait for its fate
      this.wanted.delete(s);
      this.queue.sent(s, now);
      n++;
      this.st.inc('resends');
      this.ctx.send({ ...m, flags: m.flags | MsgFlag.RESEND });
    }
    this.pacer.take(n);
    return n;
  }

  tick(now: number): void {
    this.pump(now);
    if (this.inFlight() > 0 && now - this.lastProgressAt >= this.rtt.rto() && now - this.lastProbeAt >= this.rtt.rto()) {
      // Nothing acknowledged for an RTO: ask for an ACK (the reply also NACKs what is missing).
      this.rtt.expire();
      this.lastProbeAt = now;
      this.alive(now, true);
      this.st.inc('probes');
      return;
    }
    if (now - this.lastAliveAt < this.o.aliveIntervalMs) return;
    const pending = this.queueLength() > 0;
    if (!pending && now - this.lastDataAt < this.o.aliveIntervalMs) return;
    this.alive(now, pending);
  }

  private alive(now: number, needAck: boolean): void {
    this.lastAliveAt = now;
    this.st.inc('alivesSent');
    this.ctx.send({ type: 'alive', flags: needAck ? MsgFlag.NEED_ACK : 0, seq: this.last() });
  }

  forget(peer: string): void {
    this.acked.delete(peer);
    this.helloEpochs.delete(peer);
    this.trim(this.lastProgressAt, false);
  }
}

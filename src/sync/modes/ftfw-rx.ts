/**
 * FT-FW receiving side, per peer: delivers data messages strictly in sequence
 * order (so a destroy can never be overtaken by an older update), buffers
 * out-of-order ones within a window, drops duplicates, and ACKs cumulatively
 * every ACKWindowSize deliveries or ackDelay after the first unacked one.
 *
 * NACKs are built once per tick, coalesced into ranges (at most maxNackRanges
 * per peer per tick): a gap is NACKed once when first seen, and again only if
 * it is still missing after the re-NACK interval (nackIntervalMs, or twice
 * the observed NACK-to-repair time when that is longer). Tail loss is detected
 * from the "last sent seq" that every control message carries.
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
  /** Gaps were looked for up to here (inclusive). */
  scannedTo: number | undefined;
  /** Missing sequence numbers NACKed, with the time of their last NACK. */
  nacked: Map<number, number>;
  /** Smoothed time from a NACK to the arrival of the repair (ms). */
  repairMs: number | undefined;
  pending: number;
  ackDueAt: number | undefined;
  lastAcked: number | undefined;
}

/** Control messages this side emits; the caller stamps seq with the sender's last. */
export type ControlOut = (m: Message) => void;

const SANE_AHEAD = 1 << 30;
/** Longest re-NACK interval (ms), however slow repairs were. */
const MAX_RENACK_MS = 2_000;

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
        scannedTo: undefined,
        nacked: new Map(),
        repairMs: undefined,
        pending: 0,
        ackDueAt: undefined,
        lastAcked: undefined,
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
    if (d < 0 || (p.buf.size > 0 && p.buf.has(m.seq))) {
      this.st.inc('duplicates');
      if (d < 0) p.ackDueAt = now; // the sender is retransmitting: our ack may have been lost
      return;
    }
    p.maxSeen = p.maxSeen === undefined ? m.seq : seqMax(p.maxSeen, m.seq);
    if (d >= this.o.recvWindow) {
      this.st.inc('outOfWindow');
      return;
    }
    const nackedAt = p.nacked.size > 0 ? p.nacked.get(m.seq) : undefined;
    if (nackedAt !== undefined) {
      p.nacked.delete(m.seq);
      const r = now - nackedAt;
      p.repairMs = p.repairMs === undefined ? r : 0.875 * p.repairMs + 0.125 * r;
    }
    if (d > 0) {
      p.buf.set(m.seq, m);
      this.st.inc('outOfOrder');
      return;
    }
    this.deliver(id, p, m);
    this.drain(id, p);
    this.afterDelivery(p, now);
  }

  /** Any control message from the peer: `last` is the last data seq it sent. */
  onControl(id: string, last: number, _now: number): void {
    const p = this.peer(id);
    if (p.next === undefined) {
      p.next = seqAdd(last, 1);
      return;
    }
    if (seqGe(last, p.next) && seqDiff(p.next, last) < SANE_AHEAD) {
      p.maxSeen = p.maxSeen === undefined ? last : seqMax(p.maxSeen, last);
    }
  }

  onAlive(id: string, m: Message, now: number): void {
    this.onControl(id, m.seq, now);
    if (m.flags & MsgFlag.NEED_ACK) {
      const p = this.peer(id);
      this.sendAck(p);
      // A probe: whatever is still missing may have lost its NACK; ask again now.
      for (const s of p.nacked.keys()) p.nacked.set(s, Number.NEGATIVE_INFINITY);
    }
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
    for (const s of p.nacked.keys()) if (seqLt(s, next)) p.nacked.delete(s);
    p.next = next;
    const before = seqAdd(next, -1);
    p.maxSeen = p.maxSeen === undefined || seqLt(p.maxSeen, before) ? before : p.maxSeen;
    if (p.scannedTo === undefined || seqLt(p.scannedTo, before)) p.scannedTo = before;
    p.lastAcked = undefined;
    this.drain(id, p);
    p.ackDueAt = now;
  }

  tick(now: number): void {
    for (const p of this.peers.values()) {
      if (p.ackDueAt !== undefined && now >= p.ackDueAt) this.sendAck(p);
      if (p.next !== undefined && p.maxSeen !== undefined && seqGe(p.maxSeen, p.next)) this.nack(p, now);
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
    while (p.buf.size > 0) {
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

  /**
   * NACK, as coalesced ranges, the missing numbers in [next, min(maxSeen, next + window - 1)]
   * that were never NACKed, or whose last NACK is older than the re-NACK interval.
   */
  private nack(p: RxPeer, now: number): void {
    const next = p.next;
    const maxSeen = p.maxSeen;
    if (next === undefined || maxSeen === undefined) return;
    const span = Math.min(seqDiff(next, maxSeen) + 1, this.o.recvWindow);
    if (span <= 0) return;
    const renack = Math.min(MAX_RENACK_MS, Math.max(this.o.nackIntervalMs, 2 * (p.repairMs ?? 0)));
    const due: number[] = []; // offsets from next
    for (const [s, at] of p.nacked) {
      const off = seqDiff(next, s);
      if (off < 0 || off >= span || p.buf.has(s)) p.nacked.delete(s);
      else if (now - at >= renack) due.push(off);
    }
    // Newly seen part of the window: gaps never NACKed so far.
    const from = p.scannedTo === undefined || seqLt(p.scannedTo, next) ? 0 : seqDiff(next, p.scannedTo) + 1;
    for (let off = from; off < span; off++) {
      const s = seqAdd(next, off);
      if (!p.buf.has(s) && !p.nacked.has(s)) due.push(off);
    }
    if (from < span) p.scannedTo = seqAdd(next, span - 1);
    if (due.length === 0) return;
    due.sort((x, y) => x - y);
    let ranges = 0;
    let i = 0;
    while (i < due.length) {
      if (ranges >= this.o.maxNackRanges) {
        // Over the cap: these stay (or become) pending and go out next tick.
        for (; i < due.length; i++) {
          const s = seqAdd(next, due[i] as number);
          if (!p.nacked.has(s)) p.nacked.set(s, Number.NEGATIVE_INFINITY);
        }
        this.st.inc('nacksSuppressed');
        break;
      }
      const start = due[i] as number;
      let end = start;
      while (i + 1 < due.length && (due[i + 1] as number) === end + 1) end = due[++i] as number;
      i++;
      for (let off = start; off <= end; off++) p.nacked.set(seqAdd(next, off), now);
      ranges++;
      this.st.inc('nacksSent');
      this.control({ type: 'nack', flags: 0, seq: 0, from: seqAdd(next, start), to: seqAdd(next, end) });
    }
  }
}

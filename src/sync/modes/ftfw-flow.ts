/**
 * FT-FW flow control, pure arithmetic on injected "now" values (no timers):
 *  - RttEstimator: smoothed round trip and retransmission timeout as in
 *    RFC 6298 section 2 (alpha 1/8, beta 1/4, RTO = SRTT + 4 * RTTVAR), with a
 *    floor (minRtoMs), a ceiling (maxRtoMs) and exponential backoff (section 5.5).
 *  - CongestionWindow: messages allowed in flight; slow start then additive
 *    increase, multiplicative decrease at most once per window of data
 *    (RFC 5681 section 3.1/3.2, counted in messages instead of bytes).
 *  - Pacer: a token bucket releasing about cwnd messages per smoothed RTT, so
 *    a backlog never leaves in one burst (pacing as in RFC 9002 section 7.7).
 */
import { seqLt } from '../seq';

export interface FlowOptions {
  /** Smallest and largest retransmission timeout (ms). */
  minRtoMs: number;
  maxRtoMs: number;
  /** RTO before the first RTT sample (ms). */
  initialRtoMs: number;
  /** Congestion window bounds and start (messages). */
  minWindow: number;
  maxWindow: number;
  initialWindow: number;
  /** Messages added to the window per window of acknowledged data (congestion avoidance). */
  additiveIncrease: number;
  /** Scheduler period (ms): the pacer's burst is one tick's share of the window. */
  tickMs: number;
}

export class RttEstimator {
  srtt: number | undefined;
  rttvar = 0;
  private backoff = 1;

  constructor(private readonly o: FlowOptions) {}

  /** Feed one round-trip sample (ms) of a message sent exactly once (Karn's rule is the caller's). */
  sample(ms: number): void {
    const r = Math.max(0, ms);
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.backoff = 1;
  }

  /** Current retransmission timeout (ms), backoff included. */
  rto(): number {
    const base = this.srtt === undefined ? this.o.initialRtoMs : this.srtt + 4 * this.rttvar;
    return Math.min(this.o.maxRtoMs, Math.max(this.o.minRtoMs, base) * this.backoff);
  }

  /** A timeout expired without progress: double the RTO (bounded by maxRtoMs). */
  expire(): void {
    if (this.rto() < this.o.maxRtoMs) this.backoff *= 2;
  }

  /** Acknowledged progress: drop the backoff. */
  progress(): void {
    this.backoff = 1;
  }
}

export class CongestionWindow {
  cwnd: number;
  ssthresh: number;
  /** While set, losses of messages up to this seq belong to the reduction already made. */
  private recoverTo: number | undefined;

  constructor(private readonly o: FlowOptions) {
    this.cwnd = clamp(o.initialWindow, o.minWindow, o.maxWindow);
    this.ssthresh = o.maxWindow;
  }

  /** `n` messages newly acknowledged up to `ackedTo`; `limited` = the window was the limit recently. */
  acked(n: number, ackedTo: number, limited: boolean): void {
    if (this.recoverTo !== undefined && !seqLt(ackedTo, this.recoverTo)) this.recoverTo = undefined;
    if (!limited || n <= 0 || this.recoverTo !== undefined) return;
    if (this.cwnd < this.ssthresh) this.cwnd += n;
    else this.cwnd += (this.o.additiveIncrease * n) / this.cwnd;
    this.cwnd = Math.min(this.cwnd, this.o.maxWindow);
  }

  /**
   * A loss of message `seq` was reported; `highestSent` is the last seq sent so far.
   * Halves the window once per window of data. Returns true when it reduced.
   */
  lost(seq: number, highestSent: number): boolean {
    if (this.recoverTo !== undefined && seqLt(seq, this.recoverTo)) return false;
    this.ssthresh = Math.max(this.o.minWindow, this.cwnd / 2);
    this.cwnd = this.ssthresh;
    this.recoverTo = highestSent;
    return true;
  }

  /** Whole messages allowed in flight. */
  window(): number {
    return Math.max(this.o.minWindow, Math.floor(this.cwnd));
  }
}

export class Pacer {
  private tokens: number;
  private last: number | undefined;

  constructor(private readonly o: FlowOptions) {
    this.tokens = o.initialWindow;
  }

  /**
   * Add tokens for the time since the last refill: `window` messages per
   * `rttMs` (two ticks before the first sample), at most two ticks' share
   * banked (timers run late on a loaded machine).
   */
  refill(now: number, window: number, rttMs: number | undefined): void {
    const period = Math.max(rttMs ?? 2 * this.o.tickMs, this.o.tickMs);
    const rate = window / period;
    const cap = Math.max(this.o.minWindow, rate * this.o.tickMs * 2);
    if (this.last !== undefined && now > this.last) this.tokens = Math.min(cap, this.tokens + (now - this.last) * rate);
    else this.tokens = Math.min(cap, this.tokens);
    this.last = now;
  }

  available(): number {
    return Math.floor(this.tokens);
  }

  take(n: number): void {
    this.tokens -= n;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Anti-replay sliding window over per-datagram counters of one sender epoch
 * (the idea of RFC 4303 section 3.4.3 / RFC 6479): counters above the highest
 * seen are new; counters within `size` below it are accepted once; older
 * ones are rejected, and so are counters below the first one accepted (a
 * receiver that joins a sender's epoch late must not take the datagrams it
 * missed from a replayer). Each slot remembers the counter that last used
 * it, so moving the window needs no clearing.
 */
export type WindowVerdict = 'ok' | 'duplicate' | 'too-old';

export class ReplayWindow {
  private top = -1;
  private floor = 0;
  private readonly slots: Float64Array;

  /** `size`: a power of two, 32..65536. `first`: counters below it are too old. */
  constructor(
    readonly size: number,
    first = 0,
  ) {
    if (!Number.isInteger(size) || size < 32 || size > 65536 || (size & (size - 1)) !== 0) {
      throw new RangeError(`replay window size ${size}: a power of two in 32..65536`);
    }
    this.slots = new Float64Array(size).fill(-1);
    this.floor = first;
  }

  /** Verdict for `counter`, without recording it. */
  check(counter: number): WindowVerdict {
    if (counter < this.floor) return 'too-old';
    if (counter > this.top) return 'ok';
    if (counter <= this.top - this.size) return 'too-old';
    return this.slots[counter % this.size] === counter ? 'duplicate' : 'ok';
  }

  /** Record an accepted counter (call only after the datagram authenticated). */
  mark(counter: number): void {
    if (counter > this.top) this.top = counter;
    this.slots[counter % this.size] = counter;
  }

  highest(): number {
    return this.top;
  }
}

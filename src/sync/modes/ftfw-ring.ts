/**
 * The FT-FW resend queue's storage: messages held for a contiguous range of
 * sequence numbers [head, next), in a ring indexed by `seq & mask` (sequence
 * numbers are u32 and the capacity a power of two, so the index survives the
 * wrap), with the time of the last transmission and the number of
 * transmissions in typed arrays. No object per held message, no hashing.
 * The owner (ftfw-tx.ts) keeps head and next and says which range is live.
 */
import type { Message } from '../wire/types';
import { seqAdd, seqDiff } from '../seq';

const INITIAL = 1024;

export class HeldRing {
  private msgs: Array<Message | undefined>;
  private atArr: Float64Array;
  private triesArr: Uint32Array;
  private mask: number;

  constructor() {
    this.msgs = new Array<Message | undefined>(INITIAL).fill(undefined);
    this.atArr = new Float64Array(INITIAL);
    this.triesArr = new Uint32Array(INITIAL);
    this.mask = INITIAL - 1;
  }

  /** Store `msg` at `seq`, never sent; the live range [head, seq) must fit, the ring grows to hold it. */
  put(head: number, seq: number, msg: Message): void {
    if (seqDiff(head, seq) + 1 > this.mask + 1) this.grow(head, seq);
    const i = seq & this.mask;
    this.msgs[i] = msg;
    this.atArr[i] = Number.NEGATIVE_INFINITY;
    this.triesArr[i] = 0;
  }

  msg(seq: number): Message | undefined {
    return this.msgs[seq & this.mask];
  }

  at(seq: number): number {
    return this.atArr[seq & this.mask] ?? Number.NEGATIVE_INFINITY;
  }

  tries(seq: number): number {
    return this.triesArr[seq & this.mask] ?? 0;
  }

  sent(seq: number, at: number): void {
    const i = seq & this.mask;
    this.atArr[i] = at;
    this.triesArr[i] = (this.triesArr[i] ?? 0) + 1;
  }

  /** Forget the message at `seq` (it left the live range). */
  drop(seq: number): void {
    this.msgs[seq & this.mask] = undefined;
  }

  /** Forget every message of the live range [head, next). */
  clear(head: number, next: number): void {
    const n = seqDiff(head, next);
    if (n >= this.mask + 1) this.msgs.fill(undefined);
    else for (let i = 0; i < n; i++) this.msgs[seqAdd(head, i) & this.mask] = undefined;
  }

  /** Double the capacity until [head, seq] fits, moving the live range [head, seq). */
  private grow(head: number, seq: number): void {
    const live = seqDiff(head, seq);
    let cap = (this.mask + 1) * 2;
    while (cap < live + 1) cap *= 2;
    const msgs = new Array<Message | undefined>(cap).fill(undefined);
    const at = new Float64Array(cap);
    const tries = new Uint32Array(cap);
    const mask = cap - 1;
    for (let k = 0; k < live; k++) {
      const s = seqAdd(head, k);
      const from = s & this.mask;
      const to = s & mask;
      msgs[to] = this.msgs[from];
      at[to] = this.atArr[from] ?? Number.NEGATIVE_INFINITY;
      tries[to] = this.triesArr[from] ?? 0;
    }
    this.msgs = msgs;
    this.atArr = at;
    this.triesArr = tries;
    this.mask = mask;
  }
}

/**
 * Fault decisions for the fault-injecting proxy, driven by a seeded random
 * source. Every datagram consumes exactly DRAWS_PER_DATAGRAM draws whatever
 * the rates, so the decision for datagram i depends only on the seed and i:
 * runs are reproducible and a test can replay a planner to know the outcome.
 */
import { seededRandom, type Random } from './seeded-random';

export interface ProxyFaults {
  /** Probability 0..1 that a datagram is dropped. */
  loss?: number;
  /** Probability 0..1 that a datagram is sent twice. */
  duplicate?: number;
  /** Probability 0..1 that a datagram is held back and sent after the next one. */
  reorder?: number;
  /** Probability 0..1 that one bit of the datagram is flipped. */
  corrupt?: number;
  /** Fixed delay added to every datagram, ms. */
  delayMs?: number;
  /** Extra delay, uniform in [0, jitterMs), ms. */
  jitterMs?: number;
}

export const DRAWS_PER_DATAGRAM = 6;

export interface FaultPlan {
  drop: boolean;
  duplicate: boolean;
  reorder: boolean;
  /** Bit index to flip (0 = most significant bit of byte 0), or -1. */
  flipBit: number;
  delayMs: number;
}

export class FaultPlanner {
  private readonly random: Random;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  plan(f: ProxyFaults, length: number): FaultPlan {
    const r: number[] = [];
    for (let i = 0; i < DRAWS_PER_DATAGRAM; i++) r.push(this.random());
    const [rLoss = 1, rDup = 1, rReorder = 1, rCorrupt = 1, rBit = 0, rJitter = 0] = r;
    const drop = rLoss < (f.loss ?? 0);
    const corrupt = !drop && length > 0 && rCorrupt < (f.corrupt ?? 0);
    return {
      drop,
      duplicate: !drop && rDup < (f.duplicate ?? 0),
      reorder: !drop && rReorder < (f.reorder ?? 0),
      flipBit: corrupt ? Math.floor(rBit * length * 8) : -1,
      delayMs: (f.delayMs ?? 0) + rJitter * (f.jitterMs ?? 0),
    };
  }
}

/** Copy of `d` with bit `bit` flipped (bit 0 = MSB of byte 0). */
export function flipBit(d: Buffer, bit: number): Buffer {
  const out = Buffer.from(d);
  const byte = bit >> 3;
  const cur = out[byte];
  if (cur !== undefined) out[byte] = cur ^ (0x80 >> (bit & 7));
  return out;
}

/** Validate rates 0..1 and non-negative delays; returns a message or null. */
export function checkFaults(f: ProxyFaults): string | null {
  for (const k of ['loss', 'duplicate', 'reorder', 'corrupt'] as const) {
    const v = f[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) return `${k} must be within 0..1`;
  }
  for (const k of ['delayMs', 'jitterMs'] as const) {
    const v = f[k];
    if (v !== undefined && !(v >= 0)) return `${k} must be >= 0`;
  }
  return null;
}

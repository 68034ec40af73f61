import { describe, expect, it } from 'vitest';
import { checkFaults, DRAWS_PER_DATAGRAM, FaultPlanner, flipBit } from '../../../src/transport/faults';
import { seededRandom } from '../../../src/transport/seeded-random';

describe('seededRandom', () => {
  it('is reproducible per seed and stays in [0,1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('FaultPlanner', () => {
  it('drops close to the loss rate, and exactly as a replay of the same seed', () => {
    const p = new FaultPlanner(7);
    const drops = Array.from({ length: 10_000 }, () => p.plan({ loss: 0.2 }, 100).drop).filter(Boolean).length;
    expect(drops).toBeGreaterThan(1800);
    expect(drops).toBeLessThan(2200);
    const r = seededRandom(7);
    let replay = 0;
    for (let i = 0; i < 10_000; i++) {
      if (r() < 0.2) replay++;
      for (let k = 1; k < DRAWS_PER_DATAGRAM; k++) r();
    }
    expect(drops).toBe(replay);
  });

  it('consumes the same draws whatever the rates (decisions stay aligned)', () => {
    const a = new FaultPlanner(3);
    const b = new FaultPlanner(3);
    for (let i = 0; i < 50; i++) a.plan({}, 10);
    for (let i = 0; i < 50; i++) b.plan({ loss: 0.5, duplicate: 0.5, reorder: 0.5, corrupt: 0.5, jitterMs: 3 }, 10);
    expect(a.plan({ loss: 0.3 }, 10)).toEqual(b.plan({ loss: 0.3 }, 10));
  });

  it('never applies other faults to a dropped datagram; zero rates change nothing', () => {
    const p = new FaultPlanner(1);
    for (let i = 0; i < 500; i++) {
      const all = p.plan({ loss: 0.5, duplicate: 1, reorder: 1, corrupt: 1 }, 8);
      if (all.drop) expect(all).toMatchObject({ duplicate: false, reorder: false, flipBit: -1 });
      else expect(all.flipBit).toBeGreaterThanOrEqual(0);
      expect(all.flipBit).toBeLessThan(64);
    }
    expect(p.plan({}, 8)).toEqual({ drop: false, duplicate: false, reorder: false, flipBit: -1, delayMs: 0 });
  });

  it('delay is fixed plus jitter below jitterMs', () => {
    const p = new FaultPlanner(9);
    for (let i = 0; i < 100; i++) {
      const d = p.plan({ delayMs: 10, jitterMs: 5 }, 1).delayMs;
      expect(d).toBeGreaterThanOrEqual(10);
      expect(d).toBeLessThan(15);
    }
  });
});

describe('flipBit / checkFaults', () => {
  it('flips exactly one bit without touching the input', () => {
    const d = Buffer.from('0000', 'hex');
    expect(flipBit(d, 0).toString('hex')).toBe('8000');
    expect(flipBit(d, 15).toString('hex')).toBe('0001');
    expect(d.toString('hex')).toBe('0000');
  });
  it('validates rates and delays', () => {
    expect(checkFaults({ loss: 0.2, delayMs: 0 })).toBeNull();
    expect(checkFaults({ loss: 20 })).toBe('loss must be within 0..1');
    expect(checkFaults({ jitterMs: -1 })).toBe('jitterMs must be >= 0');
    expect(checkFaults({ corrupt: Number.NaN })).toBe('corrupt must be within 0..1');
  });
});

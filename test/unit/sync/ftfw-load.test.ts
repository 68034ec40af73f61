/**
 * FT-FW under load: a 200,000-flow burst and a 200,000-entry bulk over a
 * memory link whose receiver takes at most K datagrams per tick (the rest are
 * dropped like a full socket buffer), with 0 %, 5 % and 20 % random loss.
 * Asserts exact convergence, the sender's datagram count against the minimum
 * needed, and bounded NACK traffic.
 */
import { describe, expect, it } from 'vitest';
import { messageSize } from '../../../src/sync/wire/message';
import { DGRAM_HEADER_LEN, DGRAM_TRAILER_LEN } from '../../../src/sync/wire/types';
import { diffCaches, fakeRecord, makeRig, type Rig } from './helpers/fixtures';

const N = 200_000;
const MTU = 1472;
/** Receiver capacity: datagrams per 10 ms tick (~20 entries each: ~100,000 entries/s). */
const PER_TICK = 50;
const TICK = 10;

/** Fewest datagrams that can carry n entries of this size (full MTU packing). */
function minimumDatagrams(n: number): number {
  const size = messageSize({ type: 'ct-new', flags: 0, seq: 0, family: 2, attrs: fakeRecord('ct', 1, 0).attrs });
  const perDatagram = Math.floor((MTU - DGRAM_HEADER_LEN - DGRAM_TRAILER_LEN) / size);
  return Math.ceil(n / perDatagram);
}

function loadRig(seed: number, loss: number): Rig {
  const rig = makeRig('ftfw', seed, { ftfw: { resendQueueSize: 262_144 } });
  rig.a.engine.start();
  rig.b.engine.start();
  rig.run(100);
  rig.link.setCapacity({ perFlush: PER_TICK });
  rig.link.setFaults({ loss });
  return rig;
}

/** Run until b's external cache equals a's internal one and a has nothing unacknowledged. */
function settle(rig: Rig, maxMs: number): number {
  for (let t = 0; t < maxMs; t += TICK) {
    rig.run(TICK);
    if (rig.b.external.ct.size === rig.a.internal.ct.size && rig.a.engine.stats().queue.resend === 0) {
      if (diffCaches(rig.a.internal.ct, rig.b.external.ct).length === 0) return t + TICK;
    }
  }
  return -1;
}

describe('FT-FW under load (receiver capacity, random loss)', () => {
  it.each([
    [0, 101],
    [0.05, 102],
    [0.2, 103],
  ])('a 200,000-flow burst at %s loss converges exactly, near the minimum of datagrams, without a NACK storm', (loss, seed) => {
    const rig = loadRig(seed, loss);
    const sent0 = rig.a.engine.stats().sent.datagrams;
    // The burst: 2,000 new flows per tick (200,000/s), faster than the receiver takes them.
    for (let i = 0; i < N; i++) {
      rig.a.change('new', fakeRecord('ct', i + 1, 0));
      if (i % 2_000 === 1_999) rig.run(TICK);
    }
    const took = settle(rig, 120_000);
    if (process.env.FTFW_LOAD_DEBUG && took < 0) console.log(JSON.stringify({ ext: rig.b.external.ct.size, a: rig.a.engine.stats().modeStats, b: rig.b.engine.stats().modeStats }));
    expect(took).toBeGreaterThan(0);
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
    expect(rig.b.external.ct.size).toBe(N);

    const sa = rig.a.engine.stats();
    const sb = rig.b.engine.stats();
    const sent = sa.sent.datagrams - sent0;
    const min = minimumDatagrams(N) / (1 - loss);
    if (process.env.FTFW_LOAD_DEBUG) console.log(JSON.stringify({ loss, took, sent, min, ratio: sent / min, link: rig.link.stats(), a: sa.modeStats, b: sb.modeStats }));
    expect(sent / min).toBeLessThanOrEqual(1.3);
    expect(sa.modeStats.overflows).toBe(0);
    expect(sa.modeStats.resets).toBe(1); // the one at start (answer to b's HELLO)
    // No NACK storm: NACK ranges bounded by a small fraction of the data.
    expect(sb.modeStats.nacksSent).toBeLessThanOrEqual(Math.max(50, 0.05 * N));
    // The receiver's capacity was reached (the sender had to find the rate), but rarely overrun.
    const link = rig.link.stats();
    expect(link.overflowed).toBeGreaterThan(0);
    expect(link.overflowed).toBeLessThanOrEqual(0.05 * sent);
    expect(sa.modeStats.resends).toBeGreaterThan(0);
    expect(sb.modeStats.duplicates).toBeLessThanOrEqual(0.1 * N);
  });

  it('a bulk send of 200,000 entries completes and sweeps nothing', () => {
    const rig = makeRig('ftfw', 111, { ftfw: { resendQueueSize: 262_144 } });
    for (let i = 0; i < N; i++) rig.a.internal.ct.upsert(`ct:${i + 1}`, fakeRecord('ct', i + 1, 0), 0);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.link.setCapacity({ perFlush: PER_TICK });
    rig.link.setFaults({ loss: 0.05 });
    rig.run(100);
    const before = rig.b.engine.stats().external.bulkCompleted ?? 0;
    rig.a.engine.bulkSend();
    expect(settle(rig, 120_000)).toBeGreaterThan(0);
    expect(rig.b.external.ct.size).toBe(N);
    const sb = rig.b.engine.stats();
    expect(sb.external.bulkCompleted).toBeGreaterThan(before);
    expect(sb.external.swept).toBe(0);
    expect(rig.a.engine.stats().bulk.active).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { diffCaches, makeRig, seeded, type Rig } from './helpers/fixtures';
import { churn } from './helpers/workload';

function converge(rig: Rig, maxMs = 60_000): number {
  for (let t = 0; t < maxMs; t += 250) {
    rig.run(250);
    const done =
      diffCaches(rig.a.internal.ct, rig.b.external.ct).length === 0 &&
      diffCaches(rig.a.internal.expect, rig.b.external.expect).length === 0 &&
      diffCaches(rig.b.internal.ct, rig.a.external.ct).length === 0 &&
      diffCaches(rig.b.internal.expect, rig.a.external.expect).length === 0;
    if (done) return t + 250;
  }
  return -1;
}

function expectExact(rig: Rig): void {
  expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
  expect(diffCaches(rig.a.internal.expect, rig.b.external.expect)).toEqual([]);
  expect(diffCaches(rig.b.internal.ct, rig.a.external.ct)).toEqual([]);
  expect(diffCaches(rig.b.internal.expect, rig.a.external.expect)).toEqual([]);
}

describe('FT-FW on a lossy link', () => {
  it.each([
    [0.05, 11],
    [0.2, 12],
  ])('converges exactly after %s loss (both directions, reorder, duplication)', (loss, seed) => {
    const rig = makeRig('ftfw', seed);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.link.setFaults({ loss, reorder: 0.05, duplicate: 0.05 });
    const rnd = seeded(seed * 7);
    const pump = (): void => rig.run(10);
    const wa = churn(rig.a, rnd, 20_000, 1, pump);
    churn(rig.b, rnd, 2_000, 1_000_000, pump);
    expect(wa.created).toBe(20_000);
    expect(rig.a.internal.ct.size).toBeGreaterThan(10_000);
    rig.link.setFaults({});
    const took = converge(rig);
    expectExact(rig);
    expect(took).toBeGreaterThan(0);
    const sa = rig.a.engine.stats();
    const sb = rig.b.engine.stats();
    expect(sb.modeStats.nacksSent).toBeGreaterThan(0);
    expect(sa.modeStats.nacksReceived).toBeGreaterThan(0);
    expect(sa.modeStats.resends).toBeGreaterThan(0);
    expect(sa.modeStats.overflows).toBe(0);
    // Everything acknowledged once quiet: resend queues drain.
    rig.run(2_000);
    expect(rig.a.engine.stats().queue.resend).toBe(0);
    expect(rig.b.engine.stats().queue.resend).toBe(0);
    expect(sb.rejected.EBADCSUM).toBe(0);
  });

  it('peer unreachable through a long churn: changes wait coalesced in the backlog, no overflow, exact convergence', () => {
    const rig = makeRig('ftfw', 21, { ftfw: { resendQueueSize: 500, ackWindowSize: 50 } });
    rig.a.engine.start();
    rig.b.engine.start();
    rig.run(100);
    // Peer unreachable while a lot happens: the window fills, later changes wait in the backlog.
    rig.link.setFaults({ loss: 1 });
    let backlogSeen = 0;
    churn(rig.a, seeded(5), 3_000, 1, () => {
      rig.run(10);
      backlogSeen = Math.max(backlogSeen, rig.a.engine.stats().queue.backlog);
    });
    rig.link.setFaults({});
    expect(converge(rig)).toBeGreaterThan(0);
    expectExact(rig);
    const sa = rig.a.engine.stats();
    expect(sa.modeStats.overflows).toBe(0);
    expect(sa.queue.backlog).toBe(0);
    expect(backlogSeen).toBeGreaterThan(0);
  });

  it('a restarted receiver (new engine, empty caches) converges via HELLO/RESET + resync', () => {
    const rig = makeRig('ftfw', 31);
    rig.a.engine.start();
    rig.b.engine.start();
    const events: string[] = [];
    rig.a.engine.onPeerEvent((ev) => events.push(ev.type));
    rig.link.setFaults({ loss: 0.1 });
    const rnd = seeded(3);
    churn(rig.a, rnd, 5_000, 1, () => rig.run(10));
    const b2 = rig.restartB();
    expect(b2.external.ct.size).toBe(0);
    churn(rig.a, rnd, 5_000, 100_000, () => rig.run(10));
    rig.link.setFaults({});
    expect(converge(rig)).toBeGreaterThan(0);
    expectExact(rig);
    expect(events).toContain('restart');
    expect(b2.engine.stats().modeStats.resetsReceived).toBeGreaterThan(0);
    expect(b2.engine.stats().external.bulkCompleted).toBeGreaterThan(0);
  });

  it('never resurrects a destroyed entry (destroy after update, heavy reorder)', () => {
    const rig = makeRig('ftfw', 41);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.link.setFaults({ loss: 0.3, reorder: 0.5, duplicate: 0.3 });
    const rnd = seeded(9);
    churn(rig.a, rnd, 3_000, 1, () => rig.run(10), 50);
    rig.link.setFaults({});
    expect(converge(rig)).toBeGreaterThan(0);
    expectExact(rig);
    // Stays converged: late duplicates cannot bring entries back.
    rig.run(5_000);
    expectExact(rig);
  });
});

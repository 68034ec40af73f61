import { describe, expect, it } from 'vitest';
import { diffCaches, fakeRecord, makeRig, seeded } from './helpers/fixtures';
import { churn } from './helpers/workload';

describe('NOTRACK', () => {
  it('replicates 20,000 flows exactly on a clean link', () => {
    const rig = makeRig('notrack', 51);
    rig.a.engine.start();
    rig.b.engine.start();
    churn(rig.a, seeded(1), 20_000, 1, () => rig.run(10));
    rig.run(100);
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
    expect(diffCaches(rig.a.internal.expect, rig.b.external.expect)).toEqual([]);
    expect(rig.a.engine.stats().queue.resend).toBe(0);
  });

  it('loses state under loss, and a RESYNC request repairs it (bulk + sweep)', () => {
    const rig = makeRig('notrack', 52);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.link.setFaults({ loss: 0.1 });
    churn(rig.a, seeded(2), 20_000, 1, () => rig.run(10));
    rig.link.setFaults({});
    rig.run(100);
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct).length).toBeGreaterThan(0);
    const events: string[] = [];
    rig.a.engine.onPeerEvent((ev) => events.push(ev.type));
    rig.b.engine.requestResync();
    rig.run(500);
    expect(events).toContain('resync-requested');
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
    expect(diffCaches(rig.a.internal.expect, rig.b.external.expect)).toEqual([]);
    const ext = rig.b.engine.stats().external;
    expect(ext.bulkCompleted).toBe(1);
    expect(ext.swept).toBeGreaterThan(0); // destroys lost earlier are swept at bulk-end
  });

  it('skips the sweep when part of the bulk was lost', () => {
    const rig = makeRig('notrack', 53);
    rig.a.engine.start();
    rig.b.engine.start();
    for (let i = 1; i <= 3000; i++) rig.a.change('new', fakeRecord('ct', i, 0));
    rig.run(100);
    const before = rig.b.external.ct.size;
    expect(before).toBe(3000);
    rig.link.setFaults({ loss: 0.3 });
    rig.a.engine.bulkSend();
    rig.run(300);
    rig.link.setFaults({});
    rig.run(100);
    // Without loss of bulk-start/end the count mismatch is detected; nothing is wrongly swept.
    expect(rig.b.external.ct.size).toBe(3000);
    const ext = rig.b.engine.stats().external;
    expect(ext.swept).toBe(0);
  });
});

describe('ALARM', () => {
  const opts = { alarm: { refreshTimeMs: 2_000, purgeIntervalMs: 250 } };

  it('replicates 20,000 flows and repairs loss within RefreshTime + CacheTimeout', () => {
    const rig = makeRig('alarm', 61, opts, 5_000);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.link.setFaults({ loss: 0.2 });
    churn(rig.a, seeded(3), 20_000, 1, () => rig.run(10));
    rig.link.setFaults({});
    rig.run(100);
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct).length).toBeGreaterThan(0);
    rig.run(2_000 + 5_000 + 500, 10);
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
    expect(diffCaches(rig.a.internal.expect, rig.b.external.expect)).toEqual([]);
    expect(rig.a.engine.stats().modeStats.refreshed).toBeGreaterThan(20_000);
    expect(rig.b.engine.stats().external.purged).toBeGreaterThan(0);
  });

  it('spreads the refresh over the period instead of bursting', () => {
    const rig = makeRig('alarm', 62, opts);
    for (let i = 1; i <= 4000; i++) rig.a.internal.ct.upsert(`ct:${i}`, fakeRecord('ct', i, 0), 0);
    rig.a.engine.start();
    rig.b.engine.start();
    const perTick: number[] = [];
    let prev = rig.a.engine.stats().modeStats.refreshed ?? 0;
    for (let t = 0; t < 4_000; t += 10) {
      rig.run(10);
      const now = rig.a.engine.stats().modeStats.refreshed ?? 0;
      perTick.push(now - prev);
      prev = now;
    }
    // 4000 entries over 2000 ms in 10 ms ticks: 20 per tick, never a burst.
    expect(Math.max(...perTick)).toBeLessThanOrEqual(21);
    expect(prev).toBe(8000); // exactly two full rounds in 4 s
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
  });

  it('expires external entries that are no longer refreshed (CacheTimeout)', () => {
    const rig = makeRig('alarm', 63, opts, 5_000);
    rig.a.engine.start();
    rig.b.engine.start();
    for (let i = 1; i <= 500; i++) rig.a.change('new', fakeRecord('ct', i, 0));
    rig.run(5_000); // at least one full refresh round after the creates
    expect(rig.b.external.ct.size).toBe(500);
    rig.a.engine.stop();
    // Each entry was refreshed within the last RefreshTime (2 s) before the stop.
    rig.run(2_500);
    expect(rig.b.external.ct.size).toBe(500); // all still within CacheTimeout (5 s) of their last refresh
    rig.run(3_000);
    expect(rig.b.external.ct.size).toBe(0);
    expect(rig.b.engine.stats().external.purged).toBe(500);
  });
});

/** Early takeover (src/ha/vrrp/early.ts) as a pure rule and in speakers on the in-memory wire. */
import { describe, expect, it } from 'vitest';
import { earlyTakeoverAt, MIN_ADVERTS } from '../../../src/ha/vrrp/early';
import type { LivenessState } from '../../../src/ha/liveness';
import { instance, Wire } from './helpers/lab';

const silent = (lastProbeAt: number, intervalMs = 20): LivenessState => ({ silent: true, lastProbeAt, quietSince: lastProbeAt + intervalMs });

describe('earlyTakeoverAt', () => {
  const base = { state: 'BACKUP' as const, masterAdvIntMs: 100, adverts: 10 };
  it('BACKUP, peer silent, no advert since the link went quiet: 150 % of the advert interval after the last advert', () => {
    expect(earlyTakeoverAt({ ...base, liveness: silent(1000), lastAdvertAt: 990 })).toBe(1140);
    expect(earlyTakeoverAt({ ...base, liveness: silent(1000), lastAdvertAt: 1020 })).toBe(1170); // advert up to the quiet point still counts
  });
  it('never while the peer is heard, never heard, or never advertised', () => {
    expect(earlyTakeoverAt({ ...base, liveness: null, lastAdvertAt: 990 })).toBeNull();
    expect(earlyTakeoverAt({ ...base, liveness: { silent: false, lastProbeAt: 1000, quietSince: 1020 }, lastAdvertAt: 990 })).toBeNull();
    expect(earlyTakeoverAt({ ...base, liveness: { silent: true, lastProbeAt: null, quietSince: null }, lastAdvertAt: 990 })).toBeNull();
    expect(earlyTakeoverAt({ ...base, liveness: silent(1000), lastAdvertAt: null })).toBeNull();
  });
  it('an advert after the sync link went quiet disarms it: the link failed, not the master', () => {
    expect(earlyTakeoverAt({ ...base, liveness: silent(1000), lastAdvertAt: 1021 })).toBeNull();
  });
  it('not before MIN_ADVERTS adverts in this BACKUP period (a new master may advertise irregularly)', () => {
    expect(earlyTakeoverAt({ ...base, adverts: MIN_ADVERTS - 1, liveness: silent(1000), lastAdvertAt: 990 })).toBeNull();
    expect(earlyTakeoverAt({ ...base, adverts: MIN_ADVERTS, liveness: silent(1000), lastAdvertAt: 990 })).toBe(1140);
  });
  it('only a BACKUP takes over', () => {
    for (const state of ['MASTER', 'FAULT', 'INIT'] as const) expect(earlyTakeoverAt({ ...base, state, liveness: silent(1000), lastAdvertAt: 990 })).toBeNull();
  });
});

/** Two speakers with 100 ms v3 adverts, settled with a as master. */
async function settled() {
  const w = new Wire();
  const a = w.add('a', '192.0.2.1', instance({ priority: 200, advertIntCs: 10 }));
  const b = w.add('b', '192.0.2.2', instance({ priority: 100, advertIntCs: 10 }));
  const becameMaster: number[] = [];
  b.speaker.onTransition((_f, to) => {
    if (to === 'MASTER') becameMaster.push(w.clock.now());
  });
  a.speaker.start();
  b.speaker.start();
  await w.run(2000, 1);
  expect(w.states()).toEqual({ a: 'MASTER', b: 'BACKUP' });
  return { w, a, b, becameMaster };
}

/** Step 1 ms at a time until `node` has just received an advert. */
async function rightAfterAdvert(w: Wire, node: { speaker: { stats(): { advertsReceived: number } } }): Promise<void> {
  const n = node.speaker.stats().advertsReceived;
  for (let i = 0; i < 200 && node.speaker.stats().advertsReceived === n; i++) await w.run(1, 1);
}

describe('fast failover in speakers', () => {
  it('master crash: the backup takes over 150 ms after the last advert instead of 361 ms', async () => {
    const { w, a, b, becameMaster } = await settled();
    // The crash, right after an advert: a's adverts and probes stop together; b heard the last probe now.
    await rightAfterAdvert(w, b);
    a.cut = true;
    const crash = w.clock.now();
    await w.run(60, 1); // 3 probes of 20 ms missed
    b.speaker.peerLiveness(silent(crash));
    await w.run(200, 1);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'MASTER' }); // a is cut off, b has taken over
    expect(b.speaker.stats().earlyTakeovers).toBe(1);
    expect(b.speaker.stats().last?.reason).toMatch(/^master silent on the sync link and no advert for 150 ms \(fast failover\)$/);
    const after = (becameMaster[0] ?? Infinity) - crash;
    expect(after).toBeCloseTo(150, 0);
    expect(w.holders()).toEqual(['a', 'b']);
  });

  it('without the liveness signal the same crash waits for the master down interval', async () => {
    const { w, a, becameMaster } = await settled();
    a.cut = true;
    const crash = w.clock.now();
    await w.run(500, 1);
    const after = (becameMaster[0] ?? Infinity) - crash;
    expect(after).toBeGreaterThan(260);
    expect(after).toBeLessThanOrEqual(362);
  });

  it('sync link broken, master alive: adverts keep arriving, no takeover, ever', async () => {
    const { w, a, b } = await settled();
    b.speaker.peerLiveness(silent(w.clock.now()));
    await w.run(10_000, 5);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'BACKUP' });
    expect(w.holders()).toEqual(['a']);
    expect(b.speaker.stats().earlyTakeovers).toBe(0);
    // Then the master really dies: the adverts arrived after the link went quiet, so only the RFC timer acts.
    a.cut = true;
    const crash = w.clock.now();
    await w.run(200, 1);
    expect(b.speaker.state()).toBe('BACKUP');
    await w.run(200, 1);
    expect(b.speaker.state()).toBe('MASTER');
    expect(w.clock.now() - crash).toBeGreaterThan(260);
    expect(b.speaker.stats().earlyTakeovers).toBe(0);
  });

  it('a master heard for fewer than MIN_ADVERTS adverts: the crash waits for the RFC timer', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ priority: 200, advertIntCs: 10 }));
    const b = w.add('b', '192.0.2.2', instance({ priority: 100, advertIntCs: 10 }));
    b.speaker.start();
    await w.run(1000, 1); // b alone: MASTER
    a.speaker.start(); // a preempts; b goes BACKUP on a's first advert
    for (let i = 0; i < 1000 && b.speaker.state() !== 'BACKUP'; i++) await w.run(1, 1);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'BACKUP' });
    await rightAfterAdvert(w, b); // 2 adverts in this BACKUP period
    a.cut = true;
    const crash = w.clock.now();
    b.speaker.peerLiveness(silent(crash));
    await w.run(200, 1);
    expect(b.speaker.state()).toBe('BACKUP');
    await w.run(200, 1);
    expect(b.speaker.state()).toBe('MASTER');
    expect(b.speaker.stats().earlyTakeovers).toBe(0);
  });

  it('the peer heard again before the advert is overdue: no early takeover', async () => {
    const { w, a, b } = await settled();
    await rightAfterAdvert(w, b);
    a.cut = true;
    const t = w.clock.now();
    await w.run(60, 1);
    b.speaker.peerLiveness(silent(t));
    await w.run(40, 1);
    b.speaker.peerLiveness({ silent: false, lastProbeAt: w.clock.now(), quietSince: w.clock.now() + 20 });
    await w.run(150, 1);
    expect(b.speaker.state()).toBe('BACKUP');
    expect(b.speaker.stats().earlyTakeovers).toBe(0);
  });
});

describe('expiries act after the I/O already queued (a busy thread wakes up)', () => {
  it('an advert read in the same wake-up voids an expired master down timer', async () => {
    const { FakeClock } = await import('../../../src/util/clock');
    const { silentLogger } = await import('../../../src/util/log');
    const { defaultGlobalDefs } = await import('../../../src/config/keepalived-types');
    const { createVrrpSpeaker } = await import('../../../src/ha/vrrp/speaker');
    const { encodeVrrp } = await import('../../../src/ha/vrrp/packet');
    const { fakeVips } = await import('./helpers/lab');
    const clock = new FakeClock();
    const deferred: Array<() => void> = [];
    let deliver: ((rx: { data: Buffer; from: string; to: string; ttl: number }) => void) | null = null;
    const sp = createVrrpSpeaker({
      instance: instance({ priority: 100, advertIntCs: 10 }), globals: defaultGlobalDefs(), clock, random: () => 0.5,
      iface: { mac: '02:00:00:00:00:02', primaryAddress: '192.0.2.2', selfAddresses: ['192.0.2.2'] },
      transport: { sendAdvert: () => null, start: (on) => { deliver = on; }, close: () => undefined },
      link: null, addresses: fakeVips(), logger: silentLogger(), defer: (fn) => deferred.push(fn),
    });
    const advert = (): void => {
      const e = encodeVrrp({ version: 3, vrid: 51, priority: 200, advertIntCs: 10, addresses: ['192.0.2.100'], authType: 0, src: '192.0.2.1', dst: '224.0.0.18' });
      if (!e.ok) throw new Error(e.error);
      deliver?.({ data: e.value, from: '192.0.2.1', to: '224.0.0.18', ttl: 255 });
    };
    sp.start();
    advert();
    clock.advance(400); // the thread "slept" past the master down interval (361 ms)...
    expect(deferred).toHaveLength(1);
    advert(); // ...and the advert that arrived meanwhile is read in the same wake-up, before the deferred decision
    for (const fn of deferred.splice(0)) fn();
    expect(sp.state()).toBe('BACKUP');
    clock.advance(362); // no further advert: the re-armed timer expires and acts
    for (const fn of deferred.splice(0)) fn();
    expect(sp.state()).toBe('MASTER');
    await sp.stop();
  });
});

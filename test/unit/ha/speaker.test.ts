/** Speakers on an in-memory wire with a fake clock: election, preemption, handover, fault, hooks. */
import { describe, expect, it } from 'vitest';
import { instance, Wire } from './helpers/lab';

describe('VRRP speakers on an in-memory wire', () => {
  it('election by priority: exactly one master holding the VIP; adverts flow', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ priority: 200 }));
    const b = w.add('b', '192.0.2.2', instance({ priority: 100 }));
    a.speaker.start();
    b.speaker.start();
    await w.run(3000);
    expect(w.states()).toEqual({ a: 'BACKUP', b: 'BACKUP' });
    await w.run(300); // a's master down interval: 3 s + (56/256) s = 3218.75 ms
    expect(w.states()).toEqual({ a: 'MASTER', b: 'BACKUP' });
    await w.run(10_000);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'BACKUP' });
    expect(w.holders()).toEqual(['a']);
    expect(a.speaker.stats().advertsSent).toBeGreaterThanOrEqual(10);
    expect(b.speaker.stats().advertsReceived).toBe(a.speaker.stats().advertsSent);
    expect(a.garp.length).toBe(1); // garp_master_repeat 1, delay 0
    expect(a.speaker.stats().last).toMatchObject({ from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired' });
  });

  it('equal priorities: the higher primary address wins', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ state: 'MASTER' }));
    const b = w.add('b', '192.0.2.2', instance({ state: 'MASTER' }));
    a.speaker.start();
    b.speaker.start();
    await w.run(10_000);
    expect(w.states()).toEqual({ a: 'BACKUP', b: 'MASTER' });
    expect(w.holders()).toEqual(['b']);
  });

  it('preemption: a higher-priority node that starts later takes over and the VIP moves', async () => {
    const w = new Wire();
    const low = w.add('low', '192.0.2.2', instance({ priority: 100 }));
    const high = w.add('high', '192.0.2.1', instance({ priority: 200 }));
    low.speaker.start();
    await w.run(5000);
    expect(w.holders()).toEqual(['low']);
    high.speaker.start();
    await w.run(3200);
    expect(w.states()).toEqual({ low: 'MASTER', high: 'BACKUP' });
    await w.run(100);
    expect(w.states()).toEqual({ low: 'BACKUP', high: 'MASTER' });
    expect(w.holders()).toEqual(['high']);
    expect(low.vips.log).toEqual(['add 192.0.2.100', 'del 192.0.2.100']);
  });

  it('nopreempt: the higher-priority node stays backup', async () => {
    const w = new Wire();
    const low = w.add('low', '192.0.2.2', instance({ priority: 100 }));
    const high = w.add('high', '192.0.2.1', instance({ priority: 200, preempt: false }));
    low.speaker.start();
    await w.run(5000);
    high.speaker.start();
    await w.run(30_000);
    expect(w.states()).toEqual({ low: 'MASTER', high: 'BACKUP' });
  });

  it('preempt_delay: takeover only after the delay plus the master down interval', async () => {
    const w = new Wire();
    const low = w.add('low', '192.0.2.2', instance({ priority: 100 }));
    const high = w.add('high', '192.0.2.1', instance({ priority: 200, preemptDelay: 10 }));
    low.speaker.start();
    await w.run(5000);
    high.speaker.start();
    await w.run(12_000);
    expect(w.states()).toEqual({ low: 'MASTER', high: 'BACKUP' });
    await w.run(2500);
    expect(w.states()).toEqual({ low: 'BACKUP', high: 'MASTER' });
  });

  it('graceful stop: priority 0 lets the backup take over within its skew time', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ priority: 200 }));
    const b = w.add('b', '192.0.2.2', instance({ priority: 100 }));
    a.speaker.start();
    b.speaker.start();
    await w.run(5000);
    expect(w.holders()).toEqual(['a']);
    const t0 = w.clock.now();
    await a.speaker.stop();
    expect(a.speaker.state()).toBe('INIT');
    expect(a.vips.have.size).toBe(0);
    let tookOver = -1;
    b.speaker.onTransition((_f, to) => {
      if (to === 'MASTER') tookOver = w.clock.now();
    });
    await w.run(1000);
    expect(b.speaker.state()).toBe('MASTER');
    // skew time for priority 100: (256 - 100) / 256 s = 609 ms (+1 ms wire); the expiry acts after
    // pending I/O (setImmediate), which this harness runs at the end of its 10 ms step.
    expect(tookOver - t0).toBeGreaterThan(600);
    expect(tookOver - t0).toBeLessThanOrEqual(620);
    expect(w.holders()).toEqual(['b']);
  });

  it('interface down: master goes FAULT and drops the VIP, the backup takes over; back up it preempts again', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ priority: 200 }));
    const b = w.add('b', '192.0.2.2', instance({ priority: 100 }));
    a.speaker.start();
    b.speaker.start();
    await w.run(5000);
    a.cut = true;
    a.speaker.interfaceState(false);
    await w.run(10);
    expect(a.speaker.state()).toBe('FAULT');
    expect(w.holders()).toEqual([]);
    await w.run(4000);
    expect(w.states()).toEqual({ a: 'FAULT', b: 'MASTER' });
    a.cut = false;
    a.speaker.interfaceState(true);
    await w.run(4000);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'BACKUP' });
    expect(w.holders()).toEqual(['a']);
  });

  it('beforeMaster is awaited before the VIPs are added; adverts go out at once', async () => {
    const w = new Wire();
    let release: () => void = () => undefined;
    const order: string[] = [];
    const a = w.add('a', '192.0.2.1', instance({ priority: 200 }), {
      beforeMaster: () => {
        order.push('beforeMaster');
        return new Promise<void>((r) => (release = r));
      },
      afterMaster: () => {
        order.push('afterMaster');
      },
    });
    a.speaker.start();
    await w.run(3300);
    expect(a.speaker.state()).toBe('MASTER');
    expect(a.speaker.stats().advertsSent).toBe(1);
    expect(a.vips.have.size).toBe(0);
    expect(order).toEqual(['beforeMaster']);
    await w.run(500);
    expect(a.vips.have.size).toBe(0);
    release();
    await w.run(10);
    expect(order).toEqual(['beforeMaster', 'afterMaster']);
    expect([...a.vips.have]).toEqual(['192.0.2.100']);
    expect(Object.keys(a.speaker.stats().last?.steps ?? {})).toEqual(['beforeMaster', 'addVips', 'afterMaster']);
  });

  it('leaving MASTER while beforeMaster is pending never adds the VIPs', async () => {
    const w = new Wire();
    let release: () => void = () => undefined;
    const a = w.add('a', '192.0.2.1', instance({ priority: 100 }), { beforeMaster: () => new Promise<void>((r) => (release = r)) });
    a.speaker.start();
    await w.run(3700);
    expect(a.speaker.state()).toBe('MASTER');
    const b = w.add('b', '192.0.2.2', instance({ priority: 200, state: 'MASTER' }));
    b.speaker.start();
    await w.run(1100);
    expect(w.states()).toEqual({ a: 'BACKUP', b: 'MASTER' });
    release();
    await w.run(10);
    expect(a.vips.have.size).toBe(0);
    expect(a.vips.log).toEqual(['del 192.0.2.100']);
  });

  it('bad adverts are counted by reason, not fatal', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ priority: 200 }));
    const b = w.add('b', '192.0.2.2', instance({ priority: 100, vrid: 52 }));
    a.speaker.start();
    b.speaker.start();
    await w.run(5000);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'MASTER' });
    expect(a.speaker.stats().drops.vrid).toBeGreaterThan(0);
    expect(b.speaker.stats().drops.vrid).toBeGreaterThan(0);
  });

  it('v2 interval mismatch is dropped; v3 is learned', async () => {
    const w = new Wire();
    const a = w.add('a', '192.0.2.1', instance({ priority: 200, version: 2, advertIntCs: 200 }));
    const b = w.add('b', '192.0.2.2', instance({ priority: 100, version: 2 }));
    a.speaker.start();
    b.speaker.start();
    await w.run(8000);
    expect(w.states()).toEqual({ a: 'MASTER', b: 'MASTER' });
    expect(b.speaker.stats().drops['advert-interval']).toBeGreaterThan(0);
    const w3 = new Wire();
    const c = w3.add('c', '192.0.2.1', instance({ priority: 200, advertIntCs: 50 }));
    const d = w3.add('d', '192.0.2.2', instance({ priority: 100 }));
    c.speaker.start();
    d.speaker.start();
    await w3.run(8000);
    expect(w3.states()).toEqual({ c: 'MASTER', d: 'BACKUP' });
    expect(d.speaker.stats().warnings['advert-interval-learned']).toBeGreaterThan(0);
    // Learned 50 cs: master down = 1.5 s + skew (156 * 50 / 256 cs) = 1.8 s after c's last advert;
    // with its own 100 cs it would wait 3.6 s.
    c.cut = true;
    await w3.run(1300);
    expect(d.speaker.state()).toBe('BACKUP');
    await w3.run(600);
    expect(d.speaker.state()).toBe('MASTER');
  });
});

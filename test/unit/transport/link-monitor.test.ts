import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';
import { PollingLinkMonitor, sysfsLinkUp } from '../../../src/transport/link-monitor';

describe('sysfsLinkUp', () => {
  const cases: Array<[string, Record<string, string>, boolean]> = [
    ['up with carrier', { operstate: 'up', carrier: '1' }, true],
    ['unknown operstate (lo, tun) with carrier', { operstate: 'unknown', carrier: '1' }, true],
    ['up without carrier', { operstate: 'up', carrier: '0' }, false],
    ['admin down (carrier unreadable)', { operstate: 'down' }, false],
    ['lowerlayerdown', { operstate: 'lowerlayerdown', carrier: '0' }, false],
    ['dormant', { operstate: 'dormant', carrier: '1' }, false],
    ['missing interface', {}, false],
  ];
  for (const [name, files, want] of cases) {
    it(name, () => {
      expect(sysfsLinkUp('eth9', (p) => files[p.split('/').pop() ?? ''] ?? null, '/x')).toBe(want);
    });
  }
});

describe('PollingLinkMonitor', () => {
  it('reports changes only, on the poll interval, and stops polling', async () => {
    const clock = new FakeClock();
    let oper = 'up';
    const monitor = new PollingLinkMonitor({
      clock,
      intervalMs: 50,
      read: (p) => (p.endsWith('operstate') ? oper : '1'),
    });
    const events: Array<[string, boolean]> = [];
    const unsub = monitor.onChange((i, up) => events.push([i, up]));
    monitor.watch('eth0');
    expect(monitor.isUp('eth0')).toBeUndefined();
    await monitor.start();
    expect(monitor.isUp('eth0')).toBe(true);
    oper = 'down';
    clock.advance(49);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual([['eth0', false]]);
    clock.advance(500);
    expect(events).toHaveLength(1);
    oper = 'up';
    unsub();
    clock.advance(50);
    expect(events).toHaveLength(1);
    expect(monitor.isUp('eth0')).toBe(true);
    monitor.watch('eth1');
    expect(monitor.isUp('eth1')).toBe(true);
    await monitor.stop();
    expect(clock.pending()).toBe(0);
  });
});

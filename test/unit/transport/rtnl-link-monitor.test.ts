import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';
import { RtnlLinkMonitor, type RtnlLinkEvent, type RtnlLinkSource, type RtnlLinkState } from '../../../src/transport/rtnl-link-monitor';
import { memoryLink } from '../../../src/transport/memory';
import { RedundantGroup } from '../../../src/transport/redundant';

/** Runs timeouts on the next microtask: enough for retry waits in these tests. */
class SyncClock extends FakeClock {
  override setTimeout(fn: () => void, _ms: number) {
    queueMicrotask(fn);
    return { id: 0 };
  }
}

function fakeSource(links: RtnlLinkState[] | { code: string }, busyFirst = 0) {
  let handler: ((ev: RtnlLinkEvent) => void) | null = null;
  let busy = busyFirst;
  const source: RtnlLinkSource = {
    listLinks: async () => (busy-- > 0 ? { code: 'EBUSY' } : links),
    onLinkChange(h) {
      handler = h;
      return () => {
        handler = null;
      };
    },
  };
  return { source, emit: (ev: RtnlLinkEvent) => handler?.(ev), subscribed: () => handler !== null };
}

describe('RtnlLinkMonitor', () => {
  it('reads initial states and follows events (up needs IFF_UP and carrier)', async () => {
    const f = fakeSource([
      { name: 'sync0', up: true, carrier: true },
      { name: 'sync1', up: true, carrier: false },
    ]);
    const m = new RtnlLinkMonitor(f.source, { clock: new SyncClock() });
    const events: Array<[string, boolean]> = [];
    m.onChange((i, up) => events.push([i, up]));
    for (const n of ['sync0', 'sync1', 'gone']) m.watch(n);
    await m.start();
    expect([m.isUp('sync0'), m.isUp('sync1'), m.isUp('gone'), m.isUp('other')]).toEqual([true, false, false, undefined]);
    f.emit({ type: 'new', name: 'sync1', up: true, carrier: true });
    f.emit({ type: 'new', name: 'sync0', up: false, carrier: true });
    f.emit({ type: 'new', name: 'eth9', up: false, carrier: false });
    f.emit({ type: 'del', name: 'sync1', up: true, carrier: true });
    expect(events).toEqual([
      ['sync1', true],
      ['sync0', false],
      ['sync1', false],
    ]);
    await m.stop();
    expect(f.subscribed()).toBe(false);
  });

  it('retries a busy listing', async () => {
    const f = fakeSource([{ name: 'sync0', up: true, carrier: true }], 2);
    const m = new RtnlLinkMonitor(f.source, { clock: new SyncClock(), listAttempts: 3 });
    m.watch('sync0');
    await m.start();
    expect(m.isUp('sync0')).toBe(true);
  });

  it('survives a failed listing and drives a redundant group', async () => {
    const f = fakeSource({ code: 'EPERM' });
    const m = new RtnlLinkMonitor(f.source, { clock: new SyncClock(), listAttempts: 2 });
    const g = new RedundantGroup({
      links: [
        { transport: memoryLink().a, ifname: 'sync0' },
        { transport: memoryLink().a, ifname: 'sync1' },
      ],
      monitor: m,
    });
    await g.open();
    expect(g.active()).toBe(0); // unknown counts as usable
    f.emit({ type: 'new', name: 'sync0', up: true, carrier: true });
    f.emit({ type: 'new', name: 'sync1', up: true, carrier: true });
    f.emit({ type: 'new', name: 'sync0', up: true, carrier: false });
    expect(g.active()).toBe(1);
    expect(g.groupStats().failovers).toBe(1);
  });
});

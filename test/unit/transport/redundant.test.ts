import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';
import { ManualLinkMonitor, PollingLinkMonitor } from '../../../src/transport/link-monitor';
import { memoryLink, type MemoryTransport } from '../../../src/transport/memory';
import { createRedundantGroup, RedundantGroup, type FailbackPolicy, type SwitchReason } from '../../../src/transport/redundant';

function setup(n: number, failback: FailbackPolicy = 'sticky', preferred?: number) {
  const links = Array.from({ length: n }, () => memoryLink());
  const monitor = new ManualLinkMonitor();
  const ifnames = links.map((_, i) => `sync${i}`);
  const group = new RedundantGroup({
    links: links.map((l, i) => ({ transport: l.a, ifname: ifnames[i] ?? '' })),
    monitor,
    failback,
    preferred,
  });
  const switches: Array<[number, number, SwitchReason]> = [];
  group.onSwitch((from, to, why) => switches.push([from, to, why]));
  const received: string[] = [];
  group.onDatagram((d) => received.push(d.toString()));
  /** Which far ends received what. */
  const farGot = links.map(() => [] as string[]);
  links.forEach((l, i) => l.b.onDatagram((d) => farGot[i]?.push(d.toString())));
  const flush = () => links.forEach((l) => l.flush());
  return { links, monitor, group, switches, received, farGot, flush };
}

describe('RedundantGroup', () => {
  it('validates the link count as a value', () => {
    const m = new ManualLinkMonitor();
    expect(createRedundantGroup({ links: [], monitor: m })).toEqual({ ok: false, error: { code: 'NO_LINKS', count: 0 } });
    const five = Array.from({ length: 5 }, (_, i) => ({ transport: memoryLink().a, ifname: `x${i}` }));
    expect(createRedundantGroup({ links: five, monitor: m })).toEqual({ ok: false, error: { code: 'TOO_MANY_LINKS', count: 5 } });
  });

  it('sends on the active link only and receives from all', async () => {
    const t = setup(3);
    await t.group.open();
    expect(t.group.active()).toBe(0);
    expect(t.switches).toEqual([[-1, 0, 'open']]);
    t.group.send(Buffer.from('one'));
    t.links[2]?.b.send(Buffer.from('from-2'));
    t.links[1]?.b.send(Buffer.from('from-1'));
    t.flush();
    expect(t.farGot).toEqual([['one'], [], []]);
    expect(t.received.sort()).toEqual(['from-1', 'from-2']);
    expect(t.group.mtu).toBe(1472);
  });

  it('fails over to the next healthy link and counts it; sticky stays there', async () => {
    const t = setup(3, 'sticky');
    await t.group.open();
    t.monitor.set('sync1', false);
    expect(t.group.active()).toBe(0); // a standby link going down changes nothing
    t.monitor.set('sync0', false);
    expect(t.group.active()).toBe(2); // sync1 is down too
    t.group.send(Buffer.from('after'));
    t.flush();
    expect(t.farGot).toEqual([[], [], ['after']]);
    t.monitor.set('sync0', true);
    expect(t.group.active()).toBe(2);
    const s = t.group.groupStats();
    expect(s).toMatchObject({ active: 2, failovers: 1, failbacks: 0, noLinkDrops: 0 });
    expect(s.links.map((l) => [l.ifname, l.up, l.active])).toEqual([
      ['sync0', true, false],
      ['sync1', false, false],
      ['sync2', true, true],
    ]);
    expect(t.switches).toEqual([
      [-1, 0, 'open'],
      [0, 2, 'failover'],
    ]);
  });

  it("'preferred' moves back to the first link when it recovers", async () => {
    const t = setup(2, 'preferred');
    await t.group.open();
    t.monitor.set('sync0', false);
    expect(t.group.active()).toBe(1);
    t.monitor.set('sync0', true);
    expect(t.group.active()).toBe(0);
    expect(t.group.groupStats()).toMatchObject({ failovers: 1, failbacks: 1 });
    expect(t.switches.map((s) => s[2])).toEqual(['open', 'failover', 'failback']);
  });

  it('starts on, and fails back to, the preferred (Default) link', async () => {
    const t = setup(3, 'preferred', 1);
    await t.group.open();
    expect(t.group.active()).toBe(1);
    t.monitor.set('sync1', false);
    expect(t.group.active()).toBe(2);
    t.monitor.set('sync0', false);
    t.monitor.set('sync0', true); // not the preferred one: no move
    expect(t.group.active()).toBe(2);
    t.monitor.set('sync1', true);
    expect(t.group.active()).toBe(1);
    expect(t.group.groupStats()).toMatchObject({ failovers: 1, failbacks: 1 });
  });

  it('drops and counts sends when no link is usable, recovers when one returns', async () => {
    const t = setup(2);
    await t.group.open();
    t.monitor.set('sync0', false);
    t.monitor.set('sync1', false);
    expect(t.group.active()).toBe(-1);
    expect(t.group.send(Buffer.from('lost'))).toBe(false);
    expect(t.group.groupStats().noLinkDrops).toBe(1);
    expect(t.group.stats().sendErrors).toBe(1);
    t.monitor.set('sync1', true);
    expect(t.group.active()).toBe(1);
    expect(t.switches.at(-1)).toEqual([-1, 1, 'recovered']);
    expect(t.group.send(Buffer.from('ok'))).toBe(true);
    t.flush();
    expect(t.farGot[1]).toEqual(['ok']);
  });

  it('leaves out a link whose open() fails; fails only when none opens', async () => {
    const t = setup(2);
    const broken = t.links[0]!.a;
    broken.open = () => Promise.reject(new Error('EADDRNOTAVAIL'));
    await t.group.open();
    expect(t.group.active()).toBe(1);
    expect(t.group.groupStats().links.map((l) => l.openFailed)).toEqual([true, false]);
    t.monitor.set('sync1', false);
    expect(t.group.active()).toBe(-1);
    t.monitor.set('sync0', false);
    t.monitor.set('sync0', true);
    expect(t.group.active()).toBe(-1); // the broken link is never used
    const all = setup(1);
    all.links[0]!.a.open = () => Promise.reject(new Error('ENODEV'));
    await expect(all.group.open()).rejects.toThrow('no sync link could be opened: Error: ENODEV');
  });

  it('sums link stats', async () => {
    const t = setup(2);
    await t.group.open();
    t.group.send(Buffer.from('abcd'));
    t.monitor.set('sync0', false);
    t.group.send(Buffer.from('xy'));
    expect(t.group.stats()).toMatchObject({ sentDatagrams: 2, sentBytes: 6 });
  });

  it('opens on the first link that is up, driven by a polling monitor on a fake clock', async () => {
    const clock = new FakeClock();
    const sysfs = new Map<string, string>([
      ['/s/a/operstate', 'down'],
      ['/s/b/operstate', 'up'],
      ['/s/b/carrier', '1'],
    ]);
    const monitor = new PollingLinkMonitor({ clock, intervalMs: 100, root: '/s', read: (p) => sysfs.get(p) ?? null });
    const la = memoryLink();
    const lb = memoryLink();
    const group = new RedundantGroup({
      links: [
        { transport: la.a as MemoryTransport, ifname: 'a' },
        { transport: lb.a, ifname: 'b' },
      ],
      monitor,
      failback: 'preferred',
    });
    await group.open();
    expect(group.active()).toBe(1);
    sysfs.set('/s/a/operstate', 'up');
    sysfs.set('/s/a/carrier', '1');
    clock.advance(99);
    expect(group.active()).toBe(1);
    clock.advance(1);
    expect(group.active()).toBe(0);
    sysfs.set('/s/a/carrier', '0');
    clock.advance(100);
    expect(group.active()).toBe(1);
    expect(group.groupStats()).toMatchObject({ failovers: 1, failbacks: 1 });
    await group.close();
    expect(clock.pending()).toBe(0);
  });
});

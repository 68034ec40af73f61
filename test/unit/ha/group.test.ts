import { describe, expect, it } from 'vitest';
import { groupState, syncGroupMoves, type GroupMember } from '../../../src/ha/vrrp/group';
import { createVrrpManager, interfaceInfo, trackedPriority } from '../../../src/ha/vrrp/manager';
import type { ManagerRtnl } from '../../../src/ha/vrrp/manager';
import type { LinkEvent, LinkState } from '../../../src/netlink/rtnl-client';
import { defaultGlobalDefs, type KeepalivedConfig } from '../../../src/config/keepalived-types';
import type { Notifier } from '../../../src/ha/notify';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { fakeVips, flush, instance } from './helpers/lab';

const m = (name: string, state: GroupMember['state'], ownFault = false): GroupMember => ({ name, state, ownFault });

describe('sync group rules', () => {
  const table: Array<[string, GroupMember[], string, GroupMember['state'], GroupMember['state'], Array<[string, string]>]> = [
    ['one master => all master', [m('a', 'MASTER'), m('b', 'BACKUP'), m('c', 'BACKUP')], 'a', 'BACKUP', 'MASTER', [['b', 'MASTER'], ['c', 'MASTER']]],
    ['one back to backup => masters follow', [m('a', 'BACKUP'), m('b', 'MASTER')], 'a', 'MASTER', 'BACKUP', [['b', 'BACKUP']]],
    ['one fault => all fault', [m('a', 'FAULT', true), m('b', 'MASTER'), m('c', 'BACKUP')], 'a', 'MASTER', 'FAULT', [['b', 'FAULT'], ['c', 'FAULT']]],
    ['recovery of the last faulty member => others back to backup', [m('a', 'BACKUP'), m('b', 'FAULT')], 'a', 'FAULT', 'BACKUP', [['b', 'BACKUP']]],
    ['a member leaving fault while another is still down goes back', [m('a', 'BACKUP'), m('b', 'FAULT', true)], 'a', 'FAULT', 'BACKUP', [['a', 'FAULT']]],
    ['forced echo changes nothing', [m('a', 'MASTER'), m('b', 'MASTER')], 'b', 'BACKUP', 'MASTER', []],
  ];
  for (const [name, members, changed, from, to, want] of table) {
    it(name, () => expect(syncGroupMoves(members, changed, from, to).map((x) => [x.member, x.to])).toEqual(want));
  }
  it('group state', () => {
    expect(groupState([m('a', 'MASTER'), m('b', 'MASTER')])).toBe('MASTER');
    expect(groupState([m('a', 'MASTER'), m('b', 'FAULT')])).toBe('FAULT');
    expect(groupState([m('a', 'MASTER'), m('b', 'BACKUP')])).toBe('BACKUP');
  });
});

describe('manager helpers', () => {
  const links: LinkState[] = [{ index: 2, name: 'eth0', up: true, running: true, carrier: true, operstate: 'up', address: '02:00:00:00:00:01' }];
  it('interfaceInfo picks the primary (non-secondary, non-VIP) address and link-local for IPv6', () => {
    const addrs = [
      { family: 2, index: 2, address: '192.0.2.100', prefixlen: 24, cidr: '', flags: 0, scope: 0 },
      { family: 2, index: 2, address: '192.0.2.1', prefixlen: 24, cidr: '', flags: 0, scope: 0 },
      { family: 2, index: 2, address: '192.0.2.7', prefixlen: 24, cidr: '', flags: 1, scope: 0 },
      { family: 10, index: 2, address: '2001:db8::1', prefixlen: 64, cidr: '', flags: 0, scope: 0 },
      { family: 10, index: 2, address: 'fe80::1', prefixlen: 64, cidr: '', flags: 0, scope: 253 },
    ];
    expect(interfaceInfo(instance(), links, addrs)).toEqual({ mac: '02:00:00:00:00:01', primaryAddress: '192.0.2.1', selfAddresses: ['192.0.2.1', '192.0.2.7', '2001:db8::1', 'fe80::1'] });
    const v6 = instance({ family: 6, virtualIpaddresses: [{ family: 6, address: '2001:db8::100', prefix: 64, noTrack: false, line: 1 }] });
    expect(interfaceInfo(v6, links, addrs)).toMatchObject({ primaryAddress: 'fe80::1' });
    expect(interfaceInfo(instance({ interface: 'nope' }), links, addrs)).toMatchObject({ code: 'ENODEV' });
    expect(interfaceInfo(instance(), links, [])).toMatchObject({ code: 'EADDRNOTAVAIL' });
  });
  it('track_interface weights', () => {
    const inst = instance({ priority: 100, trackInterfaces: [{ name: 'a', weight: -30, reverse: false }, { name: 'b', weight: 20, reverse: false }, { name: 'c', weight: 0, reverse: true }] });
    expect(trackedPriority(inst, () => true)).toEqual({ priority: 120, fault: true });
    expect(trackedPriority(inst, (n) => n === 'b')).toEqual({ priority: 90, fault: false });
    expect(trackedPriority(inst, () => false)).toEqual({ priority: 70, fault: false });
  });
});

describe('manager: sync group moves together, notify GROUP', () => {
  it('a link down on one member faults the group; recovery brings both back to MASTER', async () => {
    const clock = new FakeClock();
    const up: Record<string, boolean> = { eth0: true, eth1: true };
    let onLink: (ev: LinkEvent) => void = () => undefined;
    const vips = fakeVips();
    const link = (i: number, name: string): LinkState => ({ index: i, name, up: up[name] ?? false, running: up[name] ?? false, carrier: true, operstate: 'up', address: '02:00:00:00:00:01' });
    const rtnl: ManagerRtnl = {
      listLinks: async () => [link(2, 'eth0'), link(3, 'eth1')],
      listAddresses: async () => [
        { family: 2, index: 2, address: '192.0.2.1', prefixlen: 24, cidr: '', flags: 0, scope: 0 },
        { family: 2, index: 3, address: '198.51.100.1', prefixlen: 24, cidr: '', flags: 0, scope: 0 },
      ],
      addAddress: (...a) => vips.add([{ address: a[1].split('/')[0]!, prefix: 24, family: 4, dev: a[0] }]).then(() => null),
      delAddress: (...a) => vips.remove([{ address: a[1].split('/')[0]!, prefix: 24, family: 4, dev: a[0] }]).then(() => null),
      onLinkChange: (h) => {
        onLink = h;
        return () => undefined;
      },
    };
    const notes: string[] = [];
    const notifier: Notifier = { notify: (t, n, s, p) => void notes.push(`${t} ${n} ${s} ${p}`), running: () => 0, idle: async () => undefined, stats: () => ({ started: 0, ok: 0, failed: 0, timedOut: 0, spawnErrors: 0 }) };
    const g = defaultGlobalDefs();
    const config: KeepalivedConfig = {
      globalDefs: g,
      syncGroups: [{ name: 'G', file: 't', line: 1, members: ['V1', 'V2'], notify: {}, trackInterfaces: [] }],
      instances: [
        instance({ name: 'V1', syncGroup: 'G', interface: 'eth0', vrid: 1 }),
        instance({ name: 'V2', syncGroup: 'G', interface: 'eth1', vrid: 2, virtualIpaddresses: [{ family: 4, address: '198.51.100.100', prefix: 24, noTrack: false, line: 1 }] }),
      ],
    };
    const mgr = createVrrpManager({
      config, clock, random: () => 0, logger: silentLogger(), rtnl, notifier,
      openTransport: () => ({ sendAdvert: () => null, start: () => undefined, close: () => undefined }),
      openLink: () => null,
    });
    expect(await mgr.start()).toEqual([]);
    const states = (): string[] => mgr.speakers().map((s) => s.state());
    const run = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 50) {
        clock.advance(50);
        await flush();
      }
    };
    await run(4000);
    expect(states()).toEqual(['MASTER', 'MASTER']);
    expect([...vips.have].sort()).toEqual(['192.0.2.100', '198.51.100.100']);
    up.eth1 = false;
    onLink({ ...link(3, 'eth1'), type: 'new' });
    await run(50);
    expect(states()).toEqual(['FAULT', 'FAULT']);
    expect(vips.have.size).toBe(0);
    await run(5000);
    expect(states()).toEqual(['FAULT', 'FAULT']);
    up.eth1 = true;
    onLink({ ...link(3, 'eth1'), type: 'new' });
    await run(50);
    expect(states()).toEqual(['BACKUP', 'BACKUP']);
    await run(4000);
    expect(states()).toEqual(['MASTER', 'MASTER']);
    expect(notes.filter((n) => n.startsWith('GROUP'))).toEqual(['GROUP G BACKUP 0', 'GROUP G MASTER 0', 'GROUP G FAULT 0', 'GROUP G BACKUP 0', 'GROUP G MASTER 0']);
    expect(notes.filter((n) => n.startsWith('INSTANCE V1'))).toEqual(['INSTANCE V1 BACKUP 100', 'INSTANCE V1 MASTER 100', 'INSTANCE V1 FAULT 100', 'INSTANCE V1 BACKUP 100', 'INSTANCE V1 MASTER 100']);
    await mgr.stop();
    expect(states()).toEqual(['INIT', 'INIT']);
    expect(vips.have.size).toBe(0);
  });
});

/**
 * rtnl-client against the real kernel in a namespace: links listed, addresses
 * added/removed show in `ip addr`, kernel refusals are values, link up/down and
 * carrier changes arrive as events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, isRoot, waitFor } from '../helpers/netns';
import { createRtnl, type LinkEvent, type RtnlClient } from '../../src/netlink/rtnl-client';
import { isSockError } from '../../src/netlink/socket';
import { IFA_F_NODAD } from '../../src/netlink/rtnl';

describe.skipIf(!isRoot())('rtnl client in a namespace', () => {
  const lab = new Lab('rt');
  let a = '';
  let b = '';
  let rt: RtnlClient;
  afterAll(() => {
    rt?.close();
    lab.cleanup();
  });
  beforeAll(() => {
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'va', b, 'vb', '192.0.2.1/24', '192.0.2.2/24');
    const c = createRtnl({ netns: lab.nsPath(a) });
    if (isSockError(c)) throw new Error(`createRtnl: ${c.code}`);
    rt = c;
  });

  it('lists links with their indexes and state', async () => {
    const links = await rt.listLinks();
    if (isSockError(links)) throw new Error(links.code);
    const va = links.find((l) => l.name === 'va');
    const idx = Number(lab.exec(a, 'cat /sys/class/net/va/ifindex').trim());
    expect(links.map((l) => l.name).sort()).toEqual(['lo', 'va']);
    expect(va).toMatchObject({ index: idx, up: true, running: true, carrier: true, operstate: 'up', mtu: 1500 });
    expect(va?.address).toBe(lab.exec(a, 'cat /sys/class/net/va/address').trim());
  });

  it('adds and removes IPv4 addresses; EEXIST / EADDRNOTAVAIL / ENODEV / EINVAL are values', async () => {
    expect(await rt.addAddress('va', '192.0.2.50/24', { label: 'va:vip' })).toBeNull();
    const shown = lab.exec(a, 'ip -4 -o addr show dev va');
    expect(shown).toMatch(/inet 192\.0\.2\.50\/24 .*va:vip/);
    expect(await rt.addAddress('va', '192.0.2.50/24')).toEqual({ code: 'EEXIST', errno: 17, op: 'add-address' });
    const list = await rt.listAddresses(2);
    if (isSockError(list)) throw new Error(list.code);
    expect(list.filter((x) => x.cidr === '192.0.2.50/24').map((x) => x.label)).toEqual(['va:vip']);

    expect(await rt.delAddress('va', '192.0.2.50/24')).toBeNull();
    expect(lab.exec(a, 'ip -4 -o addr show dev va')).not.toContain('192.0.2.50');
    expect(await rt.delAddress('va', '192.0.2.50/24')).toEqual({ code: 'EADDRNOTAVAIL', errno: 99, op: 'del-address' });
    expect(await rt.addAddress('nosuchif', '192.0.2.51/24')).toEqual({ code: 'ENODEV', errno: 19, op: 'add-address' });
    expect(await rt.addAddress('va', '192.0.2.300/24')).toMatchObject({ code: 'EINVAL', op: 'add-address' });
  });

  it('adds an IPv6 address with nodad: never tentative', async () => {
    expect(await rt.addAddress('va', '2001:db8::50/64', { nodad: true })).toBeNull();
    const shown = lab.exec(a, 'ip -6 -o addr show dev va');
    expect(shown).toMatch(/inet6 2001:db8::50\/64 .*nodad/);
    expect(shown).not.toMatch(/2001:db8::50\/64 .*tentative/);
    const list = await rt.listAddresses(10);
    if (isSockError(list)) throw new Error(list.code);
    const e = list.find((x) => x.address === '2001:db8::50');
    expect(e && (e.flags & IFA_F_NODAD) !== 0).toBe(true);
    expect(await rt.delAddress('va', '2001:db8::50/64')).toBeNull();
  });

  it('reports link down/up and carrier changes', async () => {
    const evs: LinkEvent[] = [];
    const off = rt.onLinkChange((e) => {
      if (e.name === 'va') evs.push(e);
    });
    const last = (): LinkEvent | undefined => evs[evs.length - 1];
    // Wait until the event socket is live: toggling the peer yields a carrier event.
    lab.exec(b, 'ip link set vb down');
    await waitFor(() => last()?.carrier === false, 5000);
    expect(last()).toMatchObject({ type: 'new', up: true, carrier: false, running: false });

    expect(await rt.setLinkUp('va', false)).toBeNull();
    await waitFor(() => last()?.up === false, 5000);
    expect(lab.exec(a, 'ip -o link show va')).not.toMatch(/[<,]UP[,>]/);

    lab.exec(a, 'ip link set va up');
    await waitFor(() => last()?.up === true, 5000);
    lab.exec(b, 'ip link set vb up');
    await waitFor(() => last()?.carrier === true && last()?.running === true, 5000);
    expect(last()).toMatchObject({ type: 'new', name: 'va', up: true, running: true, carrier: true });
    // Only changes are reported: consecutive events differ.
    for (let i = 1; i < evs.length; i++) {
      const p = evs[i - 1]!;
      const c = evs[i]!;
      expect([p.up, p.running, p.carrier]).not.toEqual([c.up, c.running, c.carrier]);
    }
    off();
  });
});

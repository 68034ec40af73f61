/** keepalived D-Bus naming: object paths and state codes (vrrp_dbus.c facts). */
import { describe, expect, it } from 'vitest';
import { instancePath, pathElement, stateCode, VrrpInstanceInterface } from '../../../src/dbus/vrrp-interface';
import type { VrrpState } from '../../../src/ha/vrrp/machine';

describe('keepalived D-Bus naming', () => {
  it.each([
    ['eth0', 51, 4, '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4'],
    ['bond0.20', 10, 6, '/org/keepalived/Vrrp1/Instance/bond0_20/10/IPv6'],
    ['wan-1', 255, 4, '/org/keepalived/Vrrp1/Instance/wan_1/255/IPv4'],
  ] as const)('instancePath(%s, %d, %d)', (ifname, vrid, fam, path) => {
    expect(instancePath(ifname, vrid, fam)).toBe(path);
  });

  it('pathElement keeps only [A-Za-z0-9] and maps the rest to _', () => {
    expect(pathElement('a-b.c:d_E9@')).toBe('a_b_c_d_E9_');
  });

  it.each([
    ['INIT', 0, 'Init'],
    ['BACKUP', 1, 'Backup'],
    ['MASTER', 2, 'Master'],
    ['FAULT', 3, 'Fault'],
  ] as const)('state %s is (%d, %s)', (s, n, name) => {
    expect(stateCode(s)).toEqual([n, name]);
  });

  it('properties read the backend live; SendGarp without a backend method is a typed NotSupported error', () => {
    let state: VrrpState = 'BACKUP';
    const iface = new VrrpInstanceInterface({ name: 'VI_1', state: () => state });
    expect(iface.Name).toEqual(['VI_1']);
    expect(iface.State).toEqual([1, 'Backup']);
    state = 'MASTER';
    expect(iface.State).toEqual([2, 'Master']);
    expect(() => iface.SendGarp()).toThrow(expect.objectContaining({ type: 'org.freedesktop.DBus.Error.NotSupported' }));
  });

  it('a failing sendGarp becomes org.freedesktop.DBus.Error.Failed with the first message line only', () => {
    const iface = new VrrpInstanceInterface({
      name: 'VI_1', state: () => 'MASTER',
      sendGarp: () => { throw new Error('link down\n    at x (speaker.ts:1:1)'); },
    });
    expect(() => iface.SendGarp()).toThrow(expect.objectContaining({ type: 'org.freedesktop.DBus.Error.Failed', text: 'link down' }));
  });
});

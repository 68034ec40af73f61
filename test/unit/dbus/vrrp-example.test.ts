/**
 * examples/embedded-vrrp: both nodes' conntrackd.conf and vrrp.conf parse
 * with our parsers without a single diagnostic, and describe the pair the
 * README promises (FT-FW over 198.19.254.0/24, one LAN+WAN sync group,
 * VRRPv3 at 100 ms, VIPs 192.0.2.1/24 and 203.0.113.1/24).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConntrackdConf } from '../../../src/config/conntrackd';
import { loadKeepalivedConf } from '../../../src/config/keepalived';
import { instancePath } from '../../../src/dbus/vrrp-interface';

const DIR = join(__dirname, '..', '..', '..', 'examples', 'embedded-vrrp');

describe.each([
  ['fw1', 1, 2, 150],
  ['fw2', 2, 1, 100],
])('examples/embedded-vrrp/%s', (node, self, peer, priority) => {
  it('conntrackd.conf: no diagnostics, FT-FW over UDP on the sync link', () => {
    const r = loadConntrackdConf(join(DIR, node, 'conntrackd.conf'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.sync?.mode).toMatchObject({ mode: 'ftfw', ackWindowSize: 300 });
    expect(JSON.stringify(r.config.sync)).toContain(`"198.19.254.${self}"`);
    expect(JSON.stringify(r.config.sync)).toContain(`"198.19.254.${peer}"`);
  });

  it('vrrp.conf: no diagnostics, one sync group with LAN and WAN, VRRPv3 at 100 ms', () => {
    const r = loadKeepalivedConf(join(DIR, node, 'vrrp.conf'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.syncGroups.map((g) => [g.name, g.members])).toEqual([['edge', ['edge_lan', 'edge_wan']]]);
    const summary = r.config.instances.map((i) => ({
      name: i.name, iface: i.interface, vrid: i.vrid, version: i.version, advertIntCs: i.advertIntCs, priority: i.priority,
      preempt: i.preempt, group: i.syncGroup, vips: i.virtualIpaddresses.map((v) => `${v.address}/${v.prefix}`),
    }));
    expect(summary).toEqual([
      { name: 'edge_lan', iface: 'eth0', vrid: 51, version: 3, advertIntCs: 10, priority, preempt: false, group: 'edge', vips: ['192.0.2.1/24'] },
      { name: 'edge_wan', iface: 'eth1', vrid: 52, version: 3, advertIntCs: 10, priority, preempt: false, group: 'edge', vips: ['203.0.113.1/24'] },
    ]);
    // the D-Bus objects the README names
    expect(r.config.instances.map((i) => instancePath(i.interface, i.vrid, i.family))).toEqual([
      '/org/keepalived/Vrrp1/Instance/eth0/51/IPv4',
      '/org/keepalived/Vrrp1/Instance/eth1/52/IPv4',
    ]);
  });
});

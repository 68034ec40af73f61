import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClusterIni, parseClusterIni } from '../../../src/config/cluster';
import { formatDiagnostic } from '../../../src/config/diagnostics';

const FIX = join(__dirname, '../../fixtures/config');
const NODE = (n: string, addr: string, prio: number): string =>
  `[node.${n}]\nsync_address = ${addr}\nsync_interface = eth2\nlan_interface = eth0\nwan_interface = eth1\npriority = ${prio}\n`;
const CLUSTER = '[cluster]\nname = edge\nvrid = 51\nvip_lan = 192.0.2.1/24\n';
const diags = (text: string): string[] => parseClusterIni(text).diagnostics.map(formatDiagnostic);

describe('cluster.ini', () => {
  it('example fixture: exact model', () => {
    const r = loadClusterIni(join(FIX, 'cluster.ini'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config).toEqual({
      name: 'edge', vrid: 51, vrrpVersion: 2, advertIntCs: 100,
      vips: {
        lan: [{ family: 4, address: '192.0.2.1', prefix: 24 }],
        wan: [{ family: 4, address: '198.51.100.1', prefix: 24 }, { family: 4, address: '198.51.100.2', prefix: 24 }],
      },
      sync: { mode: 'ftfw', transport: 'udp', port: 3780 },
      nodes: [
        { name: 'fw1', syncAddress: '203.0.113.1', syncInterface: 'eth2', lanInterface: 'eth0', wanInterface: 'eth1', priority: 150, line: 12 },
        { name: 'fw2', syncAddress: '203.0.113.2', syncInterface: 'eth2', lanInterface: 'eth0', wanInterface: 'eth1', priority: 100, line: 19 },
      ],
    });
  });

  it('multicast transport gets the default group; v3 allows fractional advert_int', () => {
    const r = parseClusterIni(`${CLUSTER}vrrp_version = 3\nadvert_int = 0.25\nsync_transport = multicast\n${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.2', 1)}`);
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.sync).toEqual({ mode: 'ftfw', transport: 'multicast', port: 3780, multicastGroup: '225.0.0.50' });
    expect(r.config?.advertIntCs).toBe(25);
  });

  const cases: [string, string, string[]][] = [
    ['no cluster', NODE('a', '203.0.113.1', 2), ['cluster.ini: missing [cluster] section']],
    ['vrid range', `[cluster]\nname = x\nvrid = 300\nvip_lan = 192.0.2.1\n${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.2', 1)}`,
      ["cluster.ini:3: invalid 'vrid' in [cluster]: 300 is out of range 1..255"]],
    ['bad vip', `[cluster]\nname = x\nvrid = 3\nvip_lan = 192.0.2.1/24, nope\n${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.2', 1)}`,
      ["cluster.ini:4: invalid 'vip_lan' in [cluster]: 'nope' is not a valid IP address"]],
    ['v2 fraction', `${CLUSTER}advert_int = 0.5\n${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.2', 1)}`,
      ["cluster.ini:5: invalid 'advert_int' in [cluster]: VRRPv2 needs whole seconds 1..255, got '0.5'"]],
    ['missing node key', `${CLUSTER}[node.a]\nsync_address = 203.0.113.1\nsync_interface = eth2\nlan_interface = eth0\nwan_interface = eth1\n${NODE('b', '203.0.113.2', 1)}`,
      ["cluster.ini:5: missing 'priority' in [node.a]"]],
    ['dup address', `${CLUSTER}${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.1', 1)}`,
      ["cluster.ini:12: sync_address 203.0.113.1 of node 'b' is also used by node 'a'"]],
    ['same priority + unknown key', `${CLUSTER}colour = red\n${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.2', 2)}`,
      ["cluster.ini:5: warning: unknown key 'colour' in [cluster] ignored",
        "cluster.ini:17: warning: nodes 'a' and 'b' have the same priority 2; the election then depends on addresses"]],
    ['priority 255', `${CLUSTER}${NODE('a', '203.0.113.1', 255)}${NODE('b', '203.0.113.2', 1)}`,
      ["cluster.ini:10: invalid 'priority' in [node.a]: 255 is out of range 1..254"]],
    ['no nodes', CLUSTER, ['cluster.ini:1: no [node.NAME] sections: a cluster needs at least two nodes']],
    ['bad lines', `${CLUSTER}[broken\njust words\n${NODE('a', '203.0.113.1', 2)}${NODE('b', '203.0.113.2', 1)}`,
      ["cluster.ini:5: malformed section header '[broken'", "cluster.ini:6: expected 'key = value', got 'just words'"]],
    ['dotted node name', `${CLUSTER}${NODE('a.b', '203.0.113.1', 2)}`,
      ['cluster.ini:5: invalid node section [node.a]: use [node.NAME] with NAME free of dots', "cluster.ini:5: warning: only one node: a cluster needs at least two nodes to fail over"]],
  ];
  it.each(cases)('%s', (_n, text, expected) => {
    expect(diags(text)).toEqual(expected);
  });
});

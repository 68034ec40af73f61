import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConntrackdConf } from '../../../src/config/conntrackd';
import { parseU32 } from '../../../src/config/conntrackd-cluster';

const SYNC = ['Sync {', '  Mode FTFW {', '  }', '  Multicast {', '    IPv4_address 225.0.0.50', '    Group 3780', '    IPv4_interface 203.0.113.1', '    Interface sync0', '  }', '}'];
const conf = (...cluster: string[]): string => [...SYNC, 'Cluster {', ...cluster, '}', ''].join('\n');
const errorsOf = (text: string): string[] =>
  parseConntrackdConf(text, { file: 'c.conf' }).diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
const MIN = ['  IPv4_address 203.0.113.1', '  Peers {', '    IPv4_address 203.0.113.2', '  }', '  ClusterInterface lan'];

describe('conntrackd.conf Cluster section (ctsync extension)', () => {
  it('minimal block: defaults applied, NodeId from the IPv4 address', () => {
    const r = parseConntrackdConf(conf(...MIN), { file: 'c.conf' });
    expect(r.diagnostics).toEqual([]);
    expect(r.config.cluster).toEqual({
      nodeId: 0xcb007101,
      family: 4,
      address: '203.0.113.1',
      peers: ['203.0.113.2'],
      port: 3781,
      buckets: 32,
      hashSeed: 0x5eed,
      interfaces: ['lan'],
      heartbeatInterval: 200,
      deadAfter: 3,
      listenIntervals: 3,
      ipv6: false,
      multicastMac: false,
      table: 'ctsync_cluster',
      initialSyncWaitMs: 3000,
      line: 11,
    });
  });

  it('every option', () => {
    const r = parseConntrackdConf(
      conf(
        '  NodeId 7',
        '  IPv4_address 198.18.0.1',
        '  Peers {',
        '    IPv4_address 198.18.0.2',
        '    IPv4_address 198.18.0.3',
        '  }',
        '  Port 3790',
        '  ClusterInterface lan0',
        '  ClusterInterface wan0',
        '  Buckets 16',
        '  HashSeed 0x1234',
        '  HeartbeatInterval 100',
        '  DeadAfter 4',
        '  ListenIntervals 5',
        '  HashIPv6 on',
        '  MulticastMAC yes',
        '  Table aa_rules',
        '  InitialSyncWait 0',
      ),
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.config.cluster).toMatchObject({
      nodeId: 7,
      peers: ['198.18.0.2', '198.18.0.3'],
      port: 3790,
      interfaces: ['lan0', 'wan0'],
      buckets: 16,
      hashSeed: 0x1234,
      heartbeatInterval: 100,
      deadAfter: 4,
      listenIntervals: 5,
      ipv6: true,
      multicastMac: true,
      table: 'aa_rules',
      initialSyncWaitMs: 0,
    });
  });

  it('file:line errors for bad values and missing parts', () => {
    expect(errorsOf(conf('  Buckets 33'))).toEqual([
      "c.conf:12: invalid value for 'Buckets': 33 is out of range 1..32",
      "c.conf:11: missing 'IPv4_address' (or 'IPv6_address') in Cluster: the heartbeat address",
      "c.conf:11: missing 'Peers { IPv4_address ... }' in Cluster",
      "c.conf:11: missing 'ClusterInterface' in Cluster: name every cluster-facing interface",
    ]);
    expect(errorsOf(conf(...MIN, '  HashSeed 0x123456789'))).toEqual(["c.conf:17: invalid value for 'HashSeed': expected a decimal or 0x-hex number, got '0x123456789'"]);
    expect(errorsOf(conf(...MIN, '  NodeId 0'))).toEqual(["c.conf:17: invalid value for 'NodeId': must not be 0"]);
    expect(errorsOf(conf(...MIN, '  nodeid 3'))).toEqual(["c.conf:17: unknown option 'nodeid' in Cluster (keywords are case-sensitive: did you mean 'NodeId'?)"]);
    expect(errorsOf(conf(...MIN, '  ClusterInterface "a b"'))).toEqual(["c.conf:17: invalid value for 'ClusterInterface': 'a b' is not a valid interface name"]);
    expect(errorsOf(conf('  IPv4_address 203.0.113.1', '  Peers {', '    IPv4_address 203.0.113.1', '    IPv4_address 203.0.113.2', '    IPv4_address 203.0.113.2', '  }', '  ClusterInterface lan'))).toEqual([
      'c.conf:16: peer 203.0.113.2 listed twice in Cluster/Peers',
      "c.conf:14: peer 203.0.113.1 is this node's own address",
    ]);
    expect(errorsOf(conf('  IPv6_address 2001:db8::1', '  Peers {', '    IPv6_address 2001:db8::2', '  }', '  ClusterInterface lan'))).toEqual([
      "c.conf:11: missing 'NodeId' in Cluster (required with an IPv6 heartbeat address)",
    ]);
    const peers = Array.from({ length: 8 }, (_, i) => `    IPv4_address 203.0.113.${10 + i}`);
    expect(errorsOf(conf('  IPv4_address 203.0.113.1', '  Peers {', ...peers, '  }', '  ClusterInterface lan'))).toEqual(['c.conf:11: too many peers in Cluster: 8 (at most 7, 8 nodes)']);
  });

  it('needs Sync with an external cache; one Cluster section', () => {
    const noSync = ['General {', '}', 'Cluster {', ...MIN, '}', ''].join('\n');
    expect(errorsOf(noSync)).toEqual([
      "c.conf:3: 'Cluster' needs a 'Sync' section: takeover commits the flows the peers replicated",
      "c.conf: missing 'Sync' section",
    ]);
    const noExt = conf(...MIN).replace('  Mode FTFW {', '  Mode FTFW {\n    DisableExternalCache on');
    expect(errorsOf(noExt)).toEqual(["c.conf:12: 'Cluster' needs the external cache: remove 'DisableExternalCache on' from Sync/Mode"]);
    expect(errorsOf(`${conf(...MIN)}Cluster {\n}\n`)).toEqual(["c.conf:18: repeated 'Cluster' section (first at line 11)"]);
  });

  it('InitialSyncWait: 0 by default without a resync at start (ALARM, NOTRACK without StartupResync); a written one warns', () => {
    const alarm = conf(...MIN).replace('  Mode FTFW {', '  Mode ALARM {');
    expect(parseConntrackdConf(alarm).config.cluster?.initialSyncWaitMs).toBe(0);
    const notrack = conf(...MIN).replace('  Mode FTFW {', '  Mode NOTRACK {');
    expect(parseConntrackdConf(notrack).config.cluster?.initialSyncWaitMs).toBe(0);
    const notrackResync = conf(...MIN).replace('  Mode FTFW {', '  Mode NOTRACK {\n    StartupResync on');
    expect(parseConntrackdConf(notrackResync).config.cluster?.initialSyncWaitMs).toBe(3000);
    const written = parseConntrackdConf(conf(...MIN, '  InitialSyncWait 1000').replace('  Mode FTFW {', '  Mode ALARM {'), { file: 'c.conf' });
    expect(written.config.cluster?.initialSyncWaitMs).toBe(1000);
    expect(written.diagnostics.map(formatDiagnostic)).toEqual([
      "c.conf:17: warning: 'InitialSyncWait' in Cluster: Mode ALARM brings no full resync at start; the wait only delays the join",
    ]);
  });

  it('parseU32', () => {
    expect(parseU32('0x5eed')).toEqual({ ok: true, value: 0x5eed });
    expect(parseU32('4294967295')).toEqual({ ok: true, value: 0xffffffff });
    expect(parseU32('4294967296').ok).toBe(false);
    expect(parseU32('-1').ok).toBe(false);
    expect(parseU32('0x').ok).toBe(false);
  });
});

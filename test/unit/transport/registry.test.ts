import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';
import { ManualLinkMonitor } from '../../../src/transport/link-monitor';
import { MulticastTransport } from '../../../src/transport/multicast';
import { RedundantGroup } from '../../../src/transport/redundant';
import { buildRedundant, buildTransportByName, transportKind } from '../../../src/transport/registry';
import { TcpTransport } from '../../../src/transport/tcp';
import { UdpTransport } from '../../../src/transport/udp';

const deps = { clock: new FakeClock() };

describe('transport registry', () => {
  it('maps block names case-insensitively', () => {
    expect(['UDP', 'udp', 'Multicast', 'TCP', 'sctp'].map(transportKind)).toEqual(['UDP', 'UDP', 'Multicast', 'TCP', null]);
  });

  it('builds each kind', () => {
    const udp = buildTransportByName('UDP', { ipv4Address: '192.0.2.1', ipv4Destination: '192.0.2.2', port: 3780 }, deps);
    expect(udp.ok && udp.transport instanceof UdpTransport).toBe(true);
    const udp6 = buildTransportByName('UDP', { ipv6Address: '2001:db8::1', ipv6Destination: '2001:db8::2', port: 3780 }, deps);
    expect(udp6.ok && udp6.transport.name).toBe('udp6');
    const anyLocal = buildTransportByName('UDP', { ipv4Destination: '192.0.2.2', port: 3780 }, deps);
    expect(anyLocal.ok).toBe(true);
    const tcpRole = buildTransportByName('TCP', { ipv4Destination: '192.0.2.2', port: 3780, role: 'client' }, deps);
    expect(tcpRole.ok).toBe(true);
    const tcp = buildTransportByName('TCP', { ipv4Address: '192.0.2.1', ipv4Destination: '192.0.2.2', port: 3780 }, deps);
    expect(tcp.ok && tcp.transport instanceof TcpTransport).toBe(true);
    const mc = buildTransportByName('Multicast', { ipv4Address: '225.0.0.50', ipv4Interface: '192.0.2.1', group: 3780 }, deps);
    expect(mc.ok && mc.transport instanceof MulticastTransport).toBe(true);
  });

  it('returns typed errors for bad blocks', () => {
    const cases: Array<[string, object, string]> = [
      ['SCTP', { port: 1 }, 'UNKNOWN_TRANSPORT'],
      ['UDP', { ipv4Address: '192.0.2.1', ipv4Destination: '192.0.2.2', port: 0 }, 'BAD_OPTION'],
      ['UDP', { ipv4Address: '192.0.2.1', port: 3780 }, 'MISSING_OPTION'],
      ['TCP', { ipv4Destination: '192.0.2.2', port: 3780 }, 'MISSING_OPTION'],
      ['UDP', { ipv4Address: '192.0.2.1', ipv6Destination: '2001:db8::2', port: 3780 }, 'BAD_OPTION'],
      ['UDP', { ipv4Address: '2001:db8::1', ipv4Destination: '192.0.2.2', port: 3780 }, 'BAD_OPTION'],
      ['Multicast', { ipv4Address: '192.0.2.9', ipv4Interface: '192.0.2.1', group: 3780 }, 'BAD_OPTION'],
      ['Multicast', { ipv6Address: 'ff02::1:9', group: 3780 }, 'MISSING_OPTION'],
      ['Multicast', { group: 3780 }, 'MISSING_OPTION'],
    ];
    for (const [name, opts, code] of cases) {
      const r = buildTransportByName(name, opts, deps);
      expect(r.ok ? 'ok' : r.error.code, `${name} ${JSON.stringify(opts)}`).toBe(code);
    }
  });

  it('builds a redundant group; each link needs an interface', () => {
    const monitor = new ManualLinkMonitor();
    const link = (i: number, iface?: string) => ({
      kind: 'UDP' as const,
      options: { ipv4Address: `192.0.2.${i}`, ipv4Destination: `198.51.100.${i}`, port: 3780, interface: iface },
    });
    const g = buildRedundant([link(1, 'sync0'), link(2, 'sync1')], { ...deps, monitor });
    expect(g.ok && g.transport instanceof RedundantGroup).toBe(true);
    const bad = buildRedundant([link(1, 'sync0'), link(2)], { ...deps, monitor });
    expect(bad.ok ? 'ok' : bad.error.code).toBe('BAD_REDUNDANCY');
    const many = buildRedundant([1, 2, 3, 4, 5].map((i) => link(i, `s${i}`)), { ...deps, monitor });
    expect(many.ok ? 'ok' : many.error.detail).toBe('TOO_MANY_LINKS: 5 links');
  });
});

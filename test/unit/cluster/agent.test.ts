import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../../src/cluster/agent';
import { UdpPeersTransport } from '../../../src/cluster/udp-peers';
import { waitFor } from '../../helpers/netns';

describe('cluster agent flags', () => {
  it('defaults; id from the IPv4 bind address', () => {
    const r = parseAgentArgs(['--bind', '203.0.113.1', '--peers', '203.0.113.2,203.0.113.3', '--interfaces', 'lan,wan']);
    expect(r).toEqual({
      ok: true,
      value: {
        id: 0xcb007101,
        bind: '203.0.113.1',
        peers: ['203.0.113.2', '203.0.113.3'],
        port: 3781,
        buckets: 32,
        seed: 0x5eed,
        interfaces: ['lan', 'wan'],
        intervalMs: 200,
        deadAfter: 3,
        listenIntervals: 3,
        ipv6: false,
        multicastMac: false,
      },
    });
  });

  it('typed errors for bad values', () => {
    const base = ['--bind', '203.0.113.1', '--peers', '203.0.113.2', '--interfaces', 'lan'];
    const err = (extra: string[]): string => {
      const r = parseAgentArgs([...base, ...extra]);
      return r.ok ? 'ok' : r.error;
    };
    expect(err([])).toBe('ok');
    expect(err(['--buckets', '33'])).toMatch(/--buckets/);
    expect(err(['--id', '0'])).toMatch(/--id/);
    expect(err(['--seed', '-1'])).toMatch(/--seed/);
    expect(err(['--interval', '1'])).toMatch(/--interval/);
    expect(err(['--dead-after', '1'])).toMatch(/--dead-after/);
    expect(err(['stray'])).toMatch(/unexpected/);
    expect(parseAgentArgs(['--peers', '203.0.113.2', '--interfaces', 'lan'])).toMatchObject({ ok: false });
    expect(parseAgentArgs(['--bind', '203.0.113.1', '--peers', Array(8).fill('203.0.113.9').join(','), '--interfaces', 'lan'])).toMatchObject({ ok: false });
    expect(parseAgentArgs(['--bind', '203.0.113.1', '--peers', '203.0.113.2'])).toMatchObject({ ok: false });
  });
});

describe('udp-peers transport (loopback)', () => {
  it('fans out to every peer and drops datagrams from strangers', async () => {
    const port = 20000 + (process.pid % 20000);
    const a = new UdpPeersTransport({ family: 4, bindAddress: '127.0.0.1', port, peers: ['127.0.0.2', '127.0.0.3'] });
    const b = new UdpPeersTransport({ family: 4, bindAddress: '127.0.0.2', port, peers: ['127.0.0.1'] });
    const c = new UdpPeersTransport({ family: 4, bindAddress: '127.0.0.3', port, peers: ['127.0.0.9'] });
    const got: string[] = [];
    b.onDatagram((d, from) => got.push(`b<${from}:${d.toString()}`));
    c.onDatagram((d, from) => got.push(`c<${from}:${d.toString()}`));
    await Promise.all([a.open(), b.open(), c.open()]);
    try {
      expect(a.send(Buffer.from('hb'))).toBe(true);
      await waitFor(() => got.length >= 1 && c.foreign >= 1, 5000, 10);
      expect(got).toEqual(['b<127.0.0.1:hb']);
      expect(a.stats().sentDatagrams).toBe(2);
      expect(a.send(Buffer.alloc(2000))).toBe(false);
      expect(a.stats().sendErrors).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../../src/transport/bounded-queue';
import { plainAddress, withZone } from '../../../src/transport/dgram-socket';
import { isMulticastAddress } from '../../../src/transport/multicast';
import { applyFaultSetting, parseEndpoint, parseProxyArgs } from '../../../src/transport/proxy-cli';
import { payloadMtu } from '../../../src/transport/sockbuf';
import { resolveTcpRole } from '../../../src/transport/tcp';

describe('BoundedQueue', () => {
  it('drops the oldest when full and counts it', () => {
    const q = new BoundedQueue<number>(3);
    for (let i = 1; i <= 5; i++) q.push(i);
    expect(q.dropped).toBe(2);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, undefined]);
  });
  it('keeps FIFO order across compaction', () => {
    const q = new BoundedQueue<number>(5000);
    for (let i = 0; i < 3000; i++) q.push(i);
    for (let i = 0; i < 2000; i++) expect(q.shift()).toBe(i);
    q.push(3000);
    expect(q.length).toBe(1001);
    expect(q.shift()).toBe(2000);
  });
});

describe('addresses and MTU', () => {
  it('normalises addresses for source checks', () => {
    expect(plainAddress('FE80::1%eth0')).toBe('fe80::1');
    expect(plainAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(withZone('fe80::1', 'eth0')).toBe('fe80::1%eth0');
    expect(withZone('2001:db8::1', 'eth0')).toBe('2001:db8::1');
    expect(withZone('fe80::1%x', 'eth0')).toBe('fe80::1%x');
  });
  it('recognises multicast groups', () => {
    expect(isMulticastAddress('225.0.0.50', 4)).toBe(true);
    expect(isMulticastAddress('192.0.2.1', 4)).toBe(false);
    expect(isMulticastAddress('ff02::1:3', 6)).toBe(true);
    expect(isMulticastAddress('2001:db8::1', 6)).toBe(false);
  });
  it('derives the payload MTU from the interface MTU', () => {
    const read = (p: string) => (p === '/sys/class/net/sync0/mtu' ? '9000' : null);
    expect(payloadMtu(4, 'sync0', read)).toBe(8972);
    expect(payloadMtu(6, 'sync0', read)).toBe(8952);
    expect(payloadMtu(4, 'nope', read)).toBe(1472);
    expect(payloadMtu(6, undefined, read)).toBe(1452);
  });
  it('picks the TCP role deterministically on both sides', () => {
    const a = { localAddress: '192.0.2.1', localPort: 3780, peerAddress: '192.0.2.2', peerPort: 3780 };
    const b = { localAddress: '192.0.2.2', localPort: 3780, peerAddress: '192.0.2.1', peerPort: 3780 };
    expect([resolveTcpRole(a), resolveTcpRole(b)]).toEqual(['client', 'server']);
    expect(resolveTcpRole({ ...a, role: 'server' })).toBe('server');
  });
});

describe('proxy CLI arguments', () => {
  it('parses endpoints', () => {
    expect(parseEndpoint('192.0.2.1:3780')).toEqual({ address: '192.0.2.1', port: 3780 });
    expect(parseEndpoint('[2001:db8::1]:53')).toEqual({ address: '2001:db8::1', port: 53 });
    expect(parseEndpoint('2001:db8::1:53')).toBeNull();
    expect(parseEndpoint('x:99999')).toBeNull();
  });
  it('parses flags with percent rates', () => {
    const r = parseProxyArgs(['--listen', '192.0.2.1:1', '--forward', '192.0.2.2:2', '--loss', '5', '--delay', '10', '--seed', '4']);
    expect(r).toEqual({
      ok: true,
      args: {
        family: 4,
        listen: { address: '192.0.2.1', port: 1 },
        forward: { address: '192.0.2.2', port: 2 },
        bind: undefined,
        client: undefined,
        seed: 4,
        faults: { loss: 0.05, delayMs: 10 },
        statsIntervalMs: 0,
      },
    });
  });
  it('reports bad arguments', () => {
    expect(parseProxyArgs(['--listen', '192.0.2.1:1'])).toEqual({ ok: false, error: '--listen and --forward are required' });
    expect(parseProxyArgs(['--listen', '192.0.2.1:1', '--forward', '192.0.2.2:2', '--loss', '200'])).toEqual({
      ok: false,
      error: 'loss is a percentage (0..100)',
    });
    expect(parseProxyArgs(['--bogus', '1'])).toEqual({ ok: false, error: 'unknown fault bogus' });
    const f = {};
    expect(applyFaultSetting(f, 'jitter', -1)).toBe('bad value for jitter');
  });
});

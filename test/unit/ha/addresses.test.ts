import { describe, expect, it } from 'vitest';
import { createVipManager, type AddressClient } from '../../../src/ha/addresses';
import type { AddAddressOptions } from '../../../src/netlink/rtnl-client';
import type { SockError } from '../../../src/netlink/socket';

function fakeRtnl(): AddressClient & { calls: string[]; have: Set<string> } {
  const have = new Set<string>();
  const calls: string[] = [];
  const err = (code: string): SockError => ({ code, errno: 1, op: 'x' });
  return {
    calls,
    have,
    async addAddress(dev: string, cidr: string, opts?: AddAddressOptions) {
      calls.push(`add ${dev} ${cidr} ${JSON.stringify(opts ?? {})}`);
      if (dev === 'bad0') return err('ENODEV');
      if (have.has(cidr)) return err('EEXIST');
      have.add(cidr);
      return null;
    },
    async delAddress(dev: string, cidr: string) {
      calls.push(`del ${dev} ${cidr}`);
      if (!have.delete(cidr)) return err('EADDRNOTAVAIL');
      return null;
    },
    async listAddresses() {
      return [...have].map((c) => ({ family: 2, index: 2, address: c.split('/')[0]!, prefixlen: 24, cidr: c, flags: 0, scope: 0 }));
    },
  };
}

describe('VIP manager', () => {
  it('adds with NODAD for IPv6, label/scope for IPv4; idempotent; errors as values', async () => {
    const r = fakeRtnl();
    const vm = createVipManager(r);
    const v4 = { address: '192.0.2.100', prefix: 24, family: 4 as const, dev: 'eth0', label: 'eth0:vip', scope: 'link' };
    const v6 = { address: '2001:db8::100', prefix: 64, family: 6 as const, dev: 'eth0' };
    const bad = { address: '192.0.2.101', prefix: 24, family: 4 as const, dev: 'bad0' };
    const res = await vm.add([v4, v6, bad]);
    expect(res.map((x) => (x.ok ? `ok ${x.changed}` : x.error.code))).toEqual(['ok true', 'ok true', 'ENODEV']);
    expect(r.calls.slice(0, 2)).toEqual(['add eth0 192.0.2.100/24 {"label":"eth0:vip","scope":253}', 'add eth0 2001:db8::100/64 {"nodad":true}']);
    expect((await vm.add([v4])).map((x) => x.ok && x.changed)).toEqual([false]);
    expect(await vm.present([v4, bad])).toEqual([true, false]);
    expect((await vm.remove([v4, v4])).map((x) => x.ok && x.changed)).toEqual([true, false]);
  });
});

describe('VIP manager serialization', () => {
  it('runs one rtnl operation at a time (concurrent link dumps would get EBUSY)', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = async (): Promise<null> => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight -= 1;
      return null;
    };
    const vm = createVipManager({ addAddress: slow, delAddress: slow, listAddresses: async () => [] });
    const v = (a: string) => ({ address: a, prefix: 24, family: 4 as const, dev: 'eth0' });
    await Promise.all([vm.add([v('192.0.2.1'), v('192.0.2.2')]), vm.add([v('192.0.2.3')]), vm.remove([v('192.0.2.1')])]);
    expect(maxInFlight).toBe(1);
  });
});

describe('VIP manager EBUSY retry', () => {
  it('retries EBUSY on the clock, then reports the error as a value', async () => {
    const { systemClock } = await import('../../../src/util/clock');
    let calls = 0;
    const busyTwice = async (): Promise<SockError | null> => (++calls <= 2 ? { code: 'EBUSY', errno: 16, op: 'add-address' } : null);
    const v = { address: '192.0.2.1', prefix: 24, family: 4 as const, dev: 'eth0' };
    const vm = createVipManager({ addAddress: busyTwice, delAddress: async () => ({ code: 'EBUSY', errno: 16, op: 'del-address' }), listAddresses: async () => [] }, { clock: systemClock(), retryMs: 1, retries: 3 });
    expect((await vm.add([v])).map((r) => r.ok)).toEqual([true]);
    expect(calls).toBe(3);
    expect((await vm.remove([v])).map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['EBUSY']);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeVrrp, type VrrpEncodeInput } from '../../../src/ha/vrrp/packet';
import { validateAdvert, type ReceivedVrrp, type VrrpExpect } from '../../../src/ha/vrrp/validate';

const exp3: VrrpExpect = { version: 3, family: 4, vrid: 10, advertIntCs: 100, authType: 0, vips: ['192.0.2.100'], selfAddresses: ['192.0.2.1'], unicastPeers: [], strict: false };
const exp2: VrrpExpect = { ...exp3, version: 2, authType: 1, authPass: 'secret' };

function rx(f: Partial<VrrpEncodeInput>, o: Partial<ReceivedVrrp> = {}, base: VrrpExpect = exp3): ReceivedVrrp {
  const from = o.from ?? '192.0.2.2';
  const to = o.to ?? '224.0.0.18';
  const e = encodeVrrp({ version: base.version, vrid: 10, priority: 100, advertIntCs: 100, addresses: ['192.0.2.100'], authType: base.authType, ...(base.authPass ? { authPass: base.authPass } : {}), src: from, dst: to, ...f });
  if (!e.ok) throw new Error(e.error);
  return { data: e.value, from, to, ttl: 255, ...o };
}

function verdict(r: ReceivedVrrp, e: VrrpExpect = exp3): string {
  const v = validateAdvert(r, e);
  return v.verdict === 'ok' ? `ok${v.warnings.length ? ':' + v.warnings.join(',') : ''}` : `drop:${v.reason}`;
}

describe('validateAdvert verdicts', () => {
  const corrupt = (r: ReceivedVrrp): ReceivedVrrp => {
    const d = Buffer.from(r.data);
    d[7] = (d[7] ?? 0) ^ 1;
    return { ...r, data: d };
  };
  const table: Array<[string, ReceivedVrrp, VrrpExpect, string]> = [
    ['valid v3', rx({}), exp3, 'ok'],
    ['valid v2 with password', rx({}, {}, exp2), exp2, 'ok'],
    ['TTL 254', rx({}, { ttl: 254 }), exp3, 'drop:ttl'],
    ['TTL unknown', rx({}, { ttl: -1 }), exp3, 'drop:ttl'],
    ['other VRID', rx({ vrid: 11 }), exp3, 'drop:vrid'],
    ['v2 packet, v3 configured', rx({}, {}, exp2), exp3, 'drop:version'],
    ['from self', rx({}, { from: '192.0.2.1' }), exp3, 'drop:from-self'],
    ['bad checksum', corrupt(rx({})), exp3, 'drop:checksum'],
    ['bad checksum v2', corrupt(rx({}, {}, exp2)), exp2, 'drop:checksum'],
    ['wrong password', rx({ authPass: 'other' }, {}, exp2), exp2, 'drop:auth'],
    ['no auth, PASS configured', rx({ authType: 0 }, {}, exp2), exp2, 'drop:auth-type'],
    ['v2 interval mismatch', rx({ advertIntCs: 200 }, {}, exp2), exp2, 'drop:advert-interval'],
    ['v3 interval mismatch is learned', rx({ advertIntCs: 50 }), exp3, 'ok:advert-interval-learned'],
    ['address list differs', rx({ addresses: ['192.0.2.100', '192.0.2.101'] }), exp3, 'ok:address-list'],
    ['address list differs, strict', rx({ addresses: ['192.0.2.99'] }), { ...exp3, strict: true }, 'drop:address-list'],
    ['trailing bytes', { ...rx({}), data: Buffer.concat([rx({}).data, Buffer.alloc(4)]) }, exp3, 'drop:length'],
    ['truncated', { ...rx({}), data: rx({}).data.subarray(0, 10) }, exp3, 'drop:decode'],
    ['unicast from a configured peer, any TTL', rx({}, { ttl: 64, to: '192.0.2.1' }), { ...exp3, unicastPeers: [{ address: '192.0.2.2' }] }, 'ok'],
    ['unicast from an unknown source', rx({}, { from: '192.0.2.9', to: '192.0.2.1' }), { ...exp3, unicastPeers: [{ address: '192.0.2.2' }] }, 'drop:unknown-peer'],
    ['unicast peer below min_ttl', rx({}, { ttl: 10, to: '192.0.2.1' }), { ...exp3, unicastPeers: [{ address: '192.0.2.2', minTtl: 250 }] }, 'drop:ttl'],
    ['IPv6, kernel-verified checksum', { data: encodeVrrpOk({ version: 3, vrid: 10, priority: 9, advertIntCs: 100, addresses: ['2001:db8::100'] }), from: 'fe80::2', to: 'ff02::12', ttl: 255, checksumVerified: true }, { ...exp3, family: 6, vips: ['2001:DB8:0::100'], selfAddresses: ['fe80::1'] }, 'ok'],
  ];
  for (const [name, r, e, want] of table) it(name, () => expect(verdict(r, e)).toBe(want));

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: -1, max: 255 }), (b, ttl) => {
        const v = validateAdvert({ data: Buffer.from(b), from: '192.0.2.2', to: '', ttl }, exp3);
        expect(['ok', 'drop']).toContain(v.verdict);
      }),
      { numRuns: 2000 },
    );
  });
});

function encodeVrrpOk(i: VrrpEncodeInput): Buffer {
  const e = encodeVrrp(i);
  if (!e.ok) throw new Error(e.error);
  return e.value;
}

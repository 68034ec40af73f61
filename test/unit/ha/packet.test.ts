import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeVrrp, encodeVrrp, splitIpv4, vrrpChecksum, VRRP_AUTH_NONE, VRRP_AUTH_PASS } from '../../../src/ha/vrrp/packet';
import { formatIPv6 } from '../../../src/netlink/ct/ip';
import { frameWith, loadCapture } from './fixtures/load';

const frames = loadCapture();

/** Strip Ethernet and IP headers of a captured frame: VRRP message + addresses + TTL. */
function vrrpOf(frame: Buffer): { msg: Buffer; src: string; dst: string; ttl: number; family: 4 | 6 } {
  const eth = frame.subarray(14);
  if (frame.readUInt16BE(12) === 0x0800) {
    const ip = splitIpv4(eth);
    if (!ip.ok) throw new Error(ip.error);
    return { msg: ip.payload, src: ip.header.src, dst: ip.header.dst, ttl: ip.header.ttl, family: 4 };
  }
  const plen = eth.readUInt16BE(4);
  return { msg: eth.subarray(40, 40 + plen), src: formatIPv6(eth, 8), dst: formatIPv6(eth, 24), ttl: eth[7] ?? 0, family: 6 };
}

describe('VRRP codec against keepalived 2.2.7 captures', () => {
  const cases: Array<{ name: string; parts: string[]; want: Record<string, unknown>; pass?: string }> = [
    { name: 'v2 PASS, 2 addresses', parts: ['VRRPv2', 'vrid 51', 'prio 150'], want: { version: 2, vrid: 51, priority: 150, advertIntCs: 100, authType: VRRP_AUTH_PASS, addresses: ['192.0.2.100', '192.0.2.101'] }, pass: 'secret12' },
    { name: 'v2 PASS, priority 0', parts: ['VRRPv2', 'vrid 51', 'prio 0'], want: { version: 2, vrid: 51, priority: 0, advertIntCs: 100, authType: VRRP_AUTH_PASS }, pass: 'secret12' },
    { name: 'v2 no auth, 2 s', parts: ['VRRPv2', 'vrid 54', 'prio 100'], want: { version: 2, vrid: 54, priority: 100, advertIntCs: 200, authType: VRRP_AUTH_NONE, addresses: ['192.0.2.104'] } },
    { name: 'v3 IPv4 50 cs', parts: ['VRRPv3', 'vrid 52', 'prio 120'], want: { version: 3, vrid: 52, priority: 120, advertIntCs: 50, addresses: ['192.0.2.102'] } },
    { name: 'v3 IPv4 priority 0', parts: ['VRRPv3', 'vrid 52', 'prio 0'], want: { version: 3, vrid: 52, priority: 0, advertIntCs: 50 } },
    { name: 'v3 IPv6 2 addresses', parts: ['VRRPv3', 'vrid 53', 'prio 200'], want: { version: 3, vrid: 53, priority: 200, advertIntCs: 100, addresses: ['2001:db8::100', '2001:db8::101'] } },
    { name: 'v3 IPv6 priority 0', parts: ['VRRPv3', 'vrid 53', 'prio 0'], want: { version: 3, vrid: 53, priority: 0, advertIntCs: 100 } },
  ];
  for (const c of cases) {
    it(`decodes, verifies and re-encodes: ${c.name}`, () => {
      const f = vrrpOf(frameWith(frames, ...c.parts).frame);
      expect(f.ttl).toBe(255);
      const r = decodeVrrp(f.msg, f.family);
      if (!r.ok) throw new Error(r.error.code);
      expect(r.consumed).toBe(f.msg.length);
      expect(r.value).toMatchObject({ type: 1, ...c.want });
      // Checksum: v2 over the message, v3 with the IPv4/IPv6 pseudo-header.
      expect(vrrpChecksum(f.msg, r.value.version, f.src, f.dst)).toBe(r.value.checksum);
      const enc = encodeVrrp({
        version: r.value.version, vrid: r.value.vrid, priority: r.value.priority, advertIntCs: r.value.advertIntCs, addresses: r.value.addresses,
        authType: r.value.authType, ...(c.pass ? { authPass: c.pass } : {}), src: f.src, dst: f.dst,
      });
      expect(enc.ok && enc.value.toString('hex')).toBe(f.msg.toString('hex'));
    });
  }

  it('v3 IPv4 checksum is not the v2-style one (pseudo-header included)', () => {
    const f = vrrpOf(frameWith(frames, 'VRRPv3', 'vrid 52', 'prio 120').frame);
    expect(vrrpChecksum(f.msg, 2)).not.toBe(f.msg.readUInt16BE(6));
  });
  it('v2 password is NUL padded to 8 bytes and truncated beyond', () => {
    const e = encodeVrrp({ version: 2, vrid: 1, priority: 100, advertIntCs: 100, addresses: ['192.0.2.1'], authType: VRRP_AUTH_PASS, authPass: 'abcdefghij' });
    expect(e.ok && e.value.subarray(12).toString()).toBe('abcdefgh');
    const s = encodeVrrp({ version: 2, vrid: 1, priority: 100, advertIntCs: 100, addresses: ['192.0.2.1'], authType: VRRP_AUTH_PASS, authPass: 'ab' });
    expect(s.ok && s.value.subarray(12).toString('hex')).toBe('6162000000000000');
  });
});

describe('VRRP decode errors', () => {
  const table: Array<[string, string, 4 | 6, string]> = [
    ['empty', '', 4, 'short'],
    ['7 bytes', '31010101006400', 4, 'short'],
    ['version 1', '11010101006400000a000001', 4, 'bad-version'],
    ['version 2 over IPv6', '21010101016400000000000000000000', 6, 'bad-version'],
    ['count 2, one address', '310101020064000000000000', 4, 'truncated-addresses'],
    ['v2 no auth data', '210101010164000000000000', 4, 'truncated-auth'],
  ];
  for (const [name, hex, fam, code] of table) {
    it(name, () => {
      const r = decodeVrrp(Buffer.from(hex, 'hex'), fam);
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    });
  }
  it('limits: too many addresses, too long', () => {
    const b = Buffer.alloc(8 + 4 * 20);
    b[0] = 0x31;
    b[3] = 20;
    const r = decodeVrrp(b, 4, { maxBytes: 1500, maxAddresses: 10 });
    expect(r.ok ? 'ok' : r.error.code).toBe('too-many-addresses');
    const l = decodeVrrp(Buffer.alloc(2000, 0x31), 4);
    expect(l.ok ? 'ok' : l.error.code).toBe('too-long');
  });
  it('encode errors are values', () => {
    const base = { vrid: 1, priority: 1, advertIntCs: 100 };
    expect(encodeVrrp({ ...base, version: 2, addresses: ['2001:db8::1'] }).ok).toBe(false);
    expect(encodeVrrp({ ...base, version: 3, addresses: ['192.0.2.1', '2001:db8::1'] }).ok).toBe(false);
    expect(encodeVrrp({ ...base, version: 3, addresses: ['nope'] }).ok).toBe(false);
    expect(encodeVrrp({ ...base, version: 3, advertIntCs: 5000, addresses: [] }).ok).toBe(false);
    expect(encodeVrrp({ ...base, version: 2, advertIntCs: 50, addresses: [] }).ok).toBe(false);
    expect(encodeVrrp({ ...base, version: 3, vrid: 0, addresses: [] }).ok).toBe(false);
  });
});

describe('VRRP codec properties', () => {
  it('decoder never throws and consumes no more than it was given', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom<4 | 6>(4, 6), (bytes, fam) => {
        const b = Buffer.from(bytes);
        const r = decodeVrrp(b, fam);
        if (r.ok) expect(r.consumed).toBeLessThanOrEqual(b.length);
        else expect(typeof r.error.code).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });
  it('mutated captured adverts decode to a value or a typed error', () => {
    const msgs = frames.filter((f) => f.line.includes('VRRP')).map((f) => vrrpOf(f.frame));
    fc.assert(
      fc.property(fc.nat(msgs.length - 1), fc.nat(64), fc.nat(255), fc.nat(80), (i, pos, val, cut) => {
        const m = msgs[i]!;
        const b = Buffer.from(m.msg);
        if (pos < b.length) b[pos] = val;
        const r = decodeVrrp(b.subarray(0, Math.min(b.length, cut)), m.family);
        expect(r.ok || typeof r.error.code === 'string').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
  it('encode -> decode round trip (v3, IPv4 and IPv6; v2 with password)', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
    const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => formatIPv6(Buffer.from(g.flatMap((x) => [x >> 8, x & 255])), 0));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 255 }), fc.nat(255), fc.integer({ min: 1, max: 4095 }), fc.boolean(), fc.array(v4, { maxLength: 20 }), fc.array(v6, { maxLength: 20 }), (vrid, prio, cs, six, a4, a6) => {
        const addresses = six ? a6 : a4;
        const fam: 4 | 6 = six ? 6 : 4;
        const e = encodeVrrp({ version: 3, vrid, priority: prio, advertIntCs: cs, addresses });
        if (!e.ok) throw new Error(e.error);
        const d = decodeVrrp(e.value, fam);
        expect(d.ok && { vrid: d.value.vrid, priority: d.value.priority, cs: d.value.advertIntCs, a: d.value.addresses }).toEqual({ vrid, priority: prio, cs, a: addresses });
        const e2 = encodeVrrp({ version: 2, vrid, priority: prio, advertIntCs: 100 * (1 + (cs % 255)), addresses: a4, authType: 1, authPass: 'pw' });
        if (!e2.ok) throw new Error(e2.error);
        const d2 = decodeVrrp(e2.value, 4);
        expect(d2.ok && vrrpChecksum(e2.value, 2) === d2.value.checksum && d2.value.addresses.length === a4.length).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

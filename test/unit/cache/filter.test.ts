import { describe, expect, it } from 'vitest';
import { parseCidr, parseIPv4, parseIPv6 } from '../../../src/cache/cidr';
import { compileFilter, tryCompileFilter, type FilterSpec, type FlowSummary } from '../../../src/cache/filter';

const tcp = (src: string, dst: string, tcpState?: number, replySrc?: string): FlowSummary => ({
  family: src.includes(':') ? 10 : 2,
  proto: 6,
  src,
  dst,
  ...(replySrc !== undefined ? { replySrc, replyDst: src } : {}),
  ...(tcpState !== undefined ? { tcpState } : {}),
});
const udp = (src: string, dst: string): FlowSummary => ({ ...tcp(src, dst), proto: 17 });

describe('address parsing', () => {
  it.each([
    ['192.0.2.1', 0xc0000201],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['256.0.0.1', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['01.2.3.4', null],
    ['10.0.0.0', 0x0a000000],
    ['1..3.4', null],
    ['a.b.c.d', null],
    ['', null],
  ])('IPv4 %s', (text, want) => expect(parseIPv4(text)).toBe(want));

  it.each([
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['2001:DB8:0:0:1::', '20010db8000000000001000000000000'],
    ['1::2::3', null],
    ['1:2:3:4:5:6:7:8:9', null],
    ['1::2:3:4:5:6:7:8', null],
    ['12345::', null],
    [':1::', null],
    ['1:', null],
    ['g::1', null],
  ])('IPv6 %s', (text, want) => {
    const w = parseIPv6(text);
    expect(w === null ? null : Buffer.from(Array.from(w).flatMap((x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255])).toString('hex')).toBe(want);
  });

  it('CIDR clears host bits and rejects bad lengths', () => {
    expect(parseCidr('192.0.2.77/24')?.net[0]).toBe(0xc0000200);
    expect(parseCidr('192.0.2.1/33')).toBeNull();
    expect(parseCidr('2001:db8::/129')).toBeNull();
    expect(parseCidr('2001:db8::/x')).toBeNull();
    expect(Array.from(parseCidr('2001:db8:ffff::/36')?.net ?? [])).toEqual([0x20010db8, 0xf0000000, 0, 0]);
  });
});

interface Row {
  name: string;
  spec: FilterSpec;
  flow: FlowSummary;
  pass: boolean;
  counter?: 'droppedOwn' | 'droppedProtocol' | 'droppedAddress' | 'droppedState' | 'droppedInvalid';
}

const rows: Row[] = [
  { name: 'empty spec accepts all', spec: {}, flow: udp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'protocol accept: tcp in', spec: { protocol: { logic: 'accept', protocols: ['TCP', 'sctp'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'protocol accept: udp out', spec: { protocol: { logic: 'accept', protocols: ['TCP'] } }, flow: udp('192.0.2.1', '198.51.100.1'), pass: false, counter: 'droppedProtocol' },
  { name: 'protocol ignore by number', spec: { protocol: { logic: 'ignore', protocols: [17] } }, flow: udp('192.0.2.1', '198.51.100.1'), pass: false, counter: 'droppedProtocol' },
  { name: 'protocol ignore: other passes', spec: { protocol: { logic: 'ignore', protocols: ['udp'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'address ignore host on source', spec: { address: { logic: 'ignore', addresses: ['192.0.2.1'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: false, counter: 'droppedAddress' },
  { name: 'address ignore host on reply source', spec: { address: { logic: 'ignore', addresses: ['198.51.100.1'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: false, counter: 'droppedAddress' },
  { name: 'address ignore: DNAT real destination', spec: { address: { logic: 'ignore', addresses: ['203.0.113.9'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 3, '203.0.113.9'), pass: false, counter: 'droppedAddress' },
  { name: 'address ignore: original dst of DNAT flow is not checked', spec: { address: { logic: 'ignore', addresses: ['198.51.100.1'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 3, '203.0.113.9'), pass: true },
  { name: 'address ignore CIDR miss', spec: { address: { logic: 'ignore', addresses: ['192.0.2.128/25'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'address ignore CIDR hit', spec: { address: { logic: 'ignore', addresses: ['192.0.2.0/25'] } }, flow: tcp('192.0.2.100', '198.51.100.1'), pass: false, counter: 'droppedAddress' },
  { name: 'address accept /0', spec: { address: { logic: 'accept', addresses: ['0.0.0.0/0'] } }, flow: tcp('203.0.113.5', '198.51.100.1'), pass: true },
  { name: 'address accept miss', spec: { address: { logic: 'accept', addresses: ['198.18.0.0/15'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: false, counter: 'droppedAddress' },
  { name: 'address accept hit upper half of /15', spec: { address: { logic: 'accept', addresses: ['198.18.0.0/15'] } }, flow: tcp('198.19.255.1', '192.0.2.1'), pass: true },
  { name: 'address accept: IPv6 flow without IPv6 rules dropped', spec: { address: { logic: 'accept', addresses: ['192.0.2.0/24'] } }, flow: tcp('2001:db8::1', '2001:db8::2'), pass: false, counter: 'droppedAddress' },
  { name: 'address accept IPv6 prefix', spec: { address: { logic: 'accept', addresses: ['2001:db8:1::/48'] } }, flow: tcp('2001:db8:1:ffff::9', '2001:db8:2::1'), pass: true },
  { name: 'address accept IPv6 prefix miss', spec: { address: { logic: 'accept', addresses: ['2001:db8:1::/48'] } }, flow: tcp('2001:db8:2::9', '2001:db8:3::1'), pass: false, counter: 'droppedAddress' },
  { name: 'address ignore IPv6 host', spec: { address: { logic: 'ignore', addresses: ['2001:db8::2'] } }, flow: tcp('2001:db8::1', '2001:db8::2'), pass: false, counter: 'droppedAddress' },
  { name: 'address ignore IPv6 /127 odd bit', spec: { address: { logic: 'ignore', addresses: ['2001:db8::/127'] } }, flow: tcp('2001:db8::1', '2001:db8::5'), pass: false, counter: 'droppedAddress' },
  { name: 'address ignore IPv6 /127 miss', spec: { address: { logic: 'ignore', addresses: ['2001:db8::/127'] } }, flow: tcp('2001:db8::2', '2001:db8::5'), pass: true },
  { name: 'address match source only', spec: { address: { logic: 'accept', addresses: ['198.51.100.1'], match: 'source' } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: false, counter: 'droppedAddress' },
  { name: 'address match destination only', spec: { address: { logic: 'accept', addresses: ['198.51.100.1'], match: 'destination' } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'state accept established', spec: { state: { logic: 'accept', tcp: ['ESTABLISHED', 'CLOSED', 'TIME_WAIT', 'CLOSE_WAIT'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 3), pass: true },
  { name: 'state accept: SYN_SENT out', spec: { state: { logic: 'accept', tcp: ['ESTABLISHED'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 1), pass: false, counter: 'droppedState' },
  { name: 'state accept CLOSED alias', spec: { state: { logic: 'accept', tcp: ['closed'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 8), pass: true },
  { name: 'state ignore SYN_RECV', spec: { state: { logic: 'ignore', tcp: ['SYN_RECV'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 2), pass: false, counter: 'droppedState' },
  { name: 'state filter does not touch UDP', spec: { state: { logic: 'accept', tcp: ['ESTABLISHED'] } }, flow: udp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'state filter: TCP without state passes', spec: { state: { logic: 'accept', tcp: ['ESTABLISHED'] } }, flow: tcp('192.0.2.1', '198.51.100.1'), pass: true },
  { name: 'state out of range is not in list', spec: { state: { logic: 'accept', tcp: ['ESTABLISHED'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 19), pass: false, counter: 'droppedState' },
  { name: 'own address as source', spec: { ignoreOwn: ['192.0.2.254'] }, flow: tcp('192.0.2.254', '192.0.2.253'), pass: false, counter: 'droppedOwn' },
  { name: 'own address as destination', spec: { ignoreOwn: ['192.0.2.254'] }, flow: tcp('192.0.2.253', '192.0.2.254'), pass: false, counter: 'droppedOwn' },
  { name: 'own address: masqueraded flow (reply dst = own) passes', spec: { ignoreOwn: ['203.0.113.1'] }, flow: { ...tcp('192.0.2.9', '198.51.100.7', 3, '198.51.100.7'), replyDst: '203.0.113.1' }, pass: true },
  { name: 'own IPv6 address', spec: { ignoreOwn: ['2001:db8::fe'] }, flow: tcp('2001:db8::fe', '2001:db8::1'), pass: false, counter: 'droppedOwn' },
  { name: 'own beats accept', spec: { ignoreOwn: ['192.0.2.254'], address: { logic: 'accept', addresses: ['192.0.2.0/24'] } }, flow: tcp('192.0.2.254', '192.0.2.1'), pass: false, counter: 'droppedOwn' },
  { name: 'bad address text is invalid', spec: { ignoreOwn: ['192.0.2.254'] }, flow: tcp('192.0.2.x', '192.0.2.1'), pass: false, counter: 'droppedInvalid' },
  { name: 'family/address mismatch is invalid', spec: { address: { logic: 'ignore', addresses: ['192.0.2.1'] } }, flow: { ...tcp('192.0.2.1', '192.0.2.2'), family: 10 }, pass: false, counter: 'droppedInvalid' },
  { name: 'all three checks pass', spec: { protocol: { logic: 'accept', protocols: ['tcp'] }, address: { logic: 'ignore', addresses: ['127.0.0.1', '::1'] }, state: { logic: 'accept', tcp: ['ESTABLISHED'] } }, flow: tcp('192.0.2.1', '198.51.100.1', 3), pass: true },
];

describe('compileFilter', () => {
  it.each(rows)('$name', ({ spec, flow, pass, counter }) => {
    const f = compileFilter(spec);
    expect(f(flow)).toBe(pass);
    const st = f.stats();
    expect(st.checked).toBe(1);
    expect(st.passed).toBe(pass ? 1 : 0);
    const dropped = st.droppedOwn + st.droppedProtocol + st.droppedAddress + st.droppedState + st.droppedInvalid;
    expect(dropped).toBe(pass ? 0 : 1);
    if (counter !== undefined) expect(st[counter]).toBe(1);
  });

  it('reports every error of an invalid spec without throwing', () => {
    const r = tryCompileFilter({
      protocol: { logic: 'accept', protocols: ['tcp', 'bogus', 300] },
      address: { logic: 'ignore', addresses: ['192.0.2.0/24', '10.0.0.0/40', 'nope'] },
      state: { logic: 'accept', tcp: ['ESTABLISHED', 'HALF_OPEN'] },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toHaveLength(5);
    expect(() => compileFilter({ ignoreOwn: ['x'] })).toThrow(/ignoreOwn/);
  });

  it('counts drops per check over many flows', () => {
    const f = compileFilter({ protocol: { logic: 'accept', protocols: ['tcp'] }, state: { logic: 'accept', tcp: ['ESTABLISHED'] } });
    for (let i = 0; i < 10; i++) f(udp('192.0.2.1', '198.51.100.1'));
    for (let i = 0; i < 5; i++) f(tcp('192.0.2.1', '198.51.100.1', 1));
    for (let i = 0; i < 3; i++) f(tcp('192.0.2.1', '198.51.100.1', 3));
    expect(f.stats()).toEqual({
      checked: 18,
      passed: 3,
      droppedOwn: 0,
      droppedProtocol: 10,
      droppedAddress: 0,
      droppedState: 5,
      droppedInvalid: 0,
    });
  });
});

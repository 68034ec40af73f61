import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, parseIP, parseIPv4, parseIPv6 } from '../../../../src/netlink/ct/ip';
import {
  dccpStateName,
  parseProto,
  parseSctpState,
  parseStatus,
  parseTcpState,
  protoName,
  sctpStateName,
  statusFlags,
  statusNames,
  tcpStateName,
} from '../../../../src/netlink/ct/names';

describe('names', () => {
  it.each([
    [0, 'NONE'],
    [1, 'SYN_SENT'],
    [3, 'ESTABLISHED'],
    [7, 'TIME_WAIT'],
    [9, 'SYN_SENT2'],
    [42, '42'],
  ])('tcp state %i = %s', (n, s) => {
    expect(tcpStateName(n)).toBe(s);
  });

  it('parses state names, aliases and numbers', () => {
    expect(parseTcpState('established')).toBe(3);
    expect(parseTcpState('LISTEN')).toBe(9);
    expect(parseTcpState('7')).toBe(7);
    expect(parseTcpState('BOGUS')).toBeNull();
    expect(parseTcpState('300')).toBeNull();
    expect(sctpStateName(4)).toBe('ESTABLISHED');
    expect(parseSctpState('COOKIE_WAIT')).toBe(2);
    expect(dccpStateName(4)).toBe('OPEN');
  });

  it('protocols', () => {
    expect(protoName(6)).toBe('tcp');
    expect(protoName(58)).toBe('icmpv6');
    expect(protoName(99)).toBe('unknown');
    expect(parseProto('UDP')).toBe(17);
    expect(parseProto('ipv6-icmp')).toBe(58);
    expect(parseProto('132')).toBe(132);
    expect(parseProto('nope')).toBeNull();
  });

  it('status bits', () => {
    expect(statusNames(0x0e)).toEqual(['SEEN_REPLY', 'ASSURED', 'CONFIRMED']);
    expect(statusFlags(0x08)).toEqual({ unreplied: true, after: [] });
    expect(statusFlags(0x400e)).toEqual({ unreplied: false, after: ['[OFFLOAD]', '[ASSURED]'] });
    expect(parseStatus('ASSURED,seen_reply')).toBe(0x06);
    expect(parseStatus('ASSURED,WHAT')).toBeNull();
  });
});

describe('ip text', () => {
  it.each([
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000010000000000000000', '2001:db8:0:1::'],
    ['20010db8000100000001000100010001', '2001:db8:1:0:1:1:1:1'], // a single zero group stays
    ['20010000000000010000000000000001', '2001:0:0:1::1'], // longest run compressed
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of equal runs
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
  ])('RFC 5952: %s -> %s', (h, s) => {
    expect(formatIPv6(Buffer.from(h, 'hex'), 0)).toBe(s);
    expect(parseIPv6(s)?.toString('hex')).toBe(h);
  });

  it('rejects malformed addresses', () => {
    for (const s of ['1.2.3', '1.2.3.256', '01.2.3.4x', '', '1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1']) {
      expect(parseIP(s)).toBeNull();
    }
    expect(parseIPv4('192.0.2.1')?.toString('hex')).toBe('c0000201');
  });

  it('format/parse round trip for any address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => {
        const b = Buffer.from(a);
        expect(parseIPv6(formatIPv6(b, 0))?.equals(b)).toBe(true);
        expect(parseIPv4(formatIPv4(b, 0))?.equals(b.subarray(0, 4))).toBe(true);
      }),
    );
  });
});

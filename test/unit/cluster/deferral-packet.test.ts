/** The new entry a queued first packet implies (kernels without conntrack glue). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordFromPacket } from '../../../src/cluster/deferral-packet';
import { decodeConntrack } from '../../../src/netlink/ct/conntrack';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// IPv4 (IHL 5, proto 6) 192.0.2.100 -> 198.51.100.10, TCP 40001 -> 8080, SYN, data offset 8 words:
// options MSS 1460, SACK-permitted, NOP, window scale 7, NOP, NOP, NOP.
const SYN = hex(`
  45000034 00004000 40060000 c0000264 c633640a
  9c411f90 00000001 00000000 8002faf0 00000000
  020405b4 0402 01 030307 010101`);

describe('recordFromPacket', () => {
  it('a TCP SYN: tuples, SYN_SENT, window scale and SACK from its options, 120 s', () => {
    const r = recordFromPacket(2, SYN);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const d = decodeConntrack(r.record);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value).toMatchObject({
      family: 2,
      orig: { src: '192.0.2.100', dst: '198.51.100.10', proto: 6, sport: 40001, dport: 8080 },
      reply: { src: '198.51.100.10', dst: '192.0.2.100', proto: 6, sport: 8080, dport: 40001 },
      status: 0,
      timeout: 120,
      protoinfo: { tcp: { state: 1, wscaleOrig: 7, wscaleReply: 0, flagsOrig: { flags: 3, mask: 3 } } },
    });
  });

  it('an ICMP echo request: the reply tuple is an echo reply', () => {
    const ping = hex('45000054 00004000 40010000 c0000264 c633640a 0800f7ff 12340001');
    const r = recordFromPacket(2, ping);
    const d = r.ok ? decodeConntrack(r.record) : null;
    expect(d?.ok && d.value).toMatchObject({
      orig: { proto: 1, icmpType: 8, icmpCode: 0, icmpId: 0x1234 },
      reply: { src: '198.51.100.10', proto: 1, icmpType: 0, icmpId: 0x1234 },
      timeout: 30,
    });
  });

  it('IPv6 UDP behind a hop-by-hop header; addresses in RFC 5952 form', () => {
    const v6 = hex(`
      60000000 00100000 20010db8000000000000000000000001 20010db8000000010000000000000002
      11000000 00000000 d4310035 00080000`);
    const r = recordFromPacket(10, v6);
    const d = r.ok ? decodeConntrack(r.record) : null;
    expect(d?.ok && d.value).toMatchObject({
      family: 10,
      orig: { src: '2001:db8::1', dst: '2001:db8:0:1::2', proto: 17, sport: 54321, dport: 53 },
      timeout: 30,
    });
  });

  const bad: Array<[string, number, Buffer, string]> = [
    ['bad family', 7, SYN, 'EBADFAMILY'],
    ['short IPv4 header', 2, SYN.subarray(0, 19), 'ETRUNCATED'],
    ['IPv6 family, IPv4 bytes', 10, SYN, 'ETRUNCATED'],
    ['IHL < 5', 2, Buffer.concat([hex('44'), SYN.subarray(1)]), 'EBADLEN'],
    ['a non-first fragment', 2, Buffer.concat([SYN.subarray(0, 6), hex('0010'), SYN.subarray(8)]), 'EBADVALUE'],
    ['no ports', 2, SYN.subarray(0, 22), 'ETRUNCATED'],
    ['short TCP header', 2, SYN.subarray(0, 30), 'ETRUNCATED'],
  ];
  it.each(bad)('%s -> error', (_n, fam, buf, code) => {
    const r = recordFromPacket(fam, buf);
    expect(r.ok ? 'ok' : r.error.code).toBe(code);
  });

  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 10), fc.uint8Array({ maxLength: 120 }), (fam, b) => {
        recordFromPacket(fam, Buffer.from(b));
      }),
      { numRuns: 3000 },
    );
  });
});

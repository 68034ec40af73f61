import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/sync/wire/crc32c';
import { decodeDatagram, encodeDatagrams } from '../../../src/sync/wire/datagram';
import { encodeMessage, messageSize } from '../../../src/sync/wire/message';
import { DEFAULT_LIMITS, type Message } from '../../../src/sync/wire/types';

const hdr = { flags: 0, node: 0x01020304, epoch: 0x0a0b0c0d };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const ACK_DGRAM = hex(`
  43545359 01 00 002c 01020304 0a0b0c0d 0001 0000
  10 00 0014 00000010  0003 000c 00000005 00000009
  e6ef6ee5`);
const CT_DGRAM = hex(`
  43545359 01 00 0031 01020304 00000001 0001 0000
  01 01 0019 fffffffe  0001 0005 02  0002 000c 08000c0000000001
  44a2031c`);

describe('crc32c', () => {
  it('matches the RFC 3720 check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });
});

describe('wire fixtures', () => {
  it('encodes an ack datagram byte for byte', () => {
    const m: Message = { type: 'ack', flags: 0, seq: 0x10, from: 5, to: 9 };
    const r = encodeDatagrams(hdr, [m], 1472);
    expect(r.datagrams).toHaveLength(1);
    expect(r.datagrams[0]?.toString('hex')).toBe(ACK_DGRAM.toString('hex'));
  });

  it('decodes a ct-new datagram', () => {
    const r = decodeDatagram(CT_DGRAM);
    expect(r).toEqual({
      ok: true,
      consumed: 49,
      value: {
        header: { flags: 0, node: 0x01020304, epoch: 1 },
        messages: [{ type: 'ct-new', flags: 1, seq: 0xfffffffe, family: 2, attrs: hex('08000c0000000001') }],
      },
    });
  });

  const table: Array<[string, Buffer, string]> = [
    ['bad magic', Buffer.concat([hex('43545358'), ACK_DGRAM.subarray(4)]), 'EBADMAGIC'],
    ['bad version', Buffer.concat([ACK_DGRAM.subarray(0, 4), hex('02'), ACK_DGRAM.subarray(5)]), 'EBADVERSION'],
    ['truncated', ACK_DGRAM.subarray(0, 30), 'ETRUNCATED'],
    ['tiny', hex('4354'), 'ETRUNCATED'],
    ['trailing garbage', Buffer.concat([ACK_DGRAM, hex('00')]), 'EBADLEN'],
    ['bad checksum', Buffer.concat([ACK_DGRAM.subarray(0, 40), hex('e6ef6ee6')]), 'EBADCSUM'],
  ];
  it.each(table)('rejects %s', (_name, buf, code) => {
    const r = decodeDatagram(buf);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  /** Re-seal a datagram body with a correct length and checksum to test the inner checks. */
  const seal = (body: Buffer): Buffer => {
    const b = Buffer.concat([body, Buffer.alloc(4)]);
    b.writeUInt16BE(b.length, 6);
    b.writeUInt32BE(crc32c(b, 0, b.length - 4), b.length - 4);
    return b;
  };
  const inner: Array<[string, string, string]> = [
    ['unknown type', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  7f 00 0008 00000001', 'EBADTYPE'],
    ['too many messages', '43545359 01 00 0000 01020304 0a0b0c0d ffff 0000  12 00 0008 00000001', 'ETOOMANY'],
    ['count mismatch', '43545359 01 00 0000 01020304 0a0b0c0d 0002 0000  12 00 0008 00000001', 'EBADLEN'],
    ['message too long', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  12 00 0010 00000001', 'ETRUNCATED'],
    ['message too short', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  12 00 0004 00000001', 'EBADLEN'],
    ['ack without range', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  10 00 0008 00000001', 'EBADTLV'],
    ['range of wrong size', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  10 00 0010 00000001 0003 0008 00000005', 'EBADLEN'],
    ['unknown mandatory TLV', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  12 00 000c 00000001 0042 0004', 'EBADTLV'],
    ['bad family', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  01 00 0015 00000001 0001 0005 07 0002 0008 00000000', 'EBADVALUE'],
    ['duplicate TLV', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  15 00 0018 00000001 0004 0008 00000001 0004 0008 00000002', 'EBADTLV'],
    ['reserved not zero', '43545359 01 00 0000 01020304 0a0b0c0d 0001 0001  12 00 0008 00000001', 'EBADVALUE'],
  ];
  it.each(inner)('rejects %s', (_name, body, code) => {
    const r = decodeDatagram(seal(hex(body)));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  });

  it('skips an unknown optional TLV (bit 15)', () => {
    const r = decodeDatagram(seal(hex('43545359 01 00 0000 01020304 0a0b0c0d 0001 0000  12 00 000e 00000001 8042 0006 abcd')));
    expect(r.ok && r.value.messages).toEqual([{ type: 'alive', flags: 0, seq: 1 }]);
  });

  it('rejects attrs over the limit', () => {
    const m: Message = { type: 'ct-update', flags: 0, seq: 1, family: 2, attrs: Buffer.alloc(100) };
    const [d] = encodeDatagrams(hdr, [m], 1472).datagrams;
    const r = decodeDatagram(d as Buffer, { ...DEFAULT_LIMITS, maxAttrs: 99 });
    expect(!r.ok && r.error.code).toBe('ETOOBIG');
  });
});

const u32 = fc.nat({ max: 0xffffffff });
const flags = fc.nat({ max: 0xff });
const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constantFrom('ct-new', 'ct-update', 'ct-destroy', 'exp-new', 'exp-update', 'exp-destroy' as const),
    flags,
    seq: u32,
    family: fc.constantFrom(2 as const, 10 as const),
    attrs: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  }),
  fc.record({ type: fc.constantFrom('ack' as const, 'nack' as const), flags, seq: u32, from: u32, to: u32 }),
  fc.record({ type: fc.constant('bulk-end' as const), flags, seq: u32, count: u32 }),
  fc.record({ type: fc.constant('reset' as const), flags, seq: u32, next: u32 }),
  fc.record({ type: fc.constant('reset' as const), flags, seq: u32, next: u32, echo: u32 }),
  fc.record({ type: fc.constantFrom('alive' as const, 'resync' as const, 'bulk-start' as const, 'hello' as const), flags, seq: u32 }),
);

describe('wire properties', () => {
  it('round-trips any message list, packed under the MTU, order kept', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 60 }), fc.integer({ min: 700, max: 9000 }), u32, u32, (msgs, mtu, node, epoch) => {
        const r = encodeDatagrams({ flags: 0, node, epoch }, msgs, mtu);
        expect(r.oversize).toEqual([]);
        const back: Message[] = [];
        for (const d of r.datagrams) {
          expect(d.length).toBeLessThanOrEqual(mtu);
          const dec = decodeDatagram(d);
          if (!dec.ok) throw new Error(dec.error.code);
          expect(dec.value.header).toEqual({ flags: 0, node, epoch });
          back.push(...dec.value.messages);
        }
        expect(back).toEqual(msgs);
      }),
      { numRuns: 300 },
    );
  });

  it('reports messages that cannot fit the MTU as oversize', () => {
    const big: Message = { type: 'ct-new', flags: 0, seq: 1, family: 2, attrs: Buffer.alloc(2000) };
    const small: Message = { type: 'alive', flags: 0, seq: 1 };
    const r = encodeDatagrams(hdr, [big, small], 1472);
    expect(r.oversize).toEqual([big]);
    expect(r.datagrams).toHaveLength(1);
    expect(messageSize(big)).toBe(encodeMessage(big).length);
  });

  it('fuzz: random, truncated and bit-flipped datagrams give typed errors, never throw', () => {
    const valid = encodeDatagrams(
      hdr,
      [
        { type: 'ct-new', flags: 0, seq: 7, family: 2, attrs: Buffer.alloc(64, 1) },
        { type: 'nack', flags: 0, seq: 7, from: 1, to: 3 },
        { type: 'reset', flags: 0, seq: 7, next: 9, echo: 4 },
      ],
      1472,
    ).datagrams[0] as Buffer;
    const codes = new Set(['EBADMAGIC', 'EBADVERSION', 'EBADLEN', 'ETRUNCATED', 'EBADCSUM', 'EBADTYPE', 'ETOOMANY', 'EBADTLV', 'EBADVALUE', 'ETOOBIG']);
    const check = (b: Buffer): void => {
      const r = decodeDatagram(b);
      if (!r.ok) expect(codes.has(r.error.code)).toBe(true);
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (a) => check(Buffer.from(a))), { numRuns: 2000 });
    fc.assert(fc.property(fc.nat({ max: valid.length }), (n) => check(valid.subarray(0, n))), { numRuns: 500 });
    fc.assert(
      fc.property(fc.nat({ max: valid.length * 8 - 1 }), (bit) => {
        const b = Buffer.from(valid);
        b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
        const r = decodeDatagram(b);
        expect(r.ok).toBe(false); // CRC32C catches every single-bit error
      }),
      { numRuns: 1000 },
    );
    // Random bodies with a valid header, length and checksum exercise the message/TLV decoder.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 8 }), (a, count) => {
        const b = Buffer.concat([valid.subarray(0, 20), Buffer.from(a), Buffer.alloc(4)]);
        b.writeUInt16BE(count, 16);
        b.writeUInt16BE(b.length, 6);
        b.writeUInt32BE(crc32c(b, 0, b.length - 4), b.length - 4);
        check(b);
      }),
      { numRuns: 3000 },
    );
  });
});

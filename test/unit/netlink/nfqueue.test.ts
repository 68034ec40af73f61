/**
 * nfnetlink_queue codec: hex fixtures derived from the header layouts
 * (include/uapi/linux/netfilter/nfnetlink_queue.h; nlmsghdr/nlattr headers
 * in host order = little-endian on the machines we run), malformed input
 * -> typed errors, random input never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bindConfig } from '../../../src/netlink/nfqueue-client';
import {
  DEFAULT_QUEUE_LIMITS,
  IP_CT,
  NF_ACCEPT,
  NFQA,
  decodePacket,
  decodeQueueRead,
  encodeConfig,
  encodeVerdict,
  idAfter,
  queueMsgType,
} from '../../../src/netlink/nfqueue';
import { parseDatagram, type NlMessage } from '../../../src/netlink/nlmsg';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** One netlink message (header + payload) as the kernel frames it. */
function message(type: number, payload: Buffer): Buffer {
  const len = 16 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt32LE(len, 0);
  out.writeUInt16LE(type, 4);
  payload.copy(out, 16);
  return out;
}
function attr(type: number, data: Buffer): Buffer {
  const out = Buffer.alloc((4 + data.length + 3) & ~3);
  out.writeUInt16LE(4 + data.length, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}
const msgOf = (buf: Buffer): NlMessage => {
  const p = parseDatagram(buf);
  if (!p.ok || !p.messages[0]) throw new Error('bad fixture');
  return p.messages[0];
};

// A queued packet message: nfgenmsg (AF_INET, v0, be16 queue 4242), NFQA_PACKET_HDR (id 42, 0x0800,
// hook 2 = FORWARD), NFQA_CT nested (NLA_F_NESTED) holding CTA_STATUS 0, NFQA_CT_INFO 2 (NEW),
// NFQA_IFINDEX_INDEV 3, and an attribute type 30 this codec does not know.
const PACKET = hex(`
  44000000 0003 0000 00000000 00000000
  02 00 1092
  0b000100 0000002a 0800 02 00
  0c000b80 08000300 00000000
  08000c00 00000002
  08000500 00000003
  08001e00 deadbeef`);

describe('nfqueue encoders (hex fixtures)', () => {
  it('bind: CMD_BIND, COPY_META, maxlen, CONNTRACK|FAIL_OPEN with its mask, NLM_F_ACK', () => {
    expect(encodeConfig(1, 4242, bindConfig(1024, 'conntrack')).toString('hex')).toBe(
      hex(`
        40000000 0203 0500 01000000 00000000
        00 00 1092
        08000100 01 00 0000
        09000200 00000000 01 000000
        08000300 00000400
        08000400 00000003
        08000500 00000003`).toString('hex'),
    );
  });

  it('bind without conntrack glue: COPY_PACKET 128 bytes, FAIL_OPEN only, CONNTRACK cleared by the mask', () => {
    expect(encodeConfig(2, 1, bindConfig(64, 'packet')).toString('hex')).toBe(
      hex(`
        40000000 0203 0500 02000000 00000000
        00 00 0001
        08000100 01 00 0000
        09000200 00000080 02 000000
        08000300 00000040
        08000400 00000003
        08000500 00000001`).toString('hex'),
    );
  });

  it('unbind', () => {
    expect(encodeConfig(3, 4242, { command: 2 }).toString('hex')).toBe(hex('1c000000 0203 0500 03000000 00000000 00001092 08000100 02000000').toString('hex'));
  });

  it('verdict and batch verdict: be32 verdict, be32 id, no ACK flag', () => {
    expect(encodeVerdict(7, 4242, 5, NF_ACCEPT).toString('hex')).toBe(hex('20000000 0103 0100 07000000 00000000 00001092 0c000200 00000001 00000005').toString('hex'));
    expect(encodeVerdict(8, 4242, 0xfffffffe, NF_ACCEPT, true).toString('hex')).toBe(hex('20000000 0303 0100 08000000 00000000 00001092 0c000200 00000001 fffffffe').toString('hex'));
  });
});

describe('nfqueue packet decoder', () => {
  it('decodes the fixture, keeps unknown attributes verbatim', () => {
    const r = decodePacket(msgOf(PACKET));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.consumed).toBe(0x44 - 16);
    expect(r.value).toEqual({
      queue: 4242,
      family: 2,
      id: 42,
      hwProtocol: 0x0800,
      hook: 2,
      ct: hex('08000300 00000000'),
      ctInfo: IP_CT.NEW,
      indev: 3,
      payloadLen: 0,
      unknown: [{ type: 30, data: hex('deadbeef') }],
    });
  });

  it('keeps the payload (packet mode) and enforces its limit', () => {
    const payload = Buffer.from('450000280000', 'hex');
    const m = message(queueMsgType(0), Buffer.concat([hex('02000001'), attr(NFQA.PACKET_HDR, hex('00000001 0800 02')), attr(NFQA.PAYLOAD, payload)]));
    const r = decodePacket(msgOf(m));
    expect(r.ok && r.value.payload?.equals(payload) && r.value.payloadLen).toBe(6);
    const small = decodePacket(msgOf(m), { ...DEFAULT_QUEUE_LIMITS, maxPayloadBytes: 5 });
    expect(small.ok ? 'ok' : small.error.code).toBe('EBADVALUE');
  });

  const bad: Array<[string, string, Buffer]> = [
    ['not a queue packet (ctnetlink type)', 'EBADTYPE', message(0x0100, hex('02000000'))],
    ['a verdict, not a packet', 'EBADTYPE', message(queueMsgType(1), hex('02000000'))],
    ['no nfgenmsg', 'ETRUNCATED', message(queueMsgType(0), hex('0200'))],
    ['no packet header', 'EMISSING', message(queueMsgType(0), Buffer.concat([hex('02000000'), attr(NFQA.MARK, hex('00000001'))]))],
    ['short packet header', 'EBADVALUE', message(queueMsgType(0), Buffer.concat([hex('02000000'), attr(NFQA.PACKET_HDR, hex('000000010800'))]))],
    ['short be32 attribute', 'EBADVALUE', message(queueMsgType(0), Buffer.concat([hex('02000000'), attr(NFQA.CT_INFO, hex('0002'))]))],
    ['attribute length < 4', 'EBADLEN', message(queueMsgType(0), hex('02000000 02000100'))],
    ['attribute past the end', 'ETRUNCATED', message(queueMsgType(0), hex('02000000 10000100 00000001'))],
    ['dangling attribute header bytes', 'ETRUNCATED', message(queueMsgType(0), hex('02000000 0800'))],
  ];
  it.each(bad)('%s -> %s', (_name, code, buf) => {
    const r = decodePacket(msgOf(buf));
    expect(r.ok ? 'ok' : r.error.code).toBe(code);
  });

  it('limits: attribute count and NFQA_CT size', () => {
    const many = message(queueMsgType(0), Buffer.concat([hex('02000000'), ...Array.from({ length: 5 }, () => attr(NFQA.MARK, hex('00000001')))]));
    const r = decodePacket(msgOf(many), { ...DEFAULT_QUEUE_LIMITS, maxAttrs: 4 });
    expect(r.ok ? 'ok' : r.error.code).toBe('ETOOMANY');
    const big = decodePacket(msgOf(PACKET), { ...DEFAULT_QUEUE_LIMITS, maxCtBytes: 4 });
    expect(big.ok ? 'ok' : big.error.code).toBe('EBADVALUE');
  });

  it('a read: packets, error replies (verdict ENOENT, config ACK), bad messages counted', () => {
    const err = (errno: number, seq: number): Buffer => {
      const p = Buffer.alloc(20);
      p.writeInt32LE(-errno, 0);
      p.writeUInt32LE(16, 4);
      p.writeUInt32LE(seq, 12);
      return message(2, p);
    };
    const r = decodeQueueRead([Buffer.concat([PACKET, err(2, 9), err(0, 10)]), message(queueMsgType(0), hex('0200'))]);
    expect(r.packets.map((p) => p.id)).toEqual([42]);
    expect(r.replies.map((x) => [x.code, x.request.seq])).toEqual([['ENOENT', 9], ['OK', 10]]);
    expect(r.bad).toBe(1);
    expect(r.firstError?.code).toBe('ETRUNCATED');
  });

  it('random bytes: an error value or a packet, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeQueueRead([Buffer.from(bytes)]);
        expect(r.packets.length + r.replies.length + r.bad).toBeGreaterThanOrEqual(0);
        const m = message(queueMsgType(0), Buffer.from(bytes));
        decodePacket(msgOf(m));
      }),
      { numRuns: 2000 },
    );
  });

  it('round trip of random attribute lists: known values read back, unknown ones kept verbatim', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.record({ type: fc.integer({ min: 19, max: 0x3fff }), data: fc.uint8Array({ maxLength: 24 }) }), { maxLength: 6 }),
        (id, extra) => {
          const hdr = Buffer.alloc(7);
          hdr.writeUInt32BE(id, 0);
          const body = Buffer.concat([hex('0a000005'), attr(NFQA.PACKET_HDR, hdr), ...extra.map((e) => attr(e.type, Buffer.from(e.data)))]);
          const r = decodePacket(msgOf(message(queueMsgType(0), body)));
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.value.id).toBe(id);
          expect(r.value.family).toBe(10);
          expect(r.value.queue).toBe(5);
          expect(r.value.unknown).toEqual(extra.map((e) => ({ type: e.type, data: Buffer.from(e.data) })));
        },
      ),
    );
  });

  it('ids compare wrap-safe like the kernel', () => {
    expect(idAfter(2, 1)).toBe(true);
    expect(idAfter(1, 2)).toBe(false);
    expect(idAfter(0, 0xffffffff)).toBe(true);
    expect(idAfter(0xffffffff, 0)).toBe(false);
    expect(idAfter(5, 5)).toBe(false);
  });
});

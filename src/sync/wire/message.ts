/**
 * Codec for one message: header (type u8, flags u8, length u16 BE, seq u32 BE)
 * followed by TLVs (type u16 BE, length u16 BE including the 4-byte TLV
 * header, value; no padding). Pure: decode never throws, it returns a typed error.
 */
import type { Family } from '../../netlink/types';
import { expandAttrs } from './compact';
import {
  MSG_HEADER_LEN,
  MsgCode,
  TLV_HEADER_LEN,
  TLV_OPTIONAL,
  Tlv,
  type DecodeLimits,
  type EntryType,
  type Message,
  type MessageType,
  type WireErrorCode,
  type WireResult,
} from './types';

const TYPE_BY_CODE = new Map<number, MessageType>(
  (Object.entries(MsgCode) as Array<[MessageType, number]>).map(([k, v]) => [v, k]),
);

/** Encoded size of a message in bytes. */
export function messageSize(m: Message): number {
  switch (m.type) {
    case 'ack':
    case 'nack':
      return MSG_HEADER_LEN + TLV_HEADER_LEN + 8;
    case 'bulk-end':
      return MSG_HEADER_LEN + TLV_HEADER_LEN + 4;
    case 'reset':
      return MSG_HEADER_LEN + TLV_HEADER_LEN + 4 + (m.echo === undefined ? 0 : TLV_HEADER_LEN + 4);
    case 'alive':
    case 'resync':
    case 'bulk-start':
    case 'hello':
      return MSG_HEADER_LEN;
    default:
      return MSG_HEADER_LEN + TLV_HEADER_LEN + 1 + TLV_HEADER_LEN + m.attrs.length;
  }
}

function putTlvHeader(buf: Buffer, off: number, type: number, valueLen: number): number {
  const len = TLV_HEADER_LEN + valueLen;
  buf[off] = type >> 8;
  buf[off + 1] = type & 0xff;
  buf[off + 2] = len >> 8;
  buf[off + 3] = len & 0xff;
  return off + TLV_HEADER_LEN;
}

/**
 * Write `m` at `off` (buffer must have messageSize(m) bytes free; `size` is
 * that value when the caller has it). Returns the end offset.
 */
export function writeMessage(m: Message, buf: Buffer, off: number, size = messageSize(m)): number {
  if (size > 0xffff) throw new RangeError(`message of ${size} bytes does not fit the u16 length field`);
  buf[off] = MsgCode[m.type];
  buf[off + 1] = m.flags & 0xff;
  buf[off + 2] = size >> 8;
  buf[off + 3] = size & 0xff;
  buf.writeUInt32BE(m.seq >>> 0, off + 4);
  let p = off + MSG_HEADER_LEN;
  switch (m.type) {
    case 'ack':
    case 'nack':
      p = putTlvHeader(buf, p, Tlv.RANGE, 8);
      buf.writeUInt32BE(m.from >>> 0, p);
      buf.writeUInt32BE(m.to >>> 0, p + 4);
      p += 8;
      break;
    case 'bulk-end':
      p = putTlvHeader(buf, p, Tlv.COUNT, 4);
      buf.writeUInt32BE(m.count >>> 0, p);
      p += 4;
      break;
    case 'reset':
      p = putTlvHeader(buf, p, Tlv.NEXT, 4);
      buf.writeUInt32BE(m.next >>> 0, p);
      p += 4;
      if (m.echo !== undefined) {
        p = putTlvHeader(buf, p, Tlv.ECHO, 4);
        buf.writeUInt32BE(m.echo >>> 0, p);
        p += 4;
      }
      break;
    case 'alive':
    case 'resync':
    case 'bulk-start':
    case 'hello':
      break;
    default:
      p = putTlvHeader(buf, p, Tlv.FAMILY, 1);
      buf[p] = m.family;
      p += 1;
      p = putTlvHeader(buf, p, m.packed === true ? Tlv.CATTRS : Tlv.ATTRS, m.attrs.length);
      buf.set(m.attrs, p);
      p += m.attrs.length;
  }
  return p;
}

/** Encode one message into a fresh Buffer. */
export function encodeMessage(m: Message): Buffer {
  const buf = Buffer.alloc(messageSize(m));
  writeMessage(m, buf, 0);
  return buf;
}

type Fail = { ok: false; error: { code: WireErrorCode; message: string; offset: number } };
function fail(code: WireErrorCode, message: string, offset: number): Fail {
  return { ok: false, error: { code, message, offset } };
}

/** The checks every TLV gets (count, header, length within the message); null when it is well-formed. */
function tlvError(buf: Buffer, p: number, mend: number, count: number, limits: DecodeLimits): Fail | null {
  if (count > limits.maxTlvs) return fail('ETOOMANY', 'too many TLVs', p);
  if (mend - p < TLV_HEADER_LEN) return fail('ETRUNCATED', 'TLV header truncated', p);
  const tl = buf.readUInt16BE(p + 2);
  if (tl < TLV_HEADER_LEN || tl > mend - p) return fail('EBADLEN', `bad TLV length ${tl}`, p + 2);
  return null;
}

/** Which TLVs each message type takes: [type, fixed value size or -1 for variable, required]. */
const TLV_RULES: Partial<Record<MessageType, Array<[number, number, boolean]>>> = {
  ack: [[Tlv.RANGE, 8, true]],
  nack: [[Tlv.RANGE, 8, true]],
  'bulk-end': [[Tlv.COUNT, 4, true]],
  reset: [
    [Tlv.NEXT, 4, true],
    [Tlv.ECHO, 4, false],
  ],
};

/**
 * Decode the message at buf[off, end). Strict: unknown type, wrong sizes,
 * unknown mandatory TLV, duplicate or missing TLV are errors.
 */
export function decodeMessage(buf: Buffer, off: number, end: number, limits: DecodeLimits): WireResult<Message> {
  if (end - off < MSG_HEADER_LEN) return fail('ETRUNCATED', 'message header truncated', off);
  const code = buf.readUInt8(off);
  const type = TYPE_BY_CODE.get(code);
  if (type === undefined) return fail('EBADTYPE', `unknown message type 0x${code.toString(16)}`, off);
  const flags = buf.readUInt8(off + 1);
  const len = buf.readUInt16BE(off + 2);
  const seq = buf.readUInt32BE(off + 4);
  if (len < MSG_HEADER_LEN) return fail('EBADLEN', `message length ${len} below header size`, off + 2);
  if (len > end - off) return fail('ETRUNCATED', `message length ${len} exceeds datagram`, off + 2);
  const isEntryType = code <= 0x06;
  if (isEntryType) return decodeEntry(buf, off, len, type as EntryType, flags, seq, limits);
  const rules = TLV_RULES[type] ?? [];
  const values = new Map<number, Buffer>();
  let p = off + MSG_HEADER_LEN;
  const mend = off + len;
  let count = 0;
  while (p < mend) {
    const bad = tlvError(buf, p, mend, ++count, limits);
    if (bad !== null) return bad;
    const t = buf.readUInt16BE(p);
    const tl = buf.readUInt16BE(p + 2);
    const rule = rules.find((r) => r[0] === t);
    if (rule === undefined) {
      if (t & TLV_OPTIONAL) {
        p += tl;
        continue;
      }
      return fail('EBADTLV', `unexpected TLV 0x${t.toString(16)} in ${type}`, p);
    }
    if (values.has(t)) return fail('EBADTLV', `duplicate TLV 0x${t.toString(16)}`, p);
    const vlen = tl - TLV_HEADER_LEN;
    if (rule[1] >= 0 && vlen !== rule[1]) return fail('EBADLEN', `TLV 0x${t.toString(16)} has ${vlen} bytes`, p + 2);
    if ((t === Tlv.ATTRS || t === Tlv.CATTRS) && vlen > limits.maxAttrs) return fail('ETOOBIG', `attrs of ${vlen} bytes`, p + 2);
    values.set(t, buf.subarray(p + TLV_HEADER_LEN, p + tl));
    p += tl;
  }
  for (const r of rules) {
    if (r[2] && !values.has(r[0])) return fail('EBADTLV', `missing TLV 0x${r[0].toString(16)} in ${type}`, off);
  }
  const get = (t: number): Buffer => values.get(t) ?? Buffer.alloc(0);
  let m: Message;
  switch (type) {
    case 'ack':
    case 'nack': {
      const v = get(Tlv.RANGE);
      m = { type, flags, seq, from: v.readUInt32BE(0), to: v.readUInt32BE(4) };
      break;
    }
    case 'bulk-end':
      m = { type, flags, seq, count: get(Tlv.COUNT).readUInt32BE(0) };
      break;
    case 'reset': {
      const echo = values.get(Tlv.ECHO);
      m = { type, flags, seq, next: get(Tlv.NEXT).readUInt32BE(0) };
      if (echo) m.echo = echo.readUInt32BE(0);
      break;
    }
    case 'alive':
    case 'resync':
    case 'bulk-start':
    case 'hello':
      m = { type, flags, seq };
      break;
    default:
      return fail('EBADTYPE', `unexpected entry type ${type}`, off);
  }
  return { ok: true, value: m, consumed: len };
}

/**
 * Entry messages (the bulk of the traffic), without the generic TLV table:
 * FAMILY (1 byte) and exactly one of ATTRS / CATTRS; optional unknown TLVs
 * (TLV_OPTIONAL bit) skipped; anything else is an error.
 */
function decodeEntry(buf: Buffer, off: number, len: number, type: EntryType, flags: number, seq: number, limits: DecodeLimits): WireResult<Message> {
  const mend = off + len;
  let p = off + MSG_HEADER_LEN;
  let count = 0;
  let fam = -1;
  let attrsAt = -1;
  let attrsLen = 0;
  let packed = false;
  while (p < mend) {
    const bad = tlvError(buf, p, mend, ++count, limits);
    if (bad !== null) return bad;
    const t = buf.readUInt16BE(p);
    const tl = buf.readUInt16BE(p + 2);
    const vlen = tl - TLV_HEADER_LEN;
    if (t === Tlv.FAMILY) {
      if (fam >= 0) return fail('EBADTLV', `duplicate TLV 0x${t.toString(16)}`, p);
      if (vlen !== 1) return fail('EBADLEN', `TLV 0x${t.toString(16)} has ${vlen} bytes`, p + 2);
      fam = buf[p + TLV_HEADER_LEN] as number;
    } else if (t === Tlv.ATTRS || t === Tlv.CATTRS) {
      if (attrsAt >= 0) {
        const msg = packed === (t === Tlv.CATTRS) ? `duplicate TLV 0x${t.toString(16)}` : `${type} needs exactly one of ATTRS and CATTRS`;
        return fail('EBADTLV', msg, p);
      }
      if (vlen > limits.maxAttrs) return fail('ETOOBIG', `attrs of ${vlen} bytes`, p + 2);
      attrsAt = p + TLV_HEADER_LEN;
      attrsLen = vlen;
      packed = t === Tlv.CATTRS;
    } else if ((t & TLV_OPTIONAL) === 0) {
      return fail('EBADTLV', `unexpected TLV 0x${t.toString(16)} in ${type}`, p);
    }
    p += tl;
  }
  if (fam < 0) return fail('EBADTLV', `missing TLV 0x${Tlv.FAMILY.toString(16)} in ${type}`, off);
  if (attrsAt < 0) return fail('EBADTLV', `${type} needs exactly one of ATTRS and CATTRS`, off);
  if (fam !== 2 && fam !== 10) return fail('EBADVALUE', `bad family ${fam}`, off);
  let attrs: Buffer;
  if (packed) {
    const x = expandAttrs(buf, attrsAt, attrsAt + attrsLen, limits.maxAttrs);
    if (!x.ok) return fail('EBADVALUE', `compact attributes: ${x.message}`, x.offset);
    attrs = x.attrs;
  } else {
    // Copy: the record outlives the datagram buffer (it is stored in a cache).
    attrs = Buffer.allocUnsafe(attrsLen);
    buf.copy(attrs, 0, attrsAt, attrsAt + attrsLen);
  }
  return { ok: true, value: { type, flags, seq, family: fam as Family, attrs }, consumed: len };
}

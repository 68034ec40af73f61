/**
 * Datagram codec. Layout (all big-endian):
 *   0  u32 magic "CTSY"      4  u8 version   5  u8 flags   6  u16 length (whole datagram)
 *   8  u32 node id           12 u32 epoch    16 u16 message count   18 u16 reserved (0)
 *   20 messages...           length-4: u32 CRC32C of bytes [0, length-4)
 * encode packs many messages per datagram and never exceeds the MTU;
 * decode is strict and returns a typed error with a stable code, never throws.
 */
import { crc32c } from './crc32c';
import { decodeMessage, messageSize, writeMessage } from './message';
import {
  DEFAULT_LIMITS,
  DGRAM_HEADER_LEN,
  DGRAM_TRAILER_LEN,
  MAX_DGRAM_LEN,
  SYNC_MAGIC,
  SYNC_VERSION,
  type Datagram,
  type DatagramHeader,
  type DecodeLimits,
  type Message,
  type WireErrorCode,
  type WireResult,
} from './types';

export interface EncodeResult {
  datagrams: Buffer[];
  /** Messages too large to fit any datagram of this MTU (not sent). */
  oversize: Message[];
}

function finish(hdr: DatagramHeader, msgs: Message[], sizes: number[], size: number): Buffer {
  // Every byte is written below (header, messages, CRC): no zero fill needed.
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(SYNC_MAGIC, 0);
  buf[4] = SYNC_VERSION;
  buf[5] = hdr.flags & 0xff;
  buf.writeUInt16BE(size, 6);
  buf.writeUInt32BE(hdr.node >>> 0, 8);
  buf.writeUInt32BE(hdr.epoch >>> 0, 12);
  buf.writeUInt16BE(msgs.length, 16);
  buf[18] = 0;
  buf[19] = 0;
  let p = DGRAM_HEADER_LEN;
  for (let i = 0; i < msgs.length; i++) p = writeMessage(msgs[i] as Message, buf, p, sizes[i]);
  buf.writeUInt32BE(crc32c(buf, 0, p), p);
  return buf;
}

/**
 * Pack messages, in order, into as few datagrams as fit `mtu` bytes each
 * (capped at 65535 and at `maxMessages` per datagram).
 */
export function encodeDatagrams(
  hdr: DatagramHeader,
  messages: readonly Message[],
  mtu: number,
  maxMessages = DEFAULT_LIMITS.maxMessages,
): EncodeResult {
  const cap = Math.min(mtu, MAX_DGRAM_LEN);
  const overhead = DGRAM_HEADER_LEN + DGRAM_TRAILER_LEN;
  const out: Buffer[] = [];
  const oversize: Message[] = [];
  let batch: Message[] = [];
  let sizes: number[] = [];
  let size = overhead;
  for (const m of messages) {
    const ms = messageSize(m);
    if (ms + overhead > cap) {
      oversize.push(m);
      continue;
    }
    if (size + ms > cap || batch.length >= maxMessages) {
      out.push(finish(hdr, batch, sizes, size));
      batch = [];
      sizes = [];
      size = overhead;
    }
    batch.push(m);
    sizes.push(ms);
    size += ms;
  }
  if (batch.length > 0) out.push(finish(hdr, batch, sizes, size));
  return { datagrams: out, oversize };
}

function fail(code: WireErrorCode, message: string, offset: number): WireResult<Datagram> {
  return { ok: false, error: { code, message, offset } };
}

/** Decode and verify one datagram. */
export function decodeDatagram(buf: Buffer, limits: DecodeLimits = DEFAULT_LIMITS): WireResult<Datagram> {
  if (buf.length > limits.maxDatagram) return fail('ETOOBIG', `datagram of ${buf.length} bytes`, 0);
  if (buf.length < 4) return fail('ETRUNCATED', 'shorter than the magic', 0);
  if (buf.readUInt32BE(0) !== SYNC_MAGIC) return fail('EBADMAGIC', 'bad magic', 0);
  if (buf.length < 5) return fail('ETRUNCATED', 'no version byte', 4);
  const version = buf.readUInt8(4);
  if (version !== SYNC_VERSION) return fail('EBADVERSION', `version ${version}, expected ${SYNC_VERSION}`, 4);
  if (buf.length < DGRAM_HEADER_LEN + DGRAM_TRAILER_LEN) return fail('ETRUNCATED', 'header truncated', 0);
  const len = buf.readUInt16BE(6);
  if (len > buf.length) return fail('ETRUNCATED', `length field ${len} > ${buf.length} bytes received`, 6);
  if (len !== buf.length || len < DGRAM_HEADER_LEN + DGRAM_TRAILER_LEN) {
    return fail('EBADLEN', `length field ${len} != ${buf.length} bytes received`, 6);
  }
  const end = len - DGRAM_TRAILER_LEN;
  if (crc32c(buf, 0, end) !== buf.readUInt32BE(end)) return fail('EBADCSUM', 'checksum mismatch', end);
  const count = buf.readUInt16BE(16);
  if (count > limits.maxMessages) return fail('ETOOMANY', `${count} messages > ${limits.maxMessages}`, 16);
  if (buf.readUInt16BE(18) !== 0) return fail('EBADVALUE', 'reserved header field is not zero', 18);
  const header: DatagramHeader = { flags: buf.readUInt8(5), node: buf.readUInt32BE(8), epoch: buf.readUInt32BE(12) };
  const messages: Message[] = [];
  let p = DGRAM_HEADER_LEN;
  while (p < end) {
    if (messages.length >= count) return fail('EBADLEN', `bytes left after ${count} messages`, p);
    const r = decodeMessage(buf, p, end, limits);
    if (!r.ok) return r;
    messages.push(r.value);
    p += r.consumed;
  }
  if (messages.length !== count) return fail('EBADLEN', `count says ${count}, found ${messages.length}`, 16);
  return { ok: true, value: { header, messages }, consumed: len };
}

/**
 * ctsync sync protocol, version 1: constants and message model.
 * The byte layouts are specified in docs/sync-protocol.md; this file is the
 * single source of the numbers. All integers on the wire are big-endian.
 */
import type { CtKind, Family } from '../../netlink/types';

/** Datagram magic, bytes 0..3: ASCII "CTSY" (u32 big-endian). */
export const SYNC_MAGIC = 0x43545359;
/** Protocol version, byte 4. A peer speaking another version is rejected. */
export const SYNC_VERSION = 1;
/** Datagram header: magic u32, version u8, flags u8, length u16, node u32, epoch u32, count u16, reserved u16. */
export const DGRAM_HEADER_LEN = 20;
/** Datagram trailer: CRC32C u32 over every preceding byte. */
export const DGRAM_TRAILER_LEN = 4;
/** Message header: type u8, flags u8, length u16, seq u32. */
export const MSG_HEADER_LEN = 8;
/** TLV header: type u16, length u16 (length includes these 4 bytes). */
export const TLV_HEADER_LEN = 4;
/** Largest datagram the u16 length field can describe. */
export const MAX_DGRAM_LEN = 0xffff;

/** Message type codes (byte 0 of a message). */
export const MsgCode = {
  'ct-new': 0x01,
  'ct-update': 0x02,
  'ct-destroy': 0x03,
  'exp-new': 0x04,
  'exp-update': 0x05,
  'exp-destroy': 0x06,
  ack: 0x10,
  nack: 0x11,
  alive: 0x12,
  resync: 0x13,
  'bulk-start': 0x14,
  'bulk-end': 0x15,
  hello: 0x16,
  reset: 0x17,
} as const;

export type MessageType = keyof typeof MsgCode;
export const MESSAGE_TYPES = Object.keys(MsgCode) as MessageType[];

/** TLV type codes. Bit 15 (TLV_OPTIONAL) marks a TLV a receiver may skip if unknown. */
export const Tlv = {
  FAMILY: 0x0001,
  ATTRS: 0x0002,
  RANGE: 0x0003,
  COUNT: 0x0004,
  NEXT: 0x0005,
  ECHO: 0x0006,
  /** Entry attributes in compact form (compact.ts); an entry has ATTRS or CATTRS. */
  CATTRS: 0x0007,
} as const;
export const TLV_OPTIONAL = 0x8000;

/** Message flags (byte 1). Unknown bits are carried but ignored. */
export const MsgFlag = {
  /** Entry sent as part of a bulk transfer (between bulk-start and bulk-end). */
  BULK: 0x01,
  /** alive: the sender has unacknowledged messages; reply with an ack. */
  NEED_ACK: 0x02,
  /** The message is a retransmission (informational). */
  RESEND: 0x04,
} as const;

export type EntryType = 'ct-new' | 'ct-update' | 'ct-destroy' | 'exp-new' | 'exp-update' | 'exp-destroy';
export type EntryOp = 'new' | 'update' | 'destroy';

interface Base {
  flags: number;
  /**
   * Data messages: the message's own sequence number.
   * Control messages (ack, nack, alive, hello, reset): the sender's last
   * assigned data sequence number, so every message reveals tail loss.
   */
  seq: number;
}

export interface EntryMessage extends Base {
  type: EntryType;
  family: Family;
  /**
   * ctnetlink attributes of the entry (CtRecord.attrs), verbatim; or, when
   * `packed` is true, already in the compact wire form (compact.ts), as the
   * sender builds them once and keeps them until acknowledged. Decoded
   * messages always carry the expanded ctnetlink attributes.
   */
  attrs: Buffer;
  packed?: boolean;
}
export interface RangeMessage extends Base {
  type: 'ack' | 'nack';
  /** Inclusive range of sequence numbers. */
  from: number;
  to: number;
}
export interface BulkEndMessage extends Base {
  type: 'bulk-end';
  /** Number of entry messages flagged BULK sent since the matching bulk-start. */
  count: number;
}
export interface ResetMessage extends Base {
  type: 'reset';
  /** The sequence number the receiver must expect next. */
  next: number;
  /** The epoch of the hello this reset answers, if any. */
  echo?: number;
}
export interface PlainMessage extends Base {
  type: 'alive' | 'resync' | 'bulk-start' | 'hello';
}

export type Message = EntryMessage | RangeMessage | BulkEndMessage | ResetMessage | PlainMessage;

/** Data messages consume a sequence number; control messages do not. */
export function isDataType(t: MessageType): boolean {
  return t !== 'ack' && t !== 'nack' && t !== 'alive' && t !== 'hello' && t !== 'reset';
}

export function isEntry(m: Message): m is EntryMessage {
  return (MsgCode[m.type] as number) <= 0x06;
}

export function entryType(kind: CtKind, op: EntryOp): EntryType {
  return `${kind === 'ct' ? 'ct' : 'exp'}-${op}`;
}

export function entryKind(t: EntryType): CtKind {
  return t.startsWith('ct-') ? 'ct' : 'expect';
}

export function entryOp(t: EntryType): EntryOp {
  return t.endsWith('new') ? 'new' : t.endsWith('update') ? 'update' : 'destroy';
}

/** Datagram header fields a sender chooses. */
export interface DatagramHeader {
  flags: number;
  /** Sender node id (u32). */
  node: number;
  /** Sender epoch (u32): random per engine start; a change means the peer restarted. */
  epoch: number;
}

export interface Datagram {
  header: DatagramHeader;
  messages: Message[];
}

/** Stable rejection codes; every rejection is counted under its code. */
export type WireErrorCode =
  | 'EBADMAGIC'
  | 'EBADVERSION'
  | 'EBADLEN'
  | 'ETRUNCATED'
  | 'EBADCSUM'
  | 'EBADTYPE'
  | 'ETOOMANY'
  | 'EBADTLV'
  | 'EBADVALUE'
  | 'ETOOBIG';

export const WIRE_ERROR_CODES: WireErrorCode[] = [
  'EBADMAGIC',
  'EBADVERSION',
  'EBADLEN',
  'ETRUNCATED',
  'EBADCSUM',
  'EBADTYPE',
  'ETOOMANY',
  'EBADTLV',
  'EBADVALUE',
  'ETOOBIG',
];

export interface WireError {
  code: WireErrorCode;
  message: string;
  /** Byte offset in the datagram where the problem was found. */
  offset: number;
}

export type WireResult<T> = { ok: true; value: T; consumed: number } | { ok: false; error: WireError };

export interface DecodeLimits {
  /** Largest datagram accepted (bytes). Default 65535. */
  maxDatagram: number;
  /** Most messages in one datagram. Default 1024. */
  maxMessages: number;
  /** Largest ATTRS TLV value (bytes). Default 8192. */
  maxAttrs: number;
  /** Most TLVs in one message. Default 16. */
  maxTlvs: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxDatagram: MAX_DGRAM_LEN, maxMessages: 1024, maxAttrs: 8192, maxTlvs: 16 };

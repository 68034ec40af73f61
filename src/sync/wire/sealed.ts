/**
 * Sealed (authenticated) datagram layout, protocol version 2. Pure codec of
 * the envelope; the cryptography lives in src/sync/auth. All big-endian.
 *
 *   0  u32 magic "CTSY"      4  u8 version = 2   5  u8 flags (AUTH set)   6  u16 length (whole datagram)
 *   8  u32 node id           12 u32 epoch        16 u16 message count     18 u16 reserved (0)
 *   20 u8  auth version = 1  21 u8 algorithm     22 u16 reserved (0)
 *   24 u32 key id            28 u32 sender epoch, high word   32 u32 sender epoch, low word
 *   36 u32 counter, high word                     40 u32 counter, low word
 *   44 payload: the messages of the version 1 datagram (ciphertext when ENCRYPTED)
 *   length-T: tag, T = 32 (HMAC-SHA256) or 16 (AES-256-GCM)
 *
 * A version 1 datagram (datagram.ts) is the "plain" form: header, messages,
 * CRC32C. Sealing replaces the CRC with the auth header and tag; opening
 * rebuilds the plain form, so the engine decodes exactly what was sent.
 */
import { crc32c } from './crc32c';
import { DGRAM_HEADER_LEN, DGRAM_TRAILER_LEN, MAX_DGRAM_LEN, SYNC_MAGIC, SYNC_VERSION } from './types';

/** Version byte of a sealed datagram. A version 1 receiver rejects it (EBADVERSION). */
export const SYNC_VERSION_SEALED = 2;
/** Datagram header flags (byte 5). */
export const DgramFlag = {
  /** The datagram carries an auth header and tag (required with version 2). */
  AUTH: 0x80,
  /** The payload is AES-256-GCM ciphertext. */
  ENCRYPTED: 0x40,
} as const;
/** Version of the auth header (byte 20). */
export const AUTH_VERSION = 1;
/** Auth header: version u8, algorithm u8, reserved u16, key id u32, sender epoch u64, counter u64. */
export const AUTH_HEADER_LEN = 24;
/** Offset of the payload in a sealed datagram. */
export const SEALED_PAYLOAD_OFFSET = DGRAM_HEADER_LEN + AUTH_HEADER_LEN;

/** Algorithm codes (byte 21). */
export const AuthAlg = {
  /** HMAC-SHA256 (RFC 2104, FIPS 180-4) over bytes [0, length-32); 32-byte tag. */
  HMAC_SHA256: 1,
  /** AES-256-GCM (NIST SP 800-38D): AAD = bytes [0, 44), 16-byte tag. */
  AES256_GCM: 2,
} as const;
export type AuthAlgCode = (typeof AuthAlg)[keyof typeof AuthAlg];

export function tagLength(alg: AuthAlgCode): number {
  return alg === AuthAlg.HMAC_SHA256 ? 32 : 16;
}

/** Bytes a sealed datagram adds to its plain form (the CRC is dropped). */
export function sealOverhead(alg: AuthAlgCode): number {
  return AUTH_HEADER_LEN + tagLength(alg) - DGRAM_TRAILER_LEN;
}

/** Largest counter / epoch word combination kept exact in a JS number. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

export interface SealedHeader {
  flags: number;
  node: number;
  alg: AuthAlgCode;
  keyId: number;
  epochHi: number;
  epochLo: number;
  counter: number;
  /** Payload [start, end) in the datagram, and where the tag starts (= end). */
  payloadStart: number;
  payloadEnd: number;
}

export type SealedErrorCode = 'ENOTSEALED' | 'EMALFORMED';
export type SealedResult = { ok: true; value: SealedHeader } | { ok: false; code: SealedErrorCode; message: string };

function bad(code: SealedErrorCode, message: string): SealedResult {
  return { ok: false, code, message };
}

/**
 * Parse and check the envelope of a sealed datagram (no cryptography).
 * ENOTSEALED: a well-formed version 1 datagram (a peer without Auth).
 */
export function readSealedHeader(buf: Buffer, maxLen = MAX_DGRAM_LEN): SealedResult {
  if (buf.length > maxLen) return bad('EMALFORMED', `datagram of ${buf.length} bytes`);
  if (buf.length < DGRAM_HEADER_LEN || buf.readUInt32BE(0) !== SYNC_MAGIC) return bad('EMALFORMED', 'no ctsync header');
  const version = buf.readUInt8(4);
  if (version === SYNC_VERSION) return bad('ENOTSEALED', 'unauthenticated (version 1) datagram');
  if (version !== SYNC_VERSION_SEALED) return bad('EMALFORMED', `version ${version}`);
  const flags = buf.readUInt8(5);
  if ((flags & DgramFlag.AUTH) === 0) return bad('EMALFORMED', 'version 2 without the AUTH flag');
  if (buf.readUInt16BE(6) !== buf.length) return bad('EMALFORMED', `length field ${buf.readUInt16BE(6)} != ${buf.length} bytes received`);
  if (buf.readUInt16BE(18) !== 0) return bad('EMALFORMED', 'reserved header field is not zero');
  if (buf.length < SEALED_PAYLOAD_OFFSET) return bad('EMALFORMED', 'auth header truncated');
  if (buf.readUInt8(20) !== AUTH_VERSION) return bad('EMALFORMED', `auth version ${buf.readUInt8(20)}`);
  const alg = buf.readUInt8(21);
  if (alg !== AuthAlg.HMAC_SHA256 && alg !== AuthAlg.AES256_GCM) return bad('EMALFORMED', `unknown algorithm ${alg}`);
  if (((flags & DgramFlag.ENCRYPTED) !== 0) !== (alg === AuthAlg.AES256_GCM)) return bad('EMALFORMED', 'ENCRYPTED flag does not match the algorithm');
  if (buf.readUInt16BE(22) !== 0) return bad('EMALFORMED', 'reserved auth field is not zero');
  const payloadEnd = buf.length - tagLength(alg);
  if (payloadEnd < SEALED_PAYLOAD_OFFSET) return bad('EMALFORMED', 'tag truncated');
  const counterHi = buf.readUInt32BE(36);
  if (counterHi > 0x1fffff) return bad('EMALFORMED', 'counter beyond 2^53');
  return {
    ok: true,
    value: {
      flags,
      node: buf.readUInt32BE(8),
      alg,
      keyId: buf.readUInt32BE(24),
      epochHi: buf.readUInt32BE(28),
      epochLo: buf.readUInt32BE(32),
      counter: counterHi * 0x1_0000_0000 + buf.readUInt32BE(40),
      payloadStart: SEALED_PAYLOAD_OFFSET,
      payloadEnd,
    },
  };
}

export interface SealParams {
  alg: AuthAlgCode;
  keyId: number;
  epochHi: number;
  epochLo: number;
  counter: number;
}

/**
 * Lay out a sealed datagram from a plain (version 1) one: header with version
 * 2, AUTH (and ENCRYPTED) flags and the new length; auth header; payload
 * copied; tag space zeroed for the caller to fill. Returns null when `plain`
 * is not a version 1 datagram or the result would exceed 65535 bytes.
 */
export function layoutSealed(plain: Buffer, p: SealParams): Buffer | null {
  const minPlain = DGRAM_HEADER_LEN + DGRAM_TRAILER_LEN;
  if (plain.length < minPlain || plain.readUInt32BE(0) !== SYNC_MAGIC || plain.readUInt8(4) !== SYNC_VERSION) return null;
  if (plain.readUInt16BE(6) !== plain.length) return null;
  const payloadLen = plain.length - minPlain;
  const total = SEALED_PAYLOAD_OFFSET + payloadLen + tagLength(p.alg);
  if (total > MAX_DGRAM_LEN) return null;
  const out = Buffer.alloc(total);
  plain.copy(out, 0, 0, DGRAM_HEADER_LEN);
  out.writeUInt8(SYNC_VERSION_SEALED, 4);
  const enc = p.alg === AuthAlg.AES256_GCM ? DgramFlag.ENCRYPTED : 0;
  out.writeUInt8((plain.readUInt8(5) & ~(DgramFlag.AUTH | DgramFlag.ENCRYPTED)) | DgramFlag.AUTH | enc, 5);
  out.writeUInt16BE(total, 6);
  out.writeUInt8(AUTH_VERSION, 20);
  out.writeUInt8(p.alg, 21);
  out.writeUInt16BE(0, 22);
  out.writeUInt32BE(p.keyId >>> 0, 24);
  out.writeUInt32BE(p.epochHi >>> 0, 28);
  out.writeUInt32BE(p.epochLo >>> 0, 32);
  out.writeUInt32BE(Math.floor(p.counter / 0x1_0000_0000), 36);
  out.writeUInt32BE(p.counter % 0x1_0000_0000, 40);
  plain.copy(out, SEALED_PAYLOAD_OFFSET, DGRAM_HEADER_LEN, plain.length - DGRAM_TRAILER_LEN);
  return out;
}

/**
 * The plain (version 1) datagram for a verified sealed one: the header with
 * version 1, the AUTH/ENCRYPTED flags cleared and the plain length, the
 * payload (already decrypted by the caller when it was encrypted) and a fresh CRC32C.
 */
export function plainFromSealed(sealed: Buffer, h: SealedHeader, payload: Buffer): Buffer {
  const len = DGRAM_HEADER_LEN + payload.length + DGRAM_TRAILER_LEN;
  const out = Buffer.alloc(len);
  sealed.copy(out, 0, 0, DGRAM_HEADER_LEN);
  out.writeUInt8(SYNC_VERSION, 4);
  out.writeUInt8(h.flags & ~(DgramFlag.AUTH | DgramFlag.ENCRYPTED), 5);
  out.writeUInt16BE(len, 6);
  payload.copy(out, DGRAM_HEADER_LEN);
  out.writeUInt32BE(crc32c(out, 0, len - DGRAM_TRAILER_LEN), len - DGRAM_TRAILER_LEN);
  return out;
}

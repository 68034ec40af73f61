/**
 * Cluster heartbeat: the one message of the active-active membership
 * protocol (our own format; it is not conntrackd's). Sent every interval on
 * the sync link to every peer (UDP unicast to each, or multicast).
 *
 * Layout, all integers big-endian (network order):
 *   0  u16 magic 0x4341 ("CA")
 *   2  u8  version (1)
 *   3  u8  type (1 = heartbeat)
 *   4  u16 total length in bytes (must equal the datagram length)
 *   6  u8  flags: bit 0 JOINING (listening, claims nothing yet),
 *                 bit 1 LEAVING (wants to hand every bucket away)
 *   7  u8  bucket count N (1..32)
 *   8  u32 node id (non-zero)
 *  12  u32 incarnation (changes at every start of the node)
 *  16  u32 sequence number (per incarnation, +1 per heartbeat)
 *  20  u32 hash seed (every node must use the same one)
 *  24  u32 aim: the sender's target buckets in its current view (bit b = bucket b)
 *  28  u8  M: members in the sender's view
 *  29  u8  C: claims
 *  30  u16 reserved, zero
 *  32  M x u32 member ids, ascending (the sender's view, itself included)
 *  ..  C x 8 bytes claim: u8 bucket, u8 0, u16 0, u32 epoch
 *
 * Strict with peers: any size, count, order or reserved-field mismatch is a
 * typed error; decode never throws.
 */
import { fullMask } from './ranges';

export const HB_MAGIC = 0x4341;
export const HB_VERSION = 1;
export const HB_TYPE_HEARTBEAT = 1;
export const HB_HEADER = 32;
export const HB_CLAIM = 8;
export const HB_FLAG_JOINING = 1;
export const HB_FLAG_LEAVING = 2;

export interface Claim {
  bucket: number;
  /** Ownership epoch: (epoch, node id) orders claims on one bucket. */
  epoch: number;
}

export interface Heartbeat {
  node: number;
  incarnation: number;
  seq: number;
  flags: number;
  buckets: number;
  seed: number;
  aim: number;
  members: number[];
  claims: Claim[];
}

export type HbErrorCode =
  | 'SHORT'
  | 'MAGIC'
  | 'VERSION'
  | 'TYPE'
  | 'LENGTH'
  | 'RESERVED'
  | 'BUCKETS'
  | 'NODE'
  | 'FLAGS'
  | 'AIM'
  | 'MEMBERS'
  | 'CLAIMS';

export type HbResult = { ok: true; value: Heartbeat; consumed: number } | { ok: false; code: HbErrorCode; message: string };

export interface HbLimits {
  /** Most member ids accepted. Default 32. */
  maxMembers: number;
}

const fail = (code: HbErrorCode, message: string): HbResult => ({ ok: false, code, message });

export function encodeHeartbeat(h: Heartbeat): Buffer {
  const len = HB_HEADER + 4 * h.members.length + HB_CLAIM * h.claims.length;
  const b = Buffer.alloc(len);
  b.writeUInt16BE(HB_MAGIC, 0);
  b.writeUInt8(HB_VERSION, 2);
  b.writeUInt8(HB_TYPE_HEARTBEAT, 3);
  b.writeUInt16BE(len, 4);
  b.writeUInt8(h.flags & 3, 6);
  b.writeUInt8(h.buckets, 7);
  b.writeUInt32BE(h.node >>> 0, 8);
  b.writeUInt32BE(h.incarnation >>> 0, 12);
  b.writeUInt32BE(h.seq >>> 0, 16);
  b.writeUInt32BE(h.seed >>> 0, 20);
  b.writeUInt32BE(h.aim >>> 0, 24);
  b.writeUInt8(h.members.length, 28);
  b.writeUInt8(h.claims.length, 29);
  let off = HB_HEADER;
  for (const m of h.members) {
    b.writeUInt32BE(m >>> 0, off);
    off += 4;
  }
  for (const c of h.claims) {
    b.writeUInt8(c.bucket, off);
    b.writeUInt32BE(c.epoch >>> 0, off + 4);
    off += HB_CLAIM;
  }
  return b;
}

export function decodeHeartbeat(b: Buffer, limits: HbLimits = { maxMembers: 32 }): HbResult {
  if (b.length < HB_HEADER) return fail('SHORT', `${b.length} bytes, header is ${HB_HEADER}`);
  if (b.readUInt16BE(0) !== HB_MAGIC) return fail('MAGIC', 'bad magic');
  if (b.readUInt8(2) !== HB_VERSION) return fail('VERSION', `version ${b.readUInt8(2)}`);
  if (b.readUInt8(3) !== HB_TYPE_HEARTBEAT) return fail('TYPE', `type ${b.readUInt8(3)}`);
  const len = b.readUInt16BE(4);
  if (len !== b.length) return fail('LENGTH', `length field ${len}, datagram ${b.length}`);
  if (b.readUInt16BE(30) !== 0) return fail('RESERVED', 'reserved field not zero');
  const flags = b.readUInt8(6);
  if ((flags & ~3) !== 0) return fail('FLAGS', `unknown flags 0x${flags.toString(16)}`);
  const buckets = b.readUInt8(7);
  if (buckets < 1 || buckets > 32) return fail('BUCKETS', `bucket count ${buckets}`);
  const node = b.readUInt32BE(8);
  if (node === 0) return fail('NODE', 'node id 0');
  const aim = b.readUInt32BE(24);
  if ((aim & ~fullMask(buckets)) !== 0) return fail('AIM', 'aim names a bucket past the count');
  const m = b.readUInt8(28);
  const c = b.readUInt8(29);
  if (m > limits.maxMembers) return fail('MEMBERS', `${m} members, limit ${limits.maxMembers}`);
  if (c > buckets) return fail('CLAIMS', `${c} claims for ${buckets} buckets`);
  if (len !== HB_HEADER + 4 * m + HB_CLAIM * c) return fail('LENGTH', `length ${len} does not fit ${m} members and ${c} claims`);
  const members: number[] = [];
  let off = HB_HEADER;
  for (let i = 0; i < m; i++, off += 4) {
    const id = b.readUInt32BE(off);
    const prev = members[members.length - 1];
    if (id === 0 || (prev !== undefined && id <= prev)) return fail('MEMBERS', 'member ids must be non-zero and ascending');
    members.push(id);
  }
  const claims: Claim[] = [];
  let seen = 0;
  for (let i = 0; i < c; i++, off += HB_CLAIM) {
    const bucket = b.readUInt8(off);
    if (b.readUInt8(off + 1) !== 0 || b.readUInt16BE(off + 2) !== 0) return fail('RESERVED', 'claim padding not zero');
    if (bucket >= buckets || ((seen >>> bucket) & 1) === 1) return fail('CLAIMS', `bad or repeated bucket ${bucket}`);
    seen |= 1 << bucket;
    claims.push({ bucket, epoch: b.readUInt32BE(off + 4) });
  }
  return {
    ok: true,
    value: {
      node,
      incarnation: b.readUInt32BE(12),
      seq: b.readUInt32BE(16),
      flags,
      buckets,
      seed: b.readUInt32BE(20),
      aim,
      members,
      claims,
    },
    consumed: len,
  };
}

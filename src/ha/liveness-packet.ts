/**
 * Liveness probe of the fast failure detector (src/ha/liveness.ts): a small
 * UDP datagram each node sends to its peer over the sync link every
 * `Interval` ms. Our own format (not BFD, RFC 5880: no session handshake;
 * a probe only says "this node's HA thread is alive").
 *
 * Datagram, 16 bytes, all fields big-endian:
 *   0..3    magic "CTLV" (0x43 0x54 0x4c 0x56)
 *   4       format version = 1
 *   5       flags, 0 (reserved)
 *   6..7    sender's probe interval, ms (1..65535)
 *   8..11   boot id: random per start of the sender (a restart is visible)
 *   12..15  sequence number, +1 per probe, wraps
 */

export const LIVENESS_MAGIC = 0x43544c56; // "CTLV"
export const LIVENESS_VERSION = 1;
export const LIVENESS_LEN = 16;

export interface Probe {
  intervalMs: number;
  bootId: number;
  seq: number;
}

export type ProbeDecode = { ok: true; probe: Probe } | { ok: false; error: 'length' | 'magic' | 'version' | 'flags' | 'interval' };

export function encodeProbe(p: Probe): Buffer {
  const b = Buffer.alloc(LIVENESS_LEN);
  b.writeUInt32BE(LIVENESS_MAGIC, 0);
  b[4] = LIVENESS_VERSION;
  b[5] = 0;
  b.writeUInt16BE(p.intervalMs & 0xffff, 6);
  b.writeUInt32BE(p.bootId >>> 0, 8);
  b.writeUInt32BE(p.seq >>> 0, 12);
  return b;
}

/** Pure; strict: exactly one probe, nothing else. */
export function decodeProbe(b: Buffer): ProbeDecode {
  if (b.length !== LIVENESS_LEN) return { ok: false, error: 'length' };
  if (b.readUInt32BE(0) !== LIVENESS_MAGIC) return { ok: false, error: 'magic' };
  if (b[4] !== LIVENESS_VERSION) return { ok: false, error: 'version' };
  if (b[5] !== 0) return { ok: false, error: 'flags' };
  const intervalMs = b.readUInt16BE(6);
  if (intervalMs === 0) return { ok: false, error: 'interval' };
  return { ok: true, probe: { intervalMs, bootId: b.readUInt32BE(8), seq: b.readUInt32BE(12) } };
}

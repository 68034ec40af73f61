/**
 * Heartbeat transport: VRRP adverts carried in UDP unicast between configured
 * peers, for networks that forbid VRRP multicast or IP protocol 112. It is a
 * VrrpTransport like the raw one, so the same machine and validation run.
 *
 * Datagram (all fields big-endian):
 *   0..3   magic "CTHB" (0x43 0x54 0x48 0x42)
 *   4      format version = 1
 *   5      address family of the VRRP message: 4 or 6
 *   6..7   reserved, 0
 *   8..    the VRRP message exactly as on the wire (RFC 3768 / RFC 5798
 *          section 5.2); the v3 checksum uses the UDP source and destination
 *          addresses as pseudo-header, so both ends must bind a fixed address.
 * TTL is not available on a UDP socket: validation treats every peer as a
 * unicast peer (source must be a configured peer).
 */
import { createSocket as nodeCreateSocket, type Socket } from 'node:dgram';
import type { SockError } from '../netlink/socket';
import { encodeVrrp } from './vrrp/packet';
import type { VrrpTransport } from './vrrp/transport';

export const HEARTBEAT_MAGIC = 0x43544842; // "CTHB"
export const HEARTBEAT_VERSION = 1;
export const HEARTBEAT_HEADER_LEN = 8;
/** Default UDP port (unassigned by IANA; override in config). */
export const HEARTBEAT_DEFAULT_PORT = 3781;

export type HeartbeatDecode = { ok: true; family: 4 | 6; message: Buffer } | { ok: false; error: 'short' | 'magic' | 'version' | 'family' | 'reserved' };

/** Pure: split a heartbeat datagram. */
export function decodeHeartbeat(buf: Buffer): HeartbeatDecode {
  if (buf.length < HEARTBEAT_HEADER_LEN) return { ok: false, error: 'short' };
  if (buf.readUInt32BE(0) !== HEARTBEAT_MAGIC) return { ok: false, error: 'magic' };
  if (buf[4] !== HEARTBEAT_VERSION) return { ok: false, error: 'version' };
  const fam = buf[5];
  if (fam !== 4 && fam !== 6) return { ok: false, error: 'family' };
  if (buf.readUInt16BE(6) !== 0) return { ok: false, error: 'reserved' };
  return { ok: true, family: fam, message: buf.subarray(HEARTBEAT_HEADER_LEN) };
}

export function encodeHeartbeat(family: 4 | 6, message: Buffer): Buffer {
  const h = Buffer.alloc(HEARTBEAT_HEADER_LEN);
  h.writeUInt32BE(HEARTBEAT_MAGIC, 0);
  h[4] = HEARTBEAT_VERSION;
  h[5] = family;
  return Buffer.concat([h, message]);
}

/** The subset of dgram.Socket used here (tests inject an in-memory one). */
export interface UdpSocketLike {
  bind(port: number, address: string, cb: () => void): void;
  send(msg: Buffer, port: number, address: string, cb: (err: Error | null) => void): void;
  on(ev: 'message', fn: (msg: Buffer, rinfo: { address: string; port: number }) => void): void;
  on(ev: 'error', fn: (err: Error) => void): void;
  close(): void;
}

export interface HeartbeatOptions {
  family: 4 | 6;
  /** Our address: bound, and the pseudo-header source. */
  bindAddress: string;
  port?: number;
  peers: string[];
  createSocket?: (family: 4 | 6) => UdpSocketLike;
}

export interface HeartbeatStats {
  badDatagrams: number;
  sendErrors: number;
}

export function openHeartbeat(o: HeartbeatOptions): VrrpTransport & { stats(): HeartbeatStats } {
  const port = o.port ?? HEARTBEAT_DEFAULT_PORT;
  const create = o.createSocket ?? ((f: 4 | 6): UdpSocketLike => nodeCreateSocket({ type: f === 6 ? 'udp6' : 'udp4' }) as Socket as UdpSocketLike);
  const sock = create(o.family);
  const stats: HeartbeatStats = { badDatagrams: 0, sendErrors: 0 };
  let onErr: (e: SockError) => void = () => undefined;
  return {
    sendAdvert(fields) {
      let first: SockError | null = null;
      for (const peer of o.peers) {
        const enc = encodeVrrp({ ...fields, src: o.bindAddress, dst: peer });
        if (!enc.ok) {
          first ??= { code: 'EINVAL', errno: 22, op: 'encode', message: enc.error };
          continue;
        }
        sock.send(encodeHeartbeat(o.family, enc.value), port, peer, (err) => {
          if (err !== null) {
            stats.sendErrors += 1;
            onErr({ code: 'ESEND', errno: 0, op: 'send', message: err.message });
          }
        });
      }
      return first;
    },
    start(onAdvert, onError) {
      onErr = onError;
      sock.on('error', (e) => onError({ code: 'EUDP', errno: 0, op: 'udp', message: e.message }));
      sock.on('message', (msg, rinfo) => {
        const d = decodeHeartbeat(msg);
        if (!d.ok || d.family !== o.family) {
          stats.badDatagrams += 1;
          return;
        }
        onAdvert({ data: d.message, from: rinfo.address, to: o.bindAddress, ttl: -1 });
      });
      sock.bind(port, o.bindAddress, () => undefined);
    },
    close: () => sock.close(),
    stats: () => ({ ...stats }),
  };
}

/**
 * Synthetic but realistic conntrack records for the cache benchmark and the
 * cache tests: an IPv4 (or IPv6) TCP flow as the kernel reports it in a
 * ctnetlink event without accounting/timestamps (about 192 bytes for IPv4).
 *
 * Layout per include/uapi/linux/netfilter/nfnetlink_conntrack.h; every nla
 * header is host-order (little-endian here) len/type, every payload value is
 * big-endian (network order), as ctnetlink sends them. Attributes are padded
 * to 4 bytes (NLA_ALIGNTO).
 */
import type { CtRecord } from '../netlink/types';

const NLA_F_NESTED = 0x8000;
// enum ctattr_type
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_STATUS = 3;
const CTA_PROTOINFO = 4;
const CTA_TIMEOUT = 7;
const CTA_MARK = 8;
const CTA_USE = 11;
const CTA_ID = 12;
// enum ctattr_tuple / ctattr_ip / ctattr_l4proto
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_IP_V6_SRC = 3;
const CTA_IP_V6_DST = 4;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;
// enum ctattr_protoinfo / ctattr_protoinfo_tcp
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_STATE = 1;
const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL = 2;
const CTA_PROTOINFO_TCP_WSCALE_REPLY = 3;
const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
const CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0); // nla_len, host order
  out.writeUInt16LE(type, 2); // nla_type, host order
  payload.copy(out, 4);
  return out;
}

const nest = (type: number, parts: Buffer[]): Buffer => attr(type | NLA_F_NESTED, Buffer.concat(parts));
const u8 = (v: number): Buffer => Buffer.of(v & 0xff);
function be16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
function be32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

export interface SynthFlow {
  /** IPv4: 4 bytes, IPv6: 16 bytes. */
  src: Buffer;
  dst: Buffer;
  sport: number;
  dport: number;
  tcpState: number;
  id: number;
  /** Seconds. */
  timeout: number;
  mark?: number;
}

function tuple(type: number, src: Buffer, dst: Buffer, sport: number, dport: number): Buffer {
  const v6 = src.length === 16;
  return nest(type, [
    nest(CTA_TUPLE_IP, [attr(v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, src), attr(v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, dst)]),
    nest(CTA_TUPLE_PROTO, [attr(CTA_PROTO_NUM, u8(6)), attr(CTA_PROTO_SRC_PORT, be16(sport)), attr(CTA_PROTO_DST_PORT, be16(dport))]),
  ]);
}

/** Encode a TCP flow as ctnetlink attributes (reply tuple = mirrored original). */
export function tcpFlowRecord(f: SynthFlow): CtRecord {
  const flags = Buffer.of(0x0a, 0x0a); // struct nf_ct_tcp_flags {flags, mask}
  const attrs = Buffer.concat([
    tuple(CTA_TUPLE_ORIG, f.src, f.dst, f.sport, f.dport),
    tuple(CTA_TUPLE_REPLY, f.dst, f.src, f.dport, f.sport),
    nest(CTA_PROTOINFO, [
      nest(CTA_PROTOINFO_TCP, [
        attr(CTA_PROTOINFO_TCP_STATE, u8(f.tcpState)),
        attr(CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, u8(7)),
        attr(CTA_PROTOINFO_TCP_WSCALE_REPLY, u8(7)),
        attr(CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, flags),
        attr(CTA_PROTOINFO_TCP_FLAGS_REPLY, flags),
      ]),
    ]),
    attr(CTA_STATUS, be32(0x18e)), // SEEN_REPLY|ASSURED|CONFIRMED|SRC_NAT_DONE|DST_NAT_DONE
    attr(CTA_TIMEOUT, be32(f.timeout)),
    attr(CTA_MARK, be32(f.mark ?? 0)),
    attr(CTA_USE, be32(1)),
    attr(CTA_ID, be32(f.id)),
  ]);
  return { kind: 'ct', family: f.src.length === 16 ? 10 : 2, attrs };
}

/** Deterministic flow number i: client 198.18.x.y:port -> server 203.0.113.z:443. */
export function synthFlow(i: number, tcpState = 3): SynthFlow {
  const client = 0xc6120000 + (i >>> 4); // 198.18.0.0/15
  const server = 0xcb007100 + (i % 251); // 203.0.113.0/24
  return {
    src: be32(client),
    dst: be32(server),
    sport: 1024 + ((i * 7919) % 64000),
    dport: 443,
    tcpState,
    id: i + 1,
    timeout: 432000,
  };
}

/**
 * A compact latin1 key like tupleKey's: family, proto, addresses, ports as raw
 * bytes (the real key format belongs to src/netlink/ct/key.ts).
 */
export function synthKey(f: SynthFlow): string {
  const b = Buffer.alloc(2 + f.src.length * 2 + 4);
  b[0] = f.src.length === 16 ? 10 : 2;
  b[1] = 6;
  f.src.copy(b, 2);
  f.dst.copy(b, 2 + f.src.length);
  b.writeUInt16BE(f.sport, 2 + f.src.length * 2);
  b.writeUInt16BE(f.dport, 4 + f.src.length * 2);
  return b.toString('latin1');
}

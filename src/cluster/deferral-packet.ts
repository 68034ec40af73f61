/**
 * Fallback for kernels built without CONFIG_NETFILTER_NETLINK_GLUE_CT, where
 * nfnetlink_queue cannot attach the conntrack entry (NFQA_CT; binding with
 * NFQA_CFG_F_CONNTRACK fails with EOPNOTSUPP): the entry's state is
 * reconstructed from the queued packet's own headers (NFQNL_COPY_PACKET,
 * first bytes only). Pure; never throws.
 *
 * What a first packet says about its new, unconfirmed entry:
 *  - original tuple = the packet's addresses, protocol and ports (ICMP: id,
 *    type, code); reply tuple = the inverse (ICMP echo request -> reply);
 *  - status 0 (not confirmed, no reply seen);
 *  - timeout: the kernel's default for the first state (TCP SYN_SENT 120 s,
 *    UDP 30 s, ICMP 30 s, others 600 s; net/netfilter/nf_conntrack_proto_*.c);
 *  - TCP: state SYN_SENT, the original direction's window scale and
 *    SACK-permitted flags from the SYN's options
 *    (include/uapi/linux/netfilter/nf_conntrack_tcp.h).
 * Not recoverable: a DNAT done before the forward hook (the original
 * destination is gone from the packet), zones, marks, helpers. Such an entry
 * gets a different key than the kernel's; the kernel's own event follows and
 * the deferral's confirm check withdraws the guess.
 *
 * Byte order: IP and transport headers are big-endian (network order).
 */
import { encodeConntrack } from '../netlink/ct/conntrack';
import { TCP_FLAG } from '../netlink/ct/consts';
import type { Conntrack, CtRecord, DecodeError, Family, Tuple } from '../netlink/types';

/** IPPROTO_* numbers (include/uapi/linux/in.h). */
const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const UDPLITE = 136;
const SCTP = 132;
const DCCP = 33;
/** enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
const TCP_CONNTRACK_SYN_SENT = 1;
/** IPv6 extension headers skipped on the way to the transport header (RFC 8200 section 4). */
const V6_EXT = new Set([0, 43, 60]);

type Result = { ok: true; record: CtRecord } | { ok: false; error: DecodeError };

function fail(code: DecodeError['code'], message: string, offset: number): Result {
  return { ok: false, error: { code, message, offset } };
}

function ipText(b: Buffer, off: number, v6: boolean): string {
  if (!v6) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/** Window scale and SACK-permitted of a SYN's options (kinds 3 and 4, RFC 7323 / RFC 2018). */
function tcpOptions(b: Buffer, start: number, end: number): { wscale?: number; sack: boolean } {
  const out: { wscale?: number; sack: boolean } = { sack: false };
  let o = start;
  while (o < end) {
    const kind = b[o] as number;
    if (kind === 0) break; // end of options
    if (kind === 1) {
      o++; // NOP
      continue;
    }
    if (o + 1 >= end) break;
    const len = b[o + 1] as number;
    if (len < 2 || o + len > end) break;
    if (kind === 3 && len === 3) out.wscale = Math.min(14, b[o + 2] as number);
    if (kind === 4 && len === 2) out.sack = true;
    o += len;
  }
  return out;
}

const ICMP_REPLY: Record<number, number> = { 8: 0, 13: 14, 15: 16, 17: 18 };
const ICMPV6_REPLY: Record<number, number> = { 128: 129, 130: 131 };

/** The new entry a first packet implies (see above). `pkt` starts at the IP header. */
export function recordFromPacket(family: number, pkt: Buffer): Result {
  if (family !== 2 && family !== 10) return fail('EBADFAMILY', `family ${family}`, 0);
  const v6 = family === 10;
  let l4: number;
  let proto: number;
  if (!v6) {
    if (pkt.length < 20 || (pkt[0] as number) >> 4 !== 4) return fail('ETRUNCATED', 'no IPv4 header', 0);
    l4 = ((pkt[0] as number) & 0x0f) * 4;
    proto = pkt[9] as number;
    if (l4 < 20) return fail('EBADLEN', `IHL ${l4}`, 0);
    if ((pkt.readUInt16BE(6) & 0x1fff) !== 0) return fail('EBADVALUE', 'a non-first fragment', 6);
  } else {
    if (pkt.length < 40 || (pkt[0] as number) >> 4 !== 6) return fail('ETRUNCATED', 'no IPv6 header', 0);
    proto = pkt[6] as number;
    l4 = 40;
    for (let n = 0; V6_EXT.has(proto); n++) {
      if (n >= 4 || pkt.length < l4 + 2) return fail('ETRUNCATED', 'IPv6 extension headers', l4);
      proto = pkt[l4] as number;
      l4 += ((pkt[l4 + 1] as number) + 1) * 8;
    }
  }
  const src = ipText(pkt, v6 ? 8 : 12, v6);
  const dst = ipText(pkt, v6 ? 24 : 16, v6);
  const orig: Tuple = { src, dst, proto };
  const reply: Tuple = { src: dst, dst: src, proto };
  const ct: Conntrack = { family: family as Family, orig, reply, status: 0, timeout: 600 };
  if (proto === TCP || proto === UDP || proto === UDPLITE || proto === SCTP || proto === DCCP) {
    if (pkt.length < l4 + 4) return fail('ETRUNCATED', 'no ports', l4);
    orig.sport = reply.dport = pkt.readUInt16BE(l4);
    orig.dport = reply.sport = pkt.readUInt16BE(l4 + 2);
    if (proto === UDP || proto === UDPLITE) ct.timeout = 30;
    if (proto === TCP) {
      if (pkt.length < l4 + 20) return fail('ETRUNCATED', 'short TCP header', l4);
      const doff = ((pkt[l4 + 12] as number) >> 4) * 4;
      const opts = tcpOptions(pkt, l4 + 20, Math.min(pkt.length, l4 + doff));
      const flags = (opts.wscale !== undefined ? TCP_FLAG.WINDOW_SCALE : 0) | (opts.sack ? TCP_FLAG.SACK_PERM : 0);
      ct.timeout = 120;
      ct.protoinfo = {
        tcp: {
          state: TCP_CONNTRACK_SYN_SENT,
          wscaleOrig: opts.wscale ?? 0,
          wscaleReply: 0,
          flagsOrig: { flags, mask: flags },
          flagsReply: { flags: 0, mask: 0 },
        },
      };
    }
  } else if (proto === ICMP || proto === ICMPV6) {
    if (pkt.length < l4 + 8) return fail('ETRUNCATED', 'short ICMP header', l4);
    const type = pkt[l4] as number;
    const replies = proto === ICMP ? ICMP_REPLY : ICMPV6_REPLY;
    orig.icmpType = type;
    orig.icmpCode = reply.icmpCode = pkt[l4 + 1] as number;
    orig.icmpId = reply.icmpId = pkt.readUInt16BE(l4 + 4);
    reply.icmpType = replies[type] ?? type;
    ct.timeout = 30;
  }
  return { ok: true, record: encodeConntrack(ct) };
}

/**
 * nfnetlink_queue codec (pure): config and verdict requests, queued-packet
 * messages. Used by pfsync-style deferral (src/cluster/deferral.ts) to hold
 * the first packet of a new flow.
 *
 * Source of every constant: include/uapi/linux/netfilter/nfnetlink_queue.h
 * (message types, attributes, config commands and flags), NF_DROP/NF_ACCEPT
 * from include/uapi/linux/netfilter.h, enum ip_conntrack_info from
 * include/uapi/linux/netfilter/nf_conntrack_common.h. Kernel behaviour
 * followed (net/netfilter/nfnetlink_queue.c): one CONFIG message may carry
 * CMD_BIND with PARAMS, QUEUE_MAXLEN and MASK+FLAGS (flags are checked before
 * the bind, applied after it); a VERDICT_BATCH applies its verdict to every
 * queued id up to and including its id (ids compared wrap-safe, in queue
 * order); NFQA_CT is a nested attribute holding the entry's ctnetlink
 * attributes (the same bytes as after struct nfgenmsg in ctnetlink).
 *
 * Byte order:
 *  - nlmsghdr and nlattr headers: host order (src/netlink/nlmsg.ts);
 *  - struct nfgenmsg: u8 family, u8 version (0), be16 res_id = queue number;
 *  - every value inside an NFQA_* / NFQA_CFG_* attribute: big-endian, except
 *    the u8 fields of nfqnl_msg_config_cmd / _params and the hook byte.
 *
 * Decoders never throw: they return a value or a typed DecodeError and take
 * limits. Unknown attributes of a packet message are kept as raw bytes.
 */
import type { DecodeError, RawAttr } from './types';
import {
  align4,
  DEFAULT_PARSE_LIMITS,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_MIN_TYPE,
  parseDatagram,
  parseError,
  readU16,
  type NlErrorInfo,
  type NlMessage,
} from './nlmsg';
import { be32Attr, makeAttr } from './ct/attr';
import { encodeRequest, NFGENMSG_LEN } from './nfnl';

/** NFNL_SUBSYS_QUEUE (include/uapi/linux/netfilter/nfnetlink.h). */
export const NFNL_SUBSYS_QUEUE = 3;

/** enum nfqnl_msg_types (nfnetlink_queue.h). */
export const NFQNL_MSG_PACKET = 0;
export const NFQNL_MSG_VERDICT = 1;
export const NFQNL_MSG_CONFIG = 2;
export const NFQNL_MSG_VERDICT_BATCH = 3;

/** enum nfqnl_attr_type (nfnetlink_queue.h). */
export const NFQA = {
  PACKET_HDR: 1,
  VERDICT_HDR: 2,
  MARK: 3,
  TIMESTAMP: 4,
  IFINDEX_INDEV: 5,
  IFINDEX_OUTDEV: 6,
  IFINDEX_PHYSINDEV: 7,
  IFINDEX_PHYSOUTDEV: 8,
  HWADDR: 9,
  PAYLOAD: 10,
  CT: 11,
  CT_INFO: 12,
  CAP_LEN: 13,
  SKB_INFO: 14,
  EXP: 15,
  UID: 16,
  GID: 17,
  SECCTX: 18,
} as const;

/** enum nfqnl_attr_config (nfnetlink_queue.h). */
export const NFQA_CFG = { CMD: 1, PARAMS: 2, QUEUE_MAXLEN: 3, MASK: 4, FLAGS: 5 } as const;

/** enum nfqnl_msg_config_cmds (nfnetlink_queue.h). PF_BIND/PF_UNBIND are no-ops since Linux 3.8. */
export const NFQNL_CFG_CMD = { NONE: 0, BIND: 1, UNBIND: 2, PF_BIND: 3, PF_UNBIND: 4 } as const;

/** enum nfqnl_config_mode (nfnetlink_queue.h). COPY_NONE makes the kernel refuse to queue (EINVAL). */
export const NFQNL_COPY = { NONE: 0, META: 1, PACKET: 2 } as const;

/** NFQA_CFG_F_* flags (nfnetlink_queue.h). */
export const NFQA_CFG_F = { FAIL_OPEN: 1 << 0, CONNTRACK: 1 << 1, GSO: 1 << 2, UID_GID: 1 << 3, SECCTX: 1 << 4 } as const;

/** Verdicts (include/uapi/linux/netfilter.h). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;

/** enum ip_conntrack_info (include/uapi/linux/netfilter/nf_conntrack_common.h). */
export const IP_CT = { ESTABLISHED: 0, RELATED: 1, NEW: 2, ESTABLISHED_REPLY: 3, RELATED_REPLY: 4, UNTRACKED: 7 } as const;

/** nla_type flag bits (include/uapi/linux/netlink.h). */
const NLA_TYPE_MASK = 0x3fff;

/** nlmsg_type of a queue message. */
export function queueMsgType(msg: number): number {
  return (NFNL_SUBSYS_QUEUE << 8) | msg;
}

/** nlmsghdr + nfgenmsg(family, v0, be16 queue) + attributes. */
function request(msg: number, flags: number, seq: number, family: number, queue: number, attrs: Buffer[]): Buffer {
  return encodeRequest(queueMsgType(msg), flags, seq, family & 0xff, Buffer.concat(attrs), queue);
}

export interface QueueConfig {
  /** NFQNL_CFG_CMD_*; omitted = change parameters of a bound queue only. */
  command?: number;
  /** nfqnl_msg_config_cmd.pf (be16); only meaningful for the obsolete PF_(UN)BIND. Default 0. */
  pf?: number;
  /** NFQNL_COPY_* and its range (bytes of payload copied with COPY_PACKET). */
  copy?: { mode: number; range: number };
  /** NFQA_CFG_QUEUE_MAXLEN: packets the kernel holds for us before it drops (or, fail-open, accepts). */
  maxLen?: number;
  /** NFQA_CFG_FLAGS with NFQA_CFG_MASK (the kernel needs both). */
  flags?: { value: number; mask: number };
}

/**
 * NFQNL_MSG_CONFIG for `queue`, with NLM_F_ACK (the kernel answers with an
 * NLMSG_ERROR carrying 0 or -errno).
 *   NFQA_CFG_CMD    4 bytes: u8 command, u8 pad, be16 pf
 *   NFQA_CFG_PARAMS 5 bytes: be32 copy_range, u8 copy_mode (packed)
 *   NFQA_CFG_QUEUE_MAXLEN, NFQA_CFG_MASK, NFQA_CFG_FLAGS: be32
 */
export function encodeConfig(seq: number, queue: number, cfg: QueueConfig): Buffer {
  const attrs: Buffer[] = [];
  if (cfg.command !== undefined) {
    const cmd = Buffer.alloc(4);
    cmd.writeUInt8(cfg.command & 0xff, 0);
    cmd.writeUInt16BE((cfg.pf ?? 0) & 0xffff, 2);
    attrs.push(makeAttr(NFQA_CFG.CMD, cmd));
  }
  if (cfg.copy !== undefined) {
    const p = Buffer.alloc(5);
    p.writeUInt32BE(cfg.copy.range >>> 0, 0);
    p.writeUInt8(cfg.copy.mode & 0xff, 4);
    attrs.push(makeAttr(NFQA_CFG.PARAMS, p));
  }
  if (cfg.maxLen !== undefined) attrs.push(be32Attr(NFQA_CFG.QUEUE_MAXLEN, cfg.maxLen));
  if (cfg.flags !== undefined) {
    attrs.push(be32Attr(NFQA_CFG.MASK, cfg.flags.mask));
    attrs.push(be32Attr(NFQA_CFG.FLAGS, cfg.flags.value));
  }
  return request(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq, 0, queue, attrs);
}

/**
 * NFQNL_MSG_VERDICT (one id) or NFQNL_MSG_VERDICT_BATCH (every queued id
 * <= `id`), without NLM_F_ACK: the kernel reports failures (ENOENT for an id
 * no longer queued) as NLMSG_ERROR all the same.
 *   NFQA_VERDICT_HDR 8 bytes: be32 verdict, be32 id
 */
export function encodeVerdict(seq: number, queue: number, id: number, verdict: number, batch = false): Buffer {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32BE(verdict >>> 0, 0);
  hdr.writeUInt32BE(id >>> 0, 4);
  return request(batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, NLM_F_REQUEST, seq, 0, queue, [makeAttr(NFQA.VERDICT_HDR, hdr)]);
}

/** One packet the kernel queued for us (NFQNL_MSG_PACKET). */
export interface QueuedPacket {
  /** res_id of the nfgenmsg. */
  queue: number;
  /** nfgen_family: NFPROTO_IPV4 2, NFPROTO_IPV6 10. */
  family: number;
  /** nfqnl_msg_packet_hdr.packet_id (be32 on the wire). */
  id: number;
  /** nfqnl_msg_packet_hdr.hw_protocol (be16 on the wire), e.g. 0x0800. */
  hwProtocol: number;
  /** Netfilter hook number (NF_INET_FORWARD = 2). */
  hook: number;
  /** Contents of NFQA_CT: the entry's ctnetlink attributes (a copy). */
  ct?: Buffer;
  /** NFQA_CT_INFO (enum ip_conntrack_info, be32). */
  ctInfo?: number;
  mark?: number;
  indev?: number;
  outdev?: number;
  /** NFQA_CAP_LEN: original length when the payload was truncated. */
  capLen?: number;
  /** NFQA_SKB_INFO flags. */
  skbInfo?: number;
  /** Bytes of NFQA_PAYLOAD (0 with NFQNL_COPY_META). */
  payloadLen: number;
  /** NFQA_PAYLOAD (a copy, from the IP header on), when the queue copies packets. */
  payload?: Buffer;
  /** Attributes not listed above, verbatim (type with its flag bits). */
  unknown: RawAttr[];
}

export interface QueueDecodeLimits {
  /** Attributes in one packet message. */
  maxAttrs: number;
  /** Bytes of NFQA_CT. */
  maxCtBytes: number;
  /** Bytes of NFQA_PAYLOAD. */
  maxPayloadBytes: number;
  /** Messages in one datagram. */
  maxMessages: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueDecodeLimits = { maxAttrs: 64, maxCtBytes: 4096, maxPayloadBytes: 65535, maxMessages: DEFAULT_PARSE_LIMITS.maxMessages };

function derr(code: DecodeError['code'], message: string, offset: number): { ok: false; error: DecodeError } {
  return { ok: false, error: { code, message, offset } };
}

/** be32 value of a fixed 4-byte attribute, or null when it is shorter. */
function be32(data: Buffer): number | null {
  return data.length >= 4 ? data.readUInt32BE(0) : null;
}

/**
 * Decode an NFQNL_MSG_PACKET message. `consumed` is the message payload
 * length. Errors: EBADTYPE (not a queue packet), ETRUNCATED (no nfgenmsg,
 * attribute past the end), EBADLEN (attribute length < 4), ETOOMANY,
 * EMISSING (no NFQA_PACKET_HDR), EBADVALUE (short fixed-size attribute, CT too big).
 */
export function decodePacket(
  m: NlMessage,
  limits: QueueDecodeLimits = DEFAULT_QUEUE_LIMITS,
): { ok: true; value: QueuedPacket; consumed: number } | { ok: false; error: DecodeError } {
  if (m.type !== queueMsgType(NFQNL_MSG_PACKET)) return derr('EBADTYPE', `not a queued packet: type 0x${m.type.toString(16)}`, 4);
  const p = m.payload;
  if (p.length < NFGENMSG_LEN) return derr('ETRUNCATED', 'no nfgenmsg', NLMSG_HDRLEN);
  const pkt: QueuedPacket = {
    queue: p.readUInt16BE(2),
    family: p.readUInt8(0),
    id: 0,
    hwProtocol: 0,
    hook: 0,
    payloadLen: 0,
    unknown: [],
  };
  let haveHdr = false;
  let count = 0;
  let off = NFGENMSG_LEN;
  while (off < p.length) {
    if (p.length - off < 4) return derr('ETRUNCATED', 'attribute header past the end', off);
    const len = readU16(p, off);
    const rawType = readU16(p, off + 2);
    if (len < 4) return derr('EBADLEN', `attribute length ${len} < 4`, off);
    if (off + len > p.length) return derr('ETRUNCATED', `attribute of ${len} bytes past the end`, off);
    if (++count > limits.maxAttrs) return derr('ETOOMANY', `more than ${limits.maxAttrs} attributes`, off);
    const data = p.subarray(off + 4, off + len);
    const type = rawType & NLA_TYPE_MASK;
    switch (type) {
      case NFQA.PACKET_HDR:
        // struct nfqnl_msg_packet_hdr (packed, 7 bytes): be32 packet_id, be16 hw_protocol, u8 hook
        if (data.length < 7) return derr('EBADVALUE', `NFQA_PACKET_HDR of ${data.length} bytes`, off);
        pkt.id = data.readUInt32BE(0);
        pkt.hwProtocol = data.readUInt16BE(4);
        pkt.hook = data.readUInt8(6);
        haveHdr = true;
        break;
      case NFQA.CT:
        if (data.length > limits.maxCtBytes) return derr('EBADVALUE', `NFQA_CT of ${data.length} bytes > ${limits.maxCtBytes}`, off);
        pkt.ct = Buffer.from(data);
        break;
      case NFQA.PAYLOAD:
        if (data.length > limits.maxPayloadBytes) return derr('EBADVALUE', `NFQA_PAYLOAD of ${data.length} bytes > ${limits.maxPayloadBytes}`, off);
        pkt.payloadLen = data.length;
        pkt.payload = Buffer.from(data);
        break;
      case NFQA.CT_INFO:
      case NFQA.MARK:
      case NFQA.IFINDEX_INDEV:
      case NFQA.IFINDEX_OUTDEV:
      case NFQA.CAP_LEN:
      case NFQA.SKB_INFO: {
        const v = be32(data);
        if (v === null) return derr('EBADVALUE', `attribute ${type} of ${data.length} bytes`, off);
        if (type === NFQA.CT_INFO) pkt.ctInfo = v;
        else if (type === NFQA.MARK) pkt.mark = v;
        else if (type === NFQA.IFINDEX_INDEV) pkt.indev = v;
        else if (type === NFQA.IFINDEX_OUTDEV) pkt.outdev = v;
        else if (type === NFQA.CAP_LEN) pkt.capLen = v;
        else pkt.skbInfo = v;
        break;
      }
      default:
        pkt.unknown.push({ type: rawType, data: Buffer.from(data) });
    }
    off += align4(len);
  }
  if (!haveHdr) return derr('EMISSING', 'no NFQA_PACKET_HDR', NLMSG_HDRLEN);
  return { ok: true, value: pkt, consumed: p.length };
}

export interface DecodedQueueRead {
  packets: QueuedPacket[];
  /** NLMSG_ERROR replies (ACKs of config requests, failed verdicts). */
  replies: NlErrorInfo[];
  /** Datagrams or messages that could not be used. */
  bad: number;
  firstError?: DecodeError;
}

/** Decode the datagrams of one socket wakeup of a queue socket (pure; never throws). */
export function decodeQueueRead(datagrams: Buffer[], limits: QueueDecodeLimits = DEFAULT_QUEUE_LIMITS): DecodedQueueRead {
  const out: DecodedQueueRead = { packets: [], replies: [], bad: 0 };
  for (const dg of datagrams) {
    const parsed = parseDatagram(dg, { maxMessages: limits.maxMessages });
    if (!parsed.ok) {
      out.bad++;
      out.firstError ??= parsed.error;
    }
    for (const m of parsed.messages) {
      if (m.type === NLMSG_ERROR) {
        const e = parseError(m);
        if (e.ok) out.replies.push(e.value);
        else {
          out.bad++;
          out.firstError ??= e.error;
        }
        continue;
      }
      if (m.type < NLMSG_MIN_TYPE) continue; // NOOP, DONE, OVERRUN
      const d = decodePacket(m, limits);
      if (d.ok) out.packets.push(d.value);
      else {
        out.bad++;
        out.firstError ??= d.error;
      }
    }
  }
  return out;
}

/** Wrap-safe order of packet ids, as the kernel's nfq_id_after: a after b. */
export function idAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

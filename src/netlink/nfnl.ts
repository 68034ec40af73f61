/**
 * nfnetlink / ctnetlink message level (pure): message types, event groups,
 * struct nfgenmsg, request encoding and reply classification.
 *
 * struct nfgenmsg (include/uapi/linux/netfilter/nfnetlink.h), 4 bytes:
 *   u8   nfgen_family   AF_INET / AF_INET6 / AF_UNSPEC (0 = all, for dumps and flush)
 *   u8   version        NFNETLINK_V0 = 0
 *   be16 res_id        0 here (big-endian, network order)
 * The ctnetlink attributes (big-endian values, host-order nlattr headers) follow it.
 */
import type { CtEvent, CtEventType, CtKind, CtRecord, DecodeError, Family } from './types';
import {
  align4,
  DEFAULT_PARSE_LIMITS,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLMSG_HDRLEN,
  NLMSG_MIN_TYPE,
  parseDatagram,
  readU16,
  writeHeader,
  type NlMessage,
  type NlParseLimits,
} from './nlmsg';

/** NETLINK_NETFILTER (include/uapi/linux/netlink.h). */
export const NETLINK_NETFILTER = 12;
export const NFNETLINK_V0 = 0;
export const NFGENMSG_LEN = 4;
export const AF_UNSPEC = 0;

/** Subsystem ids (include/uapi/linux/netfilter/nfnetlink.h). */
export const NFNL_SUBSYS_CTNETLINK = 1;
export const NFNL_SUBSYS_CTNETLINK_EXP = 2;

/** enum cntl_msg_types (include/uapi/linux/netfilter/nfnetlink_conntrack.h). */
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
export const IPCTNL_MSG_CT_GET_CTRZERO = 3;
export const IPCTNL_MSG_CT_GET_STATS_CPU = 4;
export const IPCTNL_MSG_CT_GET_STATS = 5;
/** enum ctnl_exp_msg_types (same header). */
export const IPCTNL_MSG_EXP_NEW = 0;
export const IPCTNL_MSG_EXP_GET = 1;
export const IPCTNL_MSG_EXP_DELETE = 2;

/** enum nfnetlink_groups (include/uapi/linux/netfilter/nfnetlink.h): group numbers, not bits. */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;
export const NFNLGRP_CONNTRACK_EXP_NEW = 4;
export const NFNLGRP_CONNTRACK_EXP_UPDATE = 5;
export const NFNLGRP_CONNTRACK_EXP_DESTROY = 6;

/** enum ctattr_stats_global (nfnetlink_conntrack.h): be32 values. */
export const CTA_STATS_GLOBAL_ENTRIES = 1;
export const CTA_STATS_GLOBAL_MAX_ENTRIES = 2;

export type CtOp = 'new' | 'get' | 'delete';

export function subsysOf(kind: CtKind): number {
  return kind === 'ct' ? NFNL_SUBSYS_CTNETLINK : NFNL_SUBSYS_CTNETLINK_EXP;
}

/** nlmsg_type = subsys << 8 | msg. */
export function msgType(kind: CtKind, op: CtOp): number {
  const msg = op === 'new' ? IPCTNL_MSG_CT_NEW : op === 'get' ? IPCTNL_MSG_CT_GET : IPCTNL_MSG_CT_DELETE;
  return (subsysOf(kind) << 8) | msg;
}

export const CT_GET_STATS_TYPE = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS;

/** Multicast groups for an event subscription. */
export function eventGroups(kinds: CtKind[], types: CtEventType[] = ['new', 'update', 'destroy']): number[] {
  const groups: number[] = [];
  for (const kind of kinds) {
    const base = kind === 'ct' ? NFNLGRP_CONNTRACK_NEW : NFNLGRP_CONNTRACK_EXP_NEW;
    if (types.includes('new')) groups.push(base);
    if (types.includes('update')) groups.push(base + 1);
    if (types.includes('destroy')) groups.push(base + 2);
  }
  return groups;
}

/** Size of a request message with `attrLen` attribute bytes, padded. */
export function requestSize(attrLen: number): number {
  return align4(NLMSG_HDRLEN + NFGENMSG_LEN + attrLen);
}

/**
 * Write one request (nlmsghdr + nfgenmsg + attrs) into `buf` at `off`;
 * returns the offset after it (padded). `buf` must be zero-filled or the
 * caller accepts garbage in padding bytes (the kernel ignores padding).
 */
export function writeRequest(
  buf: Buffer,
  off: number,
  type: number,
  flags: number,
  seq: number,
  family: number,
  attrs: Buffer | null,
  resId = 0,
): number {
  const alen = attrs ? attrs.length : 0;
  const len = NLMSG_HDRLEN + NFGENMSG_LEN + alen;
  writeHeader(buf, off, { len, type, flags, seq, pid: 0 });
  buf.writeUInt8(family, off + NLMSG_HDRLEN);
  buf.writeUInt8(NFNETLINK_V0, off + NLMSG_HDRLEN + 1);
  buf.writeUInt16BE(resId & 0xffff, off + NLMSG_HDRLEN + 2); // res_id, be16 (the queue number for nfqueue)
  if (attrs) attrs.copy(buf, off + NLMSG_HDRLEN + NFGENMSG_LEN);
  const end = off + align4(len);
  buf.fill(0, off + len, end);
  return end;
}

/** One request as its own Buffer. */
export function encodeRequest(type: number, flags: number, seq: number, family: number, attrs: Buffer | null, resId = 0): Buffer {
  const out = Buffer.allocUnsafe(requestSize(attrs ? attrs.length : 0));
  writeRequest(out, 0, type, flags, seq, family, attrs, resId);
  return out;
}

export interface NfMessage {
  kind: CtKind;
  /** IPCTNL_MSG_* number (low byte of nlmsg_type). */
  msg: number;
  family: number;
  /** View of the attributes after nfgenmsg. */
  attrs: Buffer;
}

export type NfParsed = { ok: true; value: NfMessage } | { ok: false; error: DecodeError };

/** Classify a ctnetlink message (dump reply or event). */
export function parseNfMessage(m: NlMessage): NfParsed {
  const subsys = m.type >> 8;
  if (subsys !== NFNL_SUBSYS_CTNETLINK && subsys !== NFNL_SUBSYS_CTNETLINK_EXP) {
    return { ok: false, error: { code: 'EBADTYPE', message: `not ctnetlink: type 0x${m.type.toString(16)}`, offset: 4 } };
  }
  if (m.payload.length < NFGENMSG_LEN) {
    return { ok: false, error: { code: 'ETRUNCATED', message: 'no nfgenmsg', offset: NLMSG_HDRLEN } };
  }
  return {
    ok: true,
    value: {
      kind: subsys === NFNL_SUBSYS_CTNETLINK ? 'ct' : 'expect',
      msg: m.type & 0xff,
      family: m.payload.readUInt8(0),
      attrs: m.payload.subarray(NFGENMSG_LEN),
    },
  };
}

/** Event type of a ctnetlink event: NEW with CREATE|EXCL = new, NEW otherwise = update, DELETE = destroy. */
export function eventTypeOf(msg: number, flags: number): CtEventType | null {
  if (msg === IPCTNL_MSG_CT_NEW) {
    return (flags & (NLM_F_CREATE | NLM_F_EXCL)) === (NLM_F_CREATE | NLM_F_EXCL) ? 'new' : 'update';
  }
  if (msg === IPCTNL_MSG_CT_DELETE) return 'destroy';
  return null;
}

export function isFamily(n: number): n is Family {
  return n === 2 || n === 10;
}

/** A record from a ctnetlink message; `copy` detaches it from the receive buffer. */
export function toRecord(m: NfMessage, copy: boolean): CtRecord | null {
  if (!isFamily(m.family)) return null;
  return { kind: m.kind, family: m.family, attrs: copy ? Buffer.from(m.attrs) : m.attrs };
}

/** CTA_STATS_GLOBAL_ENTRIES from an IPCTNL_MSG_CT_GET_STATS reply, or null. */
export function statsEntries(attrs: Buffer): number | null {
  let off = 0;
  while (off + 4 <= attrs.length) {
    const len = readU16(attrs, off);
    const type = readU16(attrs, off + 2) & 0x3fff;
    if (len < 4 || off + len > attrs.length) return null;
    if (type === CTA_STATS_GLOBAL_ENTRIES && len >= 8) return attrs.readUInt32BE(off + 4);
    off += align4(len);
  }
  return null;
}

export interface DecodedEvents {
  /** Events in kernel order; records are copies. */
  events: CtEvent[];
  /** Datagrams or messages that could not be used (malformed, not ctnetlink, bad family). */
  bad: number;
  firstError?: DecodeError;
}

/** Decode the ctnetlink events of one socket wakeup (pure; never throws). */
export function decodeEvents(datagrams: Buffer[], limits: NlParseLimits = DEFAULT_PARSE_LIMITS): DecodedEvents {
  const out: DecodedEvents = { events: [], bad: 0 };
  for (const dg of datagrams) {
    const parsed = parseDatagram(dg, limits);
    if (!parsed.ok) {
      out.bad++;
      out.firstError ??= parsed.error;
    }
    for (const m of parsed.messages) {
      if (m.type < NLMSG_MIN_TYPE) continue; // control messages (NOOP, ERROR, DONE)
      const nf = parseNfMessage(m);
      const type = nf.ok ? eventTypeOf(nf.value.msg, m.flags) : null;
      const record = nf.ok ? toRecord(nf.value, true) : null;
      if (type === null || record === null) {
        out.bad++;
        if (!nf.ok) out.firstError ??= nf.error;
        continue;
      }
      out.events.push({ type, record });
    }
  }
  return out;
}

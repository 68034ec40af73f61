/**
 * Shared conntrack data model.
 *
 * Two representations travel through ctsync:
 *  - CtRecord: the entry as ctnetlink attributes (the payload after struct
 *    nfgenmsg), big-endian and verbatim, unknown attributes included. This is
 *    what the caches store, what the sync protocol carries and what the kernel
 *    table writes back. It is cheap: no decode on the hot path.
 *  - Conntrack / Expectation: the decoded view, for filters, the CLI, tests.
 *
 * Source of attribute numbers: include/uapi/linux/netfilter/nfnetlink_conntrack.h
 */

/** AF_INET = 2, AF_INET6 = 10 (include/linux/socket.h). */
export type Family = 2 | 10;
export const AF_INET = 2 as const;
export const AF_INET6 = 10 as const;

/** An attribute this codec does not know, kept verbatim so it can be written back unchanged. */
export interface RawAttr {
  /** nla_type as read, including the NLA_F_NESTED / NLA_F_NET_BYTEORDER flag bits. */
  type: number;
  data: Buffer;
}

export type CtKind = 'ct' | 'expect';

/** One entry in its wire form: family + ctnetlink attributes. */
export interface CtRecord {
  kind: CtKind;
  family: Family;
  /** Concatenated netlink attributes (each 4-byte aligned), as after struct nfgenmsg. */
  attrs: Buffer;
}

export type CtEventType = 'new' | 'update' | 'destroy';

export interface CtEvent {
  type: CtEventType;
  record: CtRecord;
}

export interface Tuple {
  /** Textual address: dotted quad for IPv4, RFC 5952 form for IPv6. */
  src: string;
  dst: string;
  /** IPPROTO_* number. */
  proto: number;
  sport?: number;
  dport?: number;
  icmpId?: number;
  icmpType?: number;
  icmpCode?: number;
  /** CTA_TUPLE_ZONE (directional zone), when present. */
  zone?: number;
  /** Unknown attributes at tuple, CTA_TUPLE_IP and CTA_TUPLE_PROTO level. */
  unknown?: RawAttr[];
  ipUnknown?: RawAttr[];
  protoUnknown?: RawAttr[];
}

export interface TcpInfo {
  state: number;
  wscaleOrig?: number;
  wscaleReply?: number;
  flagsOrig?: { flags: number; mask: number };
  flagsReply?: { flags: number; mask: number };
  unknown?: RawAttr[];
}

export interface SctpInfo {
  state: number;
  vtagOrig?: number;
  vtagReply?: number;
  unknown?: RawAttr[];
}

export interface DccpInfo {
  state: number;
  role?: number;
  handshakeSeq?: bigint;
  unknown?: RawAttr[];
}

export interface ProtoInfo {
  tcp?: TcpInfo;
  sctp?: SctpInfo;
  dccp?: DccpInfo;
  unknown?: RawAttr[];
}

export interface SeqAdj {
  correctionPos: number;
  offsetBefore: number;
  offsetAfter: number;
  unknown?: RawAttr[];
}

export interface Counters {
  packets: bigint;
  bytes: bigint;
  unknown?: RawAttr[];
}

/** CTA_SYNPROXY: SYN proxy sequence/timestamp state (all u32). */
export interface SynProxy {
  isn: number;
  its: number;
  tsoff: number;
  unknown?: RawAttr[];
}

export interface Conntrack {
  family: Family;
  orig: Tuple;
  reply: Tuple;
  master?: Tuple;
  status?: number;
  /** Seconds. */
  timeout?: number;
  mark?: number;
  secmark?: number;
  zone?: number;
  use?: number;
  id?: number;
  labels?: Buffer;
  labelsMask?: Buffer;
  protoinfo?: ProtoInfo;
  seqAdjOrig?: SeqAdj;
  seqAdjReply?: SeqAdj;
  helper?: { name: string; info?: Buffer; unknown?: RawAttr[] };
  countersOrig?: Counters;
  countersReply?: Counters;
  /** Nanoseconds since boot. */
  timestamp?: { start: bigint; stop?: bigint; unknown?: RawAttr[] };
  /** CTA_NAT_SRC / CTA_NAT_DST, used on create to set up the NAT binding. */
  natSrc?: NatRange;
  natDst?: NatRange;
  /** CTA_SECCTX: security context name (read-only in the kernel). */
  secctx?: { name?: string; unknown?: RawAttr[] };
  synproxy?: SynProxy;
  /** CTA_MARK_MASK / CTA_STATUS_MASK (filters on dump/delete requests). */
  markMask?: number;
  statusMask?: number;
  unknown?: RawAttr[];
}

export interface NatRange {
  minIp?: string;
  maxIp?: string;
  minPort?: number;
  maxPort?: number;
  /** Unknown attributes at CTA_NAT_* level and at CTA_NAT_PROTO level. */
  unknown?: RawAttr[];
  protoUnknown?: RawAttr[];
}

export interface Expectation {
  family: Family;
  master: Tuple;
  tuple: Tuple;
  mask: Tuple;
  timeout?: number;
  id?: number;
  helper?: string;
  zone?: number;
  flags?: number;
  class?: number;
  fn?: string;
  nat?: { dir: number; tuple: Tuple; unknown?: RawAttr[] };
  unknown?: RawAttr[];
}

/** A typed decode failure. Decoders return these, they never throw on bad input. */
export interface DecodeError {
  code:
    | 'ETRUNCATED'
    | 'EBADLEN'
    | 'EBADATTR'
    | 'EMISSING'
    | 'ETOODEEP'
    | 'ETOOMANY'
    | 'EBADVALUE'
    | 'EBADFAMILY'
    | 'EBADTYPE';
  message: string;
  /** Byte offset where the problem was found. */
  offset: number;
}

/** Limits every ctnetlink decoder takes (see src/netlink/ct/attr.ts for defaults). */
export interface DecodeLimits {
  /** Maximum nesting depth of attributes (top level = 1). */
  maxDepth: number;
  /** Maximum number of attributes in one entry, all levels counted. */
  maxAttrs: number;
  /** Maximum size in bytes of the attribute area. */
  maxLength: number;
}

export type Decoded<T> = { ok: true; value: T; consumed: number } | { ok: false; error: DecodeError };

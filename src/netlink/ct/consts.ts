/**
 * ctnetlink wire constants.
 *
 * Attribute numbers: include/uapi/linux/netfilter/nfnetlink_conntrack.h
 * Status bits:       include/uapi/linux/netfilter/nf_conntrack_common.h
 * TCP flags:         include/uapi/linux/netfilter/nf_conntrack_tcp.h
 * Byte order: every integer inside a ctnetlink attribute is big-endian
 * (network order); only the nlattr header itself is host order.
 */

/** enum ctattr_type (top level of a conntrack entry). */
export const CTA = {
  TUPLE_ORIG: 1,
  TUPLE_REPLY: 2,
  STATUS: 3,
  PROTOINFO: 4,
  HELP: 5,
  NAT_SRC: 6,
  TIMEOUT: 7,
  MARK: 8,
  COUNTERS_ORIG: 9,
  COUNTERS_REPLY: 10,
  USE: 11,
  ID: 12,
  NAT_DST: 13,
  TUPLE_MASTER: 14,
  SEQ_ADJ_ORIG: 15,
  SEQ_ADJ_REPLY: 16,
  SECMARK: 17,
  ZONE: 18,
  SECCTX: 19,
  TIMESTAMP: 20,
  MARK_MASK: 21,
  LABELS: 22,
  LABELS_MASK: 23,
  SYNPROXY: 24,
  FILTER: 25,
  STATUS_MASK: 26,
} as const;
/** Highest top-level type this codec knows (CTA_MAX of the header we follow). */
export const CTA_MAX_KNOWN = 26;

/** enum ctattr_tuple. */
export const CTA_TUPLE = { IP: 1, PROTO: 2, ZONE: 3 } as const;
/** enum ctattr_ip. */
export const CTA_IP = { V4_SRC: 1, V4_DST: 2, V6_SRC: 3, V6_DST: 4 } as const;
/** enum ctattr_l4proto. */
export const CTA_PROTO = {
  NUM: 1,
  SRC_PORT: 2,
  DST_PORT: 3,
  ICMP_ID: 4,
  ICMP_TYPE: 5,
  ICMP_CODE: 6,
  ICMPV6_ID: 7,
  ICMPV6_TYPE: 8,
  ICMPV6_CODE: 9,
} as const;
/** enum ctattr_protoinfo. */
export const CTA_PROTOINFO = { TCP: 1, DCCP: 2, SCTP: 3 } as const;
/** enum ctattr_protoinfo_tcp. */
export const CTA_PROTOINFO_TCP = { STATE: 1, WSCALE_ORIGINAL: 2, WSCALE_REPLY: 3, FLAGS_ORIGINAL: 4, FLAGS_REPLY: 5 } as const;
/** enum ctattr_protoinfo_dccp. */
export const CTA_PROTOINFO_DCCP = { STATE: 1, ROLE: 2, HANDSHAKE_SEQ: 3, PAD: 4 } as const;
/** enum ctattr_protoinfo_sctp. */
export const CTA_PROTOINFO_SCTP = { STATE: 1, VTAG_ORIGINAL: 2, VTAG_REPLY: 3 } as const;
/** enum ctattr_counters. */
export const CTA_COUNTERS = { PACKETS: 1, BYTES: 2, PACKETS32: 3, BYTES32: 4, PAD: 5 } as const;
/** enum ctattr_tstamp. */
export const CTA_TIMESTAMP = { START: 1, STOP: 2, PAD: 3 } as const;
/** enum ctattr_nat. */
export const CTA_NAT = { V4_MINIP: 1, V4_MAXIP: 2, PROTO: 3, V6_MINIP: 4, V6_MAXIP: 5 } as const;
/** enum ctattr_protonat. */
export const CTA_PROTONAT = { PORT_MIN: 1, PORT_MAX: 2 } as const;
/** enum ctattr_seqadj. */
export const CTA_SEQADJ = { CORRECTION_POS: 1, OFFSET_BEFORE: 2, OFFSET_AFTER: 3 } as const;
/** enum ctattr_synproxy. */
export const CTA_SYNPROXY = { ISN: 1, ITS: 2, TSOFF: 3 } as const;
/** enum ctattr_help. */
export const CTA_HELP = { NAME: 1, INFO: 2 } as const;
/** enum ctattr_secctx. */
export const CTA_SECCTX = { NAME: 1 } as const;

/** enum ctattr_expect (top level of an expectation). */
export const CTA_EXPECT = {
  MASTER: 1,
  TUPLE: 2,
  MASK: 3,
  TIMEOUT: 4,
  ID: 5,
  HELP_NAME: 6,
  ZONE: 7,
  FLAGS: 8,
  CLASS: 9,
  NAT: 10,
  FN: 11,
} as const;
export const CTA_EXPECT_MAX_KNOWN = 11;
/** enum ctattr_expect_nat. */
export const CTA_EXPECT_NAT = { DIR: 1, TUPLE: 2 } as const;

/** enum ip_conntrack_status bits (nf_conntrack_common.h). */
export const IPS = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SEQ_ADJUST: 1 << 6,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
  FIXED_TIMEOUT: 1 << 10,
  TEMPLATE: 1 << 11,
  UNTRACKED: 1 << 12,
  HELPER: 1 << 13,
  OFFLOAD: 1 << 14,
  HW_OFFLOAD: 1 << 15,
} as const;
/** IPS_NAT_MASK. */
export const IPS_NAT_MASK = IPS.SRC_NAT | IPS.DST_NAT;
/** IPS_UNCHANGEABLE_MASK: bits ctnetlink ignores (or refuses) when userspace sets status. */
export const IPS_UNCHANGEABLE_MASK =
  IPS.SRC_NAT_DONE |
  IPS.DST_NAT_DONE |
  IPS_NAT_MASK |
  IPS.EXPECTED |
  IPS.CONFIRMED |
  IPS.DYING |
  IPS.SEQ_ADJUST |
  IPS.TEMPLATE |
  IPS.UNTRACKED |
  IPS.OFFLOAD |
  IPS.HW_OFFLOAD;

/** IP_CT_TCP_FLAG_* (struct nf_ct_tcp_flags {u8 flags; u8 mask}). */
export const TCP_FLAG = {
  WINDOW_SCALE: 0x01,
  SACK_PERM: 0x02,
  CLOSE_INIT: 0x04,
  BE_LIBERAL: 0x08,
  DATA_UNACKNOWLEDGED: 0x10,
  MAXACK_SET: 0x20,
} as const;

/** IPPROTO_* numbers (include/uapi/linux/in.h, in6.h). */
export const IPPROTO = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  DCCP: 33,
  GRE: 47,
  ICMPV6: 58,
  SCTP: 132,
  UDPLITE: 136,
} as const;

/** NF_CT_EXPECT_* flags (nf_conntrack_common.h). */
export const NF_CT_EXPECT = { PERMANENT: 0x1, INACTIVE: 0x2, USERSPACE: 0x4 } as const;

/**
 * The ctnetlink schemas: one declarative table per nesting level.
 * Numbers: include/uapi/linux/netfilter/nfnetlink_conntrack.h (consts.ts).
 * Order of the entries = order in which encode writes them; it follows the
 * order the kernel dumps them in (net/netfilter/nf_conntrack_netlink.c), so
 * that re-encoding a kernel entry gives back the same bytes.
 */
import {
  CTA,
  CTA_COUNTERS,
  CTA_EXPECT,
  CTA_EXPECT_NAT,
  CTA_HELP,
  CTA_IP,
  CTA_NAT,
  CTA_PROTO,
  CTA_PROTOINFO,
  CTA_PROTOINFO_DCCP,
  CTA_PROTOINFO_SCTP,
  CTA_PROTOINFO_TCP,
  CTA_PROTONAT,
  CTA_SECCTX,
  CTA_SEQADJ,
  CTA_SYNPROXY,
  CTA_TIMESTAMP,
  CTA_TUPLE,
  IPPROTO,
} from './consts';
import { defineSchema, type Obj } from './schema';

const isV6 = (v: unknown): boolean => String(v).includes(':');
const isV4 = (v: unknown): boolean => !isV6(v);
const icmpV6 = (_v: unknown, o: Obj): boolean => o.proto === IPPROTO.ICMPV6;
const notIcmpV6 = (_v: unknown, o: Obj): boolean => o.proto !== IPPROTO.ICMPV6;

/** CTA_TUPLE_IP: addresses in network order. */
export const TUPLE_IP = defineSchema('CTA_TUPLE_IP', 'ipUnknown', [
  { type: CTA_IP.V4_SRC, name: 'CTA_IP_V4_SRC', kind: 'ipv4', field: 'src', when: isV4 },
  { type: CTA_IP.V4_DST, name: 'CTA_IP_V4_DST', kind: 'ipv4', field: 'dst', when: isV4 },
  { type: CTA_IP.V6_SRC, name: 'CTA_IP_V6_SRC', kind: 'ipv6', field: 'src', when: isV6 },
  { type: CTA_IP.V6_DST, name: 'CTA_IP_V6_DST', kind: 'ipv6', field: 'dst', when: isV6 },
]);

/** CTA_TUPLE_PROTO: u8 protocol; be16 ports (also GRE keys); be16 ICMP id, u8 type/code. */
export const TUPLE_PROTO = defineSchema('CTA_TUPLE_PROTO', 'protoUnknown', [
  { type: CTA_PROTO.NUM, name: 'CTA_PROTO_NUM', kind: 'u8', field: 'proto' },
  { type: CTA_PROTO.SRC_PORT, name: 'CTA_PROTO_SRC_PORT', kind: 'be16', field: 'sport' },
  { type: CTA_PROTO.DST_PORT, name: 'CTA_PROTO_DST_PORT', kind: 'be16', field: 'dport' },
  { type: CTA_PROTO.ICMP_ID, name: 'CTA_PROTO_ICMP_ID', kind: 'be16', field: 'icmpId', when: notIcmpV6 },
  { type: CTA_PROTO.ICMP_TYPE, name: 'CTA_PROTO_ICMP_TYPE', kind: 'u8', field: 'icmpType', when: notIcmpV6 },
  { type: CTA_PROTO.ICMP_CODE, name: 'CTA_PROTO_ICMP_CODE', kind: 'u8', field: 'icmpCode', when: notIcmpV6 },
  { type: CTA_PROTO.ICMPV6_ID, name: 'CTA_PROTO_ICMPV6_ID', kind: 'be16', field: 'icmpId', when: icmpV6 },
  { type: CTA_PROTO.ICMPV6_TYPE, name: 'CTA_PROTO_ICMPV6_TYPE', kind: 'u8', field: 'icmpType', when: icmpV6 },
  { type: CTA_PROTO.ICMPV6_CODE, name: 'CTA_PROTO_ICMPV6_CODE', kind: 'u8', field: 'icmpCode', when: icmpV6 },
]);

/** CTA_TUPLE_ORIG / REPLY / MASTER, CTA_EXPECT_TUPLE / MASK / MASTER. Zone: be16. */
export const TUPLE = defineSchema(
  'tuple',
  'unknown',
  [
    { type: CTA_TUPLE.IP, name: 'CTA_TUPLE_IP', kind: 'flat', field: '', schema: TUPLE_IP },
    { type: CTA_TUPLE.PROTO, name: 'CTA_TUPLE_PROTO', kind: 'flat', field: '', schema: TUPLE_PROTO },
    { type: CTA_TUPLE.ZONE, name: 'CTA_TUPLE_ZONE', kind: 'be16', field: 'zone' },
  ],
  ['src', 'dst', 'proto'],
);

/** CTA_PROTOINFO_TCP: u8 state, u8 wscales, struct nf_ct_tcp_flags. */
export const PROTOINFO_TCP = defineSchema(
  'CTA_PROTOINFO_TCP',
  'unknown',
  [
    { type: CTA_PROTOINFO_TCP.STATE, name: 'CTA_PROTOINFO_TCP_STATE', kind: 'u8', field: 'state' },
    { type: CTA_PROTOINFO_TCP.WSCALE_ORIGINAL, name: 'CTA_PROTOINFO_TCP_WSCALE_ORIGINAL', kind: 'u8', field: 'wscaleOrig' },
    { type: CTA_PROTOINFO_TCP.WSCALE_REPLY, name: 'CTA_PROTOINFO_TCP_WSCALE_REPLY', kind: 'u8', field: 'wscaleReply' },
    { type: CTA_PROTOINFO_TCP.FLAGS_ORIGINAL, name: 'CTA_PROTOINFO_TCP_FLAGS_ORIGINAL', kind: 'tcpflags', field: 'flagsOrig' },
    { type: CTA_PROTOINFO_TCP.FLAGS_REPLY, name: 'CTA_PROTOINFO_TCP_FLAGS_REPLY', kind: 'tcpflags', field: 'flagsReply' },
  ],
  ['state'],
);

/** CTA_PROTOINFO_DCCP: u8 state, u8 role, be64 handshake seq. */
export const PROTOINFO_DCCP = defineSchema(
  'CTA_PROTOINFO_DCCP',
  'unknown',
  [
    { type: CTA_PROTOINFO_DCCP.STATE, name: 'CTA_PROTOINFO_DCCP_STATE', kind: 'u8', field: 'state' },
    { type: CTA_PROTOINFO_DCCP.ROLE, name: 'CTA_PROTOINFO_DCCP_ROLE', kind: 'u8', field: 'role' },
    { type: CTA_PROTOINFO_DCCP.HANDSHAKE_SEQ, name: 'CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ', kind: 'be64', field: 'handshakeSeq' },
    { type: CTA_PROTOINFO_DCCP.PAD, name: 'CTA_PROTOINFO_DCCP_PAD', kind: 'pad', field: '' },
  ],
  ['state'],
);

/** CTA_PROTOINFO_SCTP: u8 state, be32 verification tags. */
export const PROTOINFO_SCTP = defineSchema(
  'CTA_PROTOINFO_SCTP',
  'unknown',
  [
    { type: CTA_PROTOINFO_SCTP.STATE, name: 'CTA_PROTOINFO_SCTP_STATE', kind: 'u8', field: 'state' },
    { type: CTA_PROTOINFO_SCTP.VTAG_ORIGINAL, name: 'CTA_PROTOINFO_SCTP_VTAG_ORIGINAL', kind: 'be32', field: 'vtagOrig' },
    { type: CTA_PROTOINFO_SCTP.VTAG_REPLY, name: 'CTA_PROTOINFO_SCTP_VTAG_REPLY', kind: 'be32', field: 'vtagReply' },
  ],
  ['state'],
);

export const PROTOINFO = defineSchema('CTA_PROTOINFO', 'unknown', [
  { type: CTA_PROTOINFO.TCP, name: 'CTA_PROTOINFO_TCP', kind: 'nested', field: 'tcp', schema: PROTOINFO_TCP },
  { type: CTA_PROTOINFO.DCCP, name: 'CTA_PROTOINFO_DCCP', kind: 'nested', field: 'dccp', schema: PROTOINFO_DCCP },
  { type: CTA_PROTOINFO.SCTP, name: 'CTA_PROTOINFO_SCTP', kind: 'nested', field: 'sctp', schema: PROTOINFO_SCTP },
]);

/** CTA_HELP: NUL-terminated helper name, opaque helper info. */
export const HELP = defineSchema(
  'CTA_HELP',
  'unknown',
  [
    { type: CTA_HELP.NAME, name: 'CTA_HELP_NAME', kind: 'string', field: 'name' },
    { type: CTA_HELP.INFO, name: 'CTA_HELP_INFO', kind: 'binary', field: 'info' },
  ],
  ['name'],
);

/** CTA_SEQ_ADJ_ORIG / REPLY: three be32. */
export const SEQADJ = defineSchema(
  'CTA_SEQ_ADJ',
  'unknown',
  [
    { type: CTA_SEQADJ.CORRECTION_POS, name: 'CTA_SEQADJ_CORRECTION_POS', kind: 'be32', field: 'correctionPos' },
    { type: CTA_SEQADJ.OFFSET_BEFORE, name: 'CTA_SEQADJ_OFFSET_BEFORE', kind: 'be32', field: 'offsetBefore' },
    { type: CTA_SEQADJ.OFFSET_AFTER, name: 'CTA_SEQADJ_OFFSET_AFTER', kind: 'be32', field: 'offsetAfter' },
  ],
  ['correctionPos', 'offsetBefore', 'offsetAfter'],
);

/** CTA_COUNTERS_ORIG / REPLY: be64 packets/bytes (or the old be32 variants, read as bigint). */
export const COUNTERS = defineSchema(
  'CTA_COUNTERS',
  'unknown',
  [
    { type: CTA_COUNTERS.PACKETS, name: 'CTA_COUNTERS_PACKETS', kind: 'be64', field: 'packets' },
    { type: CTA_COUNTERS.BYTES, name: 'CTA_COUNTERS_BYTES', kind: 'be64', field: 'bytes' },
    { type: CTA_COUNTERS.PACKETS32, name: 'CTA_COUNTERS32_PACKETS', kind: 'be32big', field: 'packets' },
    { type: CTA_COUNTERS.BYTES32, name: 'CTA_COUNTERS32_BYTES', kind: 'be32big', field: 'bytes' },
    { type: CTA_COUNTERS.PAD, name: 'CTA_COUNTERS_PAD', kind: 'pad', field: '' },
  ],
  ['packets', 'bytes'],
);

/** CTA_TIMESTAMP: be64 nanoseconds. */
export const TIMESTAMP = defineSchema(
  'CTA_TIMESTAMP',
  'unknown',
  [
    { type: CTA_TIMESTAMP.START, name: 'CTA_TIMESTAMP_START', kind: 'be64', field: 'start' },
    { type: CTA_TIMESTAMP.STOP, name: 'CTA_TIMESTAMP_STOP', kind: 'be64', field: 'stop' },
    { type: CTA_TIMESTAMP.PAD, name: 'CTA_TIMESTAMP_PAD', kind: 'pad', field: '' },
  ],
  ['start'],
);

/** CTA_NAT_PROTO: be16 min/max port (or ICMP id, GRE key). */
export const NAT_PROTO = defineSchema('CTA_NAT_PROTO', 'protoUnknown', [
  { type: CTA_PROTONAT.PORT_MIN, name: 'CTA_PROTONAT_PORT_MIN', kind: 'be16', field: 'minPort' },
  { type: CTA_PROTONAT.PORT_MAX, name: 'CTA_PROTONAT_PORT_MAX', kind: 'be16', field: 'maxPort' },
]);

/** CTA_NAT_SRC / CTA_NAT_DST. */
export const NAT = defineSchema('CTA_NAT', 'unknown', [
  { type: CTA_NAT.V4_MINIP, name: 'CTA_NAT_V4_MINIP', kind: 'ipv4', field: 'minIp', when: isV4 },
  { type: CTA_NAT.V4_MAXIP, name: 'CTA_NAT_V4_MAXIP', kind: 'ipv4', field: 'maxIp', when: isV4 },
  { type: CTA_NAT.V6_MINIP, name: 'CTA_NAT_V6_MINIP', kind: 'ipv6', field: 'minIp', when: isV6 },
  { type: CTA_NAT.V6_MAXIP, name: 'CTA_NAT_V6_MAXIP', kind: 'ipv6', field: 'maxIp', when: isV6 },
  { type: CTA_NAT.PROTO, name: 'CTA_NAT_PROTO', kind: 'flat', field: '', schema: NAT_PROTO },
]);

export const SECCTX = defineSchema('CTA_SECCTX', 'unknown', [
  { type: CTA_SECCTX.NAME, name: 'CTA_SECCTX_NAME', kind: 'string', field: 'name' },
]);

/** CTA_SYNPROXY: three be32. */
export const SYNPROXY = defineSchema(
  'CTA_SYNPROXY',
  'unknown',
  [
    { type: CTA_SYNPROXY.ISN, name: 'CTA_SYNPROXY_ISN', kind: 'be32', field: 'isn' },
    { type: CTA_SYNPROXY.ITS, name: 'CTA_SYNPROXY_ITS', kind: 'be32', field: 'its' },
    { type: CTA_SYNPROXY.TSOFF, name: 'CTA_SYNPROXY_TSOFF', kind: 'be32', field: 'tsoff' },
  ],
  ['isn', 'its', 'tsoff'],
);

/** Top level of a conntrack entry. status/timeout/mark/id/use/secmark: be32; zone: be16. */
export const CONNTRACK = defineSchema(
  'conntrack',
  'unknown',
  [
    { type: CTA.TUPLE_ORIG, name: 'CTA_TUPLE_ORIG', kind: 'nested', field: 'orig', schema: TUPLE },
    { type: CTA.TUPLE_REPLY, name: 'CTA_TUPLE_REPLY', kind: 'nested', field: 'reply', schema: TUPLE },
    { type: CTA.ZONE, name: 'CTA_ZONE', kind: 'be16', field: 'zone' },
    { type: CTA.STATUS, name: 'CTA_STATUS', kind: 'be32', field: 'status' },
    { type: CTA.MARK, name: 'CTA_MARK', kind: 'be32', field: 'mark' },
    { type: CTA.ID, name: 'CTA_ID', kind: 'be32', field: 'id' },
    { type: CTA.USE, name: 'CTA_USE', kind: 'be32', field: 'use' },
    { type: CTA.TIMEOUT, name: 'CTA_TIMEOUT', kind: 'be32', field: 'timeout' },
    { type: CTA.PROTOINFO, name: 'CTA_PROTOINFO', kind: 'nested', field: 'protoinfo', schema: PROTOINFO },
    { type: CTA.COUNTERS_ORIG, name: 'CTA_COUNTERS_ORIG', kind: 'nested', field: 'countersOrig', schema: COUNTERS },
    { type: CTA.COUNTERS_REPLY, name: 'CTA_COUNTERS_REPLY', kind: 'nested', field: 'countersReply', schema: COUNTERS },
    { type: CTA.TIMESTAMP, name: 'CTA_TIMESTAMP', kind: 'nested', field: 'timestamp', schema: TIMESTAMP },
    { type: CTA.HELP, name: 'CTA_HELP', kind: 'nested', field: 'helper', schema: HELP },
    { type: CTA.SECCTX, name: 'CTA_SECCTX', kind: 'nested', field: 'secctx', schema: SECCTX },
    { type: CTA.SECMARK, name: 'CTA_SECMARK', kind: 'be32', field: 'secmark' },
    { type: CTA.LABELS, name: 'CTA_LABELS', kind: 'binary', field: 'labels' },
    { type: CTA.LABELS_MASK, name: 'CTA_LABELS_MASK', kind: 'binary', field: 'labelsMask' },
    { type: CTA.TUPLE_MASTER, name: 'CTA_TUPLE_MASTER', kind: 'nested', field: 'master', schema: TUPLE },
    { type: CTA.SEQ_ADJ_ORIG, name: 'CTA_SEQ_ADJ_ORIG', kind: 'nested', field: 'seqAdjOrig', schema: SEQADJ },
    { type: CTA.SEQ_ADJ_REPLY, name: 'CTA_SEQ_ADJ_REPLY', kind: 'nested', field: 'seqAdjReply', schema: SEQADJ },
    { type: CTA.SYNPROXY, name: 'CTA_SYNPROXY', kind: 'nested', field: 'synproxy', schema: SYNPROXY },
    { type: CTA.NAT_SRC, name: 'CTA_NAT_SRC', kind: 'nested', field: 'natSrc', schema: NAT },
    { type: CTA.NAT_DST, name: 'CTA_NAT_DST', kind: 'nested', field: 'natDst', schema: NAT },
    { type: CTA.MARK_MASK, name: 'CTA_MARK_MASK', kind: 'be32', field: 'markMask' },
    { type: CTA.STATUS_MASK, name: 'CTA_STATUS_MASK', kind: 'be32', field: 'statusMask' },
  ],
  ['orig', 'reply'],
);

/** CTA_EXPECT_NAT: be32 direction, NAT tuple. */
export const EXPECT_NAT = defineSchema(
  'CTA_EXPECT_NAT',
  'unknown',
  [
    { type: CTA_EXPECT_NAT.DIR, name: 'CTA_EXPECT_NAT_DIR', kind: 'be32', field: 'dir' },
    { type: CTA_EXPECT_NAT.TUPLE, name: 'CTA_EXPECT_NAT_TUPLE', kind: 'nested', field: 'tuple', schema: TUPLE },
  ],
  ['dir', 'tuple'],
);

/** Top level of an expectation. timeout/id/flags/class: be32; zone: be16. */
export const EXPECTATION = defineSchema(
  'expectation',
  'unknown',
  [
    { type: CTA_EXPECT.TUPLE, name: 'CTA_EXPECT_TUPLE', kind: 'nested', field: 'tuple', schema: TUPLE },
    { type: CTA_EXPECT.MASK, name: 'CTA_EXPECT_MASK', kind: 'nested', field: 'mask', schema: TUPLE },
    { type: CTA_EXPECT.MASTER, name: 'CTA_EXPECT_MASTER', kind: 'nested', field: 'master', schema: TUPLE },
    { type: CTA_EXPECT.NAT, name: 'CTA_EXPECT_NAT', kind: 'nested', field: 'nat', schema: EXPECT_NAT },
    { type: CTA_EXPECT.TIMEOUT, name: 'CTA_EXPECT_TIMEOUT', kind: 'be32', field: 'timeout' },
    { type: CTA_EXPECT.ID, name: 'CTA_EXPECT_ID', kind: 'be32', field: 'id' },
    { type: CTA_EXPECT.FLAGS, name: 'CTA_EXPECT_FLAGS', kind: 'be32', field: 'flags' },
    { type: CTA_EXPECT.CLASS, name: 'CTA_EXPECT_CLASS', kind: 'be32', field: 'class' },
    { type: CTA_EXPECT.HELP_NAME, name: 'CTA_EXPECT_HELP_NAME', kind: 'string', field: 'helper' },
    { type: CTA_EXPECT.ZONE, name: 'CTA_EXPECT_ZONE', kind: 'be16', field: 'zone' },
    { type: CTA_EXPECT.FN, name: 'CTA_EXPECT_FN', kind: 'string', field: 'fn' },
  ],
  ['master', 'tuple', 'mask'],
);

/**
 * Cache dump output, byte for byte as conntrackd 1.4.7 prints it (`-i`, `-e`,
 * `-x`): conntrackd formats with libnetfilter_conntrack's default and XML
 * printers, with the timeout removed, no layer-3 column, no id in text, and a
 * " [active since Ns]" suffix on text lines. Golden files captured from the
 * real daemon are in test/fixtures/control/.
 *
 * A tuple whose src is '' counts as absent (conntrackd's external cache has
 * no reply tuple): text prints nothing for it, XML prints protonum 0 "unknown".
 */
import type { Conntrack, Counters, Expectation, Family, Tuple } from '../netlink/types';

/** include/uapi/linux/netfilter/nf_conntrack_common.h: IPS_SEEN_REPLY_BIT 1, ASSURED 2, OFFLOAD 14, HW_OFFLOAD 15. */
const IPS_SEEN_REPLY = 1 << 1;
const IPS_ASSURED = 1 << 2;
const IPS_OFFLOAD = 1 << 14;
const IPS_HW_OFFLOAD = 1 << 15;

/** enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h), names as libnetfilter_conntrack prints them. */
const TCP_STATES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];
/** enum sctp_conntrack (nf_conntrack_sctp.h). */
const SCTP_STATES = [
  'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECD',
  'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED',
];
/** enum ct_dccp_states (nf_conntrack_dccp.h). */
const DCCP_STATES = ['NONE', 'REQUEST', 'RESPOND', 'PARTOPEN', 'OPEN', 'CLOSEREQ', 'CLOSING', 'TIMEWAIT', 'IGNORE', 'INVALID'];

/** IPPROTO_* names (include/uapi/linux/in.h, in6.h). */
const PROTO_NAMES: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 41: 'ipv6', 47: 'gre', 58: 'icmpv6', 132: 'sctp', 136: 'udplite',
};
const L3_NAMES: Record<number, string> = { 2: 'ipv4', 10: 'ipv6' };

export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? 'unknown';
}

function stateName(table: readonly string[], s: number): string {
  return table[s] ?? table[0] ?? 'NONE';
}

function present(t: Tuple | undefined): t is Tuple {
  return t !== undefined && t.src !== '';
}

const PORTED = new Set([6, 17, 33, 132, 136]);

function tupleText(t: Tuple): string {
  let s = `src=${t.src} dst=${t.dst} `;
  if (PORTED.has(t.proto)) s += `sport=${t.sport ?? 0} dport=${t.dport ?? 0} `;
  else if (t.proto === 47) s += `srckey=0x${(t.sport ?? 0).toString(16)} dstkey=0x${(t.dport ?? 0).toString(16)} `;
  else if (t.proto === 1 || t.proto === 58) s += `type=${t.icmpType ?? 0} code=${t.icmpCode ?? 0} id=${t.icmpId ?? 0} `;
  return s;
}

function countersText(c: Counters | undefined): string {
  return c ? `packets=${c.packets} bytes=${c.bytes} ` : '';
}

/** One line of `conntrackd -i` / `-e` (without the newline). */
export function formatConntrackText(ct: Conntrack, ageSeconds: number): string {
  const proto = ct.orig.proto;
  let s = `${protoName(proto).padEnd(8)} ${proto} `;
  const pi = ct.protoinfo;
  if (pi?.tcp) s += `${stateName(TCP_STATES, pi.tcp.state)} `;
  if (pi?.sctp) s += `${stateName(SCTP_STATES, pi.sctp.state)} `;
  if (pi?.dccp) s += `${stateName(DCCP_STATES, pi.dccp.state)} `;
  s += tupleText(ct.orig);
  if (ct.orig.zone !== undefined) s += `zone-orig=${ct.orig.zone} `;
  s += countersText(ct.countersOrig);
  if (ct.status !== undefined && (ct.status & IPS_SEEN_REPLY) === 0) s += '[UNREPLIED] ';
  if (present(ct.reply)) {
    s += tupleText(ct.reply);
    if (ct.reply.zone !== undefined) s += `zone-reply=${ct.reply.zone} `;
  }
  s += countersText(ct.countersReply);
  if (ct.status !== undefined) {
    if (ct.status & IPS_HW_OFFLOAD) s += '[HW_OFFLOAD] ';
    else if (ct.status & IPS_OFFLOAD) s += '[OFFLOAD] ';
    else if (ct.status & IPS_ASSURED) s += '[ASSURED] ';
  }
  if (ct.mark !== undefined) s += `mark=${ct.mark >>> 0} `;
  if (ct.secmark !== undefined) s += `secmark=${ct.secmark >>> 0} `;
  if (ct.zone !== undefined) s += `zone=${ct.zone} `;
  if (ct.helper) s += `helper=${ct.helper.name} `;
  return `${s.slice(0, -1)} [active since ${Math.max(0, Math.floor(ageSeconds))}s]`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function tupleXml(dir: 'original' | 'reply', family: Family, t: Tuple | undefined, c: Counters | undefined): string {
  const l3 = present(t) ? family : 0;
  const l4 = present(t) ? t.proto : 0;
  let s = `<meta direction="${dir}"><layer3 protonum="${l3}" protoname="${L3_NAMES[l3] ?? 'unknown'}">`;
  s += `<src>${present(t) ? xmlEscape(t.src) : ''}</src><dst>${present(t) ? xmlEscape(t.dst) : ''}</dst></layer3>`;
  s += `<layer4 protonum="${l4}" protoname="${protoName(l4)}">`;
  if (present(t) && PORTED.has(l4)) s += `<sport>${t.sport ?? 0}</sport><dport>${t.dport ?? 0}</dport>`;
  if (present(t) && l4 === 47) {
    s += `<srckey>0x${(t.sport ?? 0).toString(16)}</srckey><dstkey>0x${(t.dport ?? 0).toString(16)}</dstkey>`;
  }
  s += '</layer4>';
  if (c) s += `<counters><packets>${c.packets}</packets><bytes>${c.bytes}</bytes></counters>`;
  return `${s}</meta>`;
}

export interface XmlOptions {
  /** conntrackd does not replicate the kernel id: leave it out of external-cache dumps. */
  omitId?: boolean;
}

/** One `<flow>` of `conntrackd -i -x` (without the newline). */
export function formatConntrackXml(ct: Conntrack, opts: XmlOptions = {}): string {
  let s = '<flow>';
  s += tupleXml('original', ct.family, ct.orig, ct.countersOrig);
  s += tupleXml('reply', ct.family, ct.reply, ct.countersReply);
  const pi = ct.protoinfo;
  let ind = '';
  if (pi?.tcp) ind += `<state>${stateName(TCP_STATES, pi.tcp.state)}</state>`;
  // libnetfilter_conntrack's XML printer names SCTP and DCCP states from the TCP table
  // (SCTP ESTABLISHED=4 prints FIN_WAIT); conntrackd 1.4.7 output does, so we do too.
  if (pi?.sctp) ind += `<state>${stateName(TCP_STATES, pi.sctp.state)}</state>`;
  if (pi?.dccp) ind += `<state>${stateName(TCP_STATES, pi.dccp.state)}</state>`;
  if (ct.mark !== undefined) ind += `<mark>${ct.mark >>> 0}</mark>`;
  if (ct.secmark !== undefined) ind += `<secmark>${ct.secmark >>> 0}</secmark>`;
  if (ct.zone !== undefined) ind += `<zone>${ct.zone}</zone>`;
  if (ct.id !== undefined && !opts.omitId) ind += `<id>${ct.id >>> 0}</id>`;
  if (ct.status !== undefined && ct.status & IPS_ASSURED) ind += '<assured/>';
  if (ct.status !== undefined && (ct.status & IPS_SEEN_REPLY) === 0) ind += '<unreplied/>';
  const hasIndependent =
    pi?.tcp !== undefined || pi?.sctp !== undefined || pi?.dccp !== undefined ||
    ct.mark !== undefined || ct.status !== undefined || ct.zone !== undefined;
  if (hasIndependent) s += `<meta direction="independent">${ind}</meta>`;
  return `${s}</flow>`;
}

/** NF_CT_EXPECT_* flags (include/uapi/linux/netfilter/nf_conntrack_common.h). */
const EXP_PERMANENT = 0x1;
const EXP_INACTIVE = 0x2;
const EXP_USERSPACE = 0x4;

/** One line of `conntrackd -i expect` (libnetfilter_conntrack expect printer layout; not golden-verified). */
export function formatExpectText(exp: Expectation, ageSeconds: number): string {
  let s = `${exp.timeout ?? 0} proto=${exp.tuple.proto} `;
  s += tupleText(exp.tuple);
  const m = exp.mask;
  s += `mask-src=${m.src} mask-dst=${m.dst} `;
  if (PORTED.has(exp.tuple.proto)) s += `sport=${m.sport ?? 0} dport=${m.dport ?? 0} `;
  s += `master-src=${exp.master.src} master-dst=${exp.master.dst} `;
  if (PORTED.has(exp.master.proto)) s += `sport=${exp.master.sport ?? 0} dport=${exp.master.dport ?? 0} `;
  const f = exp.flags ?? 0;
  if (f & EXP_PERMANENT) s += 'PERMANENT ';
  if (f & EXP_INACTIVE) s += 'INACTIVE ';
  if (f & EXP_USERSPACE) s += 'USERSPACE ';
  if (exp.class !== undefined) s += `class=${exp.class} `;
  if (exp.zone !== undefined) s += `zone=${exp.zone} `;
  if (exp.helper) s += `helper=${exp.helper} `;
  return `${s.slice(0, -1)} [active since ${Math.max(0, Math.floor(ageSeconds))}s]`;
}

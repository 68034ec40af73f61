/**
 * Names as `conntrack -L` (conntrack-tools 1.4.x / libnetfilter_conntrack)
 * prints them, and parsers for filters. Numbers:
 *  TCP:  enum tcp_conntrack (nf_conntrack_tcp.h; 9 = SYN_SENT2, formerly LISTEN)
 *  SCTP: enum sctp_conntrack (nf_conntrack_sctp.h)
 *  DCCP: enum ct_dccp_states (include/linux/netfilter/nf_conntrack_dccp.h)
 *  status: enum ip_conntrack_status (nf_conntrack_common.h)
 */
import { IPPROTO, IPS } from './consts';

export const TCP_STATES: readonly string[] = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

export const SCTP_STATES: readonly string[] = [
  'NONE',
  'CLOSED',
  'COOKIE_WAIT',
  'COOKIE_ECHOED',
  'ESTABLISHED',
  'SHUTDOWN_SENT',
  'SHUTDOWN_RECD',
  'SHUTDOWN_ACK_SENT',
  'HEARTBEAT_SENT',
  'HEARTBEAT_ACKED',
];

export const DCCP_STATES: readonly string[] = [
  'NONE',
  'REQUEST',
  'RESPOND',
  'PARTOPEN',
  'OPEN',
  'CLOSEREQ',
  'CLOSING',
  'TIMEWAIT',
  'IGNORE',
  'INVALID',
];

/** Alternative spellings accepted by the parsers. */
const TCP_ALIASES: Readonly<Record<string, number>> = { LISTEN: 9, SYN_RECEIVED: 2, CLOSED: 8 };

function stateName(table: readonly string[], n: number): string {
  return table[n] ?? String(n);
}

function parseState(table: readonly string[], s: string, aliases: Readonly<Record<string, number>> = {}): number | null {
  const u = s.trim().toUpperCase();
  const i = table.indexOf(u);
  if (i >= 0) return i;
  const a = aliases[u];
  if (a !== undefined) return a;
  if (/^\d{1,3}$/.test(u)) {
    const n = Number(u);
    return n <= 255 ? n : null;
  }
  return null;
}

export const tcpStateName = (n: number): string => stateName(TCP_STATES, n);
export const sctpStateName = (n: number): string => stateName(SCTP_STATES, n);
export const dccpStateName = (n: number): string => stateName(DCCP_STATES, n);
/** Name or number (case-insensitive) to state number; null when unknown. */
export const parseTcpState = (s: string): number | null => parseState(TCP_STATES, s, TCP_ALIASES);
export const parseSctpState = (s: string): number | null => parseState(SCTP_STATES, s);
export const parseDccpState = (s: string): number | null => parseState(DCCP_STATES, s);

/** Protocol names as conntrack prints them (first column). */
const PROTO_NAMES: ReadonlyArray<[number, string]> = [
  [IPPROTO.ICMP, 'icmp'],
  [IPPROTO.TCP, 'tcp'],
  [IPPROTO.UDP, 'udp'],
  [IPPROTO.DCCP, 'dccp'],
  [IPPROTO.GRE, 'gre'],
  [IPPROTO.ICMPV6, 'icmpv6'],
  [IPPROTO.SCTP, 'sctp'],
  [IPPROTO.UDPLITE, 'udplite'],
];

export function protoName(n: number): string {
  for (const [num, name] of PROTO_NAMES) if (num === n) return name;
  return 'unknown';
}

/** 'tcp', 'TCP', 'ipv6-icmp', 'icmp6' or a number 0-255; null when unknown. */
export function parseProto(s: string): number | null {
  const l = s.trim().toLowerCase();
  if (l === 'ipv6-icmp' || l === 'icmp6') return IPPROTO.ICMPV6;
  for (const [num, name] of PROTO_NAMES) if (name === l) return num;
  if (/^\d{1,3}$/.test(l)) {
    const n = Number(l);
    return n <= 255 ? n : null;
  }
  return null;
}

/** Status bit names in bit order (IPS_*_BIT without the prefix). */
export const STATUS_BITS: ReadonlyArray<[number, string]> = Object.entries(IPS).map(([name, bit]) => [bit, name]);

/** All set bits by name, e.g. ['SEEN_REPLY', 'ASSURED', 'CONFIRMED']. */
export function statusNames(status: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of STATUS_BITS) if ((status & bit) !== 0) out.push(name);
  return out;
}

/**
 * The bracketed flags `conntrack -L` shows: [UNREPLIED] when the reply was
 * not seen (printed after the original tuple), [ASSURED], [OFFLOAD] or
 * [HW_OFFLOAD] (printed after the reply tuple).
 */
export function statusFlags(status: number): { unreplied: boolean; after: string[] } {
  const after: string[] = [];
  if ((status & IPS.OFFLOAD) !== 0) after.push('[OFFLOAD]');
  if ((status & IPS.HW_OFFLOAD) !== 0) after.push('[HW_OFFLOAD]');
  if ((status & IPS.ASSURED) !== 0) after.push('[ASSURED]');
  return { unreplied: (status & IPS.SEEN_REPLY) === 0, after };
}

/** Parse "ASSURED,SEEN_REPLY" (conntrack -u style; names case-insensitive). Null on an unknown name. */
export function parseStatus(s: string): number | null {
  let v = 0;
  for (const part of s.split(',')) {
    const p = part.trim().toUpperCase();
    if (p === '') continue;
    const e = STATUS_BITS.find(([, name]) => name === p);
    if (!e) return null;
    v |= e[0];
  }
  return v >>> 0;
}

/**
 * Run the `conntrack` tool and turn `conntrack -L -o extended` lines into
 * comparable objects, and decoded Conntrack objects into the same shape, so
 * tests can compare what the kernel shows with what ctsync decoded.
 *
 *   ipv4     2 tcp      6 99 ESTABLISHED src=192.0.2.1 dst=198.51.100.2 sport=1 dport=2 [UNREPLIED]
 *     src=198.51.100.2 dst=192.0.2.1 sport=2 dport=1 [ASSURED] mark=0 zone=3 use=1
 */
import type { Conntrack, Tuple } from '../../src/netlink/types';
import type { Lab } from './netns';

export interface ToolTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
  /** zone-orig= / zone-reply= (directional zone). */
  zone?: number;
}

export interface ToolEntry {
  l3: 'ipv4' | 'ipv6';
  proto: string;
  protonum: number;
  /** Seconds left; counts down. Compare with a tolerance. */
  timeout: number;
  /** TCP/SCTP/DCCP state name, when the protocol has one. */
  state?: string;
  orig: ToolTuple;
  reply: ToolTuple;
  /** Bracketed words: UNREPLIED, ASSURED, OFFLOAD, HW_OFFLOAD. Sorted. */
  flags: string[];
  mark?: number;
  zone?: number;
  helper?: string;
  /** Any other key=value (use, secctx, labels, ...), as printed. */
  extra: Record<string, string>;
}

const TUPLE_KEYS = new Set(['src', 'dst', 'sport', 'dport', 'type', 'code', 'id']);

/** Parse one `conntrack -L -o extended` line; null when it is not an entry line. */
export function parseToolLine(line: string): ToolEntry | null {
  const tok = line.trim().split(/\s+/);
  const [l3, , proto, protonum, timeout] = tok;
  if ((l3 !== 'ipv4' && l3 !== 'ipv6') || proto === undefined || protonum === undefined || timeout === undefined) {
    return null;
  }
  const e: ToolEntry = {
    l3,
    proto,
    protonum: Number(protonum),
    timeout: Number(timeout),
    orig: { src: '', dst: '' },
    reply: { src: '', dst: '' },
    flags: [],
    extra: {},
  };
  let tuple: ToolTuple | null = null;
  let srcSeen = 0;
  for (const t of tok.slice(5)) {
    if (t.startsWith('[') && t.endsWith(']')) {
      e.flags.push(t.slice(1, -1));
      continue;
    }
    const eq = t.indexOf('=');
    if (eq < 0) {
      e.state = t;
      continue;
    }
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    if (k === 'src') {
      srcSeen++;
      tuple = srcSeen === 1 ? e.orig : srcSeen === 2 ? e.reply : null;
    }
    if (tuple && TUPLE_KEYS.has(k) && srcSeen <= 2 && !(k === 'id' && srcSeen === 0)) {
      if (k === 'src' || k === 'dst') tuple[k] = v;
      else tuple[k as 'sport' | 'dport' | 'type' | 'code' | 'id'] = Number(v);
      continue;
    }
    if (k === 'zone-orig') e.orig.zone = Number(v);
    else if (k === 'zone-reply') e.reply.zone = Number(v);
    else if (k === 'mark') e.mark = Number(v);
    else if (k === 'zone') e.zone = Number(v);
    else if (k === 'helper') e.helper = v;
    else e.extra[k] = v;
  }
  e.flags.sort();
  return e;
}

export function parseToolOutput(out: string): ToolEntry[] {
  return out
    .split('\n')
    .map(parseToolLine)
    .filter((x): x is ToolEntry => x !== null);
}

/** `conntrack -L -o extended` (or `-L expect`) inside a namespace. */
export function listEntries(lab: Lab, ns: string): ToolEntry[] {
  return parseToolOutput(lab.exec(ns, 'conntrack -L -o extended 2>/dev/null'));
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 47: 'gre', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };
/** enum tcp_conntrack order, names as conntrack prints them. */
const TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'];

/** Status bits (include/uapi/linux/netfilter/nf_conntrack_common.h). */
const IPS_SEEN_REPLY = 1 << 1;
const IPS_ASSURED = 1 << 2;
const IPS_OFFLOAD = 1 << 14;
const IPS_HW_OFFLOAD = 1 << 15;

function toolTuple(t: Tuple): ToolTuple {
  const o: ToolTuple = { src: t.src, dst: t.dst };
  if (t.proto === 1 || t.proto === 58) {
    if (t.icmpType !== undefined) o.type = t.icmpType;
    if (t.icmpCode !== undefined) o.code = t.icmpCode;
    if (t.icmpId !== undefined) o.id = t.icmpId;
  } else {
    if (t.sport !== undefined) o.sport = t.sport;
    if (t.dport !== undefined) o.dport = t.dport;
  }
  if (t.zone !== undefined) o.zone = t.zone;
  return o;
}

/** The fields of `conntrack -L -o extended` computed from a decoded entry (extra is left empty). */
export function fromConntrack(ct: Conntrack): ToolEntry {
  const status = ct.status ?? 0;
  const flags: string[] = [];
  if ((status & IPS_SEEN_REPLY) === 0) flags.push('UNREPLIED');
  if ((status & IPS_ASSURED) !== 0) flags.push('ASSURED');
  if ((status & IPS_OFFLOAD) !== 0) flags.push('OFFLOAD');
  if ((status & IPS_HW_OFFLOAD) !== 0) flags.push('HW_OFFLOAD');
  flags.sort();
  const e: ToolEntry = {
    l3: ct.family === 2 ? 'ipv4' : 'ipv6',
    proto: PROTO_NAMES[ct.orig.proto] ?? 'unknown',
    protonum: ct.orig.proto,
    timeout: ct.timeout ?? 0,
    orig: toolTuple(ct.orig),
    reply: toolTuple(ct.reply),
    flags,
    extra: {},
  };
  const tcp = ct.protoinfo?.tcp;
  if (tcp) e.state = TCP_STATES[tcp.state] ?? String(tcp.state);
  if (ct.mark !== undefined) e.mark = ct.mark;
  if (ct.zone !== undefined && ct.zone !== 0) e.zone = ct.zone;
  if (ct.helper) e.helper = ct.helper.name;
  return e;
}

/** Drop what counts down or is per-kernel (timeout, use, id) so two listings compare. */
export function comparable(e: ToolEntry): Omit<ToolEntry, 'timeout' | 'extra'> {
  const { timeout: _t, extra: _x, ...rest } = e;
  return rest;
}

/** Sort key for a listing (orig tuple + zone). */
export function entryKey(e: ToolEntry): string {
  const o = e.orig;
  return `${e.l3} ${e.protonum} ${o.src} ${o.dst} ${o.sport ?? o.id ?? ''} ${o.dport ?? o.type ?? ''} ${e.zone ?? 0}`;
}

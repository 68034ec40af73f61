/**
 * conntrackd-style flow filters, applied before an entry enters the internal
 * cache. Semantics follow conntrackd.conf(5) `Filter From Userspace` and
 * conntrack-tools' filter check (facts only; this code is written here):
 *
 *  - Protocol Accept {..}: only the listed layer-4 protocols pass.
 *    Protocol Ignore {..}: the listed protocols are dropped.
 *  - Address Accept/Ignore {..}: addresses and CIDR prefixes, IPv4 and IPv6.
 *    A flow matches when its "real" source (original source) or its "real"
 *    destination (reply source, i.e. after DNAT) is in the list. With Accept,
 *    a flow of a family that has no matching entry is dropped.
 *  - State Accept/Ignore {..} for TCP: TCP state names; flows of other
 *    protocols, or TCP flows without a state, are not affected.
 *  - ignoreOwn: the firewall's own addresses (sync link, local IPs) are always
 *    ignored, checked on original source and reply source like an Address
 *    Ignore (so masqueraded flows, whose reply destination is ours, still pass).
 *
 * Checks run in the order own addresses, protocol, address, state; the first
 * failing check drops the flow and bumps its counter.
 */
import { CidrSet, parseCidr, parseIPv4, parseIPv6 } from './cidr';

export type FilterLogic = 'accept' | 'ignore';

/**
 * Which addresses an Address list is matched against: 'real' (conntrackd:
 * original source or reply source), 'source' (original source only),
 * 'destination' (reply source, or original destination when absent).
 */
export type AddressMatch = 'real' | 'source' | 'destination';

export interface FilterSpec {
  protocol?: { logic: FilterLogic; protocols: Array<string | number> };
  address?: { logic: FilterLogic; addresses: string[]; match?: AddressMatch };
  /** TCP states by name (ESTABLISHED, SYN_SENT, ...) or number. */
  state?: { logic: FilterLogic; tcp: Array<string | number> };
  /** The firewall's own addresses (e.g. the sync link's); always ignored. */
  ignoreOwn?: string[];
}

/** The few fields a filter looks at; src/netlink/ct/peek.ts extracts them. */
export interface FlowSummary {
  family: 2 | 10;
  proto: number;
  /** Original direction source and destination, textual. */
  src: string;
  dst: string;
  replySrc?: string;
  replyDst?: string;
  /** CTA_PROTOINFO_TCP_STATE when present. */
  tcpState?: number;
  /**
   * The same addresses as bytes (src/netlink/ct/peek.ts): when present, the
   * filter reads them instead of parsing the texts (no string per flow).
   * realDst is the reply source, or the original destination without a reply tuple.
   */
  raw?: { buf: Buffer; src: number; srcLen: number; realDst: number; realDstLen: number };
}

export interface FilterStats {
  checked: number;
  passed: number;
  droppedOwn: number;
  droppedProtocol: number;
  droppedAddress: number;
  droppedState: number;
  /** Unparseable addresses or a family other than 2/10. */
  droppedInvalid: number;
}

export interface CompiledFilter {
  (summary: FlowSummary): boolean;
  stats(): FilterStats;
}

/** enum tcp_conntrack, include/uapi/linux/netfilter/nf_conntrack_tcp.h. */
export const TCP_STATES: Readonly<Record<string, number>> = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  CLOSED: 8,
  SYN_SENT2: 9,
  LISTEN: 9,
};

/** IPPROTO_* numbers (include/uapi/linux/in.h, in6.h). */
export const PROTOCOLS: Readonly<Record<string, number>> = {
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  DCCP: 33,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  'IPV6-ICMP': 58,
  SCTP: 132,
  UDPLITE: 136,
};

export type FilterResult = { ok: true; filter: CompiledFilter } | { ok: false; errors: string[] };

function lookupNumber(table: Readonly<Record<string, number>>, v: string | number, max: number): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= max ? v : null;
  const t = v.trim();
  if (/^\d+$/.test(t)) return lookupNumber(table, Number(t), max);
  return table[t.toUpperCase()] ?? null;
}

function compileAddresses(list: string[], what: string, errors: string[]): CidrSet {
  const set = new CidrSet();
  for (const a of list) {
    const c = parseCidr(a.trim());
    if (c === null) errors.push(`${what}: bad address or prefix '${a}'`);
    else set.add(c);
  }
  return set;
}

/** Compile a filter spec; errors are returned, not thrown. */
export function tryCompileFilter(spec: FilterSpec): FilterResult {
  const errors: string[] = [];
  let protoMap: Uint8Array | null = null;
  let protoAccept = true;
  if (spec.protocol) {
    protoMap = new Uint8Array(256);
    protoAccept = spec.protocol.logic === 'accept';
    for (const p of spec.protocol.protocols) {
      const n = lookupNumber(PROTOCOLS, p, 255);
      if (n === null) errors.push(`Protocol: unknown protocol '${String(p)}'`);
      else protoMap[n] = 1;
    }
  }
  let stateMap: Uint8Array | null = null;
  let stateAccept = true;
  if (spec.state) {
    stateMap = new Uint8Array(16);
    stateAccept = spec.state.logic === 'accept';
    for (const s of spec.state.tcp) {
      const n = lookupNumber(TCP_STATES, s, 15);
      if (n === null) errors.push(`State: unknown TCP state '${String(s)}'`);
      else stateMap[n] = 1;
    }
  }
  const addrSet = spec.address ? compileAddresses(spec.address.addresses, 'Address', errors) : null;
  const addrAccept = spec.address?.logic !== 'ignore';
  const addrMatch: AddressMatch = spec.address?.match ?? 'real';
  const ownSet = spec.ignoreOwn && spec.ignoreOwn.length > 0 ? compileAddresses(spec.ignoreOwn, 'ignoreOwn', errors) : null;
  if (errors.length > 0) return { ok: false, errors };

  const st: FilterStats = {
    checked: 0,
    passed: 0,
    droppedOwn: 0,
    droppedProtocol: 0,
    droppedAddress: 0,
    droppedState: 0,
    droppedInvalid: 0,
  };

  const check = (f: FlowSummary): boolean => {
    st.checked++;
    if (ownSet !== null || addrSet !== null) {
      const r = addressVerdict(f, ownSet, addrSet, addrAccept, addrMatch, protoMap, protoAccept);
      if (r !== PASS) {
        if (r === DROP_OWN) st.droppedOwn++;
        else if (r === DROP_PROTO) st.droppedProtocol++;
        else if (r === DROP_ADDR) st.droppedAddress++;
        else st.droppedInvalid++;
        return false;
      }
    } else if (protoMap !== null && (protoMap[f.proto] === 1) !== protoAccept) {
      st.droppedProtocol++;
      return false;
    }
    if (stateMap !== null && f.proto === 6 && f.tcpState !== undefined) {
      if ((stateMap[f.tcpState] === 1) !== stateAccept) {
        st.droppedState++;
        return false;
      }
    }
    st.passed++;
    return true;
  };
  const filter = check as CompiledFilter;
  filter.stats = () => ({ ...st });
  return { ok: true, filter };
}

/** Compile a filter spec; throws (at configuration time) when the spec is invalid. */
export function compileFilter(spec: FilterSpec): CompiledFilter {
  const r = tryCompileFilter(spec);
  if (!r.ok) throw new Error(`invalid filter: ${r.errors.join('; ')}`);
  return r.filter;
}

const PASS = 0;
const DROP_OWN = 1;
const DROP_PROTO = 2;
const DROP_ADDR = 3;
const DROP_INVALID = 4;

type Parsed = number | Uint32Array | null;

function parseAddr(family: 2 | 10, text: string | undefined): Parsed {
  if (text === undefined) return null;
  return family === 2 ? parseIPv4(text) : parseIPv6(text);
}

/** Address bytes (network order) as parseIPv4/parseIPv6 would return them; null when the length does not fit the family. */
function rawAddr(family: 2 | 10, b: Buffer, off: number, len: number): Parsed {
  if (family === 2) return len === 4 && off + 4 <= b.length ? b.readUInt32BE(off) : null;
  if (len !== 16 || off + 16 > b.length) return null;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = b.readUInt32BE(off + 4 * i);
  return w;
}

function inSet(set: CidrSet, a: Parsed): boolean {
  if (a === null) return false;
  return typeof a === 'number' ? set.hasV4(a) : set.hasV6(a);
}

/** Own-address, protocol and address checks (addresses parsed once). */
function addressVerdict(
  f: FlowSummary,
  own: CidrSet | null,
  list: CidrSet | null,
  accept: boolean,
  match: AddressMatch,
  protoMap: Uint8Array | null,
  protoAccept: boolean,
): number {
  if (f.family !== 2 && f.family !== 10) return DROP_INVALID;
  const raw = f.raw;
  const src = raw ? rawAddr(f.family, raw.buf, raw.src, raw.srcLen) : parseAddr(f.family, f.src);
  if (src === null) return DROP_INVALID;
  // The "real" destination: reply source (after DNAT), else original destination.
  const realDst = raw ? rawAddr(f.family, raw.buf, raw.realDst, raw.realDstLen) : parseAddr(f.family, f.replySrc ?? f.dst);
  if (realDst === null) return DROP_INVALID;
  if (own !== null && (inSet(own, src) || inSet(own, realDst))) return DROP_OWN;
  if (protoMap !== null && (protoMap[f.proto] === 1) !== protoAccept) return DROP_PROTO;
  if (list !== null) {
    const hit =
      match === 'source'
        ? inSet(list, src)
        : match === 'destination'
          ? inSet(list, realDst)
          : inSet(list, src) || inSet(list, realDst);
    if (hit !== accept) return DROP_ADDR;
  }
  return PASS;
}

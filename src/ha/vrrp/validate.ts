/**
 * Receive-side checks of a VRRP advertisement, with keepalived-like verdicts:
 * OK (possibly with warnings that are counted and logged) or DROP with a
 * reason named for its counter. No I/O, no logging: the speaker counts and logs.
 *
 * Order of checks (RFC 5798 section 7.1, RFC 3768 section 7.1):
 *   decode errors, trailing bytes, version, type, TTL/hop limit 255 (multicast;
 *   unicast: the peer's min/max TTL when configured), VRID, from-self,
 *   checksum, authentication (v2), advert interval (v2: drop on mismatch;
 *   v3: accepted, the backup learns it), address list (count and contents:
 *   logged, dropped only in strict mode).
 */
import { parseIP } from '../../netlink/ct/ip';
import { decodeVrrp, vrrpChecksum, VRRP_AUTH_LEN, VRRP_AUTH_NONE, VRRP_AUTH_PASS, VRRP_TYPE_ADVERT, type VrrpAdvert, type VrrpDecodeLimits, DEFAULT_VRRP_LIMITS } from './packet';

export type DropReason =
  | 'decode'
  | 'length'
  | 'version'
  | 'type'
  | 'ttl'
  | 'vrid'
  | 'from-self'
  | 'checksum'
  | 'auth-type'
  | 'auth'
  | 'advert-interval'
  | 'address-list'
  | 'unknown-peer';

export type WarnReason = 'address-list' | 'advert-interval-learned' | 'reserved-bits';

export interface VrrpExpect {
  version: 2 | 3;
  family: 4 | 6;
  vrid: number;
  advertIntCs: number;
  /** v2 only: VRRP_AUTH_NONE or VRRP_AUTH_PASS. */
  authType: number;
  authPass?: string;
  /** Our virtual addresses (any text form). */
  vips: string[];
  /** Addresses of this node on the interface: packets from them are our own. */
  selfAddresses: string[];
  /** Unicast peers: when non-empty, TTL is checked against their limits instead of 255. */
  unicastPeers: Array<{ address: string; minTtl?: number; maxTtl?: number }>;
  /** vrrp_strict: an address-list mismatch drops instead of warning. */
  strict: boolean;
}

export interface ReceivedVrrp {
  /** The VRRP message (IP payload). */
  data: Buffer;
  from: string;
  /** Destination address (pktinfo); '' when unknown. */
  to: string;
  /** TTL / hop limit; -1 when unknown (treated as a failure). */
  ttl: number;
  /** True when the kernel already verified the checksum (IPv6 raw socket with IPV6_CHECKSUM). */
  checksumVerified?: boolean;
}

export type VrrpVerdict =
  | { verdict: 'ok'; advert: VrrpAdvert; warnings: WarnReason[] }
  | { verdict: 'drop'; reason: DropReason; detail: string };

function drop(reason: DropReason, detail: string): VrrpVerdict {
  return { verdict: 'drop', reason, detail };
}

/** Canonical text of an address (so 2001:DB8::1 and 2001:db8:0::1 compare equal). */
export function canonicalIp(s: string): string {
  const b = parseIP(s);
  return b === null ? s : b.toString('hex');
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const want = new Set(a.map(canonicalIp));
  return b.every((x) => want.has(canonicalIp(x)));
}

function authBytes(pass: string | undefined): Buffer {
  const out = Buffer.alloc(VRRP_AUTH_LEN);
  if (pass !== undefined) Buffer.from(pass, 'utf8').subarray(0, VRRP_AUTH_LEN).copy(out);
  return out;
}

export function validateAdvert(rx: ReceivedVrrp, exp: VrrpExpect, limits: VrrpDecodeLimits = DEFAULT_VRRP_LIMITS): VrrpVerdict {
  const dec = decodeVrrp(rx.data, exp.family, limits);
  if (!dec.ok) return drop(dec.error.code === 'bad-version' ? 'version' : 'decode', `${dec.error.code}: ${dec.error.detail}`);
  const a = dec.value;
  if (dec.consumed !== rx.data.length) return drop('length', `message is ${rx.data.length} bytes, fields need ${dec.consumed}`);
  if (a.version !== exp.version) return drop('version', `version ${a.version}, configured ${exp.version}`);
  if (a.type !== VRRP_TYPE_ADVERT) return drop('type', `type ${a.type}`);
  if (exp.unicastPeers.length > 0) {
    const peer = exp.unicastPeers.find((p) => canonicalIp(p.address) === canonicalIp(rx.from));
    if (peer === undefined) return drop('unknown-peer', `unicast advert from ${rx.from}, not a configured peer`);
    if (((peer.minTtl !== undefined && rx.ttl < peer.minTtl) || (peer.maxTtl !== undefined && rx.ttl > peer.maxTtl))) {
      return drop('ttl', `TTL ${rx.ttl} outside the peer's limits`);
    }
  } else if (rx.ttl !== 255) {
    return drop('ttl', `TTL/hop limit ${rx.ttl}, must be 255`);
  }
  if (a.vrid !== exp.vrid) return drop('vrid', `VRID ${a.vrid}, configured ${exp.vrid}`);
  const from = canonicalIp(rx.from);
  if (exp.selfAddresses.some((s) => canonicalIp(s) === from)) return drop('from-self', `from our own address ${rx.from}`);
  if (rx.checksumVerified !== true) {
    const c = vrrpChecksum(rx.data.subarray(0, dec.consumed), a.version, rx.from, rx.to);
    if (c === null) return drop('checksum', 'no destination address for the pseudo-header');
    if (c !== a.checksum) return drop('checksum', `checksum 0x${a.checksum.toString(16)}, computed 0x${c.toString(16)}`);
  }
  const warnings: WarnReason[] = [];
  if (a.version === 2) {
    if (a.authType !== exp.authType) return drop('auth-type', `auth type ${a.authType}, configured ${exp.authType}`);
    if (a.authType === VRRP_AUTH_PASS && !a.authData.equals(authBytes(exp.authPass))) return drop('auth', 'password mismatch');
    if (a.authType !== VRRP_AUTH_NONE && a.authType !== VRRP_AUTH_PASS) return drop('auth-type', `unsupported auth type ${a.authType}`);
    if (a.advertIntCs !== exp.advertIntCs) return drop('advert-interval', `advert interval ${a.advertIntCs / 100} s, configured ${exp.advertIntCs / 100} s`);
  } else {
    if (a.reserved !== 0) warnings.push('reserved-bits');
    if (a.advertIntCs !== exp.advertIntCs) warnings.push('advert-interval-learned');
  }
  // Priority 255 means the sender owns the addresses; address checks still apply (RFC 5798 section 7.1 item 5).
  if (!sameSet(exp.vips, a.addresses)) {
    if (exp.strict) return drop('address-list', `addresses ${a.addresses.join(',')} differ from ours`);
    warnings.push('address-list');
  }
  return { verdict: 'ok', advert: a, warnings };
}

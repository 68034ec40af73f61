/**
 * VRRP advertisement codec, versions 2 and 3, IPv4 and IPv6. Pure: decode
 * returns a value and the bytes consumed, or a typed error (never throws on
 * bad input); encode returns a Buffer. All multi-byte fields are big-endian
 * (network order).
 *
 * VRRPv2, RFC 3768 section 5.1 (IPv4 only):
 *   0      version (high 4 bits) = 2 | type (low 4 bits) = 1 ADVERTISEMENT
 *   1      Virtual Rtr ID (1..255)
 *   2      Priority (0 = master stops, 255 = address owner)
 *   3      Count IP Addrs
 *   4      Auth Type (0 none, 1 simple text password, 2 IP AH)
 *   5      Adver Int, whole seconds
 *   6..7   Checksum (u16 BE): one's complement of the one's complement sum of
 *          the VRRP message only
 *   8..    IPv4 addresses, 4 bytes each
 *   then   Authentication Data, 8 bytes (password, NUL padded)
 *
 * VRRPv3, RFC 5798 section 5.2 (IPv4 and IPv6):
 *   0..3   as above (version 3)
 *   4..5   rsvd (high 4 bits, sent 0) | Max Adver Int (low 12 bits, centiseconds), u16 BE
 *   6..7   Checksum (u16 BE) over the VRRP message AND the IP pseudo-header
 *          (RFC 5798 section 5.2.8: IPv4 as in RFC 768, IPv6 RFC 8200 section 8.1)
 *   8..    addresses, 4 (IPv4) or 16 (IPv6) bytes each
 */
import { formatIP, parseIP } from '../../netlink/ct/ip';

/** IP protocol number of VRRP (RFC 5798 section 5.1.1.4 / 5.1.2.4). */
export const IPPROTO_VRRP = 112;
/** Advertisement type (RFC 5798 section 5.2.2). */
export const VRRP_TYPE_ADVERT = 1;
/** Auth types (RFC 3768 section 5.3.6). */
export const VRRP_AUTH_NONE = 0;
export const VRRP_AUTH_PASS = 1;
export const VRRP_AUTH_AH = 2;
/** Length of the v2 authentication data (RFC 3768 section 5.3.10). */
export const VRRP_AUTH_LEN = 8;
/** Fixed header length (both versions). */
export const VRRP_HEADER_LEN = 8;
/** 12-bit Max Adver Int (RFC 5798 section 5.2.7). */
export const VRRP_V3_MAX_ADVERT_CS = 4095;
/** Multicast groups (RFC 5798 section 5.1.1.2 / 5.1.2.2). */
export const VRRP_MCAST4 = '224.0.0.18';
export const VRRP_MCAST6 = 'ff02::12';

export interface VrrpAdvert {
  version: 2 | 3;
  /** 1 = ADVERTISEMENT; other values are decoded and rejected by validate. */
  type: number;
  vrid: number;
  priority: number;
  /** Advertisement interval in centiseconds (v2: seconds * 100). */
  advertIntCs: number;
  /** Addresses as text, in packet order. */
  addresses: string[];
  /** v2 only (0 for v3). */
  authType: number;
  /** v2 only: the 8 authentication bytes (empty for v3). */
  authData: Buffer;
  /** Checksum as found on the wire (decode) or computed (encode). */
  checksum: number;
  /** v3: the 4 reserved bits (should be 0). */
  reserved: number;
}

export type VrrpDecodeErrorCode = 'short' | 'bad-version' | 'too-many-addresses' | 'truncated-addresses' | 'truncated-auth' | 'too-long';

export interface VrrpDecodeError {
  code: VrrpDecodeErrorCode;
  detail: string;
}

export type VrrpDecodeResult = { ok: true; value: VrrpAdvert; consumed: number } | { ok: false; error: VrrpDecodeError };

export interface VrrpDecodeLimits {
  /** Largest accepted message (default 1500). */
  maxBytes: number;
  /** Most addresses accepted (default 255, the 8-bit count's maximum). */
  maxAddresses: number;
}

export const DEFAULT_VRRP_LIMITS: VrrpDecodeLimits = { maxBytes: 1500, maxAddresses: 255 };

function fail(code: VrrpDecodeErrorCode, detail: string): VrrpDecodeResult {
  return { ok: false, error: { code, detail } };
}

/**
 * Decode one VRRP message (the IP payload). `family` (4 or 6) gives the address
 * size; IPv6 is only valid with version 3 (rejected as bad-version otherwise).
 * Bytes after the message are not consumed; the caller decides (validate drops them).
 */
export function decodeVrrp(buf: Buffer, family: 4 | 6, limits: VrrpDecodeLimits = DEFAULT_VRRP_LIMITS): VrrpDecodeResult {
  if (buf.length > limits.maxBytes) return fail('too-long', `${buf.length} bytes > ${limits.maxBytes}`);
  if (buf.length < VRRP_HEADER_LEN) return fail('short', `${buf.length} bytes < ${VRRP_HEADER_LEN}`);
  const b0 = buf[0] ?? 0;
  const version = b0 >> 4;
  if (version !== 2 && version !== 3) return fail('bad-version', `version ${version}`);
  if (version === 2 && family === 6) return fail('bad-version', 'VRRPv2 over IPv6');
  const count = buf[3] ?? 0;
  if (count > limits.maxAddresses) return fail('too-many-addresses', `${count} > ${limits.maxAddresses}`);
  const alen = family === 6 ? 16 : 4;
  const addrEnd = VRRP_HEADER_LEN + count * alen;
  if (buf.length < addrEnd) return fail('truncated-addresses', `${count} addresses need ${addrEnd} bytes, have ${buf.length}`);
  const addresses: string[] = [];
  for (let off = VRRP_HEADER_LEN; off < addrEnd; off += alen) addresses.push(formatIP(buf, off, alen));
  const word = buf.readUInt16BE(4);
  if (version === 2) {
    const end = addrEnd + VRRP_AUTH_LEN;
    if (buf.length < end) return fail('truncated-auth', `need ${end} bytes, have ${buf.length}`);
    return {
      ok: true,
      consumed: end,
      value: {
        version: 2,
        type: b0 & 0x0f,
        vrid: buf[1] ?? 0,
        priority: buf[2] ?? 0,
        advertIntCs: (buf[5] ?? 0) * 100,
        addresses,
        authType: buf[4] ?? 0,
        authData: Buffer.from(buf.subarray(addrEnd, end)),
        checksum: buf.readUInt16BE(6),
        reserved: 0,
      },
    };
  }
  return {
    ok: true,
    consumed: addrEnd,
    value: {
      version: 3,
      type: b0 & 0x0f,
      vrid: buf[1] ?? 0,
      priority: buf[2] ?? 0,
      advertIntCs: word & 0x0fff,
      addresses,
      authType: 0,
      authData: Buffer.alloc(0),
      checksum: buf.readUInt16BE(6),
      reserved: word >> 12,
    },
  };
}

/** One's complement 16-bit sum of `parts` (each treated as a big-endian word stream, odd tail padded). */
export function onesSum(parts: Buffer[]): number {
  let sum = 0;
  for (const p of parts) {
    let i = 0;
    for (; i + 1 < p.length; i += 2) sum += ((p[i] ?? 0) << 8) | (p[i + 1] ?? 0);
    if (i < p.length) sum += (p[i] ?? 0) << 8;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  return sum;
}

/** IP pseudo-header for the v3 checksum (RFC 768 for IPv4, RFC 8200 section 8.1 for IPv6). */
export function pseudoHeader(src: Buffer, dst: Buffer, length: number): Buffer {
  if (src.length === 16) {
    const ph = Buffer.alloc(40);
    src.copy(ph, 0);
    dst.copy(ph, 16);
    ph.writeUInt32BE(length, 32); // upper-layer packet length, u32 BE
    ph[39] = IPPROTO_VRRP; // 3 zero bytes then next header
    return ph;
  }
  const ph = Buffer.alloc(12);
  src.copy(ph, 0);
  dst.copy(ph, 4);
  ph[8] = 0;
  ph[9] = IPPROTO_VRRP;
  ph.writeUInt16BE(length, 10); // VRRP length, u16 BE
  return ph;
}

/**
 * Checksum of a VRRP message (its checksum field is taken as 0). v2: message
 * only. v3: with the pseudo-header built from src/dst (text addresses).
 * Returns null when an address does not parse.
 */
export function vrrpChecksum(msg: Buffer, version: 2 | 3, src?: string, dst?: string): number | null {
  const zeroed = Buffer.from(msg);
  if (zeroed.length >= 8) zeroed.writeUInt16BE(0, 6);
  if (version === 2) return ~onesSum([zeroed]) & 0xffff;
  const s = src === undefined ? null : parseIP(src);
  const d = dst === undefined ? null : parseIP(dst);
  if (s === null || d === null || s.length !== d.length) return null;
  return ~onesSum([pseudoHeader(s, d, zeroed.length), zeroed]) & 0xffff;
}

export interface VrrpEncodeInput {
  version: 2 | 3;
  vrid: number;
  priority: number;
  advertIntCs: number;
  addresses: string[];
  /** v2: auth type and password (only the first 8 bytes are sent). */
  authType?: number;
  authPass?: string;
  /** v3: source and destination for the pseudo-header. Without them the checksum is left 0 (IPv6 raw sockets fill it: IPV6_CHECKSUM). */
  src?: string;
  dst?: string;
}

export type VrrpEncodeResult = { ok: true; value: Buffer } | { ok: false; error: string };

/** Encode an advertisement; errors (bad address, out-of-range field) are values. */
export function encodeVrrp(m: VrrpEncodeInput): VrrpEncodeResult {
  const addrs: Buffer[] = [];
  for (const a of m.addresses) {
    const b = parseIP(a);
    if (b === null) return { ok: false, error: `bad address '${a}'` };
    addrs.push(b);
  }
  const alen = addrs[0]?.length ?? 4;
  if (addrs.some((a) => a.length !== alen)) return { ok: false, error: 'mixed address families' };
  if (m.version === 2 && alen === 16) return { ok: false, error: 'VRRPv2 carries IPv4 addresses only' };
  if (addrs.length > 255) return { ok: false, error: 'more than 255 addresses' };
  if (m.vrid < 1 || m.vrid > 255 || m.priority < 0 || m.priority > 255) return { ok: false, error: 'vrid/priority out of range' };
  const tail = m.version === 2 ? VRRP_AUTH_LEN : 0;
  const buf = Buffer.alloc(VRRP_HEADER_LEN + addrs.length * alen + tail);
  buf[0] = (m.version << 4) | VRRP_TYPE_ADVERT;
  buf[1] = m.vrid;
  buf[2] = m.priority;
  buf[3] = addrs.length;
  if (m.version === 2) {
    const secs = m.advertIntCs / 100;
    if (!Number.isInteger(secs) || secs < 1 || secs > 255) return { ok: false, error: 'VRRPv2 advert interval must be 1..255 whole seconds' };
    buf[4] = m.authType ?? VRRP_AUTH_NONE;
    buf[5] = secs;
  } else {
    if (m.advertIntCs < 1 || m.advertIntCs > VRRP_V3_MAX_ADVERT_CS) return { ok: false, error: 'VRRPv3 advert interval must be 1..4095 cs' };
    buf.writeUInt16BE(m.advertIntCs & 0x0fff, 4);
  }
  let off = VRRP_HEADER_LEN;
  for (const a of addrs) {
    a.copy(buf, off);
    off += alen;
  }
  if (m.version === 2 && m.authType === VRRP_AUTH_PASS && m.authPass !== undefined) {
    Buffer.from(m.authPass, 'utf8').subarray(0, VRRP_AUTH_LEN).copy(buf, off);
  }
  if (m.version === 2) {
    buf.writeUInt16BE(vrrpChecksum(buf, 2) ?? 0, 6);
  } else if (m.src !== undefined && m.dst !== undefined) {
    const c = vrrpChecksum(buf, 3, m.src, m.dst);
    if (c === null) return { ok: false, error: 'bad pseudo-header address' };
    buf.writeUInt16BE(c, 6);
  }
  return { ok: true, value: buf };
}

export interface Ipv4Header {
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
  /** Header length in bytes (IHL * 4). */
  headerLen: number;
  /** Total length field. */
  totalLen: number;
}

export type Ipv4Result = { ok: true; header: Ipv4Header; payload: Buffer } | { ok: false; error: string };

/** Split an IPv4 datagram (as raw IPv4 sockets deliver it) into header and payload (RFC 791 section 3.1). */
export function splitIpv4(buf: Buffer): Ipv4Result {
  if (buf.length < 20) return { ok: false, error: 'short IPv4 header' };
  const b0 = buf[0] ?? 0;
  if (b0 >> 4 !== 4) return { ok: false, error: 'not IPv4' };
  const ihl = (b0 & 0x0f) * 4;
  if (ihl < 20 || ihl > buf.length) return { ok: false, error: 'bad IHL' };
  const totalLen = buf.readUInt16BE(2);
  const end = totalLen >= ihl && totalLen <= buf.length ? totalLen : buf.length;
  return {
    ok: true,
    header: { ttl: buf[8] ?? 0, protocol: buf[9] ?? 0, src: formatIP(buf, 12, 4), dst: formatIP(buf, 16, 4), headerLen: ihl, totalLen },
    payload: buf.subarray(ihl, end),
  };
}

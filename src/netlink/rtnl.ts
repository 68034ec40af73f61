/**
 * rtnetlink codec (links and addresses): pure encode/decode, no I/O.
 *
 * Sources: include/uapi/linux/netlink.h (nlmsghdr, nlmsgerr, flags),
 * include/uapi/linux/rtnetlink.h (RTM_*, RTMGRP_*), include/uapi/linux/if_link.h (IFLA_*),
 * include/uapi/linux/if_addr.h (ifaddrmsg, IFA_*, IFA_F_*), include/uapi/linux/if.h (IFF_*).
 *
 * Byte order: everything in rtnetlink (nlmsghdr, ifinfomsg, ifaddrmsg, attribute
 * headers and integer attributes) is HOST order; addresses inside IFA_LOCAL /
 * IFA_ADDRESS are network order (raw address bytes). The nlmsghdr framing is
 * kept local to this file (ctnetlink framing lives in nlmsg.ts).
 *
 * Tolerant of the kernel: unknown attributes are kept as raw bytes and encoded
 * back unchanged; unknown message types decode to { kind: 'other' }.
 */
import { endianness } from 'node:os';
import { formatIP, parseIPv4, parseIPv6 } from './ct/ip';
import type { RawAttr } from './types';

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
/** Multicast group numbers (enum rtnetlink_groups): RTNLGRP_LINK, IPV4_IFADDR, IPV6_IFADDR. */
export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV6_IFADDR = 9;

export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_OPERSTATE = 16;
export const IFLA_CARRIER = 33;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;

export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;

export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_NOPREFIXROUTE = 0x200;

/** RFC 2863 operational states (IF_OPER_*, include/uapi/linux/if.h). */
export const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;

const NLMSG_HDRLEN = 16;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const LE = endianness() === 'LE';

const rd16 = (b: Buffer, o: number): number => (LE ? b.readUInt16LE(o) : b.readUInt16BE(o));
const rd32 = (b: Buffer, o: number): number => (LE ? b.readUInt32LE(o) : b.readUInt32BE(o));
const rdS32 = (b: Buffer, o: number): number => (LE ? b.readInt32LE(o) : b.readInt32BE(o));
const wr16 = (b: Buffer, v: number, o: number): number => (LE ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
const wr32 = (b: Buffer, v: number, o: number): number => (LE ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
const wrS32 = (b: Buffer, v: number, o: number): number => (LE ? b.writeInt32LE(v, o) : b.writeInt32BE(v, o));
const align4 = (n: number): number => (n + 3) & ~3;

export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  /** Sender port id; 0 for the kernel. */
  pid: number;
}

export interface LinkInfo {
  family: number;
  /** ARPHRD_* device type (1 = Ethernet, 772 = loopback). */
  ifType: number;
  index: number;
  /** IFF_* flags. */
  flags: number;
  change: number;
  name?: string;
  /** IFLA_ADDRESS as lower-case "aa:bb:..". */
  address?: string;
  mtu?: number;
  /** IFLA_OPERSTATE number (see OPERSTATES). */
  operstate?: number;
  /** IFLA_CARRIER (u8). */
  carrier?: number;
  unknown: RawAttr[];
}

export interface AddrInfo {
  /** AF_INET = 2, AF_INET6 = 10. */
  family: number;
  prefixlen: number;
  /** IFA_F_* flags: the u8 in ifaddrmsg, replaced by IFA_FLAGS (u32) when present. */
  flags: number;
  scope: number;
  index: number;
  local?: string;
  address?: string;
  broadcast?: string;
  label?: string;
  unknown: RawAttr[];
}

export type RtnlMessage =
  | { kind: 'link'; header: NlHeader; link: LinkInfo }
  | { kind: 'addr'; header: NlHeader; addr: AddrInfo }
  /** NLMSG_ERROR: errno 0 is an ACK; otherwise a negative errno. */
  | { kind: 'error'; header: NlHeader; errno: number; request: NlHeader | null }
  | { kind: 'done'; header: NlHeader }
  | { kind: 'other'; header: NlHeader; payload: Buffer };

export type RtnlDecodeErrorCode = 'short-header' | 'bad-length' | 'short-body' | 'bad-attr' | 'too-many-messages' | 'too-many-attrs';

export interface RtnlDecodeError {
  code: RtnlDecodeErrorCode;
  offset: number;
}

export interface RtnlLimits {
  /** Messages per datagram (default 4096). */
  maxMessages?: number;
  /** Attributes per message (default 256). */
  maxAttrs?: number;
}

export type DecodeResult = { ok: true; messages: RtnlMessage[]; consumed: number } | { ok: false; error: RtnlDecodeError };

interface Attr {
  type: number;
  data: Buffer;
}

function parseAttrs(buf: Buffer, base: number, maxAttrs: number): Attr[] | RtnlDecodeError {
  const out: Attr[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = rd16(buf, off);
    if (len < 4 || off + len > buf.length) return { code: 'bad-attr', offset: base + off };
    if (out.length >= maxAttrs) return { code: 'too-many-attrs', offset: base + off };
    out.push({ type: rd16(buf, off + 2), data: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return out;
}

const isErr = (x: unknown): x is RtnlDecodeError => typeof x === 'object' && x !== null && 'code' in x && 'offset' in x;
const cstr = (d: Buffer): string => {
  const z = d.indexOf(0);
  return d.subarray(0, z < 0 ? d.length : z).toString('utf8');
};
const macText = (d: Buffer): string => Array.from(d, (x) => x.toString(16).padStart(2, '0')).join(':');
const ipText = (d: Buffer): string | undefined => (d.length === 4 || d.length === 16 ? formatIP(d, 0, d.length) : undefined);

function decodeLink(body: Buffer, base: number, maxAttrs: number): LinkInfo | RtnlDecodeError {
  if (body.length < IFINFOMSG_LEN) return { code: 'short-body', offset: base };
  const link: LinkInfo = {
    family: body[0] ?? 0,
    ifType: rd16(body, 2),
    index: rdS32(body, 4),
    flags: rd32(body, 8),
    change: rd32(body, 12),
    unknown: [],
  };
  const attrs = parseAttrs(body.subarray(IFINFOMSG_LEN), base + IFINFOMSG_LEN, maxAttrs);
  if (isErr(attrs)) return attrs;
  for (const a of attrs) {
    const d = a.data;
    if (a.type === IFLA_IFNAME) link.name = cstr(d);
    else if (a.type === IFLA_ADDRESS) link.address = macText(d);
    else if (a.type === IFLA_MTU && d.length >= 4) link.mtu = rd32(d, 0);
    else if (a.type === IFLA_OPERSTATE && d.length >= 1) link.operstate = d[0];
    else if (a.type === IFLA_CARRIER && d.length >= 1) link.carrier = d[0];
    else link.unknown.push({ type: a.type, data: Buffer.from(d) });
  }
  return link;
}

function decodeAddr(body: Buffer, base: number, maxAttrs: number): AddrInfo | RtnlDecodeError {
  if (body.length < IFADDRMSG_LEN) return { code: 'short-body', offset: base };
  const addr: AddrInfo = {
    family: body[0] ?? 0,
    prefixlen: body[1] ?? 0,
    flags: body[2] ?? 0,
    scope: body[3] ?? 0,
    index: rd32(body, 4),
    unknown: [],
  };
  const attrs = parseAttrs(body.subarray(IFADDRMSG_LEN), base + IFADDRMSG_LEN, maxAttrs);
  if (isErr(attrs)) return attrs;
  for (const a of attrs) {
    const d = a.data;
    const ip = a.type === IFA_LOCAL || a.type === IFA_ADDRESS || a.type === IFA_BROADCAST ? ipText(d) : undefined;
    if (a.type === IFA_LOCAL && ip !== undefined) addr.local = ip;
    else if (a.type === IFA_ADDRESS && ip !== undefined) addr.address = ip;
    else if (a.type === IFA_BROADCAST && ip !== undefined) addr.broadcast = ip;
    else if (a.type === IFA_LABEL) addr.label = cstr(d);
    else if (a.type === IFA_FLAGS && d.length >= 4) addr.flags = rd32(d, 0);
    else addr.unknown.push({ type: a.type, data: Buffer.from(d) });
  }
  return addr;
}

function readHeader(buf: Buffer, off: number): NlHeader {
  return { type: rd16(buf, off + 4), flags: rd16(buf, off + 6), seq: rd32(buf, off + 8), pid: rd32(buf, off + 12) };
}

/** Decode every netlink message in one datagram. */
export function decodeRtnl(buf: Buffer, limits: RtnlLimits = {}): DecodeResult {
  const maxMessages = limits.maxMessages ?? 4096;
  const maxAttrs = limits.maxAttrs ?? 256;
  const messages: RtnlMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) return { ok: false, error: { code: 'short-header', offset: off } };
    const len = rd32(buf, off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) return { ok: false, error: { code: 'bad-length', offset: off } };
    if (messages.length >= maxMessages) return { ok: false, error: { code: 'too-many-messages', offset: off } };
    const header = readHeader(buf, off);
    const body = buf.subarray(off + NLMSG_HDRLEN, off + len);
    const base = off + NLMSG_HDRLEN;
    if (header.type === RTM_NEWLINK || header.type === RTM_DELLINK) {
      const link = decodeLink(body, base, maxAttrs);
      if (isErr(link)) return { ok: false, error: link };
      messages.push({ kind: 'link', header, link });
    } else if (header.type === RTM_NEWADDR || header.type === RTM_DELADDR) {
      const addr = decodeAddr(body, base, maxAttrs);
      if (isErr(addr)) return { ok: false, error: addr };
      messages.push({ kind: 'addr', header, addr });
    } else if (header.type === NLMSG_ERROR) {
      if (body.length < 4) return { ok: false, error: { code: 'short-body', offset: base } };
      const request = body.length >= 4 + NLMSG_HDRLEN ? readHeader(body, 4) : null;
      messages.push({ kind: 'error', header, errno: rdS32(body, 0), request });
    } else if (header.type === NLMSG_DONE) {
      messages.push({ kind: 'done', header });
    } else {
      messages.push({ kind: 'other', header, payload: Buffer.from(body) });
    }
    off += align4(len);
  }
  return { ok: true, messages, consumed: buf.length };
}

// ---- encoding ----

function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc(align4(len));
  wr16(out, len, 0);
  wr16(out, type, 2);
  data.copy(out, 4);
  return out;
}
const u32Attr = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  wr32(b, v, 0);
  return attr(type, b);
};
const strAttr = (type: number, s: string): Buffer => attr(type, Buffer.from(`${s}\0`, 'utf8'));

function frame(h: NlHeader, body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const head = Buffer.alloc(NLMSG_HDRLEN);
  wr32(head, NLMSG_HDRLEN + payload.length, 0);
  wr16(head, h.type, 4);
  wr16(head, h.flags, 6);
  wr32(head, h.seq, 8);
  wr32(head, h.pid, 12);
  return Buffer.concat([head, payload]);
}

function macBytes(s: string): Buffer | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(s)) return null;
  return Buffer.from(s.replace(/:/g, ''), 'hex');
}

export function addrBytes(s: string, family: number): Buffer | null {
  return family === 10 ? parseIPv6(s) : parseIPv4(s);
}

/** Encode a link message (RTM_NEWLINK unless header.type says otherwise). Unknown attributes are written back as kept. */
export function encodeLink(h: NlHeader, l: LinkInfo): Buffer {
  const fixed = Buffer.alloc(IFINFOMSG_LEN);
  fixed[0] = l.family;
  wr16(fixed, l.ifType, 2);
  wrS32(fixed, l.index, 4);
  wr32(fixed, l.flags, 8);
  wr32(fixed, l.change, 12);
  const parts: Buffer[] = [fixed];
  if (l.address !== undefined) {
    const mac = macBytes(l.address);
    if (mac) parts.push(attr(IFLA_ADDRESS, mac));
  }
  if (l.name !== undefined) parts.push(strAttr(IFLA_IFNAME, l.name));
  if (l.mtu !== undefined) parts.push(u32Attr(IFLA_MTU, l.mtu));
  if (l.operstate !== undefined) parts.push(attr(IFLA_OPERSTATE, Buffer.from([l.operstate])));
  if (l.carrier !== undefined) parts.push(attr(IFLA_CARRIER, Buffer.from([l.carrier])));
  for (const u of l.unknown) parts.push(attr(u.type, u.data));
  return frame(h, parts);
}

/**
 * Encode an address message. The u8 flags field carries the low 8 bits and
 * IFA_FLAGS (u32, Linux >= 3.14) always carries all of them.
 */
export function encodeAddr(h: NlHeader, a: AddrInfo): Buffer {
  const fixed = Buffer.alloc(IFADDRMSG_LEN);
  fixed[0] = a.family;
  fixed[1] = a.prefixlen;
  fixed[2] = a.flags & 0xff;
  fixed[3] = a.scope;
  wr32(fixed, a.index, 4);
  const parts: Buffer[] = [fixed];
  const ip = (type: number, s: string | undefined): void => {
    if (s === undefined) return;
    const b = addrBytes(s, a.family);
    if (b) parts.push(attr(type, b));
  };
  ip(IFA_ADDRESS, a.address);
  ip(IFA_LOCAL, a.local);
  if (a.label !== undefined) parts.push(strAttr(IFA_LABEL, a.label));
  ip(IFA_BROADCAST, a.broadcast);
  parts.push(u32Attr(IFA_FLAGS, a.flags));
  for (const u of a.unknown) parts.push(attr(u.type, u.data));
  return frame(h, parts);
}

/** RTM_GETLINK dump request. */
export function encodeGetLinks(seq: number): Buffer {
  return frame({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, pid: 0 }, [Buffer.alloc(IFINFOMSG_LEN)]);
}

/** RTM_GETADDR dump request; family 0 = all. */
export function encodeGetAddrs(seq: number, family = 0): Buffer {
  const fixed = Buffer.alloc(IFADDRMSG_LEN);
  fixed[0] = family;
  return frame({ type: RTM_GETADDR, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, pid: 0 }, [fixed]);
}

/** RTM_NEWLINK that sets or clears IFF_UP on one interface. */
export function encodeSetLinkUp(seq: number, index: number, up: boolean): Buffer {
  return encodeLink(
    { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, seq, pid: 0 },
    { family: 0, ifType: 0, index, flags: up ? IFF_UP : 0, change: IFF_UP, unknown: [] },
  );
}

export interface Cidr {
  family: 2 | 10;
  address: string;
  prefixlen: number;
}

/** "192.0.2.1/24", "2001:db8::1/64", or a bare address (full-length prefix). Null when invalid. */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = addr.includes(':') ? 10 : 2;
  const bytes = addrBytes(addr, family);
  if (!bytes) return null;
  const max = family === 10 ? 128 : 32;
  let prefixlen = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) return null;
    prefixlen = Number(p);
  }
  return { family, address: formatIP(bytes, 0, bytes.length), prefixlen };
}

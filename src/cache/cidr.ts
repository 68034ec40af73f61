/**
 * Address parsing and precompiled CIDR sets for the filters.
 *
 * Addresses are held as 32-bit words (IPv4: one word, IPv6: four words, most
 * significant first, i.e. network byte order word by word). Parsing happens
 * once per address: at compile time for the rules and once per flow summary
 * for the flow's addresses (a small hand-written parser, no regex).
 */

export type AddrWords = Uint32Array;

/** Parse dotted-quad IPv4 into one word, or null. */
export function parseIPv4(s: string): number | null {
  let word = 0;
  let part = -1;
  let dots = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (part < 0 || dots === 3) return null;
      word = word * 256 + part;
      part = -1;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros (like inet_pton): "01" could be read as octal elsewhere.
      if (digits === 3 || (digits > 0 && part === 0)) return null;
      part = (part < 0 ? 0 : part * 10) + (c - 48);
      digits++;
      if (part > 255) return null;
    } else {
      return null;
    }
  }
  if (part < 0 || dots !== 3) return null;
  return (word * 256 + part) >>> 0;
}

/** Parse an IPv6 address (RFC 4291 section 2.2 forms, incl. :: and an IPv4 tail) into 4 words. */
export function parseIPv6(s: string): AddrWords | null {
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (s.length === 2) return new Uint32Array(4);
  } else if (s.startsWith(':')) {
    return null;
  }
  while (i < s.length) {
    // An embedded IPv4 tail (e.g. ::ffff:192.0.2.1) ends the address.
    const rest = s.slice(i);
    if (rest.includes('.') && !rest.includes(':')) {
      const v4 = parseIPv4(rest);
      if (v4 === null) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
      i = s.length;
      break;
    }
    let v = 0;
    let n = 0;
    while (i < s.length && n < 5) {
      const c = s.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      n++;
      i++;
    }
    if (n === 0 || n > 4) return null;
    groups.push(v);
    if (i === s.length) break;
    if (s.charCodeAt(i) !== 58 /* : */) return null;
    i++;
    if (i < s.length && s.charCodeAt(i) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i++;
      if (i === s.length) break;
    } else if (i === s.length) {
      return null;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return null;
  const full = new Array<number>(8).fill(0);
  const tail = gap < 0 ? 0 : groups.length - gap;
  for (let g = 0; g < groups.length; g++) {
    const at = gap < 0 || g < gap ? g : 8 - tail + (g - gap);
    full[at] = groups[g] ?? 0;
  }
  const w = new Uint32Array(4);
  for (let k = 0; k < 4; k++) w[k] = (((full[2 * k] ?? 0) << 16) | (full[2 * k + 1] ?? 0)) >>> 0;
  return w;
}

/** Mask word for `bits` (0..32) leading ones. */
function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

export interface ParsedCidr {
  family: 2 | 10;
  /** Network words, already masked. */
  net: AddrWords;
  mask: AddrWords;
}

/** Parse "addr" or "addr/len" (IPv4 or IPv6). Host bits are cleared. */
export function parseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIPv4(addr);
  const family: 2 | 10 = v4 !== null ? 2 : 10;
  const words = v4 !== null ? Uint32Array.of(v4) : parseIPv6(addr);
  if (words === null) return null;
  const maxBits = words.length * 32;
  let bits = maxBits;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return null;
    bits = Number(lenText);
    if (bits > maxBits) return null;
  }
  const mask = new Uint32Array(words.length);
  const net = new Uint32Array(words.length);
  for (let k = 0; k < words.length; k++) {
    mask[k] = maskWord(bits - 32 * k);
    net[k] = ((words[k] ?? 0) & (mask[k] ?? 0)) >>> 0;
  }
  return { family, net, mask };
}

/**
 * A set of IPv4 and IPv6 prefixes. IPv4 host addresses (/32) go to a hash set;
 * shorter IPv4 prefixes are grouped by mask, each group a hash set of masked
 * networks, so a lookup costs one probe per distinct prefix length. IPv6
 * prefixes are kept in one flat Uint32Array (net words, then mask words) and
 * scanned linearly: fine for the tens of rules a firewall config holds.
 */
export class CidrSet {
  private readonly v4Hosts = new Set<number>();
  private readonly v4Nets = new Map<number, Set<number>>();
  private v4Groups: Array<[number, Set<number>]> = [];
  private v6 = new Uint32Array(0);
  size = 0;

  add(c: ParsedCidr): void {
    this.size++;
    if (c.family === 2) {
      const m = c.mask[0] ?? 0;
      const n = c.net[0] ?? 0;
      if (m === 0xffffffff) this.v4Hosts.add(n);
      else {
        let set = this.v4Nets.get(m);
        if (set === undefined) this.v4Nets.set(m, (set = new Set()));
        set.add(n);
      }
      this.v4Groups = [...this.v4Nets];
      return;
    }
    const grown = new Uint32Array(this.v6.length + 8);
    grown.set(this.v6);
    grown.set(c.net, this.v6.length);
    grown.set(c.mask, this.v6.length + 4);
    this.v6 = grown;
  }

  hasV4(addr: number): boolean {
    if (this.v4Hosts.has(addr)) return true;
    for (const [mask, nets] of this.v4Groups) if (nets.has((addr & mask) >>> 0)) return true;
    return false;
  }

  hasV6(addr: AddrWords): boolean {
    const t = this.v6;
    const a0 = addr[0] ?? 0;
    const a1 = addr[1] ?? 0;
    const a2 = addr[2] ?? 0;
    const a3 = addr[3] ?? 0;
    for (let i = 0; i + 8 <= t.length; i += 8) {
      if (
        ((a0 & (t[i + 4] ?? 0)) >>> 0) === t[i] &&
        ((a1 & (t[i + 5] ?? 0)) >>> 0) === t[i + 1] &&
        ((a2 & (t[i + 6] ?? 0)) >>> 0) === t[i + 2] &&
        ((a3 & (t[i + 7] ?? 0)) >>> 0) === t[i + 3]
      ) {
        return true;
      }
    }
    return false;
  }
}

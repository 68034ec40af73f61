/**
 * Small pure value parsers shared by the configuration readers.
 * Each returns the value or a reason string (never throws).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const bad = <T>(reason: string): Result<T> => ({ ok: false, reason });

/** on|off|yes|no (case-insensitive, as conntrackd's lexer); keepalived adds true|false. */
export function parseBool(text: string, allowTrueFalse = false): Result<boolean> {
  const t = text.toLowerCase();
  if (t === 'on' || t === 'yes' || (allowTrueFalse && t === 'true')) return ok(true);
  if (t === 'off' || t === 'no' || (allowTrueFalse && t === 'false')) return ok(false);
  return bad(`expected on/off/yes/no${allowTrueFalse ? '/true/false' : ''}, got '${text}'`);
}

/** Decimal unsigned integer within [min, max]. */
export function parseUint(text: string, min: number, max: number): Result<number> {
  if (!/^[0-9]+$/.test(text)) return bad(`expected a number, got '${text}'`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min || v > max) return bad(`${text} is out of range ${min}..${max}`);
  return ok(v);
}

/** Decimal signed integer within [min, max] ("+5", "-20", "3"). */
export function parseInt32(text: string, min: number, max: number): Result<number> {
  if (!/^[+-]?[0-9]+$/.test(text)) return bad(`expected an integer, got '${text}'`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min || v > max) return bad(`${text} is out of range ${min}..${max}`);
  return ok(v);
}

/**
 * Decimal seconds with at most `decimals` fractional digits, returned in
 * units of 10^-decimals seconds (e.g. decimals=2: "0.1" -> 10 centiseconds).
 */
export function parseFixed(text: string, decimals: number): Result<number> {
  const m = /^([0-9]+)(?:\.([0-9]*))?$/.exec(text);
  if (!m) return bad(`expected a number of seconds, got '${text}'`);
  const frac = m[2] ?? '';
  if (frac.replace(/0+$/, '').length > decimals) return bad(`'${text}' has more than ${decimals} decimal places`);
  const whole = Number(m[1]);
  const scale = 10 ** decimals;
  const v = whole * scale + Number((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
  if (!Number.isSafeInteger(v)) return bad(`'${text}' is too large`);
  return ok(v);
}

export interface IpAddr {
  family: 4 | 6;
  address: string;
}

export interface Cidr extends IpAddr {
  /** Prefix length: 32/128 when none was written. */
  prefix: number;
}

export function parseIp(text: string, family?: 4 | 6): Result<IpAddr> {
  if (family !== 6 && isIPv4(text)) return ok({ family: 4, address: text });
  if (family !== 4 && isIPv6(text)) return ok({ family: 6, address: text.toLowerCase() });
  const kind = family === 4 ? 'IPv4 ' : family === 6 ? 'IPv6 ' : 'IP ';
  return bad(`'${text}' is not a valid ${kind}address`);
}

/** "a.b.c.d[/n]" or "v6[/n]". */
export function parseCidr(text: string, family?: 4 | 6): Result<Cidr> {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addr, family);
  if (!ip.ok) return bad(ip.reason);
  const maxPrefix = ip.value.family === 4 ? 32 : 128;
  if (slash < 0) return ok({ ...ip.value, prefix: maxPrefix });
  const p = parseUint(text.slice(slash + 1), 0, maxPrefix);
  if (!p.ok) return bad(`'${text}' has an invalid prefix length (0..${maxPrefix})`);
  return ok({ ...ip.value, prefix: p.value });
}

/** Interface names: IFNAMSIZ-1 = 15 bytes, no '/', ':' allowed (aliases), no whitespace. */
export function parseIfName(text: string): Result<string> {
  if (text.length === 0 || text.length > 15 || /[\s/]/.test(text) || text === '.' || text === '..') {
    return bad(`'${text}' is not a valid interface name`);
  }
  return ok(text);
}

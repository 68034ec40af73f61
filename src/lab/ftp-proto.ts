/**
 * The FTP subset of the lab (pure): control-line framing, reply and command
 * parsing, the passive-mode replies, and the generated file contents.
 *
 * RFC 959 section 4.2 (replies: three digits, then ' ' on the last line, '-'
 * on the lines before it), section 4.1.2 (PASV: "227 ... (h1,h2,h3,h4,p1,p2)",
 * port = p1*256+p2); RFC 2428 section 3 (EPSV: "229 ... (|||port|)", the
 * delimiter is any printable ASCII character 33..126, repeated).
 * Lines end in CRLF (RFC 959 section 4, Telnet end-of-line). The kernel's ftp
 * helper (nf_conntrack_ftp) reads the same 227/229 replies to create the
 * expectation of the data connection.
 *
 * Nothing here throws on bad input: parsers return null or a typed error.
 */
import { createHash } from 'node:crypto';

/** Longest control line accepted (without CRLF); RFC 959 sets no limit, servers use a few hundred. */
export const MAX_LINE = 512;

export type LineError = 'line-too-long';

export interface LineSplit {
  lines: string[];
  /** Bytes not yet ended by CRLF, to prepend to the next chunk. */
  rest: string;
  error: LineError | null;
}

/**
 * Split control-channel text into CRLF-ended lines (a bare LF is accepted too).
 * A line longer than `maxLine` is an error; the caller closes the connection.
 */
export function splitLines(buffered: string, maxLine = MAX_LINE): LineSplit {
  const lines: string[] = [];
  let rest = buffered;
  for (;;) {
    const i = rest.indexOf('\n');
    if (i < 0) break;
    const line = rest.slice(0, i).replace(/\r$/, '');
    if (line.length > maxLine) return { lines, rest: '', error: 'line-too-long' };
    lines.push(line);
    rest = rest.slice(i + 1);
  }
  if (rest.length > maxLine) return { lines, rest: '', error: 'line-too-long' };
  return { lines, rest, error: null };
}

export interface Reply {
  code: number;
  text: string;
}

/**
 * A reply line: the final line of a reply ("227 text") gives a Reply; a
 * continuation line ("227-text" or any other text inside a multi-line reply) gives null.
 */
export function parseReplyLine(line: string): Reply | null {
  const m = /^([1-5]\d\d)(?: (.*))?$/.exec(line);
  if (!m || m[1] === undefined) return null;
  return { code: Number(m[1]), text: m[2] ?? '' };
}

export interface Command {
  /** Upper-cased verb (RFC 959 commands are case-insensitive). */
  verb: string;
  arg: string;
}

/** A command line "VERB[ arg]"; null when the verb is not 3-4 letters. */
export function parseCommand(line: string): Command | null {
  const m = /^([A-Za-z]{3,4})(?: (.*))?$/.exec(line);
  if (!m || m[1] === undefined) return null;
  return { verb: m[1].toUpperCase(), arg: m[2] ?? '' };
}

export interface PassiveAddress {
  /** Dotted IPv4 address of the 227 reply; null for 229 (same host as the control connection). */
  host: string | null;
  port: number;
}

/** The address of a 227 reply text, RFC 959 4.1.2; null when absent or out of range. */
export function parsePasvReply(text: string): PassiveAddress | null {
  const m = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/.exec(text);
  if (!m) return null;
  const n = m.slice(1, 7).map(Number);
  if (n.some((v) => v > 255)) return null;
  const [a, b, c, d, p1, p2] = n as [number, number, number, number, number, number];
  const port = p1 * 256 + p2;
  if (port === 0) return null;
  return { host: `${a}.${b}.${c}.${d}`, port };
}

/** The port of a 229 reply text, RFC 2428 section 3; null when absent or out of range. */
export function parseEpsvReply(text: string): PassiveAddress | null {
  const m = /\(([\x21-\x7e])\1\1(\d{1,5})\1\)/.exec(text);
  if (!m || m[2] === undefined) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: null, port };
}

/** "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)." for an IPv4 address and port. */
export function pasvReply(host: string, port: number): string {
  return `227 Entering Passive Mode (${host.split('.').join(',')},${Math.floor(port / 256)},${port % 256}).`;
}

/** "229 Entering Extended Passive Mode (|||port|)." */
export function epsvReply(port: number): string {
  return `229 Entering Extended Passive Mode (|||${port}|).`;
}

/* ---- generated files ---------------------------------------------------- */

/** Largest file the lab serves (a generated file is never stored, only computed). */
export const MAX_FILE = 1 << 30;

export interface FileName {
  size: number;
  seed: number;
}

/** The lab's file names: `data-<size>-<seed>.bin` (size in bytes, seed 0..2^32-1). */
export function fileName(size: number, seed: number): string {
  return `data-${size}-${seed >>> 0}.bin`;
}

export function parseFileName(name: string): FileName | null {
  const m = /^\/?data-(\d{1,10})-(\d{1,10})\.bin$/.exec(name);
  if (!m) return null;
  const size = Number(m[1]);
  const seed = Number(m[2]);
  if (size > MAX_FILE || seed > 0xffffffff) return null;
  return { size, seed };
}

function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Bytes [offset, offset+length) of the generated file with this seed: byte i
 * is byte (i mod 4) of mix32(seed + floor(i/4)), least significant first. Any
 * lost, duplicated or reordered range changes the file's SHA-256.
 */
export function contentChunk(seed: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let word = -1;
  let w = 0;
  for (let k = 0; k < length; k++) {
    const i = offset + k;
    const wi = Math.floor(i / 4);
    if (wi !== word) {
      word = wi;
      w = mix32((seed + wi) >>> 0);
    }
    out[k] = (w >>> (8 * (i % 4))) & 0xff;
  }
  return out;
}

/** SHA-256 (hex) of the whole generated file. */
export function contentSha256(f: FileName, block = 1 << 20): string {
  const h = createHash('sha256');
  for (let off = 0; off < f.size; off += block) h.update(contentChunk(f.seed, off, Math.min(block, f.size - off)));
  return h.digest('hex');
}

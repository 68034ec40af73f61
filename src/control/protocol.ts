/**
 * ctsyncd control protocol: length-prefixed frames over a UNIX stream socket.
 *
 * Frame header, 16 bytes, all fields big-endian (network order):
 *   offset 0  u32  magic    0x43545343 ('CTSC')
 *   offset 4  u16  version  PROTOCOL_VERSION
 *   offset 6  u16  type     FrameType
 *   offset 8  u32  length   body length in bytes (header excluded)
 *   offset 12 u32  id       request id, echoed in every frame answering it
 * Body: UTF-8 JSON (an object), `length` bytes.
 *
 * A client sends one REQUEST; the server answers with any number of PROGRESS
 * and CHUNK frames, then exactly one RESPONSE or ERROR with the same id.
 * Decoding is pure: it returns a frame + bytes consumed, 'incomplete', or a
 * typed error; it never throws.
 */
import type { CacheName, CommitKind, StatsSection } from '../daemon/api';
import type { CtKind } from '../netlink/types';

export const MAGIC = 0x43545343;
export const PROTOCOL_VERSION = 1;
export const HEADER_SIZE = 16;
/** Default body limit; a frame announcing more is refused with ETOOBIG. */
export const DEFAULT_MAX_FRAME = 4 * 1024 * 1024;

export enum FrameType {
  Request = 1,
  Response = 2,
  Progress = 3,
  Error = 4,
  /** A slice of a cache dump: { entries: WireEntry[] }. */
  Chunk = 5,
}

/** Stable error codes carried in ERROR frames and returned by the decoder. */
export type ControlErrorCode =
  | 'EBUSY'
  | 'EINVAL'
  | 'ENOTSUP'
  | 'EINTERNAL'
  | 'ETOOBIG'
  | 'EVERSION'
  | 'EBADMAGIC'
  | 'EBADTYPE'
  | 'EBADJSON';

export interface ControlError {
  code: ControlErrorCode;
  message: string;
}

export interface Frame {
  version: number;
  type: FrameType;
  id: number;
  body: unknown;
}

export type FrameDecode =
  | { status: 'ok'; frame: Frame; consumed: number }
  | { status: 'incomplete'; needed: number }
  | { status: 'error'; error: ControlError & { version?: number; id?: number } };

export interface FrameLimits {
  maxBody: number;
}

export type Request =
  | { cmd: 'commit'; kind: CommitKind }
  | { cmd: 'flushCache'; which: CacheName | 'all' }
  | { cmd: 'flushKernel'; kind: CommitKind }
  | { cmd: 'dumpCache'; which: CacheName; kind: CtKind }
  | { cmd: 'stats'; section: StatsSection }
  | { cmd: 'resyncKernel'; kind: CommitKind }
  | { cmd: 'requestResync' }
  | { cmd: 'bulkSend' }
  | { cmd: 'shortenTimers' }
  | { cmd: 'kill' }
  | { cmd: 'status' };

export type Command = Request['cmd'];

/** A dump entry on the wire: CtRecord with attrs base64-encoded. */
export interface WireEntry {
  kind: CtKind;
  family: number;
  attrs: string;
  age: number;
}

export function encodeFrame(type: FrameType, id: number, body: unknown, version = PROTOCOL_VERSION): Buffer {
  const json = Buffer.from(JSON.stringify(body ?? {}), 'utf8');
  const head = Buffer.alloc(HEADER_SIZE);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt16BE(version, 4);
  head.writeUInt16BE(type, 6);
  head.writeUInt32BE(json.length, 8);
  head.writeUInt32BE(id >>> 0, 12);
  return Buffer.concat([head, json]);
}

/** Decode one frame from the start of `buf`. */
export function decodeFrame(buf: Buffer, limits: FrameLimits = { maxBody: DEFAULT_MAX_FRAME }): FrameDecode {
  if (buf.length < 4) return { status: 'incomplete', needed: HEADER_SIZE };
  if (buf.readUInt32BE(0) !== MAGIC) {
    return { status: 'error', error: { code: 'EBADMAGIC', message: 'not a ctsyncd control frame (bad magic)' } };
  }
  if (buf.length < HEADER_SIZE) return { status: 'incomplete', needed: HEADER_SIZE };
  const version = buf.readUInt16BE(4);
  const type = buf.readUInt16BE(6);
  const length = buf.readUInt32BE(8);
  const id = buf.readUInt32BE(12);
  if (version !== PROTOCOL_VERSION) {
    return {
      status: 'error',
      error: { code: 'EVERSION', message: `protocol version ${version}, expected ${PROTOCOL_VERSION}`, version, id },
    };
  }
  if (type < FrameType.Request || type > FrameType.Chunk) {
    return { status: 'error', error: { code: 'EBADTYPE', message: `unknown frame type ${type}`, id } };
  }
  if (length > limits.maxBody) {
    return { status: 'error', error: { code: 'ETOOBIG', message: `frame of ${length} bytes exceeds ${limits.maxBody}`, id } };
  }
  if (buf.length < HEADER_SIZE + length) return { status: 'incomplete', needed: HEADER_SIZE + length };
  const text = buf.toString('utf8', HEADER_SIZE, HEADER_SIZE + length);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status: 'error', error: { code: 'EBADJSON', message: 'frame body is not valid JSON', id } };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { status: 'error', error: { code: 'EBADJSON', message: 'frame body is not a JSON object', id } };
  }
  return { status: 'ok', frame: { version, type: type as FrameType, id, body }, consumed: HEADER_SIZE + length };
}

/**
 * Accumulates stream bytes and yields complete frames. After the first error
 * it stays failed (the stream cannot be resynchronised).
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private failed: FrameDecode & { status: 'error' } | undefined;

  constructor(private readonly limits: FrameLimits = { maxBody: DEFAULT_MAX_FRAME }) {}

  push(chunk: Buffer): { frames: Frame[]; error?: FrameDecode & { status: 'error' } } {
    if (this.failed) return { frames: [], error: this.failed };
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const r = decodeFrame(this.buf, this.limits);
      if (r.status === 'incomplete') break;
      if (r.status === 'error') {
        this.failed = r;
        this.buf = Buffer.alloc(0);
        return { frames, error: r };
      }
      frames.push(r.frame);
      this.buf = this.buf.subarray(r.consumed);
    }
    return { frames };
  }
}

const KINDS: readonly string[] = ['ct', 'expect'];
const COMMIT_KINDS: readonly string[] = ['ct', 'expect', 'all'];
const CACHES: readonly string[] = ['internal', 'external'];
const SECTIONS: readonly string[] = [
  'general', 'network', 'cache', 'runtime', 'link', 'rsqueue', 'queue', 'process', 'ct', 'expect',
];

function field(body: Record<string, unknown>, name: string, allowed: readonly string[]): string | undefined {
  const v = body[name];
  return typeof v === 'string' && allowed.includes(v) ? v : undefined;
}

/** Validate a REQUEST body strictly. */
export function parseRequest(body: unknown): { ok: true; request: Request } | { ok: false; error: ControlError } {
  const bad = (message: string): { ok: false; error: ControlError } => ({ ok: false, error: { code: 'EINVAL', message } });
  if (typeof body !== 'object' || body === null) return bad('request body is not an object');
  const b = body as Record<string, unknown>;
  const cmd = b.cmd;
  if (typeof cmd !== 'string') return bad('request has no cmd');
  switch (cmd) {
    case 'commit':
    case 'flushKernel':
    case 'resyncKernel': {
      const kind = field(b, 'kind', COMMIT_KINDS);
      if (!kind) return bad(`${cmd}: kind must be ct, expect or all`);
      return { ok: true, request: { cmd, kind: kind as CommitKind } };
    }
    case 'flushCache': {
      const which = field(b, 'which', [...CACHES, 'all']);
      if (!which) return bad('flushCache: which must be internal, external or all');
      return { ok: true, request: { cmd, which: which as CacheName | 'all' } };
    }
    case 'dumpCache': {
      const which = field(b, 'which', CACHES);
      const kind = field(b, 'kind', KINDS);
      if (!which || !kind) return bad('dumpCache: which must be internal|external and kind ct|expect');
      return { ok: true, request: { cmd, which: which as CacheName, kind: kind as CtKind } };
    }
    case 'stats': {
      const section = field(b, 'section', SECTIONS);
      if (!section) return bad('stats: unknown section');
      return { ok: true, request: { cmd, section: section as StatsSection } };
    }
    case 'requestResync':
    case 'bulkSend':
    case 'shortenTimers':
    case 'kill':
    case 'status':
      return { ok: true, request: { cmd } };
    default:
      return { ok: false, error: { code: 'ENOTSUP', message: `unknown command '${cmd.slice(0, 64)}'` } };
  }
}

/** Validate an ERROR frame body; anything malformed becomes EINTERNAL. */
export function parseError(body: unknown): ControlError {
  const b = body as Record<string, unknown>;
  const codes: readonly string[] = ['EBUSY', 'EINVAL', 'ENOTSUP', 'EINTERNAL', 'ETOOBIG', 'EVERSION', 'EBADMAGIC', 'EBADTYPE', 'EBADJSON'];
  const code = typeof b.code === 'string' && codes.includes(b.code) ? (b.code as ControlErrorCode) : 'EINTERNAL';
  const message = typeof b.message === 'string' ? b.message : 'unknown error';
  return { code, message };
}

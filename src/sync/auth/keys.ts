/**
 * Sync keys: reading key files, key ids and derived subkeys.
 *
 * A key file holds at least 32 random bytes, either as raw bytes or as hex
 * text (64+ hex digits; whitespace and newlines are ignored), e.g.
 * `openssl rand -hex 32`. A file that
 * others can read or write (mode & 0o007) is refused, like ssh refuses a
 * private key. Keys are never logged; only their 32-bit id is.
 *
 * Derivations (HKDF-SHA256, RFC 5869, salt "ctsync-sync"):
 *   key id   = first 4 bytes of HMAC-SHA256(key, "ctsync key id v1"), big-endian u32
 *   MAC key  = HKDF(key, info "ctsync hmac-sha256 v1"), 32 bytes
 *   AEAD key = HKDF(key, info "ctsync aes-256-gcm v1" || node u32 || epoch hi u32 || epoch lo u32),
 *              32 bytes: one key per sender node and epoch, so (key, nonce) pairs never repeat across restarts.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const MIN_KEY_BYTES = 32;
/** Largest key file read (bytes). */
export const MAX_KEY_FILE = 4096;
const SALT = Buffer.from('ctsync-sync');

export interface SyncKey {
  /** The secret (never logged). */
  readonly secret: Buffer;
  /** Public 32-bit id carried in every sealed datagram. */
  readonly id: number;
  readonly macKey: Buffer;
}

export type KeyErrorCode = 'ENOENT' | 'EPERM' | 'ETOOSHORT' | 'ETOOBIG' | 'ENOTFILE' | 'EREAD' | 'EFORMAT';
export type KeyResult = { ok: true; key: SyncKey } | { ok: false; code: KeyErrorCode; message: string };

/** Build a key from secret bytes (>= 32). */
export function makeKey(secret: Buffer): KeyResult {
  if (secret.length < MIN_KEY_BYTES) {
    return { ok: false, code: 'ETOOSHORT', message: `key has ${secret.length} bytes, at least ${MIN_KEY_BYTES} are needed` };
  }
  const s = Buffer.from(secret);
  const id = createHmac('sha256', s).update('ctsync key id v1').digest().readUInt32BE(0);
  const macKey = Buffer.from(hkdfSync('sha256', s, SALT, 'ctsync hmac-sha256 v1', 32));
  return { ok: true, key: { secret: s, id, macKey } };
}

/** The AES-256-GCM key of one sender (node id) and epoch. */
export function aeadKey(key: SyncKey, node: number, epochHi: number, epochLo: number): Buffer {
  const label = Buffer.from('ctsync aes-256-gcm v1', 'latin1');
  const info = Buffer.alloc(label.length + 12);
  label.copy(info, 0);
  info.writeUInt32BE(node >>> 0, label.length);
  info.writeUInt32BE(epochHi >>> 0, label.length + 4);
  info.writeUInt32BE(epochLo >>> 0, label.length + 8);
  return Buffer.from(hkdfSync('sha256', key.secret, SALT, info, 32));
}

/**
 * Key file bytes -> secret: text made only of hex digits and whitespace is
 * hex (an even number of digits); anything else is taken as raw bytes.
 * (32 random bytes are all hex digits with probability (22/256)^32.)
 */
export function parseKeyBytes(data: Buffer): Buffer | string {
  const text = data.toString('latin1').replace(/\s+/g, '');
  if (text.length === 0) return 'empty key';
  if (!/^[0-9a-fA-F]+$/.test(text)) return data;
  if (text.length % 2 !== 0) return `hex key with an odd number of digits (${text.length})`;
  return Buffer.from(text, 'hex');
}

export interface KeyFileDeps {
  stat(path: string): { mode: number; size: number; isFile(): boolean };
  read(path: string): Buffer;
}

const realFs: KeyFileDeps = { stat: (p) => statSync(p), read: (p) => readFileSync(p) };

/** Read and check a key file. Never throws. */
export function loadKeyFile(path: string, fs: KeyFileDeps = realFs): KeyResult {
  let st: { mode: number; size: number; isFile(): boolean };
  try {
    st = fs.stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, code: code === 'ENOENT' ? 'ENOENT' : 'EREAD', message: `key file ${path}: ${(e as Error).message}` };
  }
  if (!st.isFile()) return { ok: false, code: 'ENOTFILE', message: `key file ${path}: not a regular file` };
  if ((st.mode & 0o007) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return { ok: false, code: 'EPERM', message: `key file ${path}: mode ${mode} lets other users access it; chmod 600 (or 640) it` };
  }
  if (st.size > MAX_KEY_FILE) return { ok: false, code: 'ETOOBIG', message: `key file ${path}: ${st.size} bytes, at most ${MAX_KEY_FILE}` };
  let data: Buffer;
  try {
    data = fs.read(path);
  } catch (e) {
    return { ok: false, code: 'EREAD', message: `key file ${path}: ${(e as Error).message}` };
  }
  const secret = parseKeyBytes(data);
  if (typeof secret === 'string') return { ok: false, code: 'EFORMAT', message: `key file ${path}: ${secret}` };
  const r = makeKey(secret);
  return r.ok ? r : { ...r, message: `key file ${path}: ${r.message}` };
}

export interface KeyRing {
  /** Signs everything sent. */
  current: SyncKey;
  /** Also accepted on receive during a rotation. */
  previous?: SyncKey;
}

export type KeyRingResult = { ok: true; ring: KeyRing } | { ok: false; code: KeyErrorCode | 'EKEYID'; message: string };

/** Load the current and optional previous key (Sync/Auth KeyFile, PreviousKeyFile). */
export function loadKeyRing(keyFile: string, previousKeyFile?: string, fs: KeyFileDeps = realFs): KeyRingResult {
  const cur = loadKeyFile(keyFile, fs);
  if (!cur.ok) return cur;
  if (previousKeyFile === undefined) return { ok: true, ring: { current: cur.key } };
  const prev = loadKeyFile(previousKeyFile, fs);
  if (!prev.ok) return prev;
  if (prev.key.secret.equals(cur.key.secret)) return { ok: true, ring: { current: cur.key } };
  if (prev.key.id === cur.key.id) {
    return { ok: false, code: 'EKEYID', message: `${keyFile} and ${previousKeyFile} are different keys with the same id; generate a new key` };
  }
  return { ok: true, ring: { current: cur.key, previous: prev.key } };
}

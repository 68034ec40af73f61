/**
 * Datagram authentication for the sync link: seal() turns a plain (version 1)
 * datagram into a sealed one (src/sync/wire/sealed.ts), open() verifies a
 * sealed datagram and gives back the plain form, or a rejection with a reason.
 *
 *  - HMAC-SHA256 with the current key; the previous key is still accepted
 *    (rotation). With `encrypt`, AES-256-GCM instead (payload hidden, header
 *    authenticated as AAD); both forms are accepted on receive.
 *  - Replay: each sender run has a 64-bit epoch (top 48 bits: wall-clock ms
 *    at start, low 16 bits: random) and counts its datagrams. Per source
 *    address the receiver keeps the newest epoch and a sliding window of
 *    counters that starts at the first counter it accepted; an older epoch, a
 *    counter below the window or one already seen is rejected, and so is any
 *    datagram of a (node, epoch) a source has moved away from (a replay
 *    from another address). State changes only after the datagram authenticated.
 *  - Rejections are counted by reason and logged at most once per
 *    logIntervalMs per reason, with the sender and how many were not logged.
 * open() never throws.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../util/clock';
import type { Logger } from '../../util/log';
import {
  AuthAlg,
  layoutSealed,
  MAX_COUNTER,
  plainFromSealed,
  readSealedHeader,
  SEALED_PAYLOAD_OFFSET,
  sealOverhead,
  type AuthAlgCode,
  type SealedHeader,
} from '../wire/sealed';
import { aeadKey, type KeyRing, type SyncKey } from './keys';
import { ReplayWindow } from './window';

export type AuthRejectReason = 'malformed' | 'unsigned' | 'unknown-key' | 'bad-mac' | 'decrypt' | 'replay';
export const AUTH_REJECT_REASONS: readonly AuthRejectReason[] = ['malformed', 'unsigned', 'unknown-key', 'bad-mac', 'decrypt', 'replay'];

export interface Rejection {
  ok: false;
  reason: AuthRejectReason;
  message: string;
}
export type OpenResult = { ok: true; datagram: Buffer; node: number; keyId: number } | Rejection;

export interface AuthStats {
  sealed: number;
  /** Datagrams seal() refused (not a version 1 datagram, or too large once sealed). */
  sealErrors: number;
  opened: number;
  rejected: Record<AuthRejectReason, number>;
  /** Source addresses whose replay state is kept. */
  peers: number;
}

export interface DatagramAuthOptions {
  keys: KeyRing;
  /** Sync/Auth Encrypt: seal with AES-256-GCM instead of HMAC-SHA256. */
  encrypt: boolean;
  /** Monotonic clock (log rate limiting). */
  clock: Clock;
  logger: Logger;
  /** Wall clock, ms since 1970 (sender epoch). Default Date.now. */
  wallClock?: () => number;
  /** Random u32 source (sender epoch). Default node:crypto. */
  randomU32?: () => number;
  /** Replay window, datagrams (power of two, 32..65536). Default 1024. */
  windowSize?: number;
  /** Most source addresses tracked; the least recently heard is forgotten. Default 64. */
  maxPeers?: number;
  /** Superseded (node, epoch) pairs remembered. Default 1024. */
  maxRetired?: number;
  /** At most one log line per reason per this many ms. Default 10000. */
  logIntervalMs?: number;
}

export interface DatagramAuth {
  /** Bytes a sealed datagram adds to the plain one. */
  readonly overhead: number;
  seal(plain: Buffer): Buffer | null;
  open(datagram: Buffer, from: string): OpenResult;
  stats(): AuthStats;
  /** Swap keys at run time (rotation without restart). */
  setKeys(keys: KeyRing): void;
}

interface PeerState {
  node: number;
  epochHi: number;
  epochLo: number;
  window: ReplayWindow;
  lastSeen: number;
  /** AEAD key of this epoch, per key id. */
  aead: Map<number, Buffer>;
}

function cmpEpoch(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return aHi !== bHi ? aHi - bHi : aLo - bLo;
}

function epochKey(node: number, hi: number, lo: number): string {
  return `${node}/${hi}/${lo}`;
}

function nonce(epochLo: number, counter: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(epochLo >>> 0, 0);
  n.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 4);
  n.writeUInt32BE(counter % 0x1_0000_0000, 8);
  return n;
}

export function createDatagramAuth(opts: DatagramAuthOptions): DatagramAuth {
  const alg: AuthAlgCode = opts.encrypt ? AuthAlg.AES256_GCM : AuthAlg.HMAC_SHA256;
  const wall = opts.wallClock ?? Date.now;
  const randomU32 = opts.randomU32 ?? (() => randomBytes(4).readUInt32BE(0));
  const windowSize = opts.windowSize ?? 1024;
  const maxPeers = opts.maxPeers ?? 64;
  const maxRetired = opts.maxRetired ?? 1024;
  const retired = new Set<string>();
  const logEvery = opts.logIntervalMs ?? 10_000;
  new ReplayWindow(windowSize); // validate the size up front
  let keys = opts.keys;
  const peers = new Map<string, PeerState>();
  const rejected = Object.fromEntries(AUTH_REJECT_REASONS.map((r) => [r, 0])) as Record<AuthRejectReason, number>;
  const logState = new Map<AuthRejectReason, { last: number; suppressed: number }>();
  let sealed = 0;
  let sealErrors = 0;
  let opened = 0;

  // Sender state.
  let epochHi = 0;
  let epochLo = 0;
  let counter = 0;
  let sendAead: { node: number; keyId: number; key: Buffer } | null = null;
  newEpoch();

  /** Epoch = (ms since 1970) * 2^16 + 16 random bits, kept increasing. */
  function newEpoch(): void {
    const ms = Math.max(Math.floor(wall()), epochHi * 0x1_0000 + (epochLo >>> 16) + 1);
    epochHi = Math.floor(ms / 0x1_0000) >>> 0;
    epochLo = (((ms % 0x1_0000) << 16) | (randomU32() & 0xffff)) >>> 0;
    counter = 0;
    sendAead = null;
  }

  function findKey(id: number): SyncKey | undefined {
    if (keys.current.id === id) return keys.current;
    return keys.previous?.id === id ? keys.previous : undefined;
  }

  function reject(reason: AuthRejectReason, message: string, from: string, node?: number): Rejection {
    rejected[reason]++;
    const now = opts.clock.now();
    const st = logState.get(reason);
    if (st === undefined || now - st.last >= logEvery) {
      opts.logger.warn({ from, node, reason, notLogged: st?.suppressed ?? 0, total: rejected[reason] }, `sync auth: datagram rejected: ${message}`);
      logState.set(reason, { last: now, suppressed: 0 });
    } else {
      st.suppressed++;
    }
    return { ok: false, reason, message };
  }

  function seal(plain: Buffer): Buffer | null {
    if (counter >= MAX_COUNTER) newEpoch();
    const key = keys.current;
    const out = layoutSealed(plain, { alg, keyId: key.id, epochHi, epochLo, counter });
    if (out === null) {
      sealErrors++;
      return null;
    }
    const tagAt = out.length - (alg === AuthAlg.HMAC_SHA256 ? 32 : 16);
    if (alg === AuthAlg.HMAC_SHA256) {
      createHmac('sha256', key.macKey).update(out.subarray(0, tagAt)).digest().copy(out, tagAt);
    } else {
      const node = out.readUInt32BE(8);
      if (sendAead === null || sendAead.node !== node || sendAead.keyId !== key.id) {
        sendAead = { node, keyId: key.id, key: aeadKey(key, node, epochHi, epochLo) };
      }
      const c = createCipheriv('aes-256-gcm', sendAead.key, nonce(epochLo, counter), { authTagLength: 16 });
      c.setAAD(out.subarray(0, SEALED_PAYLOAD_OFFSET));
      const ct = Buffer.concat([c.update(out.subarray(SEALED_PAYLOAD_OFFSET, tagAt)), c.final()]);
      ct.copy(out, SEALED_PAYLOAD_OFFSET);
      c.getAuthTag().copy(out, tagAt);
    }
    counter++;
    sealed++;
    return out;
  }

  function peerAead(peer: PeerState | undefined, key: SyncKey, h: SealedHeader): Buffer {
    const same = peer !== undefined && peer.node === h.node && peer.epochHi === h.epochHi && peer.epochLo === h.epochLo;
    const cached = same ? peer.aead.get(key.id) : undefined;
    if (cached) return cached;
    const k = aeadKey(key, h.node, h.epochHi, h.epochLo);
    if (same) peer.aead.set(key.id, k);
    return k;
  }

  /** Verify the tag; returns the plaintext payload or a rejection. */
  function verify(buf: Buffer, h: SealedHeader, key: SyncKey, peer: PeerState | undefined, from: string): Buffer | Rejection {
    const payload = buf.subarray(h.payloadStart, h.payloadEnd);
    const tag = buf.subarray(h.payloadEnd);
    if (h.alg === AuthAlg.HMAC_SHA256) {
      const mac = createHmac('sha256', key.macKey).update(buf.subarray(0, h.payloadEnd)).digest();
      return timingSafeEqual(mac, tag) ? payload : reject('bad-mac', `bad HMAC (key id ${key.id.toString(16)})`, from, h.node);
    }
    try {
      const d = createDecipheriv('aes-256-gcm', peerAead(peer, key, h), nonce(h.epochLo, h.counter), { authTagLength: 16 });
      d.setAAD(buf.subarray(0, SEALED_PAYLOAD_OFFSET));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(payload), d.final()]);
    } catch {
      return reject('decrypt', `AES-GCM authentication failed (key id ${key.id.toString(16)})`, from, h.node);
    }
  }

  function open(buf: Buffer, from: string): OpenResult {
    const r = readSealedHeader(buf);
    if (!r.ok) return reject(r.code === 'ENOTSEALED' ? 'unsigned' : 'malformed', r.message, from);
    const h = r.value;
    const key = findKey(h.keyId);
    if (key === undefined) return reject('unknown-key', `unknown key id ${h.keyId.toString(16)}`, from, h.node);
    const peer = peers.get(from);
    if (retired.has(epochKey(h.node, h.epochHi, h.epochLo))) return reject('replay', 'datagram of a superseded sender epoch', from, h.node);
    if (peer !== undefined) {
      const c = cmpEpoch(h.epochHi, h.epochLo, peer.epochHi, peer.epochLo);
      if (c < 0) return reject('replay', 'datagram from an older sender epoch', from, h.node);
      if (c === 0) {
        const v = peer.window.check(h.counter);
        if (v !== 'ok') return reject('replay', `counter ${h.counter} ${v === 'duplicate' ? 'already seen' : 'older than the window'}`, from, h.node);
      }
    }
    const payload = verify(buf, h, key, peer, from);
    if (!Buffer.isBuffer(payload)) return payload;
    const state = track(from, peer, h);
    state.window.mark(h.counter);
    opened++;
    return { ok: true, datagram: plainFromSealed(buf, h, payload), node: h.node, keyId: h.keyId };
  }

  /** The source's state for this (authenticated) datagram's epoch. */
  function track(from: string, peer: PeerState | undefined, h: SealedHeader): PeerState {
    const now = opts.clock.now();
    if (peer !== undefined && peer.node === h.node && peer.epochHi === h.epochHi && peer.epochLo === h.epochLo) {
      peer.lastSeen = now;
      return peer;
    }
    if (peer !== undefined) retire(epochKey(peer.node, peer.epochHi, peer.epochLo));
    else if (peers.size >= maxPeers) forgetOldest();
    const window = new ReplayWindow(windowSize, h.counter);
    const st: PeerState = { node: h.node, epochHi: h.epochHi, epochLo: h.epochLo, window, lastSeen: now, aead: new Map() };
    peers.set(from, st);
    return st;
  }

  function retire(k: string): void {
    retired.add(k);
    if (retired.size > maxRetired) {
      const first = retired.values().next();
      if (!first.done) retired.delete(first.value);
    }
  }

  function forgetOldest(): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [from, p] of peers) {
      if (p.lastSeen < at) {
        at = p.lastSeen;
        oldest = from;
      }
    }
    if (oldest !== undefined) peers.delete(oldest);
  }

  return {
    overhead: sealOverhead(alg),
    seal,
    open,
    stats: () => ({ sealed, sealErrors, opened, rejected: { ...rejected }, peers: peers.size }),
    setKeys(k: KeyRing) {
      keys = k;
      sendAead = null;
      for (const p of peers.values()) p.aead.clear();
    },
  };
}

/**
 * Socket buffer sizing for datagram sockets. Linux caps SO_SNDBUF/SO_RCVBUF
 * at net.core.wmem_max / rmem_max (the kernel then doubles the value for its
 * bookkeeping, see socket(7)). We report what was obtained and, only when
 * asked, raise the sysctl first (root only; affects the whole namespace).
 */
import type { Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../util/log';

export interface BufferRequest {
  sndBuf?: number;
  rcvBuf?: number;
  /** Raise net.core.{w,r}mem_max when a request exceeds it. */
  raiseSysctl?: boolean;
}

export interface BufferResult {
  /** Value reported by getsockopt (the kernel's doubled figure), 0 if not set. */
  sndBuf: number;
  rcvBuf: number;
  /** True when a request was capped by the sysctl maximum (obtained < 2 x requested). */
  sndCapped: boolean;
  rcvCapped: boolean;
}

export interface SysctlIo {
  read(path: string): number | null;
  write(path: string, value: number): boolean;
}

export const procSysctl: SysctlIo = {
  read(path) {
    try {
      const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  },
  write(path, value) {
    try {
      writeFileSync(path, `${value}\n`);
      return true;
    } catch {
      return false;
    }
  },
};

const RMEM_MAX = '/proc/sys/net/core/rmem_max';
const WMEM_MAX = '/proc/sys/net/core/wmem_max';

function ensureMax(path: string, want: number, raise: boolean, io: SysctlIo, logger?: Logger): void {
  const max = io.read(path);
  if (max === null || want <= max || !raise) return;
  if (io.write(path, want)) logger?.info({ sysctl: path, from: max, to: want }, 'raised socket buffer maximum');
  else logger?.warn({ sysctl: path, want }, 'could not raise socket buffer maximum');
}

/** Sets SO_SNDBUFFORCE / SO_RCVBUFFORCE on a socket; returns false when it could not. */
export type BufferForcer = (sock: Socket, which: 'snd' | 'rcv', bytes: number) => boolean;

/**
 * The fd of a bound node dgram socket. Node exposes it only on its internal
 * state object (lib/internal/dgram.js kStateSymbol, description 'state symbol');
 * the public `_handle` getter is deprecated. Undefined when it cannot be found.
 */
export function dgramFd(sock: Socket): number | undefined {
  const sym = Object.getOwnPropertySymbols(sock).find((x) => x.description === 'state symbol');
  if (sym === undefined) return undefined;
  const state = (sock as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[sym];
  const fd = state?.handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Like conntrackd: as root (CAP_NET_ADMIN) force the requested size past
 * net.core.{r,w}mem_max, which is global and cannot be raised from a namespace.
 */
export const forceBuffer: BufferForcer = (sock, which, bytes) => {
  const fd = dgramFd(sock);
  if (fd === undefined) return false;
  // Loaded lazily: the transport layer works (unforced) without the native addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require('../netlink/native') as typeof import('../netlink/native');
  const SOL_SOCKET = 1;
  return native.setSockOptInt(fd, SOL_SOCKET, which === 'snd' ? native.SO_SNDBUFFORCE : native.SO_RCVBUFFORCE, bytes) === null;
};

/** Apply the requested sizes to a bound socket and report what the kernel granted. */
export function applyBuffers(
  sock: Socket,
  req: BufferRequest,
  logger?: Logger,
  io: SysctlIo = procSysctl,
  force: BufferForcer | null = forceBuffer,
): BufferResult {
  const res: BufferResult = { sndBuf: 0, rcvBuf: 0, sndCapped: false, rcvCapped: false };
  if (req.sndBuf !== undefined && req.sndBuf > 0) {
    ensureMax(WMEM_MAX, req.sndBuf, req.raiseSysctl ?? false, io, logger);
    sock.setSendBufferSize(req.sndBuf);
    res.sndBuf = sock.getSendBufferSize();
    if (res.sndBuf < 2 * req.sndBuf && force?.(sock, 'snd', req.sndBuf)) res.sndBuf = sock.getSendBufferSize();
    res.sndCapped = res.sndBuf < 2 * req.sndBuf;
    if (res.sndCapped) {
      logger?.warn({ requested: req.sndBuf, obtained: res.sndBuf, max: io.read(WMEM_MAX) }, 'send buffer capped by net.core.wmem_max');
    }
  }
  if (req.rcvBuf !== undefined && req.rcvBuf > 0) {
    ensureMax(RMEM_MAX, req.rcvBuf, req.raiseSysctl ?? false, io, logger);
    sock.setRecvBufferSize(req.rcvBuf);
    res.rcvBuf = sock.getRecvBufferSize();
    if (res.rcvBuf < 2 * req.rcvBuf && force?.(sock, 'rcv', req.rcvBuf)) res.rcvBuf = sock.getRecvBufferSize();
    res.rcvCapped = res.rcvBuf < 2 * req.rcvBuf;
    if (res.rcvCapped) {
      logger?.warn({ requested: req.rcvBuf, obtained: res.rcvBuf, max: io.read(RMEM_MAX) }, 'receive buffer capped by net.core.rmem_max');
    }
  }
  return res;
}

/** IP + UDP header bytes: IPv4 20 (RFC 791, no options) / IPv6 40 (RFC 8200), UDP 8 (RFC 768). */
export function udpOverhead(family: 4 | 6): number {
  return (family === 4 ? 20 : 40) + 8;
}

/** Interface MTU from /sys/class/net/IF/mtu, or null. */
export function interfaceMtu(ifname: string, read: (p: string) => string | null): number | null {
  const s = read(`/sys/class/net/${ifname}/mtu`);
  if (s === null) return null;
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** Datagram payload MTU: interface MTU minus headers, else the Ethernet default 1500. */
export function payloadMtu(family: 4 | 6, ifname: string | undefined, read: (p: string) => string | null): number {
  const link = ifname !== undefined ? interfaceMtu(ifname, read) : null;
  return (link ?? 1500) - udpOverhead(family);
}

/**
 * Typed wrapper around the ctsock addon (native/, built to build/Release/ctsock.node).
 *
 * Everything that can fail at run time returns a SockError value. If the addon
 * is not built, the openers return { code: 'ENOADDON', op: 'load' }.
 * Data handlers that throw do not reach the event loop: the exception is
 * reported through onError as { code: 'EHANDLER' } and reading continues.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  NetlinkSocket,
  NetlinkSocketOptions,
  RawDatagram,
  RawSocket,
  RawSocketOptions,
  SockError,
  SocketStats,
} from './socket';
import { isSockError } from './socket';

/** Netlink protocols (include/uapi/linux/netlink.h). */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
/** Address families (include/linux/socket.h). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_DGRAM = 2;
/** Socket option levels and names (asm-generic/socket.h, linux/netlink.h). */
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;
export const SOL_NETLINK = 270;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
/** Ethertypes (include/uapi/linux/if_ether.h), host order. */
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

const ADDON_FILE = join('build', 'Release', 'ctsock.node');

interface AddonNetlink {
  readonly portId: number;
  send(msgs: Buffer[]): SockError | null;
  sendOne(parts: Buffer[]): SockError | null;
  sendAsync(msgs: Buffer[], cb: (err: SockError | null, sent: number) => void): SockError | null;
  start(onData: (buf: Buffer, lens: Uint32Array) => void, onError: (e: SockError) => void): SockError | null;
  stop(): void;
  close(): void;
  setOption(level: number, name: number, value: number): SockError | null;
  getOption(level: number, name: number): number | SockError;
  membership(group: number, join: boolean): SockError | null;
  stats(): SocketStats;
  setRef(on: boolean): void;
}

interface RawMeta {
  len: number;
  from: string;
  to: string;
  ifindex: number;
  ttl: number;
  pktType: number;
  truncated: boolean;
}

interface AddonRaw {
  readonly ifindex: number;
  sendTo(data: Buffer, to: string, ifindex?: number): SockError | null;
  membership(group: string, ifname: string, join: boolean): SockError | null;
  setOption(level: number, name: number, value: number): SockError | null;
  getOption(level: number, name: number): number | SockError;
  ifIndex(name: string): number;
  start(onData: (buf: Buffer, meta: RawMeta[]) => void, onError: (e: SockError) => void): SockError | null;
  stop(): void;
  close(): void;
  setRef(on: boolean): void;
}

export interface Addon {
  openNetlink(opts: NetlinkSocketOptions): AddonNetlink | SockError;
  openRaw(opts: RawSocketOptions): AddonRaw | SockError;
  ifIndex(name: string, netns?: string): number | SockError;
  ifName(index: number, netns?: string): string | SockError;
  sdNotify(path: string, state: string): SockError | null;
  errnoName(n: number): string;
  setSockOptInt(fd: number, level: number, name: number, value: number): SockError | null;
}

/** Directory above `from` that holds the built addon, or null. */
export function findAddon(from: string = __dirname): string | null {
  let dir = from;
  for (;;) {
    const candidate = join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Load the addon (Node's require cache makes repeated calls cheap). */
export function loadAddon(): Addon | SockError {
  const path = findAddon();
  if (path === null) return { code: 'ENOADDON', errno: 0, op: 'load', message: `${ADDON_FILE} not found; run npm install` };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path) as Addon;
  } catch (e) {
    return { code: 'ENOADDON', errno: 0, op: 'load', message: (e as Error).message };
  }
}

function handlerError(e: unknown, op: string): SockError {
  return { code: 'EHANDLER', errno: 0, op, message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

function wrapNetlink(s: AddonNetlink): NetlinkSocket {
  return {
    portId: s.portId,
    send: (msgs) => s.send(msgs),
    sendOne: (parts) => s.sendOne(parts),
    sendAsync: (msgs, cb) => s.sendAsync(msgs, cb),
    start(onData, onError) {
      const err = s.start(
        (buf, lens) => {
          const views: Buffer[] = new Array<Buffer>(lens.length);
          let off = 0;
          for (let i = 0; i < lens.length; i++) {
            const len = lens[i] ?? 0;
            views[i] = buf.subarray(off, off + len);
            off += len;
          }
          try {
            onData(views);
          } catch (e) {
            onError(handlerError(e, 'onData'));
          }
        },
        (e) => onError(e),
      );
      if (err !== null) onError(err);
    },
    startRaw(onData, onError) {
      const err = s.start(
        (buf, lens) => {
          try {
            onData(buf, lens);
          } catch (e) {
            onError(handlerError(e, 'onData'));
          }
        },
        (e) => onError(e),
      );
      if (err !== null) onError(err);
    },
    stop: () => s.stop(),
    addMembership: (g) => s.membership(g, true),
    dropMembership: (g) => s.membership(g, false),
    setRcvbuf: (bytes) => s.setOption(SOL_SOCKET, SO_RCVBUF, bytes),
    getRcvbuf: () => s.getOption(SOL_SOCKET, SO_RCVBUF),
    setOption: (level, name, value) => s.setOption(level, name, value),
    getOption: (level, name) => s.getOption(level, name),
    stats: () => s.stats(),
    ref: () => s.setRef(true),
    unref: () => s.setRef(false),
    close: () => s.close(),
  };
}

function wrapRaw(s: AddonRaw): RawSocket {
  return {
    ifindex: s.ifindex,
    sendTo: (data, to, ifindex) => s.sendTo(data, to, ifindex),
    addMembership: (group, ifname) => s.membership(group, ifname, true),
    dropMembership: (group, ifname) => s.membership(group, ifname, false),
    setOption: (level, name, value) => s.setOption(level, name, value),
    getOption: (level, name) => s.getOption(level, name),
    ifIndex: (name) => s.ifIndex(name),
    start(onData, onError) {
      const err = s.start(
        (buf, meta) => {
          const out: RawDatagram[] = [];
          let off = 0;
          for (const m of meta) {
            out.push({
              data: buf.subarray(off, off + m.len),
              from: m.from,
              to: m.to,
              ifindex: m.ifindex,
              ttl: m.ttl,
              pktType: m.pktType,
              truncated: m.truncated,
            });
            off += m.len;
          }
          try {
            onData(out);
          } catch (e) {
            onError(handlerError(e, 'onData'));
          }
        },
        (e) => onError(e),
      );
      if (err !== null) onError(err);
    },
    stop: () => s.stop(),
    ref: () => s.setRef(true),
    unref: () => s.setRef(false),
    close: () => s.close(),
  };
}

/** Open an AF_NETLINK socket (see NetlinkSocketOptions). */
export function openNetlink(opts: NetlinkSocketOptions): NetlinkSocket | SockError {
  const addon = loadAddon();
  if (isSockError(addon)) return addon;
  const s = addon.openNetlink(opts);
  return isSockError(s) ? s : wrapNetlink(s);
}

/** Open a raw IP or packet socket (see RawSocketOptions). */
export function openRaw(opts: RawSocketOptions): RawSocket | SockError {
  const addon = loadAddon();
  if (isSockError(addon)) return addon;
  const s = addon.openRaw(opts);
  return isSockError(s) ? s : wrapRaw(s);
}

/** if_nametoindex, in `netns` when given; 0 when there is no such interface (or on error). */
export function ifIndex(name: string, netns?: string): number {
  const addon = loadAddon();
  if (isSockError(addon)) return 0;
  const r = addon.ifIndex(name, netns);
  return typeof r === 'number' ? r : 0;
}

/** if_indextoname, in `netns` when given; '' when there is none (or on error). */
export function ifName(index: number, netns?: string): string {
  const addon = loadAddon();
  if (isSockError(addon)) return '';
  const r = addon.ifName(index, netns);
  return typeof r === 'string' ? r : '';
}

/**
 * sd_notify(3): send `state` (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET,
 * also an abstract '@' socket. Null when sent or when NOTIFY_SOCKET is unset.
 */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): SockError | null {
  const path = env.NOTIFY_SOCKET;
  if (path === undefined || path === '') return null;
  const addon = loadAddon();
  if (isSockError(addon)) return addon;
  return addon.sdNotify(path, state);
}

/** SOL_SOCKET options that bypass net.core.{r,w}mem_max (need CAP_NET_ADMIN), socket(7). */
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;

/** setsockopt(fd, level, name, int) on a socket Node owns (e.g. a dgram socket's fd). */
export function setSockOptInt(fd: number, level: number, name: number, value: number): SockError | null {
  const addon = loadAddon();
  if (isSockError(addon)) return addon;
  return addon.setSockOptInt(fd, level, name, value);
}

/** errno number -> name ('ENOBUFS'); 'E<n>' when unknown or the addon is missing. */
export function errnoName(n: number): string {
  const addon = loadAddon();
  return isSockError(addon) ? `E${n}` : addon.errnoName(n);
}

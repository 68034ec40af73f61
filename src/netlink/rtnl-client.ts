/**
 * Small rtnetlink client: list links and addresses, add/delete addresses,
 * bring links up/down, and follow link state changes (RTNLGRP_LINK).
 *
 * Requests carry sequence numbers (starting at 1 per client) and are matched
 * with their replies; kernel refusals (EEXIST, EADDRNOTAVAIL, ENODEV, ...) come
 * back as SockError values, never as exceptions. Used by the VRRP address
 * manager and the transport link monitor.
 */
import type { Logger } from '../util/log';
import { silentLogger } from '../util/log';
import { systemClock, type Clock, type TimerHandle } from '../util/clock';
import { errnoName as nativeErrnoName, openNetlink } from './native';
import { isSockError, type NetlinkSocket, type NetlinkSocketOptions, type SockError } from './socket';
import {
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  OPERSTATES,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWADDR,
  RTNLGRP_LINK,
  decodeRtnl,
  encodeAddr,
  encodeGetAddrs,
  encodeGetLinks,
  encodeSetLinkUp,
  parseCidr,
  type AddrInfo,
  type LinkInfo,
  type RtnlMessage,
} from './rtnl';

const NETLINK_ROUTE = 0;

export interface LinkState {
  index: number;
  name: string;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_RUNNING: operationally up (RFC 2863 "up"). */
  running: boolean;
  /** IFF_LOWER_UP: carrier present. */
  carrier: boolean;
  operstate: string;
  mtu?: number;
  address?: string;
}

export interface LinkEvent extends LinkState {
  type: 'new' | 'del';
}

export interface AddressEntry {
  family: number;
  index: number;
  /** IFA_LOCAL when present (IPv4), else IFA_ADDRESS. */
  address: string;
  prefixlen: number;
  /** "address/prefixlen". */
  cidr: string;
  flags: number;
  scope: number;
  label?: string;
}

export interface AddAddressOptions {
  /** IFA_F_NODAD: no duplicate address detection (IPv6 VIPs are usable at once). */
  nodad?: boolean;
  /** IFA_F_NOPREFIXROUTE. */
  noPrefixRoute?: boolean;
  /** IFA_LABEL (IPv4), e.g. "eth0:vip". */
  label?: string;
  /** RT_SCOPE_* (0 universe, 253 link, 254 host). */
  scope?: number;
  /** Replace instead of failing with EEXIST. */
  replace?: boolean;
}

export interface RtnlClient {
  listLinks(): Promise<LinkState[] | SockError>;
  /** family 0 = all, 2 = IPv4, 10 = IPv6. */
  listAddresses(family?: number): Promise<AddressEntry[] | SockError>;
  addAddress(ifname: string, cidr: string, opts?: AddAddressOptions): Promise<SockError | null>;
  delAddress(ifname: string, cidr: string): Promise<SockError | null>;
  setLinkUp(ifname: string, up: boolean): Promise<SockError | null>;
  /**
   * Follow link changes. The handler sees an event only when name, up,
   * running or carrier changed (or the link went away). After an overrun
   * (ENOBUFS) the client re-lists links and reports what changed meanwhile.
   * Returns an unsubscribe function.
   */
  onLinkChange(handler: (ev: LinkEvent) => void): () => void;
  close(): void;
}

export interface RtnlDeps {
  /** Network namespace path (/var/run/netns/NAME). */
  netns?: string;
  logger?: Logger;
  clock?: Clock;
  /** Per-request timeout, ms (default 5000). */
  timeoutMs?: number;
  /** Socket factory; default: the native addon. */
  openNetlink?: (opts: NetlinkSocketOptions) => NetlinkSocket | SockError;
  /** errno number -> name; default: the native addon's. */
  errnoName?: (n: number) => string;
}

interface Pending {
  op: string;
  items: RtnlMessage[];
  timer: TimerHandle;
  done: (r: RtnlMessage[] | SockError) => void;
}

export function linkState(l: LinkInfo): LinkState {
  const s: LinkState = {
    index: l.index,
    name: l.name ?? '',
    up: (l.flags & IFF_UP) !== 0,
    running: (l.flags & IFF_RUNNING) !== 0,
    carrier: (l.flags & IFF_LOWER_UP) !== 0 || l.carrier === 1,
    operstate: OPERSTATES[l.operstate ?? 0] ?? 'unknown',
  };
  if (l.mtu !== undefined) s.mtu = l.mtu;
  if (l.address !== undefined) s.address = l.address;
  return s;
}

function addressEntry(a: AddrInfo): AddressEntry {
  const address = a.local ?? a.address ?? '';
  const e: AddressEntry = { family: a.family, index: a.index, address, prefixlen: a.prefixlen, cidr: `${address}/${a.prefixlen}`, flags: a.flags, scope: a.scope };
  if (a.label !== undefined) e.label = a.label;
  return e;
}

/** Open the command socket; the event socket is opened on the first onLinkChange(). */
export function createRtnl(deps: RtnlDeps = {}): RtnlClient | SockError {
  const log = deps.logger ?? silentLogger();
  const clock = deps.clock ?? systemClock();
  const timeoutMs = deps.timeoutMs ?? 5000;
  const open = deps.openNetlink ?? openNetlink;
  const errnoName = deps.errnoName ?? nativeErrnoName;
  const base: NetlinkSocketOptions = { protocol: NETLINK_ROUTE, rcvbuf: 1 << 20, capAck: true };
  if (deps.netns !== undefined) base.netns = deps.netns;

  const opened = open(base);
  if (isSockError(opened)) return opened;
  const cmd: NetlinkSocket = opened;
  let seq = 0;
  let closed = false;
  const pending = new Map<number, Pending>();
  const handlers = new Set<(ev: LinkEvent) => void>();
  const known = new Map<number, LinkState>();
  let events: NetlinkSocket | null = null;

  const fail = (err: SockError): void => {
    for (const [s, p] of pending) {
      pending.delete(s);
      clock.clear(p.timer);
      p.done({ ...err, op: p.op });
    }
  };

  cmd.start(
    (datagrams) => {
      for (const d of datagrams) {
        const r = decodeRtnl(d);
        if (!r.ok) {
          log.warn({ err: r.error }, 'rtnl: undecodable reply dropped');
          continue;
        }
        for (const m of r.messages) onReply(m);
      }
    },
    (e) => {
      log.warn({ err: e }, 'rtnl: command socket error');
      fail(e);
    },
  );

  function onReply(m: RtnlMessage): void {
    const p = pending.get(m.header.seq);
    if (!p) return;
    if (m.kind === 'error' || m.kind === 'done') {
      pending.delete(m.header.seq);
      clock.clear(p.timer);
      if (m.kind === 'error' && m.errno !== 0) {
        p.done({ code: errnoName(-m.errno), errno: -m.errno, op: p.op });
      } else {
        p.done(p.items);
      }
      return;
    }
    p.items.push(m);
  }

  function request(op: string, build: (seq: number) => Buffer): Promise<RtnlMessage[] | SockError> {
    if (closed) return Promise.resolve({ code: 'EBADF', errno: 9, op });
    seq = seq >= 0x7fffffff ? 1 : seq + 1;
    const mySeq = seq;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        if (pending.delete(mySeq)) resolve({ code: 'ETIMEDOUT', errno: 110, op });
      }, timeoutMs);
      pending.set(mySeq, { op, items: [], timer, done: resolve });
      const err = cmd.send([build(mySeq)]);
      if (err) {
        pending.delete(mySeq);
        clock.clear(timer);
        resolve({ ...err, op });
      }
    });
  }

  async function listLinks(): Promise<LinkState[] | SockError> {
    const r = await request('list-links', encodeGetLinks);
    if (isSockError(r)) return r;
    return r.flatMap((m) => (m.kind === 'link' ? [linkState(m.link)] : []));
  }

  async function listAddresses(family = 0): Promise<AddressEntry[] | SockError> {
    const r = await request('list-addresses', (s) => encodeGetAddrs(s, family));
    if (isSockError(r)) return r;
    return r.flatMap((m) => (m.kind === 'addr' ? [addressEntry(m.addr)] : []));
  }

  async function indexOf(ifname: string, op: string): Promise<number | SockError> {
    const links = await listLinks();
    if (isSockError(links)) return { ...links, op };
    const l = links.find((x) => x.name === ifname);
    return l ? l.index : { code: 'ENODEV', errno: 19, op };
  }

  async function changeAddress(op: 'add-address' | 'del-address', ifname: string, cidr: string, opts: AddAddressOptions): Promise<SockError | null> {
    const c = parseCidr(cidr);
    if (!c) return { code: 'EINVAL', errno: 22, op, message: `bad address ${cidr}` };
    const index = await indexOf(ifname, op);
    if (isSockError(index)) return index;
    let flags = 0;
    if (opts.nodad) flags |= IFA_F_NODAD;
    if (opts.noPrefixRoute) flags |= IFA_F_NOPREFIXROUTE;
    const a: AddrInfo = { family: c.family, prefixlen: c.prefixlen, flags, scope: opts.scope ?? 0, index, local: c.address, address: c.address, unknown: [] };
    if (c.family === 10) delete a.local;
    if (opts.label !== undefined && c.family === 2) a.label = opts.label;
    const type = op === 'add-address' ? RTM_NEWADDR : RTM_DELADDR;
    let nlFlags = NLM_F_REQUEST | NLM_F_ACK;
    if (op === 'add-address') nlFlags |= NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
    const r = await request(op, (s) => encodeAddr({ type, flags: nlFlags, seq: s, pid: 0 }, a));
    return isSockError(r) ? r : null;
  }

  async function setLinkUp(ifname: string, up: boolean): Promise<SockError | null> {
    const index = await indexOf(ifname, 'set-link');
    if (isSockError(index)) return index;
    const r = await request('set-link', (s) => encodeSetLinkUp(s, index, up));
    return isSockError(r) ? r : null;
  }

  function noteLink(type: 'new' | 'del', st: LinkState): void {
    const prev = known.get(st.index);
    if (type === 'del') {
      known.delete(st.index);
    } else {
      known.set(st.index, st);
      if (prev && prev.name === st.name && prev.up === st.up && prev.running === st.running && prev.carrier === st.carrier) return;
    }
    const ev: LinkEvent = { type, ...st };
    for (const h of [...handlers]) {
      try {
        h(ev);
      } catch (e) {
        log.error({ err: e }, 'rtnl: link handler threw');
      }
    }
  }

  async function resync(): Promise<void> {
    const links = await listLinks();
    if (isSockError(links)) {
      log.warn({ err: links }, 'rtnl: link resync failed');
      return;
    }
    const seen = new Set<number>();
    for (const l of links) {
      seen.add(l.index);
      noteLink('new', l);
    }
    for (const [index, st] of [...known]) if (!seen.has(index)) noteLink('del', st);
  }

  function openEvents(): void {
    const s = open({ ...base, groups: [RTNLGRP_LINK] });
    if (isSockError(s)) {
      log.error({ err: s }, 'rtnl: cannot open link event socket');
      return;
    }
    events = s;
    s.start(
      (datagrams) => {
        for (const d of datagrams) {
          const r = decodeRtnl(d);
          if (!r.ok) {
            log.warn({ err: r.error }, 'rtnl: undecodable event dropped');
            continue;
          }
          for (const m of r.messages) {
            if (m.kind === 'link') noteLink(m.header.type === RTM_DELLINK ? 'del' : 'new', linkState(m.link));
          }
        }
      },
      (e) => {
        log.warn({ err: e }, 'rtnl: link event socket error; resyncing');
        if (e.code === 'ENOBUFS') void resync();
      },
    );
    // Learn the current states so that only real changes are reported.
    void listLinks().then((links) => {
      if (isSockError(links)) return;
      for (const l of links) if (!known.has(l.index)) known.set(l.index, l);
    });
  }

  return {
    listLinks,
    listAddresses,
    addAddress: (ifname, cidr, opts = {}) => changeAddress('add-address', ifname, cidr, opts),
    delAddress: (ifname, cidr) => changeAddress('del-address', ifname, cidr, {}),
    setLinkUp,
    onLinkChange(handler) {
      handlers.add(handler);
      if (!events && !closed) openEvents();
      return () => {
        handlers.delete(handler);
      };
    },
    close() {
      if (closed) return;
      closed = true;
      fail({ code: 'ECANCELED', errno: 125, op: 'close' });
      cmd.close();
      events?.close();
      events = null;
      handlers.clear();
    },
  };
}

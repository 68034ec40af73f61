/**
 * Interface of the native socket layer (native/ addon, wrapped in src/netlink/native.ts).
 *
 * The addon owns netlink, raw IP and packet sockets, polls them with libuv and
 * moves datagrams in batches. Every failure is a value (an errno name), never
 * an exception and never an abort: ENOBUFS on a netlink socket is a normal
 * event on a busy firewall and must reach the caller so it can resync.
 * (Passing arguments of the wrong type is a programming error and throws.)
 */

/** Error as a value: errno name ('ENOBUFS', 'EPERM', ...) and number. */
export interface SockError {
  code: string;
  errno: number;
  /** What was being done: 'recv', 'send', 'bind', 'setsockopt-rcvbuf', 'setns', 'load', ... */
  op: string;
  /** send() only: how many datagrams went out before the error. */
  sent?: number;
  /** Extra text (code 'EHANDLER': the exception a data handler threw; 'ENOADDON': why loading failed). */
  message?: string;
}

export function isSockError(x: unknown): x is SockError {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as SockError).code === 'string' &&
    typeof (x as SockError).errno === 'number' &&
    typeof (x as SockError).op === 'string'
  );
}

export interface NetlinkSocketOptions {
  /** NETLINK_NETFILTER = 12, NETLINK_ROUTE = 0. */
  protocol: number;
  /** Multicast groups to join (group numbers, not a bitmask). */
  groups?: number[];
  /** Receive buffer in bytes; forced with SO_RCVBUFFORCE when permitted, else SO_RCVBUF (capped by rmem_max). */
  rcvbuf?: number;
  /** Send buffer (SO_SNDBUFFORCE, else SO_SNDBUF). Bounds the largest datagram sendOne() can send. */
  sndbuf?: number;
  /** NETLINK_NO_ENOBUFS: the kernel stops reporting overruns (events are still lost). */
  noEnobufs?: boolean;
  /** NETLINK_BROADCAST_ERROR. */
  broadcastError?: boolean;
  /** NETLINK_EXT_ACK: extended error messages from the kernel. */
  extAck?: boolean;
  /** NETLINK_CAP_ACK: error ACKs do not echo the whole request. */
  capAck?: boolean;
  /** Path of a network namespace (e.g. /var/run/netns/NAME) to open the socket in. */
  netns?: string;
  /**
   * After a wakeup that read data, stop polling and read again after this
   * many ms (then again while data keeps coming, else poll again): a busy
   * socket is read in large batches. 0 (default): read at every readiness.
   */
  coalesceMs?: number;
  /**
   * Read on a thread of its own: the socket is drained into memory while JS
   * is busy, and the loop gets everything queued in one callback. A burst
   * then waits in user memory (the datagrams' bytes) instead of the kernel's
   * socket buffer (one skb of 1-2 KB per conntrack event), so the socket
   * overruns only once `readerQueueBytes` (default 256 MiB) are queued and
   * not yet taken. Replaces polling (and coalesceMs) for this socket.
   */
  readerThread?: boolean;
  readerQueueBytes?: number;
  /** Per-wakeup read cap, so one busy socket cannot starve the event loop. Default 256 datagrams / 16 MiB. */
  maxDatagrams?: number;
  maxBytes?: number;
}

/** Counters kept by the addon for one socket (monotonic since open). */
export interface SocketStats {
  wakeups: number;
  datagrams: number;
  bytes: number;
  enobufs: number;
  /** Datagrams longer than 64 KiB, dropped (reported as EMSGSIZE). */
  truncated: number;
  /** Datagrams from a sender other than the kernel (nl_pid != 0), dropped. */
  foreign: number;
  errors: number;
}

export interface NetlinkSocket {
  /** Kernel-assigned port id (nl_pid). */
  readonly portId: number;
  /**
   * Send netlink messages, one datagram per Buffer (sendmmsg). A Buffer may hold
   * several netlink messages back to back. Returns null or the error as a value
   * (with `sent`).
   */
  send(msgs: Buffer[]): SockError | null;
  /**
   * Send all parts as ONE datagram (sendmsg with an iovec, no copy). The kernel
   * processes every netlink message in it; this is how batched writes go fast.
   * The datagram must fit the send buffer (see sndbuf).
   */
  sendOne(parts: Buffer[]): SockError | null;
  /**
   * send() on a libuv threadpool thread: the kernel's work for a netlink write
   * runs inside the sender's sendmsg, so this lets it overlap JS on the main
   * thread. The Buffers must not change until `cb` runs. Returns null (cb will
   * run, on the main thread, with null or the error and how many went out) or
   * an error value (cb will not run). Optional: fakes may leave it out.
   */
  sendAsync?(msgs: Buffer[], cb: (err: SockError | null, sent: number) => void): SockError | null;
  /**
   * Start polling. The handler receives every datagram read in one wakeup
   * (read in a batch until EAGAIN or the cap), as views into one Buffer, or an
   * error value (e.g. ENOBUFS). Reading continues after an error. Calling
   * start() again replaces the handlers.
   */
  start(onData: (datagrams: Buffer[]) => void, onError: (err: SockError) => void): void;
  /**
   * start() without a view per datagram: one Buffer holding the wakeup's
   * datagrams back to back and their lengths. Optional: fakes may leave it out.
   */
  startRaw?(onData: (buf: Buffer, lens: Uint32Array) => void, onError: (err: SockError) => void): void;
  /** Stop polling (reads stop; the socket stays open). */
  stop(): void;
  addMembership(group: number): SockError | null;
  dropMembership(group: number): SockError | null;
  setRcvbuf(bytes: number): SockError | null;
  /** Current SO_RCVBUF as the kernel reports it (twice the requested size). */
  getRcvbuf(): number | SockError;
  setOption(level: number, name: number, value: number): SockError | null;
  getOption(level: number, name: number): number | SockError;
  stats(): SocketStats;
  /** Whether a started socket keeps the process alive (default true). */
  ref(): void;
  unref(): void;
  /** Idempotent. Stops polling and closes the fd. */
  close(): void;
}

export interface RawSocketOptions {
  /** AF_INET = 2, AF_INET6 = 10, AF_PACKET = 17. */
  family: number;
  /** SOCK_RAW = 3 (default), SOCK_DGRAM = 2. */
  type?: number;
  /** IP protocol (112 VRRP, 58 ICMPv6), or for AF_PACKET the ethertype in HOST order (0x0806 ARP). */
  protocol: number;
  /** SO_BINDTODEVICE for IP sockets; for AF_PACKET the interface to bind to. Resolved in `netns`. */
  ifname?: string;
  netns?: string;
  /** Bind to this source address (IP sockets). */
  bindAddress?: string;
  /** IP_TTL + IP_MULTICAST_TTL, or IPV6_UNICAST_HOPS + IPV6_MULTICAST_HOPS (VRRP: 255). */
  ttl?: number;
  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP. Unset leaves the kernel default (on). */
  multicastLoop?: boolean;
  /** IP_MULTICAST_IF / IPV6_MULTICAST_IF by ifindex; default: the ifindex of `ifname`. */
  multicastIf?: number;
  /** IPV6_CHECKSUM offset: the kernel computes/verifies the checksum there (VRRPv3 over IPv6: 6). */
  checksumOffset?: number;
  rcvbuf?: number;
}

export interface RawDatagram {
  data: Buffer;
  /** Source address: IPv4/IPv6 text, or for AF_PACKET the source MAC. */
  from: string;
  /** Destination address from IP_PKTINFO / IPV6_PKTINFO ('' for AF_PACKET). */
  to: string;
  ifindex: number;
  /** IP TTL / hop limit (IP_RECVTTL, IPv4 header, IPV6_RECVHOPLIMIT); -1 when not available. */
  ttl: number;
  /** AF_PACKET sll_pkttype (0 host, 1 broadcast, 2 multicast, 4 outgoing); -1 otherwise. */
  pktType: number;
  truncated: boolean;
}

export interface RawSocket {
  /** ifindex the socket is bound to (0 if none). */
  readonly ifindex: number;
  /**
   * Send one datagram. `to` is an IP address, or for AF_PACKET the destination
   * MAC ('' = broadcast) with `data` a whole Ethernet frame. `ifindex` picks the
   * outgoing interface (IP_PKTINFO / IPV6_PKTINFO; for AF_PACKET the sll_ifindex).
   */
  sendTo(data: Buffer, to: string, ifindex?: number): SockError | null;
  /** Join a multicast group (IPv4 or IPv6) on an interface. */
  addMembership(group: string, ifname: string): SockError | null;
  dropMembership(group: string, ifname: string): SockError | null;
  setOption(level: number, name: number, value: number): SockError | null;
  getOption(level: number, name: number): number | SockError;
  /** Interface index of `name` in the socket's namespace (0 if none). */
  ifIndex(name: string): number;
  start(onData: (datagrams: RawDatagram[]) => void, onError: (err: SockError) => void): void;
  stop(): void;
  ref(): void;
  unref(): void;
  /** Idempotent. */
  close(): void;
}

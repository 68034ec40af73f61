/**
 * Interface of the native socket layer (native/ addon, wrapped in src/netlink/native.ts).
 *
 * The addon owns netlink, raw IP and packet sockets, polls them with libuv and
 * moves datagrams in batches. Every failure is a value (an errno name), never
 * an exception and never an abort: ENOBUFS on a netlink socket is a normal
 * event on a busy firewall and must reach the caller so it can resync.
 */

/** Error as a value: errno name ('ENOBUFS', 'EPERM', ...) and number. */
export interface SockError {
  code: string;
  errno: number;
  /** What was being done: 'recv', 'send', 'bind', 'setsockopt', ... */
  op: string;
}

export interface NetlinkSocketOptions {
  /** NETLINK_NETFILTER = 12, NETLINK_ROUTE = 0. */
  protocol: number;
  /** Multicast groups to join (group numbers, not a bitmask). */
  groups?: number[];
  /** Receive buffer in bytes; forced with SO_RCVBUFFORCE when running as root. */
  rcvbuf?: number;
  sndbuf?: number;
  /** NETLINK_NO_ENOBUFS. */
  noEnobufs?: boolean;
  /** NETLINK_BROADCAST_ERROR. */
  broadcastError?: boolean;
  /** NETLINK_EXT_ACK: extended error messages from the kernel. */
  extAck?: boolean;
  /** Path of a network namespace (e.g. /var/run/netns/NAME) to open the socket in. */
  netns?: string;
}

export interface NetlinkSocket {
  /** Kernel-assigned port id (nl_pid). */
  readonly portId: number;
  /**
   * Send netlink messages. Several buffers are sent in one sendmsg (iovec) as one
   * datagram batch when `batch` is true, else one datagram each (sendmmsg).
   * Returns null on success or the error as a value.
   */
  send(msgs: Buffer[]): SockError | null;
  /**
   * Start polling. The handler receives every datagram read in one wakeup
   * (read in a batch until EAGAIN or a limit), or an error value (e.g. ENOBUFS).
   * Reading continues after an error.
   */
  start(onData: (datagrams: Buffer[]) => void, onError: (err: SockError) => void): void;
  /** Stop polling (reads stop; the socket stays open). */
  stop(): void;
  setRcvbuf(bytes: number): SockError | null;
  close(): void;
}

export interface RawSocketOptions {
  /** AF_INET = 2, AF_INET6 = 10, AF_PACKET = 17. */
  family: number;
  /** SOCK_RAW = 3, SOCK_DGRAM = 2. */
  type: number;
  protocol: number;
  /** Bind to a device (SO_BINDTODEVICE) or, for AF_PACKET, the ifindex to bind to. */
  ifname?: string;
  netns?: string;
}

export interface RawDatagram {
  data: Buffer;
  /** Source address: IPv4/IPv6 text, or for AF_PACKET the source MAC. */
  from: string;
  ifindex: number;
  /** IP TTL / hop limit when available (IP_RECVTTL / IPV6_RECVHOPLIMIT), else -1. */
  ttl: number;
}

export interface RawSocket {
  sendTo(data: Buffer, to: string, ifindex?: number): SockError | null;
  /** Join a multicast group (IPv4 or IPv6) on an interface. */
  addMembership(group: string, ifname: string): SockError | null;
  setOption(level: number, name: number, value: number): SockError | null;
  start(onData: (datagrams: RawDatagram[]) => void, onError: (err: SockError) => void): void;
  stop(): void;
  close(): void;
}

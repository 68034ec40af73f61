/**
 * Transports for VRRP adverts. The speaker sees only VrrpTransport: it hands
 * over the advert fields, the transport encodes them for each destination
 * (the v3 checksum depends on the pseudo-header) and delivers received
 * messages as ReceivedVrrp. Implementations: raw IP protocol 112 here
 * (multicast 224.0.0.18 / ff02::12, or unicast peers) and UDP in heartbeat.ts.
 *
 * Also the AF_PACKET link used to send gratuitous ARP / NA frames.
 */
import { AF_INET, AF_INET6, AF_PACKET, ETH_P_ARP, ETH_P_IPV6, openRaw as nativeOpenRaw } from '../../netlink/native';
import { isSockError, type RawSocket, type RawSocketOptions, type SockError } from '../../netlink/socket';
import { encodeVrrp, IPPROTO_VRRP, splitIpv4, type VrrpEncodeInput } from './packet';
import type { ReceivedVrrp } from './validate';

/** Socket options (include/uapi/linux/in.h, in6.h). */
const IPPROTO_IP = 0;
const IPPROTO_IPV6 = 41;
const IP_TOS = 1;
const IP_MTU_DISCOVER = 10;
const IP_PMTUDISC_DONT = 0;
const IPV6_TCLASS = 67;

export type AdvertFields = Omit<VrrpEncodeInput, 'src' | 'dst'>;

export interface VrrpTransport {
  /** Encode and send to every destination; the first error is returned (others still tried). */
  sendAdvert(fields: AdvertFields): SockError | null;
  start(onAdvert: (rx: ReceivedVrrp) => void, onError: (e: SockError) => void): void;
  close(): void;
}

export interface RawTransportOptions {
  family: 4 | 6;
  ifname: string;
  netns?: string;
  /** Our source address (IPv4 primary, or IPv6 link-local): bound and used in the pseudo-header. */
  source: string;
  /** Multicast group (default 224.0.0.18 / ff02::12); ignored when `peers` is non-empty. */
  group: string;
  /** Unicast peers (unicast_peer); empty = multicast. */
  peers: string[];
  openRaw?: (o: RawSocketOptions) => RawSocket | SockError;
}

export function openRawTransport(o: RawTransportOptions): VrrpTransport | SockError {
  const open = o.openRaw ?? nativeOpenRaw;
  const v6 = o.family === 6;
  const opts: RawSocketOptions = { family: v6 ? AF_INET6 : AF_INET, protocol: IPPROTO_VRRP, ifname: o.ifname, ttl: 255, multicastLoop: false };
  if (o.netns !== undefined) opts.netns = o.netns;
  // IPV6_CHECKSUM at offset 6: the kernel fills in and verifies the checksum (RFC 3542 section 3.1).
  if (v6) opts.checksumOffset = 6;
  // IPv4: bind the sending socket to the source so the v3 pseudo-header matches.
  // A bound raw IPv4 socket only receives datagrams addressed to that address,
  // so multicast is received on a second, unbound socket.
  else opts.bindAddress = o.source;
  const s = open(opts);
  if (isSockError(s)) return s;
  // As keepalived: DSCP CS6 (TOS/traffic class 0xc0, RFC 4594 network control), no DF on IPv4.
  const tosErr = v6 ? s.setOption(IPPROTO_IPV6, IPV6_TCLASS, 0xc0) : s.setOption(IPPROTO_IP, IP_TOS, 0xc0) ?? s.setOption(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
  if (tosErr !== null) {
    s.close();
    return tosErr;
  }
  const multicast = o.peers.length === 0;
  let rx: RawSocket = s;
  if (multicast && !v6) {
    const r: RawSocketOptions = { family: AF_INET, protocol: IPPROTO_VRRP, ifname: o.ifname };
    if (o.netns !== undefined) r.netns = o.netns;
    const opened = open(r);
    if (isSockError(opened)) {
      s.close();
      return opened;
    }
    rx = opened;
  }
  const dests = multicast ? [o.group] : o.peers;
  if (multicast) {
    const err = rx.addMembership(o.group, o.ifname);
    if (err !== null) {
      s.close();
      rx.close();
      return err;
    }
  }
  return {
    sendAdvert(fields) {
      let first: SockError | null = null;
      for (const dst of dests) {
        const enc = encodeVrrp(v6 ? fields : { ...fields, src: o.source, dst });
        if (!enc.ok) {
          first ??= { code: 'EINVAL', errno: 22, op: 'encode', message: enc.error };
          continue;
        }
        const err = s.sendTo(enc.value, dst, s.ifindex);
        if (err !== null) first ??= err;
      }
      return first;
    },
    start(onAdvert, onError) {
      rx.start((datagrams) => {
        for (const d of datagrams) {
          if (v6) {
            onAdvert({ data: d.data, from: d.from, to: d.to, ttl: d.ttl, checksumVerified: true });
            continue;
          }
          const ip = splitIpv4(d.data);
          if (!ip.ok) {
            onError({ code: 'EBADMSG', errno: 74, op: 'recv', message: ip.error });
            continue;
          }
          onAdvert({ data: ip.payload, from: d.from || ip.header.src, to: d.to || ip.header.dst, ttl: d.ttl >= 0 ? d.ttl : ip.header.ttl });
        }
      }, onError);
    },
    close: () => {
      s.close();
      rx.close();
    },
  };
}

export interface FrameLink {
  /** Send one whole Ethernet frame. */
  send(frame: Buffer): SockError | null;
  close(): void;
}

/** AF_PACKET socket on `ifname` to send GARP (family 4) or NA (family 6) frames (never read). */
export function openFrameLink(ifname: string, family: 4 | 6, netns?: string, openRaw = nativeOpenRaw): FrameLink | SockError {
  const opts: RawSocketOptions = { family: AF_PACKET, protocol: family === 6 ? ETH_P_IPV6 : ETH_P_ARP, ifname };
  if (netns !== undefined) opts.netns = netns;
  const s = openRaw(opts);
  if (isSockError(s)) return s;
  return {
    // Destination MAC is taken from the frame (bytes 0..5); '' = broadcast for the sockaddr.
    send: (frame) => s.sendTo(frame, frameDst(frame), s.ifindex),
    close: () => s.close(),
  };
}

function frameDst(frame: Buffer): string {
  const d = frame.subarray(0, 6);
  if (d.every((x) => x === 0xff)) return '';
  return [...d].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

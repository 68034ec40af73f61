/**
 * Gratuitous ARP (IPv4) and unsolicited neighbour advertisement (IPv6)
 * frames, built whole (Ethernet header included) for an AF_PACKET socket,
 * byte for byte as keepalived 2.2.7 sends them (see the captured fixtures in
 * test/unit/ha/fixtures), plus the burst/refresh schedule.
 *
 * Gratuitous ARP (RFC 826, RFC 5227 section 3 "ARP announcement"):
 *   Ethernet: dst ff:ff:ff:ff:ff:ff, src = interface MAC, ethertype 0x0806 (BE)
 *   ARP: htype 1 (u16 BE), ptype 0x0800 (u16 BE), hlen 6, plen 4,
 *        oper 1 request (keepalived's default; 2 = reply), u16 BE
 *        sha = MAC, spa = VIP, tha = ff:ff:ff:ff:ff:ff, tpa = VIP
 *
 * Unsolicited NA (RFC 4861 sections 4.4 and 7.2.6):
 *   Ethernet: dst 33:33:00:00:00:01, src MAC, ethertype 0x86dd
 *   IPv6 (RFC 8200): version 6, payload length 32 (u16 BE), next header 58,
 *        hop limit 255, src = VIP, dst = ff02::1
 *   ICMPv6: type 136, code 0, checksum (u16 BE, with pseudo-header),
 *        flags R(0x80) S(0x40) O(0x20): O set (and R when `router`), 3 reserved bytes,
 *        target = VIP, option 2 (target link-layer address) length 1 (8 bytes) = MAC
 */
import type { Clock, TimerHandle } from '../util/clock';
import { parseIPv4, parseIPv6 } from '../netlink/ct/ip';
import { onesSum } from './vrrp/packet';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const ICMPV6_NA = 136;
export const ND_OPT_TARGET_LL = 2;
export const IPPROTO_ICMPV6 = 58;

/** "aa:bb:cc:dd:ee:ff" -> 6 bytes, or null. */
export function parseMac(s: string): Buffer | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s)) return null;
  return Buffer.from(s.replace(/:/g, ''), 'hex');
}

export type FrameResult = { ok: true; frame: Buffer } | { ok: false; error: string };

export function buildGarp(mac: string, vip: string, op: number = ARP_OP_REQUEST): FrameResult {
  const hw = parseMac(mac);
  const ip = parseIPv4(vip);
  if (hw === null) return { ok: false, error: `bad MAC '${mac}'` };
  if (ip === null) return { ok: false, error: `bad IPv4 address '${vip}'` };
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6);
  hw.copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  f.writeUInt16BE(1, 14); // htype Ethernet
  f.writeUInt16BE(0x0800, 16); // ptype IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(op, 20);
  hw.copy(f, 22);
  ip.copy(f, 28);
  f.fill(0xff, 32, 38);
  ip.copy(f, 38);
  return { ok: true, frame: f };
}

export function buildUnsolicitedNa(mac: string, vip: string, router = false): FrameResult {
  const hw = parseMac(mac);
  const ip = parseIPv6(vip);
  if (hw === null) return { ok: false, error: `bad MAC '${mac}'` };
  if (ip === null) return { ok: false, error: `bad IPv6 address '${vip}'` };
  const allNodes = parseIPv6('ff02::1') ?? Buffer.alloc(16);
  const icmp = Buffer.alloc(32);
  icmp[0] = ICMPV6_NA;
  icmp[4] = 0x20 | (router ? 0x80 : 0);
  ip.copy(icmp, 8);
  icmp[24] = ND_OPT_TARGET_LL;
  icmp[25] = 1;
  hw.copy(icmp, 26);
  const ph = Buffer.alloc(40);
  ip.copy(ph, 0);
  allNodes.copy(ph, 16);
  ph.writeUInt32BE(icmp.length, 32);
  ph[39] = IPPROTO_ICMPV6;
  icmp.writeUInt16BE(~onesSum([ph, icmp]) & 0xffff, 2);
  const f = Buffer.alloc(14 + 40 + icmp.length);
  Buffer.from([0x33, 0x33, 0, 0, 0, 1]).copy(f, 0);
  hw.copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_IPV6, 12);
  f.writeUInt32BE(0x60000000, 14); // version 6, traffic class 0, flow label 0
  f.writeUInt16BE(icmp.length, 18);
  f[20] = IPPROTO_ICMPV6;
  f[21] = 255;
  ip.copy(f, 22);
  allNodes.copy(f, 38);
  icmp.copy(f, 54);
  return { ok: true, frame: f };
}

export interface GarpSchedule {
  /** Announcements per burst on becoming MASTER (garp_master_repeat). */
  repeat: number;
  /** Seconds until the second burst (garp_master_delay); 0 = none. */
  delayS: number;
  /** Seconds between refresh bursts while MASTER (garp_master_refresh); 0 = off. */
  refreshS: number;
  /** Announcements per refresh burst (garp_master_refresh_repeat). */
  refreshRepeat: number;
  /** ms between two announcements of one burst (garp_interval / gna_interval). */
  intervalMs: number;
}

/** Bursts (time offset in ms, count) sent on becoming MASTER, refresh excluded. */
export function masterBursts(s: GarpSchedule): Array<{ atMs: number; count: number }> {
  const out = [{ atMs: 0, count: Math.max(1, s.repeat) }];
  if (s.delayS > 0) out.push({ atMs: s.delayS * 1000, count: Math.max(1, s.repeat) });
  return out;
}

export interface GarpScheduler {
  /** Start the bursts and refresh (call on becoming MASTER). Restarts if running. */
  start(): void;
  stop(): void;
  /** Bursts sent so far. */
  bursts(): number;
}

/** Drives `announce()` (one announcement of every VIP) on the schedule above. */
export function createGarpScheduler(clock: Clock, schedule: GarpSchedule, announce: () => void): GarpScheduler {
  const timers = new Set<TimerHandle>();
  let bursts = 0;
  const later = (ms: number, fn: () => void): void => {
    const h = clock.setTimeout(() => {
      timers.delete(h);
      fn();
    }, ms);
    timers.add(h);
  };
  const burst = (count: number): void => {
    bursts += 1;
    announce();
    for (let i = 1; i < count; i++) {
      if (schedule.intervalMs > 0) later(i * schedule.intervalMs, announce);
      else announce();
    }
  };
  const refresh = (): void => {
    later(schedule.refreshS * 1000, () => {
      burst(Math.max(1, schedule.refreshRepeat));
      refresh();
    });
  };
  const stop = (): void => {
    for (const h of timers) clock.clear(h);
    timers.clear();
  };
  return {
    start() {
      stop();
      for (const b of masterBursts(schedule)) {
        if (b.atMs === 0) burst(b.count);
        else later(b.atMs, () => burst(b.count));
      }
      if (schedule.refreshS > 0) refresh();
    },
    stop,
    bursts: () => bursts,
  };
}

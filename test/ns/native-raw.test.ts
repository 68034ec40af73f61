/**
 * Raw IP and packet sockets between two namespaces joined by a veth pair:
 * VRRP over IPv4 multicast (TTL 255, pktinfo, loop off), VRRP over IPv6 with
 * kernel checksum at offset 6 and hop limit, an unsolicited NA over ICMPv6,
 * and a gratuitous ARP frame sent through AF_PACKET, seen by tcpdump and by
 * a packet socket on the peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { AF_INET, AF_INET6, AF_PACKET, ETH_P_ARP, ifIndex, openRaw } from '../../src/netlink/native';
import { isSockError, type RawDatagram, type RawSocket, type RawSocketOptions, type SockError } from '../../src/netlink/socket';

const IPPROTO_VRRP = 112; // RFC 5798 section 5.1.1.4

/** VRRPv3 advertisement (RFC 5798 section 5.2), checksum left 0. */
function vrrpAdvert(vrid: number, prio: number, addr: Buffer): Buffer {
  const b = Buffer.alloc(8 + addr.length);
  b[0] = 0x31; // version 3, type 1 (ADVERTISEMENT)
  b[1] = vrid;
  b[2] = prio;
  b[3] = addr.length / (addr.length === 16 ? 16 : 4);
  b.writeUInt16BE(100, 4); // rsvd 0 + max advert interval 100 centiseconds
  addr.copy(b, 8);
  return b;
}

const ok = isRoot() && have('tcpdump');

describe.skipIf(!ok)('native raw sockets in namespaces', () => {
  const lab = new Lab('nr');
  const socks: RawSocket[] = [];
  let a = '';
  let b = '';
  afterAll(() => {
    for (const s of socks) s.close();
    lab.cleanup();
  });
  beforeAll(() => {
    a = lab.netns('a');
    b = lab.netns('b');
    for (const ns of [a, b]) lab.exec(ns, 'sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0');
    lab.veth(a, 'va', b, 'vb', '192.0.2.1/24', '192.0.2.2/24');
  });

  function open(ns: string, opts: Omit<RawSocketOptions, 'netns'>): RawSocket {
    const s = openRaw({ ...opts, netns: lab.nsPath(ns) });
    if (isSockError(s)) throw new Error(`openRaw: ${s.code} ${s.op}`);
    socks.push(s);
    return s;
  }
  function collect(s: RawSocket): { got: RawDatagram[]; errs: SockError[] } {
    const out = { got: [] as RawDatagram[], errs: [] as SockError[] };
    s.start(
      (d) => out.got.push(...d),
      (e) => out.errs.push(e),
    );
    return out;
  }

  it('reports an unknown interface as a value', () => {
    const r = openRaw({ family: AF_INET, protocol: IPPROTO_VRRP, ifname: 'nosuchif0', netns: lab.nsPath(a) });
    expect(r).toEqual({ code: 'ENODEV', errno: 19, op: 'ifindex' });
  });

  it('VRRP over IPv4 multicast: TTL 255, source, destination and ifindex reported; no loopback to the sender', async () => {
    const tx = open(a, { family: AF_INET, protocol: IPPROTO_VRRP, ifname: 'va', ttl: 255, multicastLoop: false, bindAddress: '192.0.2.1' });
    const rx = open(b, { family: AF_INET, protocol: IPPROTO_VRRP, ifname: 'vb' });
    expect(rx.addMembership('224.0.0.18', 'vb')).toBeNull();
    const atA = collect(tx);
    const atB = collect(rx);
    const advert = vrrpAdvert(51, 100, Buffer.from([192, 0, 2, 100]));
    expect(tx.sendTo(advert, '224.0.0.18')).toBeNull();
    await waitFor(() => atB.got.length > 0, 5000);
    const d = atB.got[0]!;
    expect({ from: d.from, to: d.to, ttl: d.ttl, ifindex: d.ifindex }).toEqual({
      from: '192.0.2.1',
      to: '224.0.0.18',
      ttl: 255,
      ifindex: ifIndex('vb', lab.nsPath(b)),
    });
    const ihl = (d.data[0]! & 0x0f) * 4;
    expect(d.data.subarray(ihl)).toEqual(advert);
    expect(d.data[8]).toBe(255); // IPv4 header TTL agrees
    // Unicast reply with the default TTL: the first thing a sees is this, not its own advert.
    expect(rx.sendTo(vrrpAdvert(51, 50, Buffer.from([192, 0, 2, 100])), '192.0.2.1')).toBeNull();
    await waitFor(() => atA.got.length > 0, 5000);
    expect(atA.got.map((x) => [x.from, x.to, x.ttl])).toEqual([['192.0.2.2', '192.0.2.1', 64]]);
    expect([...atA.errs, ...atB.errs]).toEqual([]);
  });

  it('VRRP over IPv6: the kernel fills and checks the checksum at offset 6; hop limit 255', async () => {
    const ifA = ifIndex('va', lab.nsPath(a));
    const tx = open(a, { family: AF_INET6, protocol: IPPROTO_VRRP, ifname: 'va', ttl: 255, multicastLoop: false, checksumOffset: 6 });
    const rx = open(b, { family: AF_INET6, protocol: IPPROTO_VRRP, ifname: 'vb', checksumOffset: 6 });
    expect(rx.addMembership('ff02::12', 'vb')).toBeNull();
    const atB = collect(rx);
    const vip = Buffer.from('20010db8000000000000000000000001', 'hex');
    await waitFor(() => tx.sendTo(vrrpAdvert(7, 200, vip), 'ff02::12', ifA) === null && atB.got.length > 0, 5000, 200);
    const d = atB.got[0]!;
    expect(d.from.startsWith('fe80::')).toBe(true);
    expect({ to: d.to, ttl: d.ttl, ifindex: d.ifindex }).toEqual({ to: 'ff02::12', ttl: 255, ifindex: ifIndex('vb', lab.nsPath(b)) });
    expect(d.data.readUInt16BE(6)).not.toBe(0);
    expect(Buffer.concat([d.data.subarray(0, 6), Buffer.alloc(2), d.data.subarray(8)])).toEqual(vrrpAdvert(7, 200, vip));
    expect(atB.errs).toEqual([]);
  });

  it('ICMPv6 raw socket sends an unsolicited neighbour advertisement (kernel checksum, hop limit 255)', async () => {
    const ifA = ifIndex('va', lab.nsPath(a));
    const macA = Buffer.from(lab.exec(a, 'cat /sys/class/net/va/address').trim().replace(/:/g, ''), 'hex');
    const target = Buffer.from('20010db8000000000000000000000077', 'hex');
    // RFC 4861 section 4.4: type 136, code 0, checksum (kernel), flags Override, target, option 2 (target link-layer address).
    const na = Buffer.concat([Buffer.from([136, 0, 0, 0, 0x20, 0, 0, 0]), target, Buffer.from([2, 1]), macA]);
    const tx = open(a, { family: AF_INET6, protocol: 58, ifname: 'va', ttl: 255 });
    const rx = open(b, { family: AF_INET6, protocol: 58, ifname: 'vb' });
    const atB = collect(rx);
    const isOurs = (d: RawDatagram): boolean => d.data[0] === 136 && d.data.subarray(8, 24).equals(target);
    await waitFor(() => tx.sendTo(na, 'ff02::1', ifA) === null && atB.got.some(isOurs), 5000, 200);
    const d = atB.got.find(isOurs)!;
    expect({ to: d.to, ttl: d.ttl }).toEqual({ to: 'ff02::1', ttl: 255 });
    expect(d.from.startsWith('fe80::')).toBe(true);
    expect(d.data.readUInt16BE(2)).not.toBe(0);
    expect(d.data.subarray(24)).toEqual(na.subarray(24));
  });

  it('AF_PACKET sends a whole gratuitous ARP frame that tcpdump and a packet socket on the peer see', async () => {
    const macA = lab.exec(a, 'cat /sys/class/net/va/address').trim();
    const mac = Buffer.from(macA.replace(/:/g, ''), 'hex');
    const vip = Buffer.from([192, 0, 2, 77]);
    const arp = Buffer.concat([
      Buffer.from([0, 1, 0x08, 0x00, 6, 4, 0, 1]), // htype Ethernet, ptype IPv4, hlen 6, plen 4, op request (RFC 826)
      mac,
      vip,
      Buffer.alloc(6),
      vip,
    ]);
    const frame = Buffer.concat([Buffer.alloc(6, 0xff), mac, Buffer.from([0x08, 0x06]), arp]);

    const dump = lab.spawn(b, ['tcpdump', '-i', 'vb', '-n', '-l', '-c', '1', 'arp and host 192.0.2.77']);
    let out = '';
    let err = '';
    dump.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    dump.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    await waitFor(() => err.includes('listening on'), 10_000);

    const rx = open(b, { family: AF_PACKET, protocol: ETH_P_ARP, ifname: 'vb' });
    const atB = collect(rx);
    const tx = open(a, { family: AF_PACKET, protocol: ETH_P_ARP, ifname: 'va' });
    expect(tx.ifindex).toBe(ifIndex('va', lab.nsPath(a)));
    expect(tx.sendTo(frame, 'ff:ff:ff:ff:ff:ff')).toBeNull();

    await waitFor(() => out.includes('192.0.2.77'), 10_000);
    expect(out).toMatch(/Request who-has 192\.0\.2\.77 tell 192\.0\.2\.77/);
    await waitFor(() => atB.got.some((d) => d.data.subarray(28, 32).equals(vip)), 5000);
    const d = atB.got.find((x) => x.data.subarray(28, 32).equals(vip))!;
    expect({ from: d.from, pktType: d.pktType, ifindex: d.ifindex }).toEqual({ from: macA, pktType: 1, ifindex: ifIndex('vb', lab.nsPath(b)) });
    expect(d.data).toEqual(frame.subarray(0, d.data.length));
  });
});

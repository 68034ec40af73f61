/** Raw VRRP transport over fake raw sockets: socket options, encoding per destination, receive path. */
import { describe, expect, it } from 'vitest';
import type { RawDatagram, RawSocket, RawSocketOptions, SockError } from '../../../src/netlink/socket';
import { openFrameLink, openRawTransport } from '../../../src/ha/vrrp/transport';
import { decodeVrrp, vrrpChecksum } from '../../../src/ha/vrrp/packet';
import type { ReceivedVrrp } from '../../../src/ha/vrrp/validate';
import { buildGarp } from '../../../src/ha/garp';

interface Fake extends RawSocket {
  opts: RawSocketOptions;
  sent: Array<[string, string, number | undefined]>;
  options: Array<[number, number, number]>;
  groups: string[];
  deliver(d: RawDatagram[]): void;
  closed: boolean;
}

function fakes(): { open: (o: RawSocketOptions) => RawSocket | SockError; made: Fake[] } {
  const made: Fake[] = [];
  const open = (opts: RawSocketOptions): RawSocket => {
    let onData: (d: RawDatagram[]) => void = () => undefined;
    const f: Fake = {
      opts, sent: [], options: [], groups: [], closed: false, ifindex: 7,
      sendTo: (data, to, ifindex) => (f.sent.push([data.toString('hex'), to, ifindex]), null),
      addMembership: (g) => (f.groups.push(g), null),
      dropMembership: () => null,
      setOption: (l, n, v) => (f.options.push([l, n, v]), null),
      getOption: () => 0,
      ifIndex: () => 7,
      start: (d) => {
        onData = d;
      },
      stop: () => undefined,
      ref: () => undefined,
      unref: () => undefined,
      close: () => {
        f.closed = true;
      },
      deliver: (d) => onData(d),
    };
    made.push(f);
    return f;
  };
  return { open, made };
}

const fields = { version: 3 as const, vrid: 9, priority: 150, advertIntCs: 100, addresses: ['192.0.2.100'] };

describe('raw VRRP transport', () => {
  it('IPv4 multicast: bound TTL-255 sender with CS6/no-DF, unbound joined receiver, v3 checksum with our source', () => {
    const { open, made } = fakes();
    const t = openRawTransport({ family: 4, ifname: 'eth0', source: '192.0.2.2', group: '224.0.0.18', peers: [], openRaw: open });
    expect('code' in t).toBe(false);
    if ('code' in t) return;
    const [tx, rx] = made;
    expect(tx?.opts).toMatchObject({ family: 2, protocol: 112, ifname: 'eth0', ttl: 255, multicastLoop: false, bindAddress: '192.0.2.2' });
    expect(tx?.options).toEqual([[0, 1, 0xc0], [0, 10, 0]]);
    expect(rx?.opts.bindAddress).toBeUndefined();
    expect(rx?.groups).toEqual(['224.0.0.18']);
    expect(t.sendAdvert(fields)).toBeNull();
    const [hex, to, ifindex] = tx?.sent[0] ?? ['', '', 0];
    const msg = Buffer.from(hex, 'hex');
    expect([to, ifindex]).toEqual(['224.0.0.18', 7]);
    expect(vrrpChecksum(msg, 3, '192.0.2.2', '224.0.0.18')).toBe(msg.readUInt16BE(6));
    // Receive: the IPv4 header is stripped; pktinfo/TTL are passed on.
    const got: ReceivedVrrp[] = [];
    const errs: SockError[] = [];
    t.start((r) => got.push(r), (e) => errs.push(e));
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + msg.length, 2);
    ip[8] = 255;
    ip[9] = 112;
    rx?.deliver([
      { data: Buffer.concat([ip, msg]), from: '192.0.2.1', to: '224.0.0.18', ifindex: 7, ttl: 255, pktType: -1, truncated: false },
      { data: Buffer.alloc(5), from: '192.0.2.1', to: '224.0.0.18', ifindex: 7, ttl: 255, pktType: -1, truncated: false },
    ]);
    expect(got.map((g) => [g.data.toString('hex'), g.from, g.to, g.ttl])).toEqual([[msg.toString('hex'), '192.0.2.1', '224.0.0.18', 255]]);
    expect(errs.map((e) => e.code)).toEqual(['EBADMSG']);
    t.close();
    expect(made.every((m) => m.closed)).toBe(true);
  });

  it('unicast peers: one socket, one advert per peer, each with its own pseudo-header', () => {
    const { open, made } = fakes();
    const t = openRawTransport({ family: 4, ifname: 'eth0', source: '192.0.2.2', group: '224.0.0.18', peers: ['192.0.2.1', '192.0.2.3'], openRaw: open });
    if ('code' in t) throw new Error(t.code);
    expect(made.length).toBe(1);
    expect(made[0]?.groups).toEqual([]);
    t.sendAdvert(fields);
    const sent = made[0]?.sent ?? [];
    expect(sent.map((s) => s[1])).toEqual(['192.0.2.1', '192.0.2.3']);
    for (const [hex, to] of sent) {
      const m = Buffer.from(hex, 'hex');
      expect(vrrpChecksum(m, 3, '192.0.2.2', to)).toBe(m.readUInt16BE(6));
    }
  });

  it('IPv6: kernel checksum at offset 6, traffic class CS6, checksum left 0 for the kernel, verified flag on receive', () => {
    const { open, made } = fakes();
    const t = openRawTransport({ family: 6, ifname: 'eth0', source: 'fe80::2', group: 'ff02::12', peers: [], openRaw: open });
    if ('code' in t) throw new Error(t.code);
    expect(made.length).toBe(1);
    expect(made[0]?.opts).toMatchObject({ family: 10, checksumOffset: 6, ttl: 255 });
    expect(made[0]?.options).toEqual([[41, 67, 0xc0]]);
    t.sendAdvert({ ...fields, addresses: ['2001:db8::100'] });
    const m = Buffer.from(made[0]?.sent[0]?.[0] ?? '', 'hex');
    expect(m.readUInt16BE(6)).toBe(0);
    expect(decodeVrrp(m, 6).ok).toBe(true);
    const got: ReceivedVrrp[] = [];
    t.start((r) => got.push(r), () => undefined);
    made[0]?.deliver([{ data: m, from: 'fe80::1', to: 'ff02::12', ifindex: 7, ttl: 255, pktType: -1, truncated: false }]);
    expect(got[0]?.checksumVerified).toBe(true);
  });

  it('frame link sends whole frames to the broadcast address', () => {
    const { open, made } = fakes();
    const l = openFrameLink('eth0', 4, undefined, open);
    if ('code' in l) throw new Error(l.code);
    expect(made[0]?.opts).toMatchObject({ family: 17, protocol: 0x0806, ifname: 'eth0' });
    const g = buildGarp('02:00:00:00:00:01', '192.0.2.100');
    if (!g.ok) throw new Error(g.error);
    l.send(g.frame);
    expect(made[0]?.sent[0]?.slice(1)).toEqual(['', 7]);
  });
});

/**
 * rtnl-client logic on an in-memory fake socket and a fake clock: sequence
 * matching, kernel errors as values, timeouts, link-event deduplication and
 * resync after ENOBUFS. No kernel, no addon.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';
import { createRtnl, type LinkEvent, type RtnlClient } from '../../../src/netlink/rtnl-client';
import { isSockError, type NetlinkSocket, type NetlinkSocketOptions, type SockError } from '../../../src/netlink/socket';
import {
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_MULTI,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  decodeRtnl,
  encodeAddr,
  encodeLink,
  type LinkInfo,
} from '../../../src/netlink/rtnl';

interface FakeSock extends NetlinkSocket {
  opts: NetlinkSocketOptions;
  sent: Buffer[];
  deliver(d: Buffer[]): void;
  fail(e: SockError): void;
  closed: boolean;
}

function fakeSocket(opts: NetlinkSocketOptions): FakeSock {
  let onData: (d: Buffer[]) => void = () => undefined;
  let onError: (e: SockError) => void = () => undefined;
  const s: FakeSock = {
    opts,
    sent: [],
    closed: false,
    portId: 4242,
    send(msgs) {
      s.sent.push(...msgs);
      return null;
    },
    sendOne: () => null,
    start(d, e) {
      onData = d;
      onError = e;
    },
    stop: () => undefined,
    addMembership: () => null,
    dropMembership: () => null,
    setRcvbuf: () => null,
    getRcvbuf: () => 0,
    setOption: () => null,
    getOption: () => 0,
    stats: () => ({ wakeups: 0, datagrams: 0, bytes: 0, enobufs: 0, truncated: 0, foreign: 0, errors: 0 }),
    ref: () => undefined,
    unref: () => undefined,
    close() {
      s.closed = true;
    },
    deliver: (d) => onData(d),
    fail: (e) => onError(e),
  };
  return s;
}

function hdr(type: number, seq: number, flags = 0): { type: number; flags: number; seq: number; pid: number } {
  return { type, flags, seq, pid: 4242 };
}
function nlErr(seq: number, errno: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(NLMSG_ERROR, 4);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(errno, 16);
  return b;
}
function done(seq: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(NLMSG_DONE, 4);
  b.writeUInt16LE(NLM_F_MULTI, 6);
  b.writeUInt32LE(seq, 8);
  return b;
}
function link(index: number, name: string, flags: number): LinkInfo {
  return { family: 0, ifType: 1, index, flags, change: 0, name, unknown: [] };
}
const UP = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
const names: Record<number, string> = { 17: 'EEXIST', 99: 'EADDRNOTAVAIL', 105: 'ENOBUFS' };

function setup(): { rt: RtnlClient; socks: FakeSock[]; clock: FakeClock; seqOf: (i: number) => number; typeOf: (i: number) => number } {
  const socks: FakeSock[] = [];
  const clock = new FakeClock();
  const rt = createRtnl({
    clock,
    timeoutMs: 1000,
    openNetlink: (o) => {
      const s = fakeSocket(o);
      socks.push(s);
      return s;
    },
    errnoName: (n) => names[n] ?? `E${n}`,
  });
  if (isSockError(rt)) throw new Error('createRtnl');
  const header = (i: number): { type: number; seq: number } => {
    const r = decodeRtnl(socks[0]!.sent[i]!);
    if (!r.ok) throw new Error('undecodable request');
    return r.messages[0]!.header;
  };
  return { rt, socks, clock, seqOf: (i) => header(i).seq, typeOf: (i) => header(i).type };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('rtnl client (fake socket)', () => {
  it('matches replies to requests by sequence number, also out of order', async () => {
    const { rt, socks, seqOf, typeOf } = setup();
    const links = rt.listLinks();
    const addrs = rt.listAddresses(2);
    const cmd = socks[0]!;
    expect([typeOf(0), typeOf(1)]).toEqual([RTM_GETLINK, RTM_GETADDR]);
    expect([seqOf(0), seqOf(1)]).toEqual([1, 2]);
    cmd.deliver([
      Buffer.concat([
        encodeAddr(hdr(RTM_NEWADDR, 2, NLM_F_MULTI), { family: 2, prefixlen: 24, flags: 0x80, scope: 0, index: 3, local: '192.0.2.1', address: '192.0.2.1', unknown: [] }),
        done(2),
      ]),
    ]);
    cmd.deliver([encodeLink(hdr(RTM_NEWLINK, 1, NLM_F_MULTI), link(1, 'lo', UP)), encodeLink(hdr(RTM_NEWLINK, 1, NLM_F_MULTI), link(3, 'eth0', IFF_UP)), done(1)]);
    expect(await addrs).toEqual([{ family: 2, index: 3, address: '192.0.2.1', prefixlen: 24, cidr: '192.0.2.1/24', flags: 0x80, scope: 0 }]);
    expect(await links).toEqual([
      { index: 1, name: 'lo', up: true, running: true, carrier: true, operstate: 'unknown' },
      { index: 3, name: 'eth0', up: true, running: false, carrier: false, operstate: 'unknown' },
    ]);
  });

  it('kernel errors become values; unrelated sequence numbers are ignored', async () => {
    const { rt, socks, seqOf } = setup();
    const cmd = socks[0]!;
    const add = rt.addAddress('eth0', '192.0.2.9/24');
    cmd.deliver([Buffer.concat([encodeLink(hdr(RTM_NEWLINK, 1, NLM_F_MULTI), link(3, 'eth0', UP)), done(1)])]);
    await tick();
    expect(seqOf(1)).toBe(2);
    cmd.deliver([nlErr(77, -17)]); // not ours
    cmd.deliver([nlErr(2, -17)]);
    expect(await add).toEqual({ code: 'EEXIST', errno: 17, op: 'add-address' });
  });

  it('times out on the injected clock', async () => {
    const { rt, clock } = setup();
    const p = rt.listLinks();
    clock.advance(999);
    clock.advance(1);
    expect(await p).toEqual({ code: 'ETIMEDOUT', errno: 110, op: 'list-links' });
  });

  it('close cancels pending requests and closes the sockets', async () => {
    const { rt, socks } = setup();
    const p = rt.listLinks();
    rt.close();
    rt.close();
    expect(await p).toEqual({ code: 'ECANCELED', errno: 125, op: 'list-links' });
    expect(socks.every((s) => s.closed)).toBe(true);
    expect(await rt.listLinks()).toEqual({ code: 'EBADF', errno: 9, op: 'list-links' });
  });

  it('reports only real link changes, and resyncs after ENOBUFS', async () => {
    const { rt, socks, seqOf } = setup();
    const evs: LinkEvent[] = [];
    rt.onLinkChange((e) => evs.push(e));
    const ev = socks[1]!;
    expect(ev.opts.groups).toEqual([1]);
    const cmd = socks[0]!;
    cmd.deliver([
      Buffer.concat([encodeLink(hdr(RTM_NEWLINK, seqOf(0), NLM_F_MULTI), link(3, 'eth0', UP)), encodeLink(hdr(RTM_NEWLINK, seqOf(0), NLM_F_MULTI), link(4, 'eth1', UP)), done(seqOf(0))]),
    ]);
    await tick();
    ev.deliver([encodeLink(hdr(RTM_NEWLINK, 0), link(3, 'eth0', UP))]); // same state: silent
    ev.deliver([encodeLink(hdr(RTM_NEWLINK, 0), link(3, 'eth0', IFF_UP))]); // carrier lost
    ev.deliver([encodeLink(hdr(RTM_NEWLINK, 0), link(3, 'eth0', IFF_UP))]); // again: silent
    expect(evs.map((e) => [e.type, e.name, e.up, e.carrier])).toEqual([['new', 'eth0', true, false]]);
    ev.fail({ code: 'ENOBUFS', errno: 105, op: 'recv' });
    await tick();
    // During the overrun eth0 got its carrier back, eth2 appeared and eth1 vanished.
    cmd.deliver([Buffer.concat([encodeLink(hdr(RTM_NEWLINK, seqOf(1), NLM_F_MULTI), link(3, 'eth0', UP)), encodeLink(hdr(RTM_NEWLINK, seqOf(1), NLM_F_MULTI), link(5, 'eth2', 0)), done(seqOf(1))])]);
    await tick();
    expect(evs.slice(1).map((e) => [e.type, e.name, e.up, e.carrier])).toEqual([
      ['new', 'eth0', true, true],
      ['new', 'eth2', false, false],
      ['del', 'eth1', true, true],
    ]);
  });

  it('rejects a bad CIDR without sending anything', async () => {
    const { rt, socks } = setup();
    expect(await rt.addAddress('eth0', '2001:db8::1/200')).toMatchObject({ code: 'EINVAL', op: 'add-address' });
    expect(socks[0]!.sent).toEqual([]);
  });
});

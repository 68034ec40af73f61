/**
 * Native netlink sockets against the real kernel, inside namespaces:
 * per-namespace sockets see that namespace's conntrack table; a burst of 50k
 * conntrack events overruns a tiny receive buffer and yields ENOBUFS as a value
 * (reading continues); NETLINK_NO_ENOBUFS suppresses the report.
 *
 * ctnetlink bytes are built here by hand (include/uapi/linux/netfilter/nfnetlink_conntrack.h),
 * independent of src/netlink/nlmsg.ts.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, sh, waitFor } from '../helpers/netns';
import { NETLINK_NETFILTER, openNetlink } from '../../src/netlink/native';
import { isSockError, type NetlinkSocket, type SockError } from '../../src/netlink/socket';

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const CT_NEW = (1 << 8) | 0; // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW
const CT_GET = (1 << 8) | 1;
const NLA_F_NESTED = 0x8000;

function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  data.copy(out, 4);
  return out;
}
const nest = (type: number, ...parts: Buffer[]): Buffer => attr(type | NLA_F_NESTED, Buffer.concat(parts));
const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const be16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const be32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function nlmsg(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + payload.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  return Buffer.concat([h, payload]);
}
/** struct nfgenmsg: u8 family, u8 version 0, be16 res_id 0. */
const nfgen = (family: number): Buffer => Buffer.from([family, 0, 0, 0]);

function tuple(type: number, src: string, dst: string, sport: number, dport: number): Buffer {
  return nest(
    type,
    nest(1, attr(1, ip4(src)), attr(2, ip4(dst))), // CTA_TUPLE_IP: V4_SRC, V4_DST
    nest(2, attr(1, Buffer.from([17])), attr(2, be16(sport)), attr(3, be16(dport))), // CTA_TUPLE_PROTO: UDP
  );
}
/** IPCTNL_MSG_CT_NEW for a UDP flow, CTA_TIMEOUT 120 s. */
function ctNewUdp(seq: number, src: string, dst: string, sport: number, dport: number, flags = 0): Buffer {
  const payload = Buffer.concat([
    nfgen(2),
    tuple(1, src, dst, sport, dport),
    tuple(2, dst, src, dport, sport),
    attr(7, be32(120)),
  ]);
  return nlmsg(CT_NEW, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | flags, seq, payload);
}

interface Msg {
  type: number;
  flags: number;
  seq: number;
  payload: Buffer;
}
function splitMsgs(d: Buffer): Msg[] {
  const out: Msg[] = [];
  let off = 0;
  while (off + 16 <= d.length) {
    const len = d.readUInt32LE(off);
    if (len < 16 || off + len > d.length) break;
    out.push({ type: d.readUInt16LE(off + 4), flags: d.readUInt16LE(off + 6), seq: d.readUInt32LE(off + 8), payload: d.subarray(off + 16, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}
function findAttr(buf: Buffer, type: number): Buffer | undefined {
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) return undefined;
    if ((buf.readUInt16LE(off + 2) & 0x3fff) === type) return buf.subarray(off + 4, off + len);
    off += (len + 3) & ~3;
  }
  return undefined;
}
/** Original source address of a ctnetlink conntrack message (after nfgenmsg). */
function origSrc(payload: Buffer): string {
  const t = findAttr(payload.subarray(4), 1);
  const ipa = t && findAttr(t, 1);
  const src = ipa && findAttr(ipa, 1);
  return src ? Array.from(src).join('.') : '';
}

const ok = isRoot() && have('conntrack');

describe.skipIf(!ok)('native netlink sockets in namespaces', () => {
  const lab = new Lab('nn');
  const socks: NetlinkSocket[] = [];
  let a = '';
  let b = '';
  afterAll(() => {
    for (const s of socks) s.close();
    lab.cleanup();
  });
  beforeAll(() => {
    sh('modprobe nf_conntrack_netlink 2>/dev/null || true', { allowFail: true });
    a = lab.netns('a');
    b = lab.netns('b');
    for (const ns of [a, b]) lab.exec(ns, 'sysctl -qw net.netfilter.nf_conntrack_events=1');
  });

  function open(ns: string, opts: Partial<Parameters<typeof openNetlink>[0]> = {}): NetlinkSocket {
    const s = openNetlink({ protocol: NETLINK_NETFILTER, netns: lab.nsPath(ns), ...opts });
    if (isSockError(s)) throw new Error(`open: ${s.code} ${s.op}`);
    socks.push(s);
    return s;
  }

  it('reports a missing namespace as a value', () => {
    const r = openNetlink({ protocol: NETLINK_NETFILTER, netns: '/var/run/netns/does-not-exist-ctsync' });
    expect(r).toEqual({ code: 'ENOENT', errno: 2, op: 'open-netns' });
  });

  it('dumps only the conntrack table of its own namespace', async () => {
    lab.exec(a, 'conntrack -I -p udp -s 192.0.2.1 -d 192.0.2.2 --sport 1000 --dport 53 -t 100');
    lab.exec(b, 'conntrack -I -p udp -s 198.51.100.1 -d 198.51.100.2 --sport 1000 --dport 53 -t 100');
    const s = open(a);
    expect(s.portId).toBeGreaterThan(0);
    const msgs: Msg[] = [];
    const errors: SockError[] = [];
    let done = false;
    s.start(
      (dgrams) => {
        for (const d of dgrams)
          for (const m of splitMsgs(d)) {
            if (m.type === NLMSG_DONE) done = true;
            else msgs.push(m);
          }
      },
      (e) => errors.push(e),
    );
    expect(s.send([nlmsg(CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 7, nfgen(2))])).toBeNull();
    await waitFor(() => done, 5000);
    expect(errors).toEqual([]);
    expect(msgs.map((m) => [m.type, m.seq, origSrc(m.payload)])).toEqual([[CT_NEW, 7, '192.0.2.1']]);
  });

  it('sendOne sends many ctnetlink messages in one datagram; errors come back as NLMSG_ERROR', async () => {
    const s = open(a);
    const replies: Msg[] = [];
    s.start(
      (dgrams) => dgrams.forEach((d) => replies.push(...splitMsgs(d))),
      () => undefined,
    );
    const parts = [1, 2, 3].map((i) => ctNewUdp(100 + i, '192.0.2.10', '192.0.2.20', 2000 + i, 53, NLM_F_ACK));
    parts.push(ctNewUdp(104, '192.0.2.10', '192.0.2.20', 2001, 53, NLM_F_ACK)); // duplicate: EEXIST
    expect(s.sendOne(parts)).toBeNull();
    await waitFor(() => replies.length >= 4, 5000);
    const acks = replies.map((m) => [m.type, m.seq, m.payload.readInt32LE(0)]);
    expect(acks).toEqual([
      [NLMSG_ERROR, 101, 0],
      [NLMSG_ERROR, 102, 0],
      [NLMSG_ERROR, 103, 0],
      [NLMSG_ERROR, 104, -17],
    ]);
    expect(lab.exec(a, 'conntrack -L -s 192.0.2.10 2>/dev/null | wc -l').trim()).toBe('3');
  });

  it('a 50k-event burst overruns a tiny rcvbuf: ENOBUFS as a value, reading continues; NO_ENOBUFS stays silent', async () => {
    const loud = open(b, { groups: [1], rcvbuf: 4096 });
    const quiet = open(b, { groups: [1], rcvbuf: 4096, noEnobufs: true });
    const writer = open(b, { sndbuf: 8 << 20 });
    const seen = { loud: [] as string[], quiet: [] as string[] };
    const errs = { loud: [] as SockError[], quiet: [] as SockError[] };
    let loudAfterError = 0;
    loud.start(
      (d) => {
        if (errs.loud.length > 0) loudAfterError += d.length;
        for (const x of d) for (const m of splitMsgs(x)) seen.loud.push(origSrc(m.payload));
      },
      (e) => errs.loud.push(e),
    );
    quiet.start(
      (d) => d.forEach((x) => splitMsgs(x).forEach((m) => seen.quiet.push(origSrc(m.payload)))),
      (e) => errs.quiet.push(e),
    );
    writer.start(
      () => undefined,
      () => undefined,
    );
    const total = 50_000;
    const perDatagram = 1000;
    for (let base = 0; base < total; base += perDatagram) {
      const parts: Buffer[] = [];
      for (let i = base; i < base + perDatagram; i++) {
        parts.push(ctNewUdp(i + 1, `198.18.${(i >> 8) & 0xff}.${i & 0xff}`, '198.19.0.1', 1024 + (i % 50000), 53));
      }
      expect(writer.sendOne(parts)).toBeNull();
    }
    // Let both sockets drain what fit in their queues, then (process alive,
    // sockets still working) one more flow after the burst.
    await waitFor(() => errs.loud.length > 0 && seen.quiet.length > 0, 10_000);
    lab.exec(b, 'conntrack -I -p udp -s 203.0.113.9 -d 203.0.113.10 --sport 9 --dport 9 -t 100');
    await waitFor(() => seen.loud.includes('203.0.113.9') && seen.quiet.includes('203.0.113.9'), 10_000);

    expect(errs.loud.length).toBeGreaterThan(0);
    expect(errs.loud.every((e) => e.code === 'ENOBUFS' && e.op === 'recv' && e.errno === 105)).toBe(true);
    expect(loud.stats().enobufs).toBe(errs.loud.length);
    expect(loudAfterError).toBeGreaterThan(0);
    expect(seen.loud.length).toBeLessThan(total + 1);
    expect(errs.quiet).toEqual([]);
    expect(quiet.stats().enobufs).toBe(0);
    expect(lab.exec(b, 'conntrack -C').trim()).toBe(String(total + 2));
  });

  it('readerThread: a burst waits in memory while JS is busy (no overrun); a full queue still ends in ENOBUFS as a value', async () => {
    // The same kernel buffer (room for one write of 1,000 events) for a polled and a threaded
    // socket; the event loop is blocked while the whole burst is written.
    const polled = open(b, { groups: [1], rcvbuf: 4 << 20 });
    const threaded = open(b, { groups: [1], rcvbuf: 4 << 20, readerThread: true });
    const tight = open(b, { groups: [1], rcvbuf: 4096, readerThread: true, readerQueueBytes: 1 << 20 });
    const writer = open(b, { sndbuf: 8 << 20 });
    const seen = { threaded: 0, tight: 0, polled: 0 };
    const errs = { threaded: [] as SockError[], tight: [] as SockError[], polled: [] as SockError[] };
    polled.start(
      (d) => d.forEach((x) => (seen.polled += splitMsgs(x).length)),
      (e) => errs.polled.push(e),
    );
    threaded.start(
      (d) => d.forEach((x) => (seen.threaded += splitMsgs(x).length)),
      (e) => errs.threaded.push(e),
    );
    tight.start(
      (d) => d.forEach((x) => (seen.tight += splitMsgs(x).length)),
      (e) => errs.tight.push(e),
    );
    writer.start(
      () => undefined,
      () => undefined,
    );
    lab.exec(b, 'conntrack -F');
    const total = 20_000;
    for (let base = 0; base < total; base += 1000) {
      const parts: Buffer[] = [];
      for (let i = base; i < base + 1000; i++) parts.push(ctNewUdp(i + 1, `198.18.${(i >> 8) & 0xff}.${i & 0xff}`, '198.19.1.1', 1024 + (i % 50000), 53));
      expect(writer.sendOne(parts)).toBeNull();
      // Keep the loop busy: only the reading thread drains the sockets meanwhile.
      const until = Date.now() + 20;
      while (Date.now() < until);
    }
    await waitFor(() => seen.threaded >= total || errs.threaded.length > 0, 10_000);
    await waitFor(() => errs.polled.length > 0, 10_000);
    expect(seen.polled).toBeLessThan(total);
    expect(errs.threaded).toEqual([]);
    expect(threaded.stats().enobufs).toBe(0);
    await waitFor(() => errs.tight.length > 0, 10_000);
    expect(errs.tight.every((e) => e.code === 'ENOBUFS' && e.errno === 105)).toBe(true);
    expect(seen.tight).toBeLessThan(total);
  });

  it('a started event socket with no JS reference left survives GC and keeps delivering', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const seen: string[] = [];
    (() => {
      const s = openNetlink({ protocol: NETLINK_NETFILTER, netns: lab.nsPath(a), groups: [1] });
      if (isSockError(s)) throw new Error(s.code);
      s.start(
        (d) => d.forEach((x) => splitMsgs(x).forEach((m) => seen.push(origSrc(m.payload)))),
        () => undefined,
      );
      s.unref(); // unreachable from JS, so it cannot be closed: do not let it hold the worker open
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    lab.exec(a, 'conntrack -I -p udp -s 192.0.2.99 -d 192.0.2.2 --sport 7 --dport 7 -t 100');
    await waitFor(() => seen.includes('192.0.2.99'), 5000);
  });

  it('close is idempotent and later calls return EBADF values', () => {
    const s = open(a, { groups: [1] });
    s.start(
      () => undefined,
      () => undefined,
    );
    s.close();
    s.close();
    expect(s.send([Buffer.alloc(16)])).toEqual({ code: 'EBADF', errno: 9, op: 'send' });
    expect(s.getRcvbuf()).toEqual({ code: 'EBADF', errno: 9, op: 'getsockopt' });
  });

  it('forces a receive buffer above rmem_max', () => {
    const max = Number(sh('sysctl -n net.core.rmem_max').trim());
    const want = Math.min(max * 4, 1 << 29);
    const s = open(a, { rcvbuf: want });
    expect(s.getRcvbuf()).toBe(want * 2); // the kernel doubles the value (socket(7))
  });
});

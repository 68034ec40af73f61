/**
 * The native addon without namespaces or root: loading, helpers, a
 * NETLINK_ROUTE socket (batched delivery, per-wakeup cap, throwing handlers),
 * errors as values, sd_notify to path and abstract sockets.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { errnoName, findAddon, ifIndex, ifName, NETLINK_ROUTE, openNetlink, sdNotify } from '../../../src/netlink/native';
import { encodeGetLinks, encodeLink, decodeRtnl, NLM_F_REQUEST, RTM_GETLINK } from '../../../src/netlink/rtnl';
import { isSockError, type NetlinkSocket, type SockError } from '../../../src/netlink/socket';
import { have, waitFor } from '../../helpers/netns';

const built = findAddon() !== null;

describe.skipIf(!built)('native addon', () => {
  const socks: NetlinkSocket[] = [];
  afterAll(() => socks.forEach((s) => s.close()));
  function route(opts: { maxDatagrams?: number; coalesceMs?: number; readerThread?: boolean } = {}): NetlinkSocket {
    const s = openNetlink({ protocol: NETLINK_ROUTE, ...opts });
    if (isSockError(s)) throw new Error(`${s.code} ${s.op}`);
    socks.push(s);
    return s;
  }
  const getLink = (seq: number, index: number): Buffer =>
    encodeLink({ type: RTM_GETLINK, flags: NLM_F_REQUEST, seq, pid: 0 }, { family: 0, ifType: 0, index, flags: 0, change: 0, unknown: [] });

  it('finds the addon from src/ and reports a missing one as null', () => {
    expect(findAddon()).toMatch(/build\/Release\/ctsock\.node$/);
    expect(findAddon('/')).toBeNull();
  });

  it('helpers: errnoName, ifIndex, ifName', () => {
    expect(errnoName(105)).toBe('ENOBUFS');
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(99999)).toBe('E99999');
    expect(ifIndex('lo')).toBe(1);
    expect(ifName(1)).toBe('lo');
    expect(ifIndex('no-such-if0')).toBe(0);
    expect(ifName(0x7ffffff0)).toBe('');
    expect(ifIndex('lo', '/nonexistent/netns')).toBe(0);
  });

  it('opens a NETLINK_ROUTE socket and reads a dump as Buffer views', async () => {
    const s = route();
    expect(s.portId).toBeGreaterThan(0);
    const names: string[] = [];
    let done = false;
    s.start(
      (dgrams) => {
        for (const d of dgrams) {
          const r = decodeRtnl(d);
          if (!r.ok) throw new Error(r.error.code);
          for (const m of r.messages) {
            if (m.kind === 'link' && m.link.name) names.push(m.link.name);
            if (m.kind === 'done') done = true;
          }
        }
      },
      (e) => {
        throw new Error(e.code);
      },
    );
    expect(s.send([encodeGetLinks(1)])).toBeNull();
    await waitFor(() => done, 5000);
    expect(names).toContain('lo');
    const st = s.stats();
    expect(st.datagrams).toBeGreaterThan(0);
    expect(st.enobufs + st.errors + st.foreign + st.truncated).toBe(0);
  });

  it('caps datagrams per wakeup and keeps datagram boundaries', async () => {
    const s = route({ maxDatagrams: 2 });
    const batches: number[][] = [];
    s.start(
      (dgrams) => batches.push(dgrams.map((d) => d.readUInt32LE(8))),
      () => undefined,
    );
    // Five requests in five datagrams: five replies queue up before the first wakeup.
    expect(s.send([1, 2, 3, 4, 5].map((seq) => getLink(seq, 1)))).toBeNull();
    await waitFor(() => batches.flat().length === 5, 5000);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('coalesceMs: after a read with data, what arrives next is read in one batch when the timer fires', async () => {
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const run = async (coalesceMs: number): Promise<number[][]> => {
      const s = route({ coalesceMs });
      const batches: number[][] = [];
      s.start(
        (dgrams) => batches.push(dgrams.map((d) => d.readUInt32LE(8))),
        () => undefined,
      );
      expect(s.send([getLink(1, 1)])).toBeNull();
      await waitFor(() => batches.length === 1, 5000);
      for (const seq of [2, 3, 4]) {
        expect(s.send([getLink(seq, 1)])).toBeNull();
        await sleep(15);
      }
      await waitFor(() => batches.flat().length === 4, 5000);
      // Closing with the timer armed: no callback after, no crash.
      expect(s.send([getLink(5, 1)])).toBeNull();
      await sleep(coalesceMs > 0 ? 5 : 30);
      s.close();
      await sleep(coalesceMs + 50);
      return batches.map((b) => b.filter((x) => x !== 5)).filter((b) => b.length > 0);
    };
    // The first reply is read at once; the next three wait for the timer (300 ms) and come together.
    expect(await run(300)).toEqual([[1], [2, 3, 4]]);
    expect(await run(0)).toEqual([[1], [2], [3], [4]]);
  });

  it('readerThread: replies read on a thread reach the handler in order; stop, start again, close', async () => {
    const s = route({ readerThread: true });
    const seqs: number[] = [];
    const start = (): void =>
      s.start(
        (dgrams) => dgrams.forEach((d) => seqs.push(d.readUInt32LE(8))),
        () => undefined,
      );
    start();
    for (const seq of [31, 32, 33]) expect(s.send([getLink(seq, 1)])).toBeNull();
    await waitFor(() => seqs.length === 3, 5000);
    expect(seqs).toEqual([31, 32, 33]);
    s.stop();
    start();
    expect(s.send([getLink(34, 1)])).toBeNull();
    await waitFor(() => seqs.length === 4, 5000);
    expect(seqs[3]).toBe(34);
    expect(s.stats().datagrams).toBe(4);
    s.close();
    expect(s.send([getLink(35, 1)])).toMatchObject({ code: 'EBADF' });
  });

  it('sendOne puts several requests in one datagram', async () => {
    const s = route();
    const seqs: number[] = [];
    s.start(
      (dgrams) => dgrams.forEach((d) => seqs.push(d.readUInt32LE(8))),
      () => undefined,
    );
    expect(s.sendOne([getLink(11, 1), getLink(12, 1), getLink(13, 1)])).toBeNull();
    await waitFor(() => seqs.length === 3, 5000);
    expect(seqs).toEqual([11, 12, 13]);
  });

  it('sendAsync sends from the threadpool and calls back on the main thread; errors are values', async () => {
    const s = route();
    const seqs: number[] = [];
    s.start(
      (dgrams) => dgrams.forEach((d) => seqs.push(d.readUInt32LE(8))),
      () => undefined,
    );
    const done: Array<[SockError | null, number]> = [];
    expect(s.sendAsync?.([getLink(21, 1), getLink(22, 1)], (e, sent) => done.push([e, sent]))).toBeNull();
    await waitFor(() => done.length === 1 && seqs.length === 2, 5000);
    expect(done).toEqual([[null, 2]]);
    expect(seqs).toEqual([21, 22]);
    // The kernel refuses an empty datagram: reported through the callback, with how many went out.
    expect(s.sendAsync?.([getLink(23, 1), Buffer.alloc(0)], (e, sent) => done.push([e, sent]))).toBeNull();
    await waitFor(() => done.length === 2, 5000);
    expect(done[1]).toEqual([{ code: 'ENODATA', errno: 61, op: 'send', sent: 1 }, 1]);
    expect(() => s.sendAsync?.(['x' as unknown as Buffer], () => undefined)).toThrow(TypeError); // misuse
    // Closing while a send is queued is safe: the worker owns a duplicate of the fd.
    let late: SockError | null | undefined;
    expect(s.sendAsync?.([getLink(24, 1)], (e) => (late = e))).toBeNull();
    s.close();
    await waitFor(() => late !== undefined, 5000);
    expect(late).toBeNull();
    expect(s.sendAsync?.([getLink(25, 1)], () => undefined)).toEqual({ code: 'EBADF', errno: 9, op: 'send' });
  });

  it('a throwing data handler is reported as EHANDLER and reading continues', async () => {
    const s = route();
    const errs: SockError[] = [];
    let calls = 0;
    s.start(
      () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
      },
      (e) => errs.push(e),
    );
    s.send([getLink(1, 1)]);
    await waitFor(() => errs.length === 1, 5000);
    expect(errs[0]).toMatchObject({ code: 'EHANDLER', errno: 0, op: 'onData' });
    expect(errs[0]!.message).toContain('boom');
    s.send([getLink(2, 1)]);
    await waitFor(() => calls === 2, 5000);
  });

  it('errors are values: bad protocol, closed socket, a kernel-refused send', () => {
    expect(openNetlink({ protocol: 9999 })).toMatchObject({ code: 'EPROTONOSUPPORT', op: 'socket' });
    const s = route();
    // An empty datagram is refused by netlink_sendmsg; nothing was sent.
    expect(s.send([getLink(1, 1), Buffer.alloc(0)])).toEqual({ code: 'ENODATA', errno: 61, op: 'send', sent: 1 });
    expect(() => s.send(['x' as unknown as Buffer])).toThrow(TypeError); // misuse is a programming error
    s.close();
    expect(s.sendOne([getLink(1, 1)])).toEqual({ code: 'EBADF', errno: 9, op: 'send' });
  });

  it('sdNotify: unset is a no-op; missing sockets are values', () => {
    expect(sdNotify('READY=1', {})).toBeNull();
    expect(sdNotify('READY=1', { NOTIFY_SOCKET: '/nonexistent/notify.sock' })).toEqual({ code: 'ENOENT', errno: 2, op: 'sd-notify' });
    expect(sdNotify('READY=1', { NOTIFY_SOCKET: `@ctsync-none-${process.pid}` })).toEqual({ code: 'ECONNREFUSED', errno: 111, op: 'sd-notify' });
  });

  it.skipIf(!have('python3'))('sdNotify delivers to path and abstract sockets', async () => {
    for (const addr of [`/tmp/ctsync-notify-${process.pid}.sock`, `@ctsync-notify-${process.pid}`]) {
      const py = [
        'import socket,os,sys',
        `a=${JSON.stringify(addr)}`,
        "p='\\0'+a[1:] if a.startswith('@') else a",
        's=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)',
        's.bind(p)',
        "print('ready',flush=True)",
        's.settimeout(10)',
        "print(s.recv(4096).decode(),flush=True)",
        "a.startswith('@') or os.unlink(a)",
      ].join('\n');
      const child = spawn('python3', ['-c', py], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      try {
        await waitFor(() => out.includes('ready'), 5000);
        expect(sdNotify('READY=1\nSTATUS=syncing', { NOTIFY_SOCKET: addr })).toBeNull();
        await waitFor(() => out.includes('STATUS=syncing'), 5000);
        expect(out).toBe('ready\nREADY=1\nSTATUS=syncing\n');
      } finally {
        child.kill();
      }
    }
  });
});

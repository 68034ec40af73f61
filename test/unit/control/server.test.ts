import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectError, createControlClient } from '../../../src/control/client';
import { FrameType, encodeFrame, type WireEntry } from '../../../src/control/protocol';
import { createControlServer, removeStaleSocket, type ControlServer } from '../../../src/control/server';
import { systemClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { createFakeDaemon, fakeRecord, type FakeDaemon } from './fake-daemon';

const dir = mkdtempSync(join(tmpdir(), 'ctsync-ctl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Send raw bytes, collect everything until the server closes. */
function raw(path: string, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(path);
    const chunks: Buffer[] = [];
    s.on('connect', () => s.write(data));
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

describe('control server + client', () => {
  let path: string;
  let daemon: FakeDaemon;
  let server: ControlServer;

  beforeEach(async () => {
    path = join(dir, `s${n++}.sock`);
    daemon = createFakeDaemon();
    server = createControlServer({ path, api: daemon, logger: silentLogger(), clock: systemClock(), chunkEntries: 2, progressIntervalMs: 0 });
    await server.listen();
  });
  afterEach(async () => {
    await server.close();
  });

  it('creates the socket with mode 0600 and removes it on close', async () => {
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it('with a ControlGroup the socket is 0660 and owned by that group', async () => {
    if (process.getuid?.() !== 0) return;
    const p = join(dir, `grp${n++}.sock`);
    const srv = createControlServer({ path: p, api: daemon, logger: silentLogger(), clock: systemClock(), group: { gid: 65534, name: 'nogroup' } });
    await srv.listen();
    const st = statSync(p);
    await srv.close();
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(65534);
    expect(st.uid).toBe(0);
  });

  it('every command reaches the right method with the right arguments', async () => {
    const c = createControlClient({ path });
    const cases: Array<[Parameters<typeof c.call>[0], unknown[]]> = [
      [{ cmd: 'commit', kind: 'ct' }, ['commit', 'ct']],
      [{ cmd: 'flushCache', which: 'external' }, ['flushCache', 'external']],
      [{ cmd: 'flushKernel', kind: 'all' }, ['flushKernel', 'all']],
      [{ cmd: 'dumpCache', which: 'internal', kind: 'expect' }, ['dumpCache', 'internal', 'expect']],
      [{ cmd: 'stats', section: 'queue' }, ['stats', 'queue']],
      [{ cmd: 'resyncKernel', kind: 'expect' }, ['resyncKernel', 'expect']],
      [{ cmd: 'requestResync' }, ['requestResync']],
      [{ cmd: 'bulkSend' }, ['bulkSend']],
      [{ cmd: 'shortenTimers' }, ['shortenTimers']],
      [{ cmd: 'kill' }, ['kill']],
      [{ cmd: 'status' }, ['status']],
    ];
    for (const [req, call] of cases) {
      daemon.calls.length = 0;
      const r = await c.call(req);
      expect(r.ok).toBe(true);
      expect(daemon.calls).toEqual([call]);
    }
    expect(server.counters.requests).toBe(cases.length);
  });

  it('commit streams progress and returns the summary', async () => {
    const progress: Array<{ done: number; total: number }> = [];
    const r = await createControlClient({ path }).call({ cmd: 'commit', kind: 'all' }, { onProgress: (p) => progress.push(p) });
    expect(r).toEqual({ ok: true, body: { committed: 3, failed: 0, seconds: 0.5 } });
    expect(progress).toEqual([{ done: 1, total: 3 }, { done: 2, total: 3 }, { done: 3, total: 3 }]);
  });

  it('a second commit while one runs is refused with EBUSY', async () => {
    let open!: () => void;
    daemon.commitGate = new Promise((r) => (open = r));
    const c = createControlClient({ path });
    const first = c.call({ cmd: 'commit', kind: 'all' });
    await new Promise((r) => setTimeout(r, 0));
    while (!daemon.calls.some((x) => x[0] === 'commit')) await new Promise((r) => setTimeout(r, 5));
    const second = await c.call({ cmd: 'commit', kind: 'ct' });
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.code).toBe('EBUSY');
      expect(second.message).toMatch(/a commit is already running/);
    }
    // other requests still work while the commit runs
    expect((await c.call({ cmd: 'status' })).ok).toBe(true);
    open();
    expect((await first).ok).toBe(true);
    daemon.commitGate = undefined;
    expect((await c.call({ cmd: 'commit', kind: 'ct' })).ok).toBe(true);
  });

  it('a failure inside the daemon comes back as a typed error, no stack', async () => {
    daemon.failNext('flushKernel', Object.assign(new Error('netlink said EPERM'), { code: 'EPERM' }));
    const r = await createControlClient({ path }).call({ cmd: 'flushKernel', kind: 'ct' });
    expect(r).toEqual({ ok: false, code: 'EINTERNAL', message: 'netlink said EPERM' });
    daemon.failNext('stats', Object.assign(new Error('no such section'), { code: 'ENOTSUP' }));
    expect(await createControlClient({ path }).call({ cmd: 'stats', section: 'ct' })).toEqual({
      ok: false,
      code: 'ENOTSUP',
      message: 'no such section',
    });
    expect(server.counters.failures).toBe(2);
  });

  it('dump arrives in chunks with base64 records and ages', async () => {
    const ct = { family: 2 as const, orig: { src: '192.0.2.1', dst: '192.0.2.2', proto: 17, sport: 1, dport: 2 }, reply: { src: '192.0.2.2', dst: '192.0.2.1', proto: 17, sport: 2, dport: 1 } };
    daemon.dump = [1, 2, 3, 4, 5].map((i) => ({ record: fakeRecord(ct), ageSeconds: i }));
    const got: WireEntry[][] = [];
    const r = await createControlClient({ path }).call({ cmd: 'dumpCache', which: 'external', kind: 'ct' }, { onChunk: (e) => got.push(e) });
    expect(r).toEqual({ ok: true, body: { count: 5 } });
    expect(got.map((g) => g.length)).toEqual([2, 2, 1]);
    expect(got.flat().map((e) => e.age)).toEqual([1, 2, 3, 4, 5]);
    expect(JSON.parse(Buffer.from(got[0]![0]!.attrs, 'base64').toString())).toEqual(ct);
  });

  it('bad input gets an error frame and the server keeps running', async () => {
    const junk = await raw(path, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    expect(junk.readUInt16BE(6)).toBe(FrameType.Error);
    expect(JSON.parse(junk.subarray(16).toString())).toMatchObject({ code: 'EBADMAGIC' });
    const big = Buffer.from(encodeFrame(FrameType.Request, 5, { cmd: 'status' }));
    big.writeUInt32BE(10 * 1024 * 1024, 8);
    const tooBig = await raw(path, big.subarray(0, 16));
    expect(JSON.parse(tooBig.subarray(16).toString())).toMatchObject({ code: 'ETOOBIG' });
    const r = await createControlClient({ path }).call({ cmd: 'bogus' } as never);
    expect(r).toMatchObject({ ok: false, code: 'ENOTSUP' });
    expect(server.counters.badFrames).toBe(3);
    expect((await createControlClient({ path }).call({ cmd: 'status' })).ok).toBe(true);
  });

  it('protocol version mismatch is reported clearly', async () => {
    const v2 = encodeFrame(FrameType.Request, 1, { cmd: 'status' }, 2);
    const ans = await raw(path, v2);
    expect(JSON.parse(ans.subarray(16).toString())).toMatchObject({ code: 'EVERSION' });
  });

  it('refuses clients beyond maxClients', async () => {
    await server.close();
    server = createControlServer({ path, api: daemon, logger: silentLogger(), clock: systemClock(), maxClients: 1 });
    await server.listen();
    const hold = net.createConnection(path);
    await new Promise((r) => hold.on('connect', r));
    await new Promise((r) => setTimeout(r, 20));
    const r = await createControlClient({ path }).call({ cmd: 'status' });
    expect(r).toMatchObject({ ok: false, code: 'EBUSY', message: 'too many control clients (max 1)' });
    hold.destroy();
  });
});

describe('client errors', () => {
  it('says the daemon is not running when there is no socket', async () => {
    const p = join(dir, 'none.sock');
    expect(await createControlClient({ path: p }).call({ cmd: 'status' })).toEqual({
      ok: false,
      code: 'ENOTRUNNING',
      message: `ctsyncd is not running (no control socket at ${p})`,
    });
  });

  it('times out when the daemon does not answer', async () => {
    const p = join(dir, `mute${n++}.sock`);
    const conns: net.Socket[] = [];
    const mute = net.createServer((s) => conns.push(s));
    await new Promise<void>((r) => mute.listen(p, r));
    const r = await createControlClient({ path: p, timeoutMs: 100 }).call({ cmd: 'status' });
    expect(r).toMatchObject({ ok: false, code: 'ETIMEDOUT' });
    for (const s of conns) s.destroy();
    await new Promise((r2) => mute.close(r2));
  });

  it('reports a version mismatch from the daemon side', async () => {
    const p = join(dir, `v2${n++}.sock`);
    const v2 = net.createServer((s) => {
      s.resume();
      s.end(encodeFrame(FrameType.Response, 1, {}, 2));
    });
    await new Promise<void>((r) => v2.listen(p, r));
    const r = await createControlClient({ path: p }).call({ cmd: 'status' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('EVERSION');
      expect(r.message).toMatch(/protocol version mismatch: the daemon speaks version 2, this client 1/);
    }
    await new Promise((r2) => v2.close(r2));
  });

  it('permission denied: a non-root user cannot connect to the 0600 socket, and the message names path and group', async () => {
    expect(connectError(Object.assign(new Error('x'), { code: 'EACCES' }), { path: '/run/c.ctl', group: 'ctsync' })).toEqual({
      ok: false,
      code: 'EACCES',
      message: 'permission denied on /run/c.ctl (run as root or a member of ctsync)',
    });
    expect(connectError(Object.assign(new Error('x'), { code: 'EACCES' }), { path: '/run/c.ctl' })).toMatchObject({
      message: 'permission denied on /run/c.ctl (run as root)',
    });
    expect(connectError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), { path: '/run/c.ctl' })).toMatchObject({
      code: 'ENOTRUNNING',
    });
    if (process.getuid?.() !== 0) return;
    const p = join(dir, `perm${n++}.sock`);
    const srv = createControlServer({ path: p, api: createFakeDaemon(), logger: silentLogger(), clock: systemClock() });
    await srv.listen();
    chmodSync(dir, 0o755);
    const script = `require('net').createConnection(${JSON.stringify(p)}).on('error',e=>{process.stdout.write(e.code);process.exit(0)}).on('connect',()=>{process.stdout.write('CONNECTED');process.exit(0)})`;
    const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
    await srv.close();
    expect(out).toBe('EACCES');
  });

  it('removeStaleSocket: removes a dead socket, refuses a live one and a regular file', async () => {
    const p = join(dir, `stale${n++}.sock`);
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(p, r));
    await expect(removeStaleSocket(p)).rejects.toThrow(/another daemon answers/);
    // Closing a node server unlinks its socket; emulate a crash by leaving a bound, unlistened file.
    await new Promise((r) => s.close(r));
    const f = join(dir, `file${n++}`);
    writeFileSync(f, 'x');
    await expect(removeStaleSocket(f)).rejects.toThrow(/not a socket/);
    await expect(removeStaleSocket(join(dir, 'absent'))).resolves.toBeUndefined();
  });
});

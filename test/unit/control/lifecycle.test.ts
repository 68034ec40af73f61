import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, argsWithoutDaemonFlag, createLifecycle, createNotifier, daemonize, pidAlive, watchdogIntervalMs } from '../../../src/daemon/lifecycle';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';

const dir = mkdtempSync(join(tmpdir(), 'ctsync-life-'));
const started: number[] = [];
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('lock file', () => {
  it('is exclusive while the holder lives, and released only by its owner', () => {
    const p = join(dir, 'a.lock');
    const a = acquireLock(p);
    expect(a.ok).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe(`${process.pid}\n`);
    const b = acquireLock(p);
    expect(b).toEqual({ ok: false, message: `lockfile \`${p}' exists, ctsyncd already running (pid ${process.pid})` });
    if (a.ok) a.release();
    expect(existsSync(p)).toBe(false);
  });

  it('replaces a stale lock whose pid is dead', () => {
    const p = join(dir, 'stale.lock');
    writeFileSync(p, '999999999\n');
    expect(pidAlive(999999999)).toBe(false);
    const r = acquireLock(p);
    expect(r.ok).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe(`${process.pid}\n`);
    if (r.ok) r.release();
  });

  it('refuses a lock without a pid (conntrackd-style empty lock)', () => {
    const p = join(dir, 'empty.lock');
    writeFileSync(p, '');
    const r = acquireLock(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/exists, perhaps conntrackd or ctsyncd already running/);
  });

  it('reports an impossible path', () => {
    expect(acquireLock(join(dir, 'no/such/dir.lock'))).toMatchObject({ ok: false, message: expect.stringMatching(/ENOENT/) });
  });
});

describe('systemd notify', () => {
  it('does nothing without NOTIFY_SOCKET', () => {
    const calls: string[][] = [];
    const n = createNotifier({ env: {}, pid: 1, run: (c, a) => calls.push([c, ...a]) });
    n.notify('READY=1');
    expect(n.enabled).toBe(false);
    expect(calls).toEqual([]);
  });

  it('prefers the native sd_notify, falls back to systemd-notify', () => {
    const calls: string[][] = [];
    const native: string[] = [];
    const ok = createNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 7, native: (s) => (native.push(s), true), run: (c, a) => calls.push([c, ...a]) });
    ok.notify('READY=1');
    expect(native).toEqual(['READY=1']);
    expect(calls).toEqual([]);
    const fb = createNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 7, native: () => false, run: (c, a) => calls.push([c, ...a]) });
    fb.notify('STOPPING=1');
    expect(calls).toEqual([['systemd-notify', '--pid=7', 'STOPPING=1']]);
  });

  it('watchdog interval is half of WATCHDOG_USEC, only for our pid', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }, 5)).toBe(5000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '6' }, 5)).toBeUndefined();
    expect(watchdogIntervalMs({}, 5)).toBeUndefined();
  });
});

describe('lifecycle', () => {
  function setup(env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' }) {
    const signals = new EventEmitter();
    const clock = new FakeClock();
    const notes: string[] = [];
    const stops: string[] = [];
    let released = 0;
    const lc = createLifecycle({
      signals: signals as never,
      notifier: createNotifier({ env, pid: 1, native: (s) => (notes.push(s), true) }),
      clock,
      logger: silentLogger(),
      env,
      pid: 1,
      onStop: async (r) => {
        stops.push(r);
      },
      afterStop: () => (released += 1),
    });
    return { signals, clock, notes, stops, lc, released: () => released };
  }

  it('READY, WATCHDOG pings, then SIGTERM stops once with STOPPING', async () => {
    const s = setup();
    s.lc.ready();
    s.clock.advance(2500);
    expect(s.notes).toEqual(['READY=1', 'WATCHDOG=1', 'WATCHDOG=1']);
    s.signals.emit('SIGTERM');
    s.signals.emit('SIGINT');
    await s.lc.stopped;
    expect(s.stops).toEqual(['SIGTERM']);
    expect(s.released()).toBe(1);
    s.clock.advance(5000);
    expect(s.notes).toEqual(['READY=1', 'WATCHDOG=1', 'WATCHDOG=1', 'STOPPING=1']);
    expect(s.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('SIGINT stops too, and a failing stop still completes', async () => {
    const signals = new EventEmitter();
    let released = false;
    const lc = createLifecycle({
      signals: signals as never,
      notifier: createNotifier({ env: {}, pid: 1 }),
      clock: new FakeClock(),
      logger: silentLogger(),
      env: {},
      pid: 1,
      onStop: async () => {
        throw new Error('boom');
      },
      afterStop: () => (released = true),
    });
    signals.emit('SIGINT');
    await lc.stopped;
    expect(released).toBe(true);
  });
});

describe('daemonize', () => {
  it('child arguments drop -d but keep a config file named -d', () => {
    expect(argsWithoutDaemonFlag(['-C', '/etc/c.conf', '-d'])).toEqual(['-C', '/etc/c.conf']);
    expect(argsWithoutDaemonFlag(['--daemon', '-C', '-d'])).toEqual(['-C', '-d']);
  });

  const node = process.execPath;
  const child = (body: string): string[] => ['-e', body];

  it('returns once the child is ready and its control socket answers', async () => {
    const sock = join(dir, 'd.sock');
    const body =
      `const net=require('net'),fs=require('fs');` +
      `const s=net.createServer(c=>c.destroy());s.listen(${JSON.stringify(sock)},()=>{` +
      `fs.writeSync(Number(process.env.CTSYNC_READY_FD),'READY\\n');});` +
      `setTimeout(()=>process.exit(0),20000);`;
    const r = await daemonize({ execPath: node, args: child(body), env: process.env, socketPath: sock, readyTimeoutMs: 10000 });
    expect(r.ok).toBe(true);
    if (r.ok) {
      started.push(r.pid);
      expect(pidAlive(r.pid)).toBe(true);
      process.kill(r.pid, 'SIGKILL');
    }
  });

  it('returns the child error message', async () => {
    const body = `require('fs').writeSync(3,'ERROR lockfile exists\\n');setTimeout(()=>{},20000);`;
    const r = await daemonize({ execPath: node, args: child(body), env: process.env, readyTimeoutMs: 10000 });
    expect(r).toEqual({ ok: false, message: 'lockfile exists' });
  });

  it('reports a child that dies before it is ready', async () => {
    const r = await daemonize({ execPath: node, args: child('process.exit(3)'), env: process.env, readyTimeoutMs: 10000 });
    expect(r).toEqual({ ok: false, message: 'ctsyncd exited (code 3) before it was ready' });
  });

  it('reports READY without a listening socket', async () => {
    const body = `require('fs').writeSync(3,'READY\\n');setTimeout(()=>{},20000);`;
    const r = await daemonize({ execPath: node, args: child(body), env: process.env, socketPath: join(dir, 'none.sock'), readyTimeoutMs: 10000 });
    expect(r).toEqual({ ok: false, message: `ctsyncd said ready but its control socket ${join(dir, 'none.sock')} does not answer` });
  });

  it('times out', async () => {
    const r = await daemonize({ execPath: node, args: child('setTimeout(()=>{},20000)'), env: process.env, readyTimeoutMs: 300 });
    expect(r).toEqual({ ok: false, message: 'ctsyncd did not become ready within 0.3s' });
  });
});

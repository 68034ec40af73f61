/** Key files, the replay window, the transport decorator and two engines over it. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatagramAuth } from '../../../src/sync/auth/auth';
import { authFromConfig } from '../../../src/sync/auth/from-config';
import { loadKeyFile, loadKeyRing, makeKey, parseKeyBytes } from '../../../src/sync/auth/keys';
import { authTransport } from '../../../src/sync/auth/transport';
import { ReplayWindow } from '../../../src/sync/auth/window';
import { memoryLink, type MemoryTransport } from '../../../src/transport/memory';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { diffCaches, fakeRecord, makeReplica, seeded } from './helpers/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'ctsync-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: string | Buffer, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  chmodSync(p, mode);
  return p;
}
const HEX = 'a1'.repeat(32);

describe('key files', () => {
  it('reads hex (with whitespace) and raw keys', () => {
    const h = loadKeyFile(file('hex', `${HEX.slice(0, 30)}\n${HEX.slice(30)}\n`));
    expect(h.ok && h.key.secret.equals(Buffer.alloc(32, 0xa1))).toBe(true);
    const raw = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 200) & 0xff));
    const r = loadKeyFile(file('raw', raw));
    expect(r.ok && r.key.secret.equals(raw)).toBe(true);
    expect(parseKeyBytes(Buffer.from('xyz')).toString()).toBe('xyz');
    expect(parseKeyBytes(Buffer.from('abc'))).toMatch(/odd number/);
    expect(loadKeyFile(file('odd', `${HEX}a`))).toMatchObject({ ok: false, code: 'EFORMAT' });
    expect(loadKeyFile(file('empty', '\n'))).toMatchObject({ ok: false, code: 'EFORMAT' });
  });

  it('refuses world-readable, short, missing and non-file keys with clear errors', () => {
    expect(loadKeyFile(file('world', HEX, 0o644))).toMatchObject({ ok: false, code: 'EPERM', message: expect.stringMatching(/mode 0644.*chmod 600/) });
    expect(loadKeyFile(file('other-w', HEX, 0o602))).toMatchObject({ ok: false, code: 'EPERM' });
    expect(loadKeyFile(file('group', HEX, 0o640)).ok).toBe(true);
    expect(loadKeyFile(file('short', 'a1'.repeat(31)))).toMatchObject({ ok: false, code: 'ETOOSHORT' });
    expect(loadKeyFile(join(dir, 'absent'))).toMatchObject({ ok: false, code: 'ENOENT', message: expect.stringContaining('absent') });
    expect(loadKeyFile(dir)).toMatchObject({ ok: false, code: 'ENOTFILE' });
    expect(loadKeyFile(file('big', Buffer.alloc(5000, 1)))).toMatchObject({ ok: false, code: 'ETOOBIG' });
  });

  it('key ids are stable and differ between keys', () => {
    const a = makeKey(Buffer.alloc(32, 1));
    const b = makeKey(Buffer.alloc(32, 2));
    expect(a.ok && b.ok && a.key.id !== b.key.id).toBe(true);
    const a2 = makeKey(Buffer.alloc(32, 1));
    expect(a.ok && a2.ok && a.key.id === a2.key.id).toBe(true);
  });

  it('loads a key ring; the same file twice is one key', () => {
    const cur = file('cur', HEX);
    const prev = file('prev', 'b2'.repeat(32));
    const r = loadKeyRing(cur, prev);
    expect(r.ok && r.ring.previous !== undefined).toBe(true);
    const same = loadKeyRing(cur, cur);
    expect(same.ok && same.ring.previous === undefined).toBe(true);
    expect(loadKeyRing(cur, join(dir, 'absent'))).toMatchObject({ ok: false, code: 'ENOENT' });
  });

  it('authFromConfig: no Auth = the transport unchanged; a bad key file = an error message', () => {
    const link = memoryLink(seeded(1));
    const deps = { clock: new FakeClock(), logger: silentLogger() };
    const none = authFromConfig(undefined, link.a, deps);
    expect(none.ok && none.transport === link.a).toBe(true);
    const bad = authFromConfig({ keyFile: file('w2', HEX, 0o644), encrypt: false }, link.a, deps);
    expect(bad).toMatchObject({ ok: false, message: expect.stringMatching(/^Sync\/Auth: key file .*w2: mode 0644/) });
    const good = authFromConfig({ keyFile: file('k', HEX), encrypt: true }, link.a, deps);
    expect(good.ok && good.transport.mtu).toBe(link.a.mtu - 36);
  });
});

describe('replay window', () => {
  it('accepts new and in-window unseen counters, rejects seen and too old ones', () => {
    const w = new ReplayWindow(32);
    expect(w.check(0)).toBe('ok');
    w.mark(0);
    expect(w.check(0)).toBe('duplicate');
    w.mark(100);
    expect(w.check(69)).toBe('ok');
    expect(w.check(68)).toBe('too-old');
    expect(w.check(100)).toBe('duplicate');
    w.mark(69);
    expect(w.check(69)).toBe('duplicate');
    expect(w.check(2 ** 40)).toBe('ok');
    w.mark(2 ** 40 + 5);
    expect(w.check(2 ** 40 + 5)).toBe('duplicate');
    expect(w.check(2 ** 40 + 4)).toBe('ok');
    expect(() => new ReplayWindow(100)).toThrow(RangeError);
    const late = new ReplayWindow(64, 1000);
    expect(late.check(999)).toBe('too-old');
    expect(late.check(1000)).toBe('ok');
  });
});

describe('authTransport', () => {
  function pair(keyB = 1) {
    const clock = new FakeClock();
    const link = memoryLink(seeded(7), 1472);
    const k = (n: number) => {
      const r = makeKey(Buffer.alloc(32, n));
      if (!r.ok) throw new Error(r.message);
      return r.key;
    };
    const ta = authTransport(link.a, createDatagramAuth({ keys: { current: k(1) }, encrypt: true, clock, logger: silentLogger() }));
    const tb = authTransport(link.b, createDatagramAuth({ keys: { current: k(keyB) }, encrypt: false, clock, logger: silentLogger() }));
    // makeReplica is typed for MemoryTransport but only hands it on as a Transport.
    const a = makeReplica('ftfw', ta as unknown as MemoryTransport, clock, 11, {});
    const b = makeReplica('ftfw', tb as unknown as MemoryTransport, clock, 12, {});
    a.engine.start();
    b.engine.start();
    const run = (ms: number) => {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10);
        link.flush();
      }
    };
    return { link, ta, tb, a, b, run };
  }

  it('two FT-FW engines replicate through it, unchanged, with the reduced MTU', () => {
    const p = pair();
    expect(p.ta.mtu).toBe(1472 - 36);
    for (let i = 0; i < 500; i++) p.a.change('new', fakeRecord('ct', i, 1, 200));
    for (let i = 0; i < 100; i++) p.a.change('update', fakeRecord('ct', i, 2, 200));
    for (let i = 400; i < 500; i++) p.a.change('destroy', fakeRecord('ct', i, 1, 200));
    p.run(2000);
    expect(diffCaches(p.a.internal.ct, p.b.external.ct)).toEqual([]);
    expect(p.b.external.ct.size).toBe(400);
    expect(p.tb.auth.stats().opened).toBeGreaterThan(0);
    expect(p.tb.stats().recvErrors).toBe(0);
    expect(Object.values(p.b.engine.stats().rejected).every((n) => n === 0)).toBe(true);
  });

  it('with different keys nothing replicates and every datagram is counted as a receive error', () => {
    const p = pair(2);
    for (let i = 0; i < 50; i++) p.a.change('new', fakeRecord('ct', i, 1));
    p.run(1000);
    expect(p.b.external.ct.size).toBe(0);
    const rej = p.tb.auth.stats().rejected['unknown-key'];
    expect(rej).toBeGreaterThan(0);
    expect(p.tb.stats().recvErrors).toBe(rej);
    expect(p.tb.auth.stats().opened).toBe(0);
  });
});

/** Fast failure detector: probe codec, and the monitor on an in-memory link with a fake clock. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import type { UdpSocketLike } from '../../../src/ha/heartbeat';
import { createLiveness, type LivenessMonitor, type LivenessState } from '../../../src/ha/liveness';
import { decodeProbe, encodeProbe, LIVENESS_LEN } from '../../../src/ha/liveness-packet';

describe('liveness probe codec', () => {
  it('encodes the documented 16 bytes', () => {
    expect(encodeProbe({ intervalMs: 20, bootId: 0x01020304, seq: 7 }).toString('hex')).toBe('43544c56' + '01' + '00' + '0014' + '01020304' + '00000007');
  });

  it('round-trips any probe', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 65535 }), fc.nat(), fc.nat(), (intervalMs, bootId, seq) => {
      const p = { intervalMs, bootId: bootId >>> 0, seq: seq >>> 0 };
      expect(decodeProbe(encodeProbe(p))).toEqual({ ok: true, probe: p });
    }));
  });

  it('rejects anything else with a reason, never throws', () => {
    const good = encodeProbe({ intervalMs: 20, bootId: 1, seq: 1 });
    const mut = (i: number, v: number): Buffer => {
      const b = Buffer.from(good);
      b[i] = v;
      return b;
    };
    expect(decodeProbe(good.subarray(0, 15))).toEqual({ ok: false, error: 'length' });
    expect(decodeProbe(Buffer.concat([good, Buffer.alloc(1)]))).toEqual({ ok: false, error: 'length' });
    expect(decodeProbe(mut(0, 0))).toEqual({ ok: false, error: 'magic' });
    expect(decodeProbe(mut(4, 2))).toEqual({ ok: false, error: 'version' });
    expect(decodeProbe(mut(5, 1))).toEqual({ ok: false, error: 'flags' });
    expect(decodeProbe(Buffer.concat([good.subarray(0, 6), Buffer.alloc(2), good.subarray(8)]))).toEqual({ ok: false, error: 'interval' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const d = decodeProbe(Buffer.from(b));
      expect(typeof d.ok).toBe('boolean');
    }));
    expect(LIVENESS_LEN).toBe(16);
  });
});

/** Two monitors joined by an in-memory link that can be cut; datagrams arrive after 1 ms. */
function pair(clock: FakeClock, o: { intervalMs?: number; misses?: number } = {}) {
  const handlers = new Map<string, (msg: Buffer, rinfo: { address: string; port: number }) => void>();
  const link = { cut: false, sent: 0 };
  const sock = (self: string): UdpSocketLike => ({
    bind: (_p, _a, cb) => cb(),
    send: (msg, _port, to, cb) => {
      link.sent += 1;
      if (!link.cut) clock.setTimeout(() => handlers.get(to)?.(msg, { address: self, port: 3782 }), 1);
      cb(null);
    },
    on: ((ev: string, fn: (msg: Buffer, rinfo: { address: string; port: number }) => void) => {
      if (ev === 'message') handlers.set(self, fn);
    }) as UdpSocketLike['on'],
    close: () => handlers.delete(self),
  });
  const mk = (me: string, peer: string, seed: number): LivenessMonitor => createLiveness({
    options: { family: 4, bind: me, peer, port: 3782, intervalMs: o.intervalMs ?? 20, misses: o.misses ?? 3 },
    clock, logger: silentLogger(), random: () => seed, createSocket: () => sock(me), defer: (fn) => fn(),
  });
  return { a: mk('198.51.100.1', '198.51.100.2', 0.25), b: mk('198.51.100.2', '198.51.100.1', 0.5), link, handlers };
}

describe('liveness monitor', () => {
  it('alive while probes flow; silent exactly misses x interval after the last one; alive again when they return', () => {
    const clock = new FakeClock();
    const { a, b, link } = pair(clock);
    const seen: LivenessState[] = [];
    b.onChange((s) => seen.push(s));
    a.start();
    b.start();
    clock.advance(1000);
    expect(b.stats()).toMatchObject({ state: 'alive', silences: 0 });
    expect(b.stats().probesReceived).toBeGreaterThanOrEqual(49);
    expect(seen).toHaveLength(1);
    link.cut = true;
    clock.advance(1); // a probe in flight still arrives
    const last = b.state().lastProbeAt ?? -1;
    clock.advance(59 - (clock.now() - last));
    expect(b.state().silent).toBe(false);
    clock.advance(2);
    expect(b.state()).toEqual({ silent: true, lastProbeAt: last, quietSince: last + 20 });
    expect(seen).toHaveLength(2);
    link.cut = false;
    clock.advance(25);
    expect(b.state().silent).toBe(false);
    expect(b.stats()).toMatchObject({ state: 'alive', silences: 1 });
    expect(seen.map((s) => s.silent)).toEqual([false, true, false]);
    a.close();
    b.close();
  });

  it('uses the interval the peer announces, drops probes from other sources and garbage, counts peer restarts', () => {
    const clock = new FakeClock();
    const { a, b, handlers } = pair(clock);
    b.start();
    // A peer probing every 100 ms: silent only after 300 ms.
    const deliver = (msg: Buffer, from = '198.51.100.1'): void => handlers.get('198.51.100.2')?.(msg, { address: from, port: 3782 });
    deliver(encodeProbe({ intervalMs: 100, bootId: 9, seq: 1 }));
    clock.advance(299);
    expect(b.state().silent).toBe(false);
    clock.advance(1);
    expect(b.state().silent).toBe(true);
    deliver(encodeProbe({ intervalMs: 100, bootId: 9, seq: 2 }), '192.0.2.66');
    deliver(Buffer.from('not a probe'));
    expect(b.state().silent).toBe(true);
    expect(b.stats().dropped).toEqual({ source: 1, length: 1 });
    deliver(encodeProbe({ intervalMs: 100, bootId: 10, seq: 1 }));
    expect(b.stats()).toMatchObject({ state: 'alive', peerRestarts: 1, probesReceived: 2 });
    a.close();
    b.close();
  });

  it('never heard: unknown, not silent (no early takeover without a peer ever seen)', () => {
    const clock = new FakeClock();
    const { b } = pair(clock);
    b.start();
    clock.advance(5000);
    expect(b.state()).toEqual({ silent: false, lastProbeAt: null, quietSince: null });
    expect(b.stats().state).toBe('unknown');
    expect(b.stats().probesSent).toBe(251);
    b.close();
  });
});

describe('liveness silence decided after pending I/O', () => {
  it('a probe read in the same wake-up as the deadline keeps the peer alive', () => {
    const clock = new FakeClock();
    const deferred: Array<() => void> = [];
    let onMsg: ((msg: Buffer, rinfo: { address: string; port: number }) => void) | null = null;
    const m = createLiveness({
      options: { family: 4, bind: '198.51.100.2', peer: '198.51.100.1', port: 3782, intervalMs: 20, misses: 3 },
      clock, logger: silentLogger(), random: () => 0.5, defer: (fn) => deferred.push(fn),
      createSocket: () => ({
        bind: (_p, _a, cb) => cb(),
        send: (_m, _p, _a, cb) => cb(null),
        on: ((ev: string, fn: (msg: Buffer, rinfo: { address: string; port: number }) => void) => {
          if (ev === 'message') onMsg = fn;
        }) as UdpSocketLike['on'],
        close: () => undefined,
      }),
    });
    m.start();
    const probe = (seq: number): void => onMsg?.(encodeProbe({ intervalMs: 20, bootId: 1, seq }), { address: '198.51.100.1', port: 3782 });
    probe(1);
    clock.advance(100); // deadline (60 ms) passed while the thread slept
    expect(deferred.length).toBeGreaterThan(0);
    probe(2); // queued probe read first
    for (const fn of deferred.splice(0)) fn();
    expect(m.state().silent).toBe(false);
    clock.advance(61);
    for (const fn of deferred.splice(0)) fn();
    expect(m.state().silent).toBe(true);
    m.close();
  });
});

/** FT-FW flow control: RTO estimation, AIMD window, pacing, and the sender's resend discipline. */
import { describe, expect, it } from 'vitest';
import { Counters, type FtfwOptions, type ModeContext } from '../../../src/sync/mode';
import { CongestionWindow, Pacer, RttEstimator, type FlowOptions } from '../../../src/sync/modes/ftfw-flow';
import { FTFW_DEFAULTS } from '../../../src/sync/modes/ftfw';
import { FtfwSender } from '../../../src/sync/modes/ftfw-tx';
import { seqAdd } from '../../../src/sync/seq';
import type { Message } from '../../../src/sync/wire/types';
import { silentLogger } from '../../../src/util/log';
import { mapCache } from './helpers/map-cache';

const FLOW: FlowOptions = {
  minRtoMs: 20,
  maxRtoMs: 1000,
  initialRtoMs: 100,
  minWindow: 64,
  maxWindow: 4096,
  initialWindow: 256,
  additiveIncrease: 64,
  tickMs: 10,
};

describe('RttEstimator (RFC 6298)', () => {
  it.each([
    // samples, expected rto
    [[], 100],
    [[10], 30], // srtt 10, rttvar 5 -> 10 + 20
    [[1], 20], // floor
    [[10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], 20],
    [[800], 1000], // ceiling
  ])('samples %j give an RTO of %i ms', (samples, rto) => {
    const r = new RttEstimator(FLOW);
    for (const s of samples) r.sample(s);
    expect(Math.round(r.rto())).toBe(rto);
  });

  it('backs off by doubling up to the ceiling, and a sample resets the backoff', () => {
    const r = new RttEstimator(FLOW);
    r.sample(10);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      r.expire();
      seen.push(Math.round(r.rto()));
    }
    expect(seen).toEqual([60, 120, 240, 480, 960, 1000, 1000, 1000]);
    r.sample(10);
    expect(Math.round(r.rto())).toBeLessThan(40);
  });
});

describe('CongestionWindow (AIMD)', () => {
  it('slow start doubles per window, halves once per window of data on loss, then grows additively', () => {
    const w = new CongestionWindow(FLOW);
    expect(w.window()).toBe(256);
    w.acked(256, 255, true);
    expect(w.window()).toBe(512);
    w.acked(512, 767, false); // not window-limited: no growth
    expect(w.window()).toBe(512);
    expect(w.lost(800, 1000)).toBe(true);
    expect(w.window()).toBe(256);
    expect(w.lost(900, 1000)).toBe(false); // same window of data
    expect(w.window()).toBe(256);
    w.acked(256, 999, true); // still in recovery: no growth
    expect(w.window()).toBe(256);
    w.acked(256, 1000, true); // recovery over; congestion avoidance: + additiveIncrease per window
    expect(w.window()).toBe(320);
    expect(w.lost(1300, 1500)).toBe(true);
    expect(w.window()).toBe(160);
  });

  it('never goes below minWindow nor above maxWindow', () => {
    const w = new CongestionWindow(FLOW);
    for (let i = 0; i < 20; i++) w.lost(i * 10_000, i * 10_000 + 1);
    expect(w.window()).toBe(64);
    const g = new CongestionWindow(FLOW);
    for (let i = 0; i < 20; i++) g.acked(g.window(), i * 10_000, true);
    expect(g.window()).toBe(4096);
  });
});

describe('Pacer', () => {
  it("releases about one tick's share of window/RTT per tick, never a whole backlog at once", () => {
    const p = new Pacer(FLOW);
    p.refill(0, 1000, 20);
    expect(p.available()).toBe(256); // initial tokens, under the cap of 1000
    p.take(256);
    p.refill(10, 1000, 20);
    expect(p.available()).toBe(500); // 1000 / 20 ms * 10 ms
    p.take(500);
    p.refill(1000, 1000, 20);
    expect(p.available()).toBe(1000); // banked at most two ticks' share
  });
});

function senderRig(opts: Partial<FtfwOptions> = {}): { tx: FtfwSender; out: Message[]; st: Counters; bulks: number[] } {
  const out: Message[] = [];
  const bulks: number[] = [];
  const caches = { ct: mapCache('c'), expect: mapCache('e') };
  const ctx: ModeContext = {
    epoch: 1,
    random: () => 0.5,
    tickMs: 10,
    logger: silentLogger(),
    internal: caches,
    send: (m) => out.push(m),
    deliver: () => undefined,
    bulkSend: () => bulks.push(1),
    entry: () => {
      throw new Error('unused');
    },
    purgeExternal: () => undefined,
  };
  const st = new Counters();
  return { tx: new FtfwSender(ctx, { ...FTFW_DEFAULTS, ...opts }, st), out, st, bulks };
}

const data = (): Message => ({ type: 'resync', flags: 0, seq: 0 });

describe('FtfwSender', () => {
  it('a NACK repeated every millisecond resends each message once per RTO, not once per NACK', () => {
    const { tx, out, st } = senderRig();
    for (let i = 0; i < 100; i++) tx.enqueue(data(), 0);
    expect(out).toHaveLength(100);
    const first = out[0]?.seq as number;
    out.length = 0;
    tx.onAck('p', { type: 'ack', flags: 0, seq: 0, from: first, to: seqAdd(first, 9) }, 5); // RTT sample 5 ms -> RTO 20
    const nack = { type: 'nack' as const, flags: 0, seq: 0, from: seqAdd(first, 10), to: seqAdd(first, 59) };
    for (let t = 6; t < 26; t++) tx.onNack('p', nack, t);
    expect(st.get('resends')).toBe(50); // first NACK: resent at once; the next 19 within the RTO: nothing
    tx.onNack('p', nack, 26); // 20 ms after the resend: one more round
    expect(st.get('resends')).toBe(100);
    expect(st.get('nacksReceived')).toBe(21);
    expect(out.filter((m) => m.type === 'resync')).toHaveLength(100);
  });

  it('holds new data beyond recvWindow in flight until ACKs arrive, and room() follows the window', () => {
    const { tx, out } = senderRig({ recvWindow: 64, minWindow: 16, initialWindow: 32 });
    for (let i = 0; i < 200; i++) tx.enqueue(data(), 0);
    expect(out).toHaveLength(32); // the pacer's initial tokens
    expect(tx.room()).toBe(0);
    for (let t = 10; t <= 100; t += 10) tx.tick(t);
    const sent = out.filter((m) => m.type === 'resync').length;
    expect(sent).toBe(64); // in flight = recvWindow, nothing acknowledged
    const first = out[0]?.seq as number;
    tx.onAck('p', { type: 'ack', flags: 0, seq: 0, from: first, to: seqAdd(first, 63) }, 110);
    tx.tick(120);
    expect(out.filter((m) => m.type === 'resync').length).toBeGreaterThan(64);
    expect(tx.queueLength()).toBe(200 - 64);
  });

  it('probes with ALIVE(NEED_ACK) after an RTO without progress, backing off', () => {
    const { tx, out, st } = senderRig();
    tx.enqueue(data(), 0);
    out.length = 0;
    for (let t = 10; t <= 1000; t += 10) tx.tick(t);
    const probes = st.get('probes');
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(probes).toBeLessThanOrEqual(5); // 100, 200, 400, 800 ms apart: not one per tick
    expect(out.every((m) => m.type === 'alive')).toBe(true);
    expect(out.some((m) => m.flags & 0x02)).toBe(true);
  });

  it('a NACK for a message no longer held starts a new stream with a bulk resync', () => {
    const { tx, bulks, st } = senderRig({ resendQueueSize: 10, ackWindowSize: 2 });
    for (let i = 0; i < 20; i++) tx.enqueue(data(), 0);
    expect(st.get('overflows')).toBe(10);
    const last = tx.last();
    tx.onNack('p', { type: 'nack', flags: 0, seq: 0, from: seqAdd(last, -19), to: seqAdd(last, -19) }, 5);
    expect(st.get('lostOnNack')).toBe(1);
    expect(bulks).toHaveLength(1);
  });
});

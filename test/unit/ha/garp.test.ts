import { describe, expect, it } from 'vitest';
import { buildGarp, buildUnsolicitedNa, createGarpScheduler, masterBursts, parseMac } from '../../../src/ha/garp';
import { FakeClock } from '../../../src/util/clock';
import { frameWith, loadCapture } from './fixtures/load';

const frames = loadCapture();
const MAC = '02:00:00:00:00:0a';

describe('GARP / NA frames are byte-identical to keepalived 2.2.7', () => {
  for (const vip of ['192.0.2.100', '192.0.2.101', '192.0.2.102', '192.0.2.104']) {
    it(`gratuitous ARP for ${vip}`, () => {
      const want = frameWith(frames, 'ARP', `who-has ${vip} `).frame;
      const got = buildGarp(MAC, vip);
      expect(got.ok && got.frame.toString('hex')).toBe(want.toString('hex'));
    });
  }
  for (const vip of ['2001:db8::100', '2001:db8::101']) {
    it(`unsolicited NA for ${vip} (override flag, target link-layer option, checksum)`, () => {
      const want = frameWith(frames, 'neighbor advertisement', `tgt is ${vip},`).frame;
      const got = buildUnsolicitedNa(MAC, vip);
      expect(got.ok && got.frame.toString('hex')).toBe(want.toString('hex'));
    });
  }
  it('bad input is a value', () => {
    expect(buildGarp('zz', '192.0.2.1').ok).toBe(false);
    expect(buildGarp(MAC, '2001:db8::1').ok).toBe(false);
    expect(buildUnsolicitedNa(MAC, '192.0.2.1').ok).toBe(false);
    expect(parseMac('02:00:00:00:00')).toBeNull();
  });
});

describe('GARP schedule (garp_master_delay / repeat / refresh)', () => {
  it('bursts: repeat now and again after delay; none when delay 0', () => {
    expect(masterBursts({ repeat: 5, delayS: 5, refreshS: 0, refreshRepeat: 1, intervalMs: 0 })).toEqual([{ atMs: 0, count: 5 }, { atMs: 5000, count: 5 }]);
    expect(masterBursts({ repeat: 3, delayS: 0, refreshS: 0, refreshRepeat: 1, intervalMs: 0 })).toEqual([{ atMs: 0, count: 3 }]);
  });
  it('scheduler sends on time, refreshes, spaces by interval and stops', () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    const s = createGarpScheduler(clock, { repeat: 2, delayS: 5, refreshS: 10, refreshRepeat: 1, intervalMs: 100 }, () => sent.push(clock.now()));
    s.start();
    expect(sent).toEqual([0]);
    clock.advance(100);
    expect(sent).toEqual([0, 100]);
    clock.advance(4900);
    expect(sent).toEqual([0, 100, 5000]);
    clock.advance(5100);
    expect(sent).toEqual([0, 100, 5000, 5100, 10000]);
    s.stop();
    clock.advance(60_000);
    expect(sent.length).toBe(5);
    expect(clock.pending()).toBe(0);
    expect(s.bursts()).toBe(3);
  });
});

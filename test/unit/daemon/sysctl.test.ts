import { describe, expect, it } from 'vitest';
import {
  ensureConntrackEvents,
  NF_CONNTRACK_BUCKETS,
  NF_CONNTRACK_MAX,
  raiseConntrackBuckets,
  raiseConntrackLimits,
  raiseConntrackMax,
  type SysctlIo,
} from '../../../src/daemon/sysctl';
import { silentLogger } from '../../../src/util/log';

function io(initial: string | null, writable = true): SysctlIo & { value: string | null } {
  const st = {
    value: initial,
    read: () => st.value,
    write: (_p: string, v: string) => {
      if (!writable) return false;
      st.value = v;
      return true;
    },
  };
  return st;
}

describe('ensureConntrackEvents', () => {
  it('turns events on for every entry when the kernel has 2', () => {
    const s = io('2');
    expect(ensureConntrackEvents(silentLogger(), s)).toBe('set');
    expect(s.value).toBe('1');
  });
  it('leaves 1 alone', () => {
    const s = io('1');
    expect(ensureConntrackEvents(silentLogger(), s)).toBe('ok');
  });
  it('reports failure and absence', () => {
    expect(ensureConntrackEvents(silentLogger(), io('0', false))).toBe('failed');
    expect(ensureConntrackEvents(silentLogger(), io(null))).toBe('absent');
  });
});

describe('raiseConntrackMax', () => {
  const mem = (v: string) => {
    const m = new Map([[NF_CONNTRACK_MAX, v]]);
    return { m, io: { read: (p: string) => m.get(p) ?? null, write: (p: string, x: string) => (m.set(p, x), true) } };
  };
  it('raises only when lower; nested raises restored in reverse order give the original back', () => {
    const { m, io } = mem('262144');
    const r1 = raiseConntrackMax(1_000_000, io);
    const r2 = raiseConntrackMax(2_000_000, io);
    const r3 = raiseConntrackMax(500_000, io);
    expect(m.get(NF_CONNTRACK_MAX)).toBe('2000000');
    r3();
    r2();
    expect(m.get(NF_CONNTRACK_MAX)).toBe('1000000');
    r1();
    expect(m.get(NF_CONNTRACK_MAX)).toBe('262144');
  });
  it('does not restore a value someone else changed meanwhile', () => {
    const { m, io } = mem('1000');
    const r = raiseConntrackMax(5000, io);
    m.set(NF_CONNTRACK_MAX, '7000');
    r();
    expect(m.get(NF_CONNTRACK_MAX)).toBe('7000');
  });
});

describe('raiseConntrackLimits', () => {
  it('raises the limit and the hash buckets together and restores both', () => {
    const m = new Map([
      [NF_CONNTRACK_MAX, '262144'],
      [NF_CONNTRACK_BUCKETS, '65536'],
    ]);
    const io = { read: (p: string) => m.get(p) ?? null, write: (p: string, x: string) => (m.set(p, x), true) };
    const restore = raiseConntrackLimits(500_000, io);
    expect([m.get(NF_CONNTRACK_MAX), m.get(NF_CONNTRACK_BUCKETS)]).toEqual(['500000', '500000']);
    restore();
    expect([m.get(NF_CONNTRACK_MAX), m.get(NF_CONNTRACK_BUCKETS)]).toEqual(['262144', '65536']);
    // The kernel rounds the bucket count it is given: still restored.
    const round: SysctlIo = { read: (p) => m.get(p) ?? null, write: (p, x) => (m.set(p, p === NF_CONNTRACK_BUCKETS && Number(x) > 1_000_000 ? String(Number(x) + 96) : x), true) };
    const r2 = raiseConntrackLimits(2_500_000, round);
    expect(m.get(NF_CONNTRACK_BUCKETS)).toBe('2500096');
    r2();
    expect([m.get(NF_CONNTRACK_MAX), m.get(NF_CONNTRACK_BUCKETS)]).toEqual(['262144', '65536']);
    // Already large enough: nothing written, nothing restored.
    m.set(NF_CONNTRACK_BUCKETS, '1048576');
    raiseConntrackBuckets(500_000, io)();
    expect(m.get(NF_CONNTRACK_BUCKETS)).toBe('1048576');
  });
});

import { describe, expect, it } from 'vitest';
import { flowConntrack } from '../../../../src/bench/flows';
import { encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { sameFlow } from '../../../../src/netlink/ct/same';

describe('sameFlow', () => {
  const base = flowConntrack(1);
  it('ignores the timeout countdown, counters, use and id', () => {
    const a = encodeConntrack({ ...base, timeout: 300, id: 1, use: 1 });
    const b = encodeConntrack({ ...base, timeout: 120, id: 1, use: 2, countersOrig: { packets: 5n, bytes: 500n } });
    expect(sameFlow(a, b)).toBe(true);
  });
  it('sees a change of state, mark or status', () => {
    const a = encodeConntrack(base);
    expect(sameFlow(a, encodeConntrack({ ...base, mark: 9 }))).toBe(false);
    expect(sameFlow(a, encodeConntrack({ ...base, status: (base.status ?? 0) | 0x200 }))).toBe(false);
    expect(sameFlow(a, encodeConntrack({ ...base, protoinfo: { tcp: { state: 4 } } }))).toBe(false);
    expect(sameFlow(a, encodeConntrack(flowConntrack(2)))).toBe(false);
  });
});

describe('sameFlow: an event and a dump of the same entry', () => {
  const base = flowConntrack(3);
  /** Re-encode a record's top-level attributes in another order (what a dump does to an event). */
  const reorder = (buf: Buffer, order: (types: number[]) => number[]): Buffer => {
    const parts = new Map<number, Buffer[]>();
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt16LE(off);
      const t = buf.readUInt16LE(off + 2) & 0x3fff;
      const whole = buf.subarray(off, off + ((len + 3) & ~3));
      parts.set(t, [...(parts.get(t) ?? []), whole]);
      off += (len + 3) & ~3;
    }
    return Buffer.concat(order([...parts.keys()]).flatMap((t) => parts.get(t) ?? []));
  };
  it('the same attributes in another order are the same flow', () => {
    const a = encodeConntrack({ ...base, mark: 7 });
    const b = { ...a, attrs: reorder(a.attrs, (ts) => [...ts].reverse()) };
    expect(b.attrs.equals(a.attrs)).toBe(false);
    expect(sameFlow(a, b)).toBe(true);
    expect(sameFlow(b, a)).toBe(true);
  });
  it('an absent mark equals a zero mark, not another one', () => {
    const none = encodeConntrack({ ...base });
    const zero = encodeConntrack({ ...base, mark: 0 });
    const seven = encodeConntrack({ ...base, mark: 7 });
    expect(sameFlow(none, zero)).toBe(true);
    expect(sameFlow(zero, none)).toBe(true);
    expect(sameFlow(none, seven)).toBe(false);
    expect(sameFlow(seven, none)).toBe(false);
  });
  it('an attribute only one side has is a difference', () => {
    const a = encodeConntrack({ ...base });
    const b = encodeConntrack({ ...base, zone: 3 });
    expect(sameFlow(a, b)).toBe(false);
    expect(sameFlow(b, a)).toBe(false);
  });
});

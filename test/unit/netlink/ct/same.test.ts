import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
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

describe('sameFlow: the allocation-free path decides like the Map-based comparison', () => {
  /** The previous implementation, kept as the reference. */
  const VOL = new Set([7, 9, 10, 11, 12, 20]);
  const ref = (a: Buffer, b: Buffer): boolean => {
    const top = (buf: Buffer): Array<[number, Buffer]> | null => {
      const out: Array<[number, Buffer]> = [];
      let p = 0;
      let n = 0;
      while (p < buf.length) {
        if (buf.length - p < 4) return null;
        const len = buf.readUInt16LE(p);
        if (len < 4 || p + len > buf.length || ++n > 4096) return null;
        const raw = buf.readUInt16LE(p + 2);
        if (!VOL.has(raw & 0x3fff)) out.push([raw, buf.subarray(p + 4, p + len)]);
        p += (len + 3) & ~3;
      }
      return out;
    };
    const x = top(a);
    const y = top(b);
    if (x === null || y === null) return false;
    const types = (l: Array<[number, Buffer]>): number[] => l.map(([r]) => r & 0x3fff);
    const rep = (l: number[]): boolean => new Set(l).size !== l.length;
    if (rep(types(x)) || rep(types(y))) {
      return x.length === y.length && x.every(([r, v], i) => r === y[i]?.[0] && v.equals(y[i]?.[1] ?? Buffer.alloc(0)));
    }
    const mark = (l: Array<[number, Buffer]>): Buffer | undefined => l.find(([r]) => (r & 0x3fff) === 8)?.[1];
    const zero = (m: Buffer | undefined): boolean => m === undefined || (m.length === 4 && m.readUInt32BE(0) === 0);
    const ma = mark(x);
    const mb = mark(y);
    if (!(zero(ma) && zero(mb)) && (ma === undefined || mb === undefined || !ma.equals(mb))) return false;
    const rest = (l: Array<[number, Buffer]>): Array<[number, Buffer]> => l.filter(([r]) => (r & 0x3fff) !== 8);
    const xr = rest(x);
    const yr = rest(y);
    return xr.length === yr.length && xr.every(([r, v]) => yr.some(([r2, v2]) => r2 === r && v2.equals(v)));
  };
  const attr = fc
    .tuple(fc.constantFrom(1, 2, 3, 4, 7, 8, 8, 9, 12, 13, 20, 31, 33, 0x8001), fc.uint8Array({ maxLength: 9 }))
    .map(([t, d]) => {
      const b = Buffer.alloc(4 + ((d.length + 3) & ~3));
      b.writeUInt16LE(4 + d.length, 0);
      b.writeUInt16LE(t, 2);
      Buffer.from(d).copy(b, 4);
      return b;
    });
  const zeroMark = Buffer.from([8, 0, 8, 0, 0, 0, 0, 0]);
  it('on generated records: reordered, marks absent or zero, volatile and repeated types, garbage', () => {
    const base = encodeConntrack(flowConntrack(5)).attrs;
    fc.assert(
      fc.property(
        fc.array(attr, { maxLength: 7 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom('reorder', 'zero-mark', 'other', 'garbage'),
        fc.uint8Array({ maxLength: 6 }),
        (attrs, keys, how, junk) => {
          const a = Buffer.concat([base, ...attrs]);
          let bParts = [base, ...attrs];
          if (how === 'reorder') bParts = bParts.map((p, i) => ({ p, k: keys[i] ?? i })).sort((x, y) => x.k - y.k).map((x) => x.p);
          if (how === 'zero-mark') bParts = [...bParts, zeroMark];
          if (how === 'other') bParts = [...bParts.slice(1), ...attrs.slice(0, 1)];
          const b = Buffer.concat(how === 'garbage' ? [...bParts, Buffer.from(junk)] : bParts);
          const ra = { kind: 'ct' as const, family: 2 as const, attrs: a };
          const rb = { kind: 'ct' as const, family: 2 as const, attrs: b };
          const want = a.equals(b) || ref(a, b);
          expect(sameFlow(ra, rb)).toBe(want);
          expect(sameFlow(rb, ra)).toBe(a.equals(b) || ref(b, a));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

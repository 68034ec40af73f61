import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { walkAttrs } from '../../../../src/netlink/ct/attr';
import { decodeConntrack, encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { decodeExpectation, encodeExpectation } from '../../../../src/netlink/ct/expect';
import { tupleKey } from '../../../../src/netlink/ct/key';
import { createFlowPeeker, peekFlow } from '../../../../src/netlink/ct/peek';
import type { CtRecord } from '../../../../src/netlink/types';
import { conntrack, expectation, rawAttr } from './arbitraries';
import * as T from '../../../../src/netlink/ct/tables';
import { makeAttr } from '../../../../src/netlink/ct/attr';

/** Split the top-level attributes of a record into whole-attribute slices. */
function slices(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  walkAttrs(b, 0, b.length, (_t, off, len) => {
    out.push(b.subarray(off - 4, off + ((len + 3) & ~3)));
  });
  return out;
}

function reorder(parts: Buffer[], keys: number[]): Buffer[] {
  return parts.map((p, i) => ({ p, k: keys[i % Math.max(1, keys.length)] ?? i, i })).sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.p);
}

describe('round trip', () => {
  it('decode(encode(conntrack)) == conntrack, unknown attributes included', () => {
    fc.assert(
      fc.property(conntrack, (ct) => {
        const rec = encodeConntrack(ct);
        const d = decodeConntrack(rec);
        expect(d.ok).toBe(true);
        if (d.ok) expect(d.value).toEqual(ct);
        // encoding is stable: encode(decode(bytes)) == bytes
        if (d.ok) expect(encodeConntrack(d.value).attrs.equals(rec.attrs)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('decode(encode(expectation)) == expectation', () => {
    fc.assert(
      fc.property(expectation, (x) => {
        const d = decodeExpectation(encodeExpectation(x));
        expect(d.ok).toBe(true);
        if (d.ok) expect(d.value).toEqual(x);
      }),
      { numRuns: 300 },
    );
  });
});

describe('tupleKey / peekFlow', () => {
  it('same key whatever the attribute order and extra attributes', () => {
    fc.assert(
      fc.property(conntrack, fc.array(fc.integer()), fc.array(rawAttr(T.CONNTRACK), { maxLength: 3 }), (ct, keys, extra) => {
        const rec = encodeConntrack(ct);
        const k = tupleKey(rec);
        expect(k).not.toBeNull();
        const moved: CtRecord = {
          ...rec,
          attrs: Buffer.concat([...reorder(slices(rec.attrs), keys), ...extra.map((e) => makeAttr(e.type, e.data))]),
        };
        expect(tupleKey(moved)).toBe(k);
        // fields outside the identity do not change it
        const other = encodeConntrack({ ...ct, mark: ((ct.mark ?? 0) + 1) >>> 0, status: 0, reply: { ...ct.orig } });
        expect(tupleKey(other)).toBe(k);
        // the summary agrees with the full decode
        const p = peekFlow(moved);
        expect(p).toMatchObject({ family: ct.family, proto: ct.orig.proto, src: ct.orig.src, dst: ct.orig.dst });
        if (ct.status !== undefined) expect(p?.status).toBe(ct.status);
        if (ct.protoinfo?.tcp) expect(p?.tcpState).toBe(ct.protoinfo.tcp.state);
      }),
      { numRuns: 200 },
    );
  });

  it('a reused peeker gives what peekFlow gives, record after record (nothing left over from the previous one)', () => {
    const peek = createFlowPeeker();
    fc.assert(
      fc.property(fc.array(conntrack, { minLength: 1, maxLength: 6 }), (cts) => {
        for (const ct of cts) {
          const rec = encodeConntrack(ct);
          const fresh = peekFlow(rec);
          const reused = peek(rec);
          expect(reused === null).toBe(fresh === null);
          if (fresh && reused) {
            expect(JSON.parse(JSON.stringify(reused))).toEqual(JSON.parse(JSON.stringify(fresh)));
            expect(reused.raw).toEqual(fresh.raw);
            for (const k of ['sport', 'dport', 'tcpState', 'status', 'mark', 'zone'] as const) expect(reused[k]).toBe(fresh[k]);
          }
        }
        expect(peek({ kind: 'expect', family: 2, attrs: Buffer.alloc(0) })).toBeNull();
        expect(peek({ kind: 'ct', family: 2, attrs: Buffer.from([3, 0, 1, 0]) })).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('different identity gives a different key', () => {
    fc.assert(
      fc.property(conntrack, (ct) => {
        const base = { ...ct, orig: { ...ct.orig, sport: 1000, dport: 80, proto: 6 }, zone: 1 };
        const k = tupleKey(encodeConntrack(base));
        expect(tupleKey(encodeConntrack({ ...base, orig: { ...base.orig, sport: 1001 } }))).not.toBe(k);
        expect(tupleKey(encodeConntrack({ ...base, orig: { ...base.orig, proto: 17 } }))).not.toBe(k);
        expect(tupleKey(encodeConntrack({ ...base, zone: 2 }))).not.toBe(k);
        expect(tupleKey({ kind: 'expect', family: ct.family, attrs: encodeConntrack(base).attrs })).not.toBe(k);
      }),
      { numRuns: 100 },
    );
  });

  it('expectation key ignores master, mask and extra attributes', () => {
    fc.assert(
      fc.property(expectation, (x) => {
        const k = tupleKey(encodeExpectation(x));
        expect(k).not.toBeNull();
        const y = { ...x, master: x.tuple, id: 1, timeout: 5 };
        expect(tupleKey(encodeExpectation(y))).toBe(k);
      }),
      { numRuns: 100 },
    );
  });
});

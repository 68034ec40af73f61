import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { walkAttrs } from '../../../../src/netlink/ct/attr';
import { decodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { toCreateAttrs, toDeleteAttrs, toExpectCreateAttrs, toUpdateAttrs } from '../../../../src/netlink/ct/create';
import { decodeExpectation } from '../../../../src/netlink/ct/expect';
import { tupleKey } from '../../../../src/netlink/ct/key';
import { peekFlow } from '../../../../src/netlink/ct/peek';
import { syncAttrs } from '../../../../src/netlink/ct/sync-attrs';
import type { CtRecord, Decoded } from '../../../../src/netlink/types';
import { kernelRecords } from './fixtures/load';

const CODES = new Set(['ETRUNCATED', 'EBADLEN', 'EBADATTR', 'EMISSING', 'ETOODEEP', 'ETOOMANY', 'EBADVALUE', 'EBADFAMILY', 'EBADTYPE']);

function checkDecoded(d: Decoded<unknown>): void {
  if (!d.ok) {
    expect(CODES.has(d.error.code)).toBe(true);
    expect(typeof d.error.message).toBe('string');
  }
}

/** Every entry point must return (value or typed error), never throw. */
function exercise(rec: CtRecord): void {
  checkDecoded(decodeConntrack(rec));
  checkDecoded(decodeExpectation({ ...rec, kind: 'expect' }));
  const k = tupleKey(rec);
  expect(k === null || typeof k === 'string').toBe(true);
  peekFlow(rec);
  expect(Buffer.isBuffer(syncAttrs(rec).attrs)).toBe(true);
  expect(Buffer.isBuffer(toCreateAttrs(rec))).toBe(true);
  expect(Buffer.isBuffer(toUpdateAttrs(rec))).toBe(true);
  expect(Buffer.isBuffer(toDeleteAttrs(rec))).toBe(true);
  expect(Buffer.isBuffer(toExpectCreateAttrs(rec))).toBe(true);
}

const fixtures = kernelRecords();

describe('fuzz', () => {
  it('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom<2 | 10>(2, 10), (a, family) => {
        exercise({ kind: 'ct', family, attrs: Buffer.from(a) });
      }),
      { numRuns: 2000 },
    );
  });

  it('every truncation of every kernel fixture returns a value or a typed error', () => {
    for (const rec of fixtures) {
      // cuts that end a top-level attribute (with or without its padding)
      const ends = new Set<number>([0]);
      walkAttrs(rec.attrs, 0, rec.attrs.length, (_t, off, len) => {
        for (let e = off + len; e <= off - 4 + ((len + 7) & ~3); e++) ends.add(e);
      });
      for (let n = 0; n < rec.attrs.length; n++) {
        const cut = { ...rec, attrs: rec.attrs.subarray(0, n) };
        exercise(cut);
        const d = rec.kind === 'ct' ? decodeConntrack(cut) : decodeExpectation(cut);
        // a cut inside an attribute is always an error
        if (!ends.has(n)) expect(d.ok).toBe(false);
      }
    }
  });

  it('mutated kernel fixtures (byte flips, length fields) never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtures),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (rec, flips) => {
          const b = Buffer.from(rec.attrs);
          for (const [pos, v] of flips) b[pos % b.length] = v;
          exercise({ ...rec, attrs: b });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('random attribute trees (valid framing, random types and sizes) never throw', () => {
    const leaf = fc.record({ type: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 20 }) }).map(({ type, data }) => attr(type, Buffer.from(data)));
    const tree = fc.letrec<{ node: Buffer }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ type: fc.integer({ min: 0, max: 30 }), kids: fc.array(tie('node'), { maxLength: 4 }) }).map(({ type, kids }) => attr(type | 0x8000, Buffer.concat(kids))),
      ),
    })).node;
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 8 }), (parts) => {
        exercise({ kind: 'ct', family: 2, attrs: Buffer.concat(parts) });
      }),
      { numRuns: 2000 },
    );
  });

  it('deep nesting is cut by the depth limit', () => {
    let inner = attr(1, Buffer.from([6]));
    for (let i = 0; i < 40; i++) inner = attr(0x8000 | (i % 2 === 0 ? 2 : 4), inner); // alternating nests
    const d = decodeConntrack({ kind: 'ct', family: 2, attrs: attr(0x8001, inner) }, { maxDepth: 4 });
    expect(d.ok).toBe(false);
  });
});

function attr(type: number, data: Buffer): Buffer {
  const len = 4 + data.length;
  if (len > 0xffff) return Buffer.alloc(0);
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  data.copy(b, 4);
  return b;
}

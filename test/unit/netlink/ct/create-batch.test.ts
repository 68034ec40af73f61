/**
 * Batched create / update with the attribute writer writing straight into
 * the datagram (planBatch + directFor) must give the same windows and the
 * same bytes as the Buffer-per-record path (encoderFor + toCreateAttrs).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBatch, type BatchPlan, type WindowLimits } from '../../../../src/netlink/ct-batch';
import { directFor, encoderFor, type AttrTransforms } from '../../../../src/netlink/ct-batch-encode';
import { encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { createAttrWriter, createCopyWriter, toCreateAttrs, toDeleteAttrs, toExpectCreateAttrs, toUpdateAttrs } from '../../../../src/netlink/ct/create';
import { encodeExpectation } from '../../../../src/netlink/ct/expect';
import { makeFlows } from '../../../../src/bench/flows';
import type { CtRecord } from '../../../../src/netlink/types';
import { conntrack, expectation } from './arbitraries';
import { kernelRecords } from './fixtures/load';

const withWriter: AttrTransforms = {
  toCreateAttrs: (r) => toCreateAttrs(r),
  toUpdateAttrs: (r) => toUpdateAttrs(r),
  toDeleteAttrs,
  toExpectCreateAttrs,
  writer: (op) => createAttrWriter(op),
};
const { writer: _w, ...buffersOnly } = withWriter;

function plans(op: 'create' | 'update', recs: CtRecord[], seq: number, limits: WindowLimits): [BatchPlan, BatchPlan] {
  const direct = directFor(op, withWriter);
  expect(direct).toBeDefined();
  return [planBatch(recs, encoderFor(op, buffersOnly), seq, limits), planBatch(recs, encoderFor(op, withWriter), seq, limits, direct)];
}

function same(a: BatchPlan, b: BatchPlan): void {
  expect(b.nextSeq).toBe(a.nextSeq);
  expect(b.refused).toEqual(a.refused);
  expect(b.windows.length).toBe(a.windows.length);
  a.windows.forEach((w, i) => {
    const v = b.windows[i];
    expect(v?.firstSeq).toBe(w.firstSeq);
    expect(v?.barrierSeq).toBe(w.barrierSeq);
    expect(v?.indices).toEqual(w.indices);
    expect(v?.datagram.toString('hex')).toBe(w.datagram.toString('hex'));
  });
}

const bytes = fc.uint8Array({ maxLength: 120 }).map((a): CtRecord => ({ kind: 'ct', family: 2, attrs: Buffer.from(a) }));
const record: fc.Arbitrary<CtRecord> = fc.oneof(
  { weight: 4, arbitrary: conntrack.map((c) => encodeConntrack(c)) },
  { weight: 1, arbitrary: expectation.map((e) => encodeExpectation(e)) },
  { weight: 1, arbitrary: bytes },
);

describe('batch planning with the direct attribute writer', () => {
  it('10k bench flows: same windows and bytes as the Buffer path', () => {
    const flows = makeFlows(10_000);
    for (const op of ['create', 'update'] as const) {
      const [a, b] = plans(op, flows, 0xfffff000, { maxMessages: 4096, maxBytes: 1 << 20 });
      same(a, b);
      expect(b.windows.map((w) => w.indices.length)).toEqual([4096, 4096, 1808]);
    }
  });

  it('kernel fixtures (conntrack and expectations) in small windows', () => {
    const recs = kernelRecords();
    for (const op of ['create', 'update'] as const) {
      const [a, b] = plans(op, recs, 7, { maxMessages: 3, maxBytes: 600 });
      same(a, b);
    }
  });

  it('generated records, any window limits: same plan, same bytes', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 25 }),
        fc.constantFrom('create' as const, 'update' as const),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 64, max: 3000 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (recs, op, maxMessages, maxBytes, seq) => {
          const [a, b] = plans(op, recs, seq, { maxMessages, maxBytes });
          same(a, b);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prepared attributes: the copy writer packs the same bytes as the Buffer path (odd lengths padded)', () => {
    const prepared: AttrTransforms = { toCreateAttrs: (r) => r.attrs, toUpdateAttrs: (r) => r.attrs, toDeleteAttrs: (r) => r.attrs, toExpectCreateAttrs: (r) => r.attrs };
    const withCopy: AttrTransforms = { ...prepared, writer: () => createCopyWriter() };
    fc.assert(
      fc.property(fc.array(record, { maxLength: 25 }), fc.constantFrom('create' as const, 'update' as const), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 64, max: 3000 }), (recs, op, maxMessages, maxBytes) => {
        const limits = { maxMessages, maxBytes };
        same(planBatch(recs, encoderFor(op, prepared), 9, limits), planBatch(recs, encoderFor(op, withCopy), 9, limits, directFor(op, withCopy)));
      }),
      { numRuns: 200 },
    );
  });

  it('a writer that throws refuses that record with EINVAL, the others still go', () => {
    const flows = makeFlows(3);
    const bad = flows[1] as CtRecord;
    const direct = {
      type: 0x0100,
      flags: 0,
      measure: (r: CtRecord) => {
        if (r === bad) throw new RangeError('boom');
        return r.attrs.length;
      },
      write: (r: CtRecord, buf: Buffer, off: number) => off + r.attrs.copy(buf, off),
    };
    const plan = planBatch(flows, () => 'ENOTSUP', 1, undefined, direct);
    expect(plan.refused).toEqual([{ index: 1, code: 'EINVAL', errno: 0, message: 'refused before sending' }]);
    expect(plan.windows[0]?.indices).toEqual([0, 2]);
  });
});

/**
 * decodeEventBatch (the wakeup as one Buffer + datagram lengths, as the addon
 * hands it over) gives exactly what decodeEventViews gives for the same
 * datagrams, malformed ones included, with records viewing the one Buffer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventWakeups } from '../../../src/bench/pipeline-setup';
import { decodeEventBatch, decodeEventViews, type EventViews } from '../../../src/netlink/ct/events';

const flat = (v: EventViews): unknown => ({
  bad: v.bad,
  firstError: v.firstError,
  events: v.events.map((e) => [e.type, e.record.kind, e.record.family, e.record.attrs.toString('hex')]),
});

describe('decodeEventBatch', () => {
  it('equals decodeEventViews on the same datagrams, garbage and truncation included', () => {
    const [w] = eventWakeups(40);
    if (w === undefined) throw new Error('no wakeup');
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...w.slice(0, 8)), fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u))), { maxLength: 12 }),
        fc.nat(40),
        (dgs, cut) => {
          // Also a datagram cut short in the middle of a message.
          const last = w[9] as Buffer;
          const all = [...dgs, last.subarray(0, Math.min(last.length, cut))];
          const batch = decodeEventBatch(Buffer.concat(all), Uint32Array.from(all.map((d) => d.length)));
          expect(flat(batch)).toEqual(flat(decodeEventViews(all)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('records are views into the one Buffer', () => {
    const [w] = eventWakeups(20);
    if (w === undefined) throw new Error('no wakeup');
    const buf = Buffer.concat(w);
    const r = decodeEventBatch(buf, Uint32Array.from(w.map((d) => d.length)));
    expect(r.events.length).toBe(20);
    expect(r.events.every((e) => e.record.attrs.buffer === buf.buffer)).toBe(true);
    // Lengths past the end are cut at the end of the Buffer.
    expect(decodeEventBatch(buf.subarray(0, 10), Uint32Array.from([1000])).events).toEqual([]);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeFlows } from '../../../src/bench/flows';
import { decodeConntrack, encodeConntrack } from '../../../src/netlink/ct/conntrack';
import { encodeExpectation } from '../../../src/netlink/ct/expect';
import { CT_SYNC_DROP, syncAttrs } from '../../../src/netlink/ct/sync-attrs';
import { compactAttrs, expandAttrs } from '../../../src/sync/wire/compact';
import { decodeMessage, encodeMessage } from '../../../src/sync/wire/message';
import { DEFAULT_LIMITS } from '../../../src/sync/wire/types';
import { conntrack, expectation } from '../netlink/ct/arbitraries';

function roundTrip(a: Buffer, drop?: ReadonlySet<number>): Buffer {
  const c = compactAttrs(a, drop);
  const r = expandAttrs(c, 0, c.length, 1 << 16);
  if (!r.ok) throw new Error(`expand failed: ${r.message} at ${r.offset}`);
  return r.attrs;
}

describe('compact entry attributes', () => {
  it('an established TCP flow: 204 bytes of sync attributes in under 80, back byte for byte', () => {
    const [rec] = makeFlows(1, { first: 12345, mark: 7 });
    if (!rec) throw new Error('no flow');
    const c = compactAttrs(rec.attrs);
    expect(c.length).toBeLessThan(rec.attrs.length / 2.5);
    expect(roundTrip(rec.attrs)).toEqual(rec.attrs);
  });

  it('an established TCP flow as the kernel dumped it (captured): 204 bytes of sync attributes, 78 compact', () => {
    // compactAttrs() of a real dump record of Linux 6.18 (tuples, status, mark, timeout,
    // TCP protoinfo, synproxy), counters/id/use left out (CT_SYNC_DROP).
    const hex =
      'f1010706c6120001c613000104000050f2020703040000000e080400000000070400000e0f4413411101010302010003010004020000050200005812010400000000020400000000030400000000';
    const compact = Buffer.from(hex, 'hex');
    expect(compact.length).toBe(78);
    const x = expandAttrs(compact, 0, compact.length, 1 << 16);
    if (!x.ok) throw new Error(x.message);
    expect(x.attrs.length).toBe(204);
    expect(compactAttrs(x.attrs)).toEqual(compact);
    const d = decodeConntrack({ kind: 'ct', family: 2, attrs: x.attrs });
    expect(d.ok && d.value.orig).toMatchObject({ src: '198.18.0.1', dst: '198.19.0.1', proto: 6, sport: 1024, dport: 80 });
    expect(d.ok && d.value.reply).toMatchObject({ src: '198.19.0.1', dst: '198.18.0.1', sport: 80, dport: 1024 });
    expect(d.ok && d.value.protoinfo?.tcp?.state).toBe(3);
  });

  it('any conntrack entry from the codec comes back identical, and minus the dropped attributes as syncAttrs cuts them', () => {
    fc.assert(
      fc.property(conntrack, (ct) => {
        const rec = encodeConntrack(ct);
        expect(roundTrip(rec.attrs)).toEqual(rec.attrs);
        expect(roundTrip(rec.attrs, CT_SYNC_DROP)).toEqual(syncAttrs(rec).attrs);
      }),
      { numRuns: 500 },
    );
  });

  it('any expectation comes back identical', () => {
    fc.assert(
      fc.property(expectation, (e) => {
        const rec = encodeExpectation(e);
        expect(roundTrip(rec.attrs)).toEqual(rec.attrs);
      }),
      { numRuns: 300 },
    );
  });

  it('any byte string comes back identical (malformed attributes are carried raw)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(roundTrip(b)).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('a reply that is not the inverse (NAT) is sent as its own tuple', () => {
    const ct = {
      family: 2 as const,
      orig: { src: '192.0.2.10', dst: '203.0.113.5', proto: 6, sport: 40000, dport: 443 },
      reply: { src: '203.0.113.5', dst: '198.51.100.1', proto: 6, sport: 443, dport: 61000 },
      status: 0x1a,
      timeout: 300,
    };
    const rec = encodeConntrack(ct);
    const c = compactAttrs(rec.attrs);
    expect(c.includes(0xf2)).toBe(false);
    expect(roundTrip(rec.attrs)).toEqual(rec.attrs);
  });

  it('garbage compact input is an error value, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const b = Buffer.from(bytes);
        const r = expandAttrs(b, 0, b.length, 4096);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 5000 },
    );
    const r = expandAttrs(Buffer.from([0xf2, 2, 1]), 0, 3, 4096);
    expect(r).toMatchObject({ ok: false, message: 'inverse tuple without a port tuple before it' });
    expect(expandAttrs(Buffer.from([0xf0, 0, 9, 1]), 0, 4, 4096)).toMatchObject({ ok: false, message: 'raw item truncated' });
    expect(expandAttrs(Buffer.from([0x03, 200, 1]), 0, 3, 4096)).toMatchObject({ ok: false, message: 'item truncated' });
  });

  it('respects the size bound of the expanded attributes', () => {
    const [rec] = makeFlows(1);
    if (!rec) throw new Error('no flow');
    const c = compactAttrs(rec.attrs);
    expect(expandAttrs(c, 0, c.length, 64)).toMatchObject({ ok: false, message: 'attributes too large' });
  });
});

describe('entry messages with compact attributes (TLV CATTRS)', () => {
  const limits = { ...DEFAULT_LIMITS };
  it('decode to the ctnetlink attributes; the encoded entry is far smaller than with ATTRS', () => {
    const [rec] = makeFlows(1, { first: 99 });
    if (!rec) throw new Error('no flow');
    const plain = encodeMessage({ type: 'ct-new', flags: 0, seq: 5, family: 2, attrs: syncAttrs(rec).attrs });
    const packed = encodeMessage({ type: 'ct-new', flags: 0, seq: 5, family: 2, attrs: compactAttrs(rec.attrs, CT_SYNC_DROP), packed: true });
    expect(packed.length * 2).toBeLessThan(plain.length);
    const a = decodeMessage(plain, 0, plain.length, limits);
    const b = decodeMessage(packed, 0, packed.length, limits);
    expect(b.ok && b.value).toEqual(a.ok && a.value);
    expect(b.ok && b.value).toMatchObject({ type: 'ct-new', seq: 5, family: 2, attrs: syncAttrs(rec).attrs });
  });

  it('an entry with both or neither attribute TLVs, or a bad compact form, is rejected with a code', () => {
    const [rec] = makeFlows(1);
    if (!rec) throw new Error('no flow');
    const packed = encodeMessage({ type: 'ct-update', flags: 0, seq: 1, family: 2, attrs: compactAttrs(rec.attrs), packed: true });
    // Turn the CATTRS TLV (after header 8 + FAMILY TLV 5) into an unknown item.
    const bad = Buffer.from(packed);
    bad[8 + 5 + 4] = 0xee;
    expect(decodeMessage(bad, 0, bad.length, limits)).toMatchObject({ ok: false, error: { code: 'EBADVALUE' } });
    const neither = Buffer.from(packed.subarray(0, 13));
    neither.writeUInt16BE(13, 2);
    expect(decodeMessage(neither, 0, neither.length, limits)).toMatchObject({ ok: false, error: { code: 'EBADTLV' } });
    const attrsTlv = Buffer.alloc(8);
    attrsTlv.writeUInt16BE(0x0002, 0);
    attrsTlv.writeUInt16BE(8, 2);
    const both = Buffer.concat([packed, attrsTlv]);
    both.writeUInt16BE(both.length, 2);
    expect(decodeMessage(both, 0, both.length, limits)).toMatchObject({ ok: false, error: { code: 'EBADTLV' } });
  });
});

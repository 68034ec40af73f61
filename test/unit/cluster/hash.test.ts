import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bucketOfAddress, bucketOfRecord, bucketOfText, jhash1, reciprocalScale, textToBytes } from '../../../src/cluster/hash';
import { encodeConntrack } from '../../../src/netlink/ct/conntrack';
import { flowConntrack, flowEndpoints, makeFlows } from '../../../src/bench/flows';

describe('cluster hash (xt_cluster / nft jhash model)', () => {
  it('reciprocal_scale maps u32 onto 0..n-1 like the kernel ((v * n) >> 32)', () => {
    expect(reciprocalScale(0, 32)).toBe(0);
    expect(reciprocalScale(0xffffffff, 32)).toBe(31);
    expect(reciprocalScale(0x80000000, 32)).toBe(16);
    expect(reciprocalScale(0x7fffffff, 3)).toBe(1);
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 32 }), (v, n) => {
      const b = reciprocalScale(v, n);
      return b >= 0 && b < n && Number.isInteger(b) && BigInt(b) === (BigInt(v) * BigInt(n)) >> 32n;
    }));
  });

  it('jhash_1word is a u32 that depends on the seed', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, s) => {
      const h = jhash1(a, s);
      return Number.isInteger(h) && h >= 0 && h <= 0xffffffff;
    }));
    expect(jhash1(0x6400a8c0, 1)).not.toBe(jhash1(0x6400a8c0, 2));
  });

  it('spreads 64 client addresses over 32 buckets (no bucket gets more than a few)', () => {
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 1024; i++) {
      const b = bucketOfText(`198.18.${i >> 8}.${i & 0xff}`, 32, 0x5eed);
      if (b === null) throw new Error('no bucket');
      counts[b] = (counts[b] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(10);
    expect(Math.max(...counts)).toBeLessThan(70);
  });

  it('text and bytes agree; IPv6 parses with ::', () => {
    expect(textToBytes('192.0.2.7')).toEqual(Buffer.from([192, 0, 2, 7]));
    expect(textToBytes('2001:db8::1')?.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(textToBytes('::')?.toString('hex')).toBe('0'.repeat(32));
    expect(textToBytes('1.2.3')).toBeNull();
    expect(textToBytes('1:2')).toBeNull();
    expect(bucketOfAddress(Buffer.alloc(5), 32, 0)).toBeNull();
    const v6 = bucketOfText('2001:db8::1', 32, 7);
    expect(v6).not.toBeNull();
    expect(v6).toBe(bucketOfAddress(textToBytes('2001:db8::1') ?? Buffer.alloc(0), 32, 7));
  });

  it('a record hashes by its original source address', () => {
    const flows = makeFlows(300, { first: 59_900 });
    flows.forEach((r, i) => expect(bucketOfRecord(r, 32, 99)).toBe(bucketOfText(flowEndpoints(59_900 + i).src, 32, 99)));
    for (let i = 0; i < 200; i += 7) {
      const ct = flowConntrack(i * 60_000);
      expect(bucketOfRecord(encodeConntrack(ct), 32, 99)).toBe(bucketOfText(ct.orig.src, 32, 99));
    }
  });

  it('a related record hashes by its master tuple source (as xt_cluster does)', () => {
    const ct = flowConntrack(0);
    const withMaster = encodeConntrack({ ...ct, master: { src: '203.0.113.9', dst: '198.19.0.1', proto: 6, sport: 4000, dport: 21 } });
    expect(bucketOfRecord(withMaster, 32, 5)).toBe(bucketOfText('203.0.113.9', 32, 5));
  });

  it('expectations and malformed records give null, never throw', () => {
    expect(bucketOfRecord({ kind: 'expect', family: 2, attrs: Buffer.alloc(0) }, 32, 0)).toBeNull();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const b = bucketOfRecord({ kind: 'ct', family: 2, attrs: Buffer.from(bytes) }, 32, 0);
      return b === null || (b >= 0 && b < 32);
    }));
  });
});

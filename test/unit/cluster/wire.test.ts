import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat } from '../../../src/cluster/wire';

const sample: Heartbeat = {
  node: 0xc0000201,
  incarnation: 7,
  seq: 42,
  flags: 0,
  buckets: 32,
  seed: 0x5eed,
  aim: 0x3ff,
  members: [0xc0000201, 0xc0000202],
  claims: [
    { bucket: 0, epoch: 3 },
    { bucket: 9, epoch: 0x01020304 },
  ],
};

const hbArb = fc
  .record({
    node: fc.integer({ min: 1, max: 0xffffffff }),
    incarnation: fc.integer({ min: 0, max: 0xffffffff }),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    flags: fc.integer({ min: 0, max: 3 }),
    buckets: fc.integer({ min: 1, max: 32 }),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    members: fc.uniqueArray(fc.integer({ min: 1, max: 0xffffffff }), { maxLength: 8 }).map((m) => m.sort((a, b) => a - b)),
    aimBits: fc.integer({ min: 0, max: 0xffffffff }),
    claimBits: fc.integer({ min: 0, max: 0xffffffff }),
    epoch: fc.integer({ min: 0, max: 0xffffffff }),
  })
  .map((r): Heartbeat => {
    const mask = r.buckets === 32 ? 0xffffffff : (1 << r.buckets) - 1;
    const claims = [];
    for (let b = 0; b < r.buckets; b++) if ((r.claimBits >>> b) & 1) claims.push({ bucket: b, epoch: (r.epoch + b) >>> 0 });
    return { node: r.node, incarnation: r.incarnation, seq: r.seq, flags: r.flags, buckets: r.buckets, seed: r.seed, aim: (r.aimBits & mask) >>> 0, members: r.members, claims };
  });

describe('cluster heartbeat codec', () => {
  it('encodes the documented layout (hex fixture)', () => {
    expect(encodeHeartbeat(sample).toString('hex')).toBe(
      '4341' + '01' + '01' + '0038' + '00' + '20' + 'c0000201' + '00000007' + '0000002a' + '00005eed' + '000003ff' + '02' + '02' + '0000' +
        'c0000201' + 'c0000202' + '00000000' + '00000003' + '09000000' + '01020304',
    );
  });

  it('round-trips any valid heartbeat', () => {
    fc.assert(
      fc.property(hbArb, (h) => {
        const r = decodeHeartbeat(encodeHeartbeat(h));
        expect(r).toEqual({ ok: true, value: h, consumed: encodeHeartbeat(h).length });
      }),
    );
  });

  const bad = (mut: (b: Buffer) => Buffer, code: string): void => {
    const r = decodeHeartbeat(mut(Buffer.from(encodeHeartbeat(sample))));
    expect(r.ok ? 'ok' : r.code).toBe(code);
  };

  it('is strict with peers: typed errors', () => {
    bad((b) => b.subarray(0, 10), 'SHORT');
    bad((b) => (b.writeUInt16BE(0x4342, 0), b), 'MAGIC');
    bad((b) => (b.writeUInt8(2, 2), b), 'VERSION');
    bad((b) => (b.writeUInt8(9, 3), b), 'TYPE');
    bad((b) => Buffer.concat([b, Buffer.alloc(4)]), 'LENGTH');
    bad((b) => (b.writeUInt16BE(1, 30), b), 'RESERVED');
    bad((b) => (b.writeUInt8(4, 6), b), 'FLAGS');
    bad((b) => (b.writeUInt8(0, 7), b), 'BUCKETS');
    bad((b) => (b.writeUInt8(33, 7), b), 'BUCKETS');
    bad((b) => (b.writeUInt32BE(0, 8), b), 'NODE');
    bad((b) => (b.writeUInt8(8, 7), b), 'AIM');
    bad((b) => (b.writeUInt32BE(0xc0000200, 36), b), 'MEMBERS');
    bad((b) => (b.writeUInt8(0, 48), b), 'CLAIMS');
    bad((b) => (b.writeUInt8(1, 41), b), 'RESERVED');
    bad((b) => (b.writeUInt8(3, 28), b), 'LENGTH');
    expect(decodeHeartbeat(encodeHeartbeat(sample), { maxMembers: 1 })).toMatchObject({ ok: false, code: 'MEMBERS' });
  });

  it('never throws on arbitrary or mutated bytes', () => {
    const base = encodeHeartbeat(sample);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), (raw, muts) => {
        decodeHeartbeat(Buffer.from(raw));
        const m = Buffer.from(base);
        for (const [i, v] of muts) m[i] = v;
        const r = decodeHeartbeat(m);
        if (r.ok) expect(encodeHeartbeat(r.value)).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });
});

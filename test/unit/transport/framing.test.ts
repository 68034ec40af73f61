import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder } from '../../../src/transport/framing';

describe('framing', () => {
  it('encodes a u32 big-endian length prefix', () => {
    expect(encodeFrame(Buffer.from('abc')).toString('hex')).toBe('00000003616263');
    expect(encodeFrame(Buffer.alloc(0x0102)).subarray(0, 4).toString('hex')).toBe('00000102');
  });

  it('decodes frames split across arbitrary chunks (hex fixture)', () => {
    const wire = Buffer.from('00000003616263' + '0000000178' + '00000002', 'hex');
    const d = new FrameDecoder({ maxFrame: 100 });
    const out: string[] = [];
    for (const b of wire) {
      const r = d.feed(Buffer.from([b]));
      expect(r.ok).toBe(true);
      for (const f of r.frames) out.push(f.toString('hex'));
    }
    expect(out).toEqual(['616263', '78']);
    expect(d.pending()).toBe(4);
    const r = d.feed(Buffer.from('ffee', 'hex'));
    expect(r.frames.map((f) => f.toString('hex'))).toEqual(['ffee']);
    expect(d.pending()).toBe(0);
  });

  it('rejects an oversize frame with a typed error and stays dead', () => {
    const d = new FrameDecoder({ maxFrame: 4 });
    const r = d.feed(Buffer.from('0000000161' + '00000005', 'hex'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.frames.map((f) => f.toString('hex'))).toEqual(['61']);
    expect(r.error).toEqual({ code: 'FRAME_TOO_LARGE', length: 5 });
    expect(d.isDead()).toBe(true);
    expect(d.feed(Buffer.from('0000000161', 'hex'))).toEqual({ ok: true, frames: [] });
  });

  it('rejects empty frames unless allowed', () => {
    const strict = new FrameDecoder({ maxFrame: 4 }).feed(Buffer.alloc(4));
    expect(strict.ok).toBe(false);
    if (!strict.ok) expect(strict.error.code).toBe('FRAME_EMPTY');
    const lax = new FrameDecoder({ maxFrame: 4, allowEmpty: true }).feed(Buffer.alloc(4));
    expect(lax).toEqual({ ok: true, frames: [Buffer.alloc(0)] });
  });

  it('round-trips any frames through any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const wire = Buffer.concat(payloads.map((p) => encodeFrame(Buffer.from(p))));
          const d = new FrameDecoder({ maxFrame: 300 });
          const got: Buffer[] = [];
          let off = 0;
          let k = 0;
          while (off < wire.length) {
            const n = cuts[k++ % cuts.length] ?? 1;
            const r = d.feed(wire.subarray(off, off + n));
            expect(r.ok).toBe(true);
            got.push(...r.frames);
            off += n;
          }
          expect(got.map((b) => b.toString('hex'))).toEqual(payloads.map((p) => Buffer.from(p).toString('hex')));
        },
      ),
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = new FrameDecoder({ maxFrame: 64 });
        const r = d.feed(Buffer.from(bytes));
        for (const f of r.frames) expect(f.length).toBeLessThanOrEqual(64);
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameReader,
  FrameType,
  HEADER_SIZE,
  decodeFrame,
  encodeFrame,
  parseError,
  parseRequest,
} from '../../../src/control/protocol';

describe('control protocol frames', () => {
  it('encodes the header big-endian (hex fixture)', () => {
    const f = encodeFrame(FrameType.Request, 0x01020304, { cmd: 'kill' });
    const body = Buffer.from('{"cmd":"kill"}');
    expect(f.subarray(0, HEADER_SIZE).toString('hex')).toBe(
      '43545343' + '0001' + '0001' + body.length.toString(16).padStart(8, '0') + '01020304',
    );
    expect(f.subarray(HEADER_SIZE).equals(body)).toBe(true);
  });

  it('round-trips every frame type', () => {
    for (const t of [FrameType.Request, FrameType.Response, FrameType.Progress, FrameType.Error, FrameType.Chunk]) {
      const f = encodeFrame(t, 7, { a: 1, b: 'x' });
      const r = decodeFrame(f);
      expect(r).toEqual({ status: 'ok', consumed: f.length, frame: { version: 1, type: t, id: 7, body: { a: 1, b: 'x' } } });
    }
  });

  it('reports incomplete frames', () => {
    const f = encodeFrame(FrameType.Request, 1, { cmd: 'status' });
    expect(decodeFrame(f.subarray(0, 2))).toEqual({ status: 'incomplete', needed: HEADER_SIZE });
    expect(decodeFrame(f.subarray(0, HEADER_SIZE + 1))).toEqual({ status: 'incomplete', needed: f.length });
  });

  it('typed errors: magic, version, type, size, json', () => {
    const f = encodeFrame(FrameType.Request, 9, { cmd: 'status' });
    const badMagic = Buffer.from(f);
    badMagic.writeUInt32BE(0xdeadbeef, 0);
    expect(decodeFrame(badMagic)).toMatchObject({ status: 'error', error: { code: 'EBADMAGIC' } });
    const badVer = Buffer.from(f);
    badVer.writeUInt16BE(2, 4);
    expect(decodeFrame(badVer)).toMatchObject({ status: 'error', error: { code: 'EVERSION', version: 2, id: 9 } });
    const badType = Buffer.from(f);
    badType.writeUInt16BE(99, 6);
    expect(decodeFrame(badType)).toMatchObject({ status: 'error', error: { code: 'EBADTYPE' } });
    expect(decodeFrame(f, { maxBody: 4 })).toMatchObject({ status: 'error', error: { code: 'ETOOBIG' } });
    // oversized is refused from the header alone, before the body arrives
    expect(decodeFrame(f.subarray(0, HEADER_SIZE), { maxBody: 4 })).toMatchObject({ status: 'error', error: { code: 'ETOOBIG' } });
    const notJson = Buffer.concat([f.subarray(0, HEADER_SIZE), Buffer.alloc(f.length - HEADER_SIZE, 0x41)]);
    expect(decodeFrame(notJson)).toMatchObject({ status: 'error', error: { code: 'EBADJSON' } });
    const arr = encodeFrame(FrameType.Request, 1, [1, 2]);
    expect(decodeFrame(arr)).toMatchObject({ status: 'error', error: { code: 'EBADJSON' } });
  });

  it('FrameReader reassembles frames split across writes', () => {
    const a = encodeFrame(FrameType.Chunk, 1, { entries: [] });
    const b = encodeFrame(FrameType.Response, 1, { count: 0 });
    const all = Buffer.concat([a, b]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: all.length }), { maxLength: 8 }), (cuts) => {
        const r = new FrameReader();
        const points = [...new Set(cuts)].sort((x, y) => x - y);
        const frames = [];
        let prev = 0;
        for (const p of [...points, all.length]) {
          frames.push(...r.push(all.subarray(prev, p)).frames);
          prev = p;
        }
        expect(frames.map((f) => f.type)).toEqual([FrameType.Chunk, FrameType.Response]);
      }),
    );
  });

  it('FrameReader stays failed after an error', () => {
    const r = new FrameReader({ maxBody: 8 });
    expect(r.push(encodeFrame(FrameType.Request, 1, { cmd: 'status' })).error?.error.code).toBe('ETOOBIG');
    expect(r.push(encodeFrame(FrameType.Request, 1, {})).frames).toEqual([]);
  });

  it('fuzz: random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.boolean(), (bytes, withMagic) => {
        const buf = Buffer.from(bytes);
        if (withMagic && buf.length >= 8) {
          buf.writeUInt32BE(0x43545343, 0);
          buf.writeUInt16BE(1, 4);
        }
        const r = decodeFrame(buf, { maxBody: 128 });
        expect(['ok', 'incomplete', 'error']).toContain(r.status);
        new FrameReader({ maxBody: 128 }).push(buf);
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: truncated valid frames are incomplete, never errors', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (v, cut) => {
        const f = encodeFrame(FrameType.Response, 3, { v });
        const r = decodeFrame(f.subarray(0, cut % f.length));
        expect(r.status).toBe('incomplete');
      }),
    );
  });
});

describe('request validation', () => {
  it('accepts every command', () => {
    const reqs = [
      { cmd: 'commit', kind: 'all' },
      { cmd: 'flushCache', which: 'external' },
      { cmd: 'flushKernel', kind: 'ct' },
      { cmd: 'dumpCache', which: 'internal', kind: 'expect' },
      { cmd: 'stats', section: 'rsqueue' },
      { cmd: 'resyncKernel', kind: 'expect' },
      { cmd: 'requestResync' },
      { cmd: 'bulkSend' },
      { cmd: 'shortenTimers' },
      { cmd: 'kill' },
      { cmd: 'status' },
    ];
    for (const r of reqs) expect(parseRequest(r)).toEqual({ ok: true, request: r });
  });

  it('rejects bad arguments (EINVAL) and unknown commands (ENOTSUP)', () => {
    expect(parseRequest({ cmd: 'commit', kind: 'internal' })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(parseRequest({ cmd: 'dumpCache', which: 'all', kind: 'ct' })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(parseRequest({ cmd: 'stats', section: 7 })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(parseRequest({})).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(parseRequest(null)).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(parseRequest({ cmd: 'reboot' })).toMatchObject({ ok: false, error: { code: 'ENOTSUP' } });
  });

  it('drops only the extra fields of a valid request', () => {
    expect(parseRequest({ cmd: 'kill', extra: 1 })).toEqual({ ok: true, request: { cmd: 'kill' } });
  });

  it('parseError maps unknown codes to EINTERNAL', () => {
    expect(parseError({ code: 'EBUSY', message: 'm' })).toEqual({ code: 'EBUSY', message: 'm' });
    expect(parseError({ code: 'EWHAT' })).toEqual({ code: 'EINTERNAL', message: 'unknown error' });
  });
});

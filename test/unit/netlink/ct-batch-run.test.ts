/**
 * runBatch against a fake connection: the next window is written while the
 * current one is in flight (overlap), failures map back to input indexes
 * across windows, progress is reported per window, and a socket overrun
 * marks the window's unanswered requests as unknown.
 */
import { describe, expect, it } from 'vitest';
import { runBatch, type BatchConn } from '../../../src/netlink/ct-batch-run';
import type { BatchEncoder } from '../../../src/netlink/ct-batch';
import { NLMSG_ERROR, NLMSG_HDRLEN, readU32, type NlMessage } from '../../../src/netlink/nlmsg';
import type { CtRecord } from '../../../src/netlink/types';

/** NLMSG_ERROR answering the request with sequence `seq` (errno 0: an ACK). */
function errorReply(seq: number, errno: number): NlMessage {
  const p = Buffer.alloc(4 + NLMSG_HDRLEN);
  p.writeInt32LE(-errno, 0);
  p.writeUInt32LE(NLMSG_HDRLEN, 4);
  p.writeUInt32LE(seq, 12);
  return { type: NLMSG_ERROR, flags: 0, seq, pid: 0, payload: p };
}

/** Sequence numbers of the messages in a datagram, in order. */
function seqsOf(dg: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off < dg.length; ) {
    const len = readU32(dg, off);
    out.push(readU32(dg, off + 8));
    off += len;
  }
  return out;
}

const records = (n: number): CtRecord[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'ct' as const, family: 2 as const, attrs: Buffer.from([8, 0, 1, 0, i & 0xff, 0, 0, 0]) }));

const encode: BatchEncoder = (rec) => (rec.attrs[4] === 13 ? 'EINVAL' : { type: 0x100, flags: 0, family: rec.family, attrs: rec.attrs });

interface Fake {
  conn: BatchConn;
  log: string[];
  sent: Buffer[];
}

/** Replies arrive on a later turn of the event loop; `errnoOf(seq)` picks failures; `overrunAt` drops one window's replies. */
function fakeConn(errnoOf: (seq: number) => number, overrunAt = -1): Fake {
  let seq = 100;
  const log: string[] = [];
  const sent: Buffer[] = [];
  const pendingBarriers: number[] = [];
  const conn: BatchConn = {
    window: { maxMessages: 4, maxBytes: 1 << 20 },
    overlap: true,
    nextSeq: () => (seq = (seq + 1) >>> 0),
    setSeq: (n) => {
      seq = n;
    },
    transact: (dg, onReply, onOverrun, overlap) =>
      new Promise<void>((resolve) => {
        const w = sent.length;
        sent.push(dg);
        log.push(`send ${w}${overlap === true ? ' overlapped' : ''}`);
        const seqs = seqsOf(dg);
        setImmediate(() => {
          log.push(`done ${w}`);
          const feed = (m: NlMessage): void => {
            if (onReply(m) === 'done') resolve();
          };
          if (w === overrunAt) {
            onOverrun();
            for (const b of pendingBarriers.splice(0)) feed(errorReply(b, 0));
            return;
          }
          for (const s of seqs.slice(0, -1)) {
            const e = errnoOf(s);
            if (e !== 0) feed(errorReply(s, e));
          }
          feed(errorReply(seqs[seqs.length - 1] ?? 0, 0));
        });
      }),
    sendBarrier: (b) => {
      pendingBarriers.push(b);
    },
    onBadReply: () => undefined,
  };
  return { conn, log, sent };
}

describe('runBatch', () => {
  it('writes window k + 1 before window k is answered, and maps failures to input indexes', async () => {
    const f = fakeConn((s) => (s === 103 || s === 109 ? 17 : 0));
    // Track when the encoder runs relative to sends and answers.
    const enc: BatchEncoder = (rec) => {
      f.log.push(`encode ${rec.attrs[4]}`);
      return encode(rec);
    };
    const progress: Array<[number, number]> = [];
    const failed = await runBatch(f.conn, records(10), enc, undefined, (d, t) => progress.push([d, t]));
    // Windows of 4 requests + barrier; sequences start at 101.
    expect(f.sent.map(seqsOf)).toEqual([
      [101, 102, 103, 104, 105],
      [106, 107, 108, 109, 110],
      [111, 112, 113],
    ]);
    const at = (s: string): number => f.log.indexOf(s);
    expect(at('send 0 overlapped')).toBeLessThan(at('encode 4'));
    expect(at('encode 7')).toBeLessThan(at('done 0'));
    expect(at('done 0')).toBeLessThan(at('send 1 overlapped'));
    expect(failed).toEqual([
      { index: 2, code: 'EEXIST', errno: 17 },
      { index: 7, code: 'EEXIST', errno: 17 },
    ]);
    expect(progress).toEqual([
      [4, 10],
      [8, 10],
      [10, 10],
    ]);
  });

  it('keeps the first window short when windows overlap the kernel (it idles until that one is written)', async () => {
    for (const overlap of [true, false]) {
      const f = fakeConn(() => 0);
      f.conn.window = { maxMessages: 1000, maxBytes: 1 << 20 };
      f.conn.overlap = overlap;
      const recs = Array.from({ length: 1500 }, () => records(1)[0]!);
      expect(await runBatch(f.conn, recs, encode)).toEqual([]);
      expect(f.sent.map((d) => seqsOf(d).length - 1)).toEqual(overlap ? [512, 988] : [1000, 500]);
    }
  });

  it('keeps refusals of the encoder and marks an overrun window unknown', async () => {
    const f = fakeConn(() => 0, 1);
    const failed = await runBatch(f.conn, records(14), encode);
    expect(failed[0]).toEqual({ index: 13, code: 'EINVAL', errno: 0, message: 'refused before sending' });
    expect(failed.slice(1).map((x) => [x.index, x.code])).toEqual([4, 5, 6, 7].map((i) => [i, 'ENOBUFS']));
  });
});

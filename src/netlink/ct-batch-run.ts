/**
 * Running a batched write over a command connection: one window in flight at
 * a time, errors matched to input indexes by sequence number, EEXIST on
 * create retried as an update, ENOENT on delete counted as ok-but-absent.
 * The connection (socket, sequence numbers, reply routing) is the kernel
 * table's; this file only knows the protocol of a batch (see ct-batch.ts).
 */
import type { BatchFailure, BatchResult } from './table';
import type { CtRecord } from './types';
import { NLMSG_ERROR, parseError, type NlMessage } from './nlmsg';
import { BatchPlanner, indexOfSeq, type BatchEncoder, type BatchWindow, type DirectEncoder, type WindowLimits } from './ct-batch';
import { directFor, encoderFor, type AttrTransforms, type WriteOp } from './ct-batch-encode';

/** What a batch needs from the command connection. */
export interface BatchConn {
  window: WindowLimits;
  nextSeq(): number;
  /** The batch used sequence numbers up to (excluding) n. */
  setSeq(n: number): void;
  /**
   * Send one datagram; feed replies to onReply until it says 'done'. onOverrun: the socket overran (ENOBUFS).
   * `overlap`: send off the main thread if the connection can (the caller writes the next window meanwhile).
   */
  transact(datagram: Buffer, onReply: (m: NlMessage) => 'more' | 'done', onOverrun: () => void, overlap?: boolean): Promise<void>;
  /** Whether windows are sent off the main thread (the kernel's work overlaps the writing of the next window). */
  overlap?: boolean;
  /** Send an extra barrier (NLMSG_NOOP + NLM_F_ACK) with this sequence number. */
  sendBarrier(seq: number): void;
  onBadReply(): void;
}

const ENOBUFS = 105;
/** Requests in the first window when windows overlap the kernel's work. */
const FIRST_WINDOW = 512;

/**
 * Send `records` window by window; returns the failures (input indexes).
 * One window is in flight at a time; while the kernel works on it (inside the
 * send, on a threadpool thread when the connection offers `overlap`), the
 * next window is written here.
 */
export async function runBatch(
  conn: BatchConn,
  records: CtRecord[],
  encode: BatchEncoder,
  direct?: DirectEncoder,
  onProgress?: (done: number, total: number) => void,
): Promise<BatchFailure[]> {
  const planner = new BatchPlanner(records, encode, conn.window, direct);
  const failures: BatchFailure[] = [];
  // With overlap, the kernel idles until the first window is written: keep that one short.
  let cap = conn.overlap === true ? FIRST_WINDOW : conn.window.maxMessages;
  const plan = (): BatchWindow | null => {
    const w = planner.next(conn.nextSeq(), cap);
    cap = conn.window.maxMessages;
    if (w) conn.setSeq(w.barrierSeq);
    return w;
  };
  let w = plan();
  while (w) {
    const sent = sendWindow(conn, w, failures);
    const next = plan();
    await sent;
    onProgress?.((w.indices[w.indices.length - 1] ?? -1) + 1, records.length);
    w = next;
  }
  return [...planner.refused, ...failures];
}

/** One window: send it, collect its failures, resolve at its barrier's ACK. */
async function sendWindow(conn: BatchConn, w: BatchWindow, failures: BatchFailure[]): Promise<void> {
  const failedHere = new Set<number>();
  const barriers = new Set<number>([w.barrierSeq]);
  let lost = false;
  await conn.transact(
    w.datagram,
    (m) => {
      if (m.type !== NLMSG_ERROR) return 'more';
      const e = parseError(m);
      if (!e.ok) {
        conn.onBadReply();
        return 'more';
      }
      const rs = e.value.request.seq;
      if (barriers.has(rs)) return 'done';
      const index = indexOfSeq(w, rs);
      if (index < 0 || e.value.errno === 0) return 'more';
      failedHere.add(index);
      const f: BatchFailure = { index, code: e.value.code, errno: e.value.errno };
      if (e.value.message !== undefined) f.message = e.value.message;
      failures.push(f);
      return 'more';
    },
    () => {
      // Replies were dropped; the barrier's ACK may be among them: ask again.
      lost = true;
      const b = conn.nextSeq();
      barriers.add(b);
      conn.sendBarrier(b);
    },
    conn.overlap === true,
  );
  if (lost) {
    for (const index of w.indices) {
      if (!failedHere.has(index)) {
        failures.push({ index, code: 'ENOBUFS', errno: ENOBUFS, message: 'reply lost in a socket overrun; state unknown' });
      }
    }
  }
}

/**
 * create / update / delete with the kernel's semantics folded in.
 * `t` prepares attributes for `op`; `forUpdate` prepares the EEXIST retries.
 */
export async function writeBatch(
  conn: BatchConn,
  op: WriteOp,
  records: CtRecord[],
  t: AttrTransforms,
  forUpdate: AttrTransforms,
  onProgress?: (done: number, total: number) => void,
): Promise<BatchResult> {
  const failed = await runBatch(conn, records, encoderFor(op, t), directFor(op, t), onProgress);
  const result: BatchResult = { ok: 0, failed };
  if (op === 'create') {
    const existing = failed.filter((f) => f.code === 'EEXIST');
    if (existing.length > 0) {
      const again = existing.map((f) => records[f.index]).filter((r): r is CtRecord => r !== undefined);
      const upd = await runBatch(conn, again, encoderFor('update', forUpdate), directFor('update', forUpdate));
      result.failed = failed.filter((f) => f.code !== 'EEXIST');
      for (const f of upd) result.failed.push({ ...f, index: existing[f.index]?.index ?? -1 });
      result.existed = existing.length;
    }
  } else if (op === 'delete') {
    const absent = failed.filter((f) => f.code === 'ENOENT').length;
    if (absent > 0) result.absent = absent;
    result.failed = failed.filter((f) => f.code !== 'ENOENT');
  }
  result.failed.sort((a, b) => a.index - b.index);
  result.ok = records.length - result.failed.length;
  return result;
}

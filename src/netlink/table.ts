/**
 * The kernel connection-tracking table, as ctsync sees it.
 * Implementations: createKernelTable (src/netlink/kernel-table.ts, the real
 * kernel over ctnetlink) and MemoryTable (src/netlink/memory-table.ts,
 * in-process, for unit tests and simulations).
 *
 * Batch operations never reject for per-entry errors: those come back in
 * BatchResult.failed. dump/flush/count reject with a TableError when the
 * operation as a whole failed.
 */
import type { CtEvent, CtKind, CtRecord } from './types';

export interface BatchFailure {
  /** Index in the input array. */
  index: number;
  /** errno name from the kernel's NLMSG_ERROR ('EEXIST', 'ENOENT', 'EINVAL', ...). */
  code: string;
  errno: number;
  /** Extended ACK message when the kernel gave one. */
  message?: string;
}

export interface BatchResult {
  /** Entries applied (for delete: including the ones already absent). */
  ok: number;
  failed: BatchFailure[];
  /** create: entries that already existed and were updated instead (EEXIST retried as update). */
  existed?: number;
  /** delete: entries that were not in the table (ENOENT), counted in ok. */
  absent?: number;
}

/** A whole operation failed (socket error, kernel error on a dump/flush, timeout). */
export class TableError extends Error {
  constructor(
    /** errno name or 'ETIMEDOUT' / 'ECLOSED' / 'EBADMSG'. */
    readonly code: string,
    message: string,
    readonly errno = 0,
  ) {
    super(message);
    this.name = 'TableError';
  }
}

export interface EventOptions {
  kinds: CtKind[];
  /** Which conntrack events to receive; default all three. */
  types?: Array<'new' | 'update' | 'destroy'>;
  rcvbuf?: number;
  /** Ask for reliable event delivery (NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS off). */
  reliable?: boolean;
  /**
   * Read a busy socket in batches: after a read that found events, read again
   * after this many ms instead of at the next event (0: at every event). The
   * first event of a burst is read at once; the ones behind it wait at most
   * this long. The kernel table's default is 1.
   */
  coalesceMs?: number;
  /**
   * Drain the socket on a reading thread (see NetlinkSocketOptions.readerThread):
   * events wait in user memory while the caller is busy, instead of
   * overrunning the kernel's socket buffer. The kernel table's default is on.
   */
  readerThread?: boolean;
}

export interface EventSubscription {
  close(): void;
  /** Number of overruns (ENOBUFS) seen so far. */
  readonly overruns: number;
}

export interface EventHandlers {
  /** Events in kernel order, batched per socket read. */
  onEvents(events: CtEvent[]): void;
  /** The socket overran: events were lost, the caller should resync (dump). */
  onOverrun(): void;
  /** Any other socket error, as a value. */
  onError?(code: string): void;
}

export interface WriteOptions {
  /**
   * The records' attributes are already prepared for this operation (e.g. by
   * toCreateAttrs when they were received), so the table writes them as they
   * are. Moves the preparation off the commit path.
   */
  prepared?: boolean;
  /**
   * Called as the write advances: how many of the records have been written
   * (their window acknowledged by the kernel) and how many there are. For a
   * progress display; the kernel table calls it once per window.
   */
  onProgress?: (done: number, total: number) => void;
}

export interface KernelTable {
  dump(kind: CtKind): Promise<CtRecord[]>;
  subscribe(opts: EventOptions, handlers: EventHandlers): EventSubscription;
  /** Create entries; EEXIST is retried as an update. */
  create(records: CtRecord[], opts?: WriteOptions): Promise<BatchResult>;
  update(records: CtRecord[], opts?: WriteOptions): Promise<BatchResult>;
  delete(records: CtRecord[], opts?: WriteOptions): Promise<BatchResult>;
  flush(kind: CtKind): Promise<void>;
  count(kind: CtKind): Promise<number>;
  close(): void;
}

/**
 * The kernel connection-tracking table, as ctsync sees it.
 * Implementations: NetlinkTable (the real kernel over ctnetlink) and
 * MemoryTable (in-process, for unit tests and simulations).
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
  ok: number;
  failed: BatchFailure[];
}

export interface EventOptions {
  kinds: CtKind[];
  /** Which conntrack events to receive; default all three. */
  types?: Array<'new' | 'update' | 'destroy'>;
  rcvbuf?: number;
  /** Ask for reliable event delivery (NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS off). */
  reliable?: boolean;
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

export interface KernelTable {
  dump(kind: CtKind): Promise<CtRecord[]>;
  subscribe(opts: EventOptions, handlers: EventHandlers): EventSubscription;
  /** Create entries; EEXIST is retried as an update. */
  create(records: CtRecord[]): Promise<BatchResult>;
  update(records: CtRecord[]): Promise<BatchResult>;
  delete(records: CtRecord[]): Promise<BatchResult>;
  flush(kind: CtKind): Promise<void>;
  count(kind: CtKind): Promise<number>;
  close(): void;
}

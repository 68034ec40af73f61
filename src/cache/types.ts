/**
 * Cache interface. Two instances run in a daemon: the internal cache (flows of
 * the local kernel) and the external cache (flows learned from peers).
 * Entries are stored packed (bytes), keyed by the canonical tuple key that
 * src/netlink/codec provides (tupleKey). The cache knows nothing about sync modes.
 *
 * Record lifetime: a CtRecord returned by get() or entries() is a VIEW into the
 * cache's arena. It stays valid only until the next mutation of that cache
 * (upsert, delete, remove, purge, clear). Copy it (Buffer.from(rec.attrs)) to
 * keep it longer. delete() returns an owned copy.
 */
import type { CtRecord } from '../netlink/types';

export type UpsertResult = 'created' | 'updated' | 'unchanged' | 'refused';

export interface CacheStats {
  /** Entries currently held. */
  current: number;
  created: number;
  updated: number;
  destroyed: number;
  /** Refused because the cache was full (HashLimit) or the entry was invalid. */
  failed: number;
  /** Entries removed because they expired (external cache CacheTimeout, purge). */
  expired: number;
  /** Approximate bytes held by entries (keys + records). */
  bytes: number;
}

/** The part of a pino logger the cache layer uses (a pino Logger fits). */
export interface CacheLogger {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface CacheOptions {
  name: string;
  /** Maximum entries (HashLimit); beyond it upserts are refused and counted. */
  limit: number;
  /** Entries not refreshed for this many ms are expired by purge(); 0 = never. */
  timeoutMs?: number;
  /** Receives the (rate-limited) HashLimit warning. Optional. */
  logger?: CacheLogger;
  /** Largest record (attribute bytes) accepted; larger ones are refused. Default 65536. */
  maxRecordBytes?: number;
  /** Size of one arena chunk in bytes. Default 1 MiB. */
  chunkBytes?: number;
  /** Minimum ms between two HashLimit warnings (clock of the `now` arguments). Default 10000. */
  warnIntervalMs?: number;
}

export interface Cache {
  readonly name: string;
  readonly size: number;
  /** A view, valid until the next mutation of this cache (see above). */
  get(key: string): CtRecord | undefined;
  has(key: string): boolean;
  /**
   * Insert or replace; `now` is the caller's clock reading (ms). Identical bytes
   * return 'unchanged' (the refresh time is still updated). The record's bytes
   * are copied into the cache; the caller keeps ownership of its Buffer.
   */
  upsert(key: string, record: CtRecord, now: number): UpsertResult;
  /** Returns the removed record (an owned copy), if any. */
  delete(key: string): CtRecord | undefined;
  /** Like delete() without copying the record out: true when the key was present. */
  remove(key: string): boolean;
  /** Last refresh time (the `now` of the last effective or unchanged upsert). */
  refreshedAt(key: string): number | undefined;
  /** Iterate entries (insertion order). Safe against deletes of the current key. */
  entries(): IterableIterator<[string, CtRecord]>;
  keys(): IterableIterator<string>;
  clear(): void;
  /**
   * Optional support for reconciling with a dump without a set of every
   * dumped key: markSeen(key, epoch) remembers that `key` was seen in `epoch`
   * and returns get(key); unmarked(epoch) lists the keys not marked in it.
   */
  markSeen?(key: string, epoch: number): CtRecord | undefined;
  unmarked?(epoch: number): string[];
  /** Expire entries not refreshed since now - timeoutMs; returns their keys. */
  purge(now: number): string[];
  stats(): CacheStats;
}

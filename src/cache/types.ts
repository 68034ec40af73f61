/**
 * Cache interface. Two instances run in a daemon: the internal cache (flows of
 * the local kernel) and the external cache (flows learned from peers).
 * Entries are stored packed (bytes), keyed by the canonical tuple key that
 * src/netlink/codec provides (tupleKey). The cache knows nothing about sync modes.
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

export interface CacheOptions {
  name: string;
  /** Maximum entries (HashLimit); beyond it upserts are refused and counted. */
  limit: number;
  /** Entries not refreshed for this many ms are expired by purge(); 0 = never. */
  timeoutMs?: number;
}

export interface Cache {
  readonly name: string;
  readonly size: number;
  get(key: string): CtRecord | undefined;
  has(key: string): boolean;
  /** Insert or replace; `now` is the caller's clock reading (ms). */
  upsert(key: string, record: CtRecord, now: number): UpsertResult;
  /** Returns the removed record, if any. */
  delete(key: string): CtRecord | undefined;
  /** Iterate entries (insertion order). Safe against deletes of the current key. */
  entries(): IterableIterator<[string, CtRecord]>;
  keys(): IterableIterator<string>;
  clear(): void;
  /** Expire entries not refreshed since now - timeoutMs; returns their keys. */
  purge(now: number): string[];
  stats(): CacheStats;
}

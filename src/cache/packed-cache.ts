/**
 * The packed cache: one Map<string, number> from key to slot, the record bytes
 * in a slab arena (src/cache/slab.ts), and per-slot typed arrays for the
 * record's size class, cell, length, kind/family and last refresh time.
 * No per-entry JS objects live beyond the key string and its Map entry.
 *
 * get() and entries() return views into the arena, valid until the next
 * mutation of this cache; delete() returns an owned copy.
 */
import type { CtKind, CtRecord, Family } from '../netlink/types';
import { Slab } from './slab';
import type { Cache, CacheLogger, CacheOptions, CacheStats, UpsertResult } from './types';

/** meta byte: family (2 or 10) in the low 7 bits, bit 7 set for expectations. */
const META_EXPECT = 0x80;
const DEFAULT_MAX_RECORD = 65536;
const DEFAULT_CHUNK = 1 << 20;
const DEFAULT_WARN_MS = 10_000;
const INITIAL_SLOTS = 1024;

function metaOf(rec: CtRecord): number {
  return (rec.family & 0x7f) | (rec.kind === 'expect' ? META_EXPECT : 0);
}

/** Per-slot columns; grown by doubling. */
class Slots {
  cls = new Uint8Array(INITIAL_SLOTS);
  cell = new Uint32Array(INITIAL_SLOTS);
  len = new Uint32Array(INITIAL_SLOTS);
  meta = new Uint8Array(INITIAL_SLOTS);
  time = new Float64Array(INITIAL_SLOTS);
  /** Reconciliation epoch in which the slot's key was last seen (markSeen). */
  seen = new Uint32Array(INITIAL_SLOTS);
  /** Slots [0, used) were handed out at least once. */
  used = 0;
  private free = new Uint32Array(64);
  private freeLen = 0;

  take(): number {
    if (this.freeLen > 0) return this.free[--this.freeLen] ?? 0;
    if (this.used === this.cls.length) this.grow(this.cls.length * 2);
    return this.used++;
  }

  release(slot: number): void {
    if (this.freeLen === this.free.length) {
      const f = new Uint32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeLen++] = slot;
  }

  reset(): void {
    this.cls = new Uint8Array(INITIAL_SLOTS);
    this.cell = new Uint32Array(INITIAL_SLOTS);
    this.len = new Uint32Array(INITIAL_SLOTS);
    this.meta = new Uint8Array(INITIAL_SLOTS);
    this.time = new Float64Array(INITIAL_SLOTS);
    this.seen = new Uint32Array(INITIAL_SLOTS);
    this.used = 0;
    this.free = new Uint32Array(64);
    this.freeLen = 0;
  }

  private grow(n: number): void {
    const cls = new Uint8Array(n);
    cls.set(this.cls);
    this.cls = cls;
    const cell = new Uint32Array(n);
    cell.set(this.cell);
    this.cell = cell;
    const len = new Uint32Array(n);
    len.set(this.len);
    this.len = len;
    const meta = new Uint8Array(n);
    meta.set(this.meta);
    this.meta = meta;
    const time = new Float64Array(n);
    time.set(this.time);
    this.time = time;
    const seen = new Uint32Array(n);
    seen.set(this.seen);
    this.seen = seen;
  }
}

class PackedCache implements Cache {
  readonly name: string;
  private readonly index = new Map<string, number>();
  private readonly slots = new Slots();
  private readonly slab: Slab;
  private readonly limit: number;
  private readonly timeoutMs: number;
  private readonly logger: CacheLogger | undefined;
  private readonly warnIntervalMs: number;
  private lastWarn = -Infinity;
  private refusedSinceWarn = 0;
  private readonly st: CacheStats = {
    current: 0,
    created: 0,
    updated: 0,
    destroyed: 0,
    failed: 0,
    expired: 0,
    bytes: 0,
  };

  constructor(opts: CacheOptions) {
    this.name = opts.name;
    this.limit = Math.max(0, opts.limit);
    this.timeoutMs = opts.timeoutMs ?? 0;
    this.logger = opts.logger;
    this.warnIntervalMs = opts.warnIntervalMs ?? DEFAULT_WARN_MS;
    this.slab = new Slab({
      maxBytes: opts.maxRecordBytes ?? DEFAULT_MAX_RECORD,
      chunkBytes: opts.chunkBytes ?? DEFAULT_CHUNK,
    });
  }

  get size(): number {
    return this.index.size;
  }

  get(key: string): CtRecord | undefined {
    const slot = this.index.get(key);
    return slot === undefined ? undefined : this.view(slot);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  refreshedAt(key: string): number | undefined {
    const slot = this.index.get(key);
    return slot === undefined ? undefined : this.slots.time[slot];
  }

  upsert(key: string, record: CtRecord, now: number): UpsertResult {
    const len = record.attrs.length;
    if (len > this.slab.maxBytes) return this.refuse(key, now, 'record too large');
    const s = this.slots;
    const meta = metaOf(record);
    const slot = this.index.get(key);
    if (slot !== undefined) {
      s.time[slot] = now;
      const oldLen = s.len[slot] ?? 0;
      const cls = s.cls[slot] ?? 0;
      const cell = s.cell[slot] ?? 0;
      const chunk = this.slab.chunk(cls, cell);
      const off = this.slab.offset(cls, cell);
      if (oldLen === len && s.meta[slot] === meta && sameBytes(record.attrs, chunk, off, len)) {
        return 'unchanged';
      }
      const newCls = this.slab.classOf(len);
      if (newCls === cls) {
        chunk.set(record.attrs, off);
      } else {
        this.slab.free(cls, cell);
        this.store(slot, record.attrs, newCls);
      }
      s.len[slot] = len;
      s.meta[slot] = meta;
      this.st.bytes += len - oldLen;
      this.st.updated++;
      return 'updated';
    }
    if (this.index.size >= this.limit) return this.refuse(key, now, 'cache full (HashLimit)');
    const fresh = s.take();
    this.store(fresh, record.attrs, this.slab.classOf(len));
    s.len[fresh] = len;
    s.meta[fresh] = meta;
    s.time[fresh] = now;
    s.seen[fresh] = 0; // a reused slot does not keep the old key's mark
    this.index.set(key, fresh);
    this.st.bytes += key.length + len;
    this.st.created++;
    return 'created';
  }

  delete(key: string): CtRecord | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    const v = this.view(slot);
    const copy: CtRecord = { kind: v.kind, family: v.family, attrs: Buffer.from(v.attrs) };
    this.drop(key, slot);
    this.st.destroyed++;
    return copy;
  }

  remove(key: string): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.drop(key, slot);
    this.st.destroyed++;
    return true;
  }

  markSeen(key: string, epoch: number): CtRecord | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    this.slots.seen[slot] = epoch;
    return this.view(slot);
  }

  unmarked(epoch: number): string[] {
    const out: string[] = [];
    const seen = this.slots.seen;
    for (const [key, slot] of this.index) if (seen[slot] !== epoch) out.push(key);
    return out;
  }

  *entries(): IterableIterator<[string, CtRecord]> {
    for (const [key, slot] of this.index) yield [key, this.view(slot)];
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  clear(): void {
    this.st.destroyed += this.index.size;
    this.index.clear();
    this.slots.reset();
    // Keep the arena: a cleared cache is usually refilled (flush, then bulk),
    // and writing into memory already mapped costs no page faults.
    this.slab.recycle();
    this.st.bytes = 0;
  }

  purge(now: number): string[] {
    if (this.timeoutMs <= 0) return [];
    const out: string[] = [];
    const time = this.slots.time;
    for (const [key, slot] of this.index) {
      if (now - (time[slot] ?? 0) >= this.timeoutMs) out.push(key);
    }
    for (const key of out) {
      const slot = this.index.get(key);
      if (slot !== undefined) this.drop(key, slot);
    }
    this.st.expired += out.length;
    return out;
  }

  stats(): CacheStats {
    return { ...this.st, current: this.index.size };
  }

  private store(slot: number, attrs: Buffer, cls: number): void {
    const cell = this.slab.alloc(cls);
    // TypedArray set: no argument checks and no view, unlike Buffer.copy.
    this.slab.chunk(cls, cell).set(attrs, this.slab.offset(cls, cell));
    this.slots.cls[slot] = cls;
    this.slots.cell[slot] = cell;
  }

  private drop(key: string, slot: number): void {
    const s = this.slots;
    this.slab.free(s.cls[slot] ?? 0, s.cell[slot] ?? 0);
    this.st.bytes -= key.length + (s.len[slot] ?? 0);
    s.release(slot);
    this.index.delete(key);
  }

  private view(slot: number): CtRecord {
    const s = this.slots;
    const cls = s.cls[slot] ?? 0;
    const cell = s.cell[slot] ?? 0;
    const off = this.slab.offset(cls, cell);
    const meta = s.meta[slot] ?? 0;
    const kind: CtKind = (meta & META_EXPECT) !== 0 ? 'expect' : 'ct';
    const family = (meta & 0x7f) as Family;
    return { kind, family, attrs: this.slab.chunk(cls, cell).subarray(off, off + (s.len[slot] ?? 0)) };
  }

  private refuse(key: string, now: number, reason: string): 'refused' {
    this.st.failed++;
    this.refusedSinceWarn++;
    if (this.logger !== undefined && now - this.lastWarn >= this.warnIntervalMs) {
      this.logger.warn(
        { cache: this.name, limit: this.limit, size: this.index.size, refused: this.refusedSinceWarn, key: keyHex(key) },
        `${this.name} cache: entry refused: ${reason}`,
      );
      this.lastWarn = now;
      this.refusedSinceWarn = 0;
    }
    return 'refused';
  }
}

/** a equals chunk[off, off + len) (a.length === len); a plain loop beats the native compare call for records this small. */
function sameBytes(a: Buffer, chunk: Buffer, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== chunk[off + i]) return false;
  return true;
}

function keyHex(key: string): string {
  return Buffer.from(key, 'latin1').toString('hex');
}

/** Build a packed cache (see the file comment for the memory layout). */
export function createCache(opts: CacheOptions): Cache {
  return new PackedCache(opts);
}

/**
 * MemoryTable: an in-process KernelTable for unit tests and simulations.
 *
 * Entries are keyed by tupleKey (src/netlink/ct/key.ts, injectable). Write
 * semantics follow ctnetlink: create of an existing entry is EEXIST and is
 * retried as an update (counted in `existed`), update of a missing entry is
 * ENOENT, delete of a missing entry is counted ok-but-absent. An update
 * replaces the stored attributes (the kernel merges the changeable fields;
 * a simulation does not need the difference).
 *
 * Events go to subscribers in write order, either synchronously or batched on
 * a microtask. Overruns are simulated: a subscription whose undelivered queue
 * exceeds `capacity` loses the queue and gets onOverrun, like ENOBUFS.
 */
import type { CtEvent, CtEventType, CtKind, CtRecord } from './types';
import type {
  BatchFailure,
  BatchResult,
  EventHandlers,
  EventOptions,
  EventSubscription,
  KernelTable,
  WriteOptions,
} from './table';
import { tupleKey } from './ct/key';

export type KeyFn = (rec: CtRecord) => string | null;
export type WriteOp = 'create' | 'update' | 'delete';

export interface MemoryTableOptions {
  /** Identity of an entry; default tupleKey. A null key is refused with EINVAL. */
  key?: KeyFn;
  /** 'microtask' (default) batches events per turn like a socket read; 'sync' delivers at once. */
  delivery?: 'sync' | 'microtask';
  /** Undelivered events a subscription holds before it overruns; default unlimited. */
  capacity?: number;
  /** Maximum entries (like nf_conntrack_max); beyond it create fails with ENOMEM. Default unlimited. */
  max?: number;
  /** Fault injection: return an errno name to fail this entry, or null. */
  fault?: (op: WriteOp, rec: CtRecord) => string | null;
}

interface Sub {
  kinds: CtKind[];
  types: CtEventType[];
  handlers: EventHandlers;
  queue: CtEvent[];
  overruns: number;
  scheduled: boolean;
  closed: boolean;
}

const ERRNO: Record<string, number> = { EEXIST: 17, ENOENT: 2, EINVAL: 22, ENOMEM: 12 };


function copy(rec: CtRecord): CtRecord {
  return { kind: rec.kind, family: rec.family, attrs: Buffer.from(rec.attrs) };
}

export class MemoryTable implements KernelTable {
  private readonly tables: Record<CtKind, Map<string, CtRecord>> = { ct: new Map(), expect: new Map() };
  private readonly subs = new Set<Sub>();
  private readonly keyFn: KeyFn;
  private closed = false;

  constructor(private readonly opts: MemoryTableOptions = {}) {
    this.keyFn = opts.key ?? tupleKey;
  }

  /** Entries currently held (for assertions). */
  size(kind: CtKind): number {
    return this.tables[kind].size;
  }

  get(rec: CtRecord): CtRecord | undefined {
    const k = this.key(rec);
    return k === null ? undefined : this.tables[rec.kind].get(k);
  }

  /** Simulate a socket overrun on every subscription: pending events are lost. */
  overrun(): void {
    for (const s of this.subs) this.lose(s);
  }

  /** Emit an event as if the kernel produced it (e.g. a timeout destroy), updating the table. */
  inject(type: CtEventType, rec: CtRecord): void {
    const k = this.key(rec);
    if (k === null) return;
    const t = this.tables[rec.kind];
    if (type === 'destroy') t.delete(k);
    else t.set(k, copy(rec));
    this.emit(type, rec);
  }

  dump(kind: CtKind): Promise<CtRecord[]> {
    return Promise.resolve([...this.tables[kind].values()].map(copy));
  }

  subscribe(opts: EventOptions, handlers: EventHandlers): EventSubscription {
    const sub: Sub = {
      kinds: opts.kinds,
      types: opts.types ?? ['new', 'update', 'destroy'],
      handlers,
      queue: [],
      overruns: 0,
      scheduled: false,
      closed: this.closed,
    };
    if (!this.closed) this.subs.add(sub);
    return {
      get overruns() {
        return sub.overruns;
      },
      close: () => {
        sub.closed = true;
        sub.queue = [];
        this.subs.delete(sub);
      },
    };
  }

  create(records: CtRecord[], wo: WriteOptions = {}): Promise<BatchResult> {
    const failed: BatchFailure[] = [];
    let existed = 0;
    records.forEach((rec, index) => {
      const k = this.check('create', rec, index, failed);
      if (k === null) return;
      const t = this.tables[rec.kind];
      if (t.has(k)) {
        existed++;
        t.set(k, copy(rec));
        this.emit('update', rec);
        return;
      }
      if (this.opts.max !== undefined && t.size >= this.opts.max) {
        failed.push({ index, code: 'ENOMEM', errno: ERRNO.ENOMEM ?? 12 });
        return;
      }
      t.set(k, copy(rec));
      this.emit('new', rec);
    });
    const r: BatchResult = { ok: records.length - failed.length, failed };
    if (existed > 0) r.existed = existed;
    wo.onProgress?.(records.length, records.length);
    return Promise.resolve(r);
  }

  update(records: CtRecord[]): Promise<BatchResult> {
    const failed: BatchFailure[] = [];
    records.forEach((rec, index) => {
      const k = this.check('update', rec, index, failed);
      if (k === null) return;
      const t = this.tables[rec.kind];
      if (!t.has(k)) {
        failed.push({ index, code: 'ENOENT', errno: 2 });
        return;
      }
      t.set(k, copy(rec));
      this.emit('update', rec);
    });
    return Promise.resolve({ ok: records.length - failed.length, failed });
  }

  delete(records: CtRecord[]): Promise<BatchResult> {
    const failed: BatchFailure[] = [];
    let absent = 0;
    records.forEach((rec, index) => {
      const k = this.check('delete', rec, index, failed);
      if (k === null) return;
      const t = this.tables[rec.kind];
      const old = t.get(k);
      if (!old) {
        absent++;
        return;
      }
      t.delete(k);
      this.emit('destroy', old);
    });
    const r: BatchResult = { ok: records.length - failed.length, failed };
    if (absent > 0) r.absent = absent;
    return Promise.resolve(r);
  }

  flush(kind: CtKind): Promise<void> {
    const t = this.tables[kind];
    const all = [...t.values()];
    t.clear();
    for (const rec of all) this.emit('destroy', rec);
    return Promise.resolve();
  }

  count(kind: CtKind): Promise<number> {
    return Promise.resolve(this.tables[kind].size);
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs) s.closed = true;
    this.subs.clear();
  }

  private key(rec: CtRecord): string | null {
    return this.keyFn(rec);
  }

  /** Key of a record about to be written, or null after recording why not. */
  private check(op: WriteOp, rec: CtRecord, index: number, failed: BatchFailure[]): string | null {
    const fault = this.opts.fault?.(op, rec) ?? null;
    if (fault !== null) {
      failed.push({ index, code: fault, errno: ERRNO[fault] ?? 0 });
      return null;
    }
    const k = this.key(rec);
    if (k === null) failed.push({ index, code: 'EINVAL', errno: 22 });
    return k;
  }

  private emit(type: CtEventType, rec: CtRecord): void {
    for (const s of this.subs) {
      if (s.closed || !s.kinds.includes(rec.kind) || !s.types.includes(type)) continue;
      s.queue.push({ type, record: copy(rec) });
      if (this.opts.capacity !== undefined && s.queue.length > this.opts.capacity) {
        this.lose(s);
        continue;
      }
      if (this.opts.delivery === 'sync') this.deliver(s);
      else if (!s.scheduled) {
        s.scheduled = true;
        queueMicrotask(() => this.deliver(s));
      }
    }
  }

  private lose(s: Sub): void {
    s.queue = [];
    s.overruns++;
    if (this.opts.delivery === 'sync') s.handlers.onOverrun();
    else queueMicrotask(() => {
      if (!s.closed) s.handlers.onOverrun();
    });
  }

  private deliver(s: Sub): void {
    s.scheduled = false;
    if (s.closed || s.queue.length === 0) return;
    const batch = s.queue;
    s.queue = [];
    s.handlers.onEvents(batch);
  }
}

/**
 * Bulk sender: walks the internal caches incrementally (a chunk per step:
 * the engine steps every tick and after every received datagram, an ACK
 * having made room; paced by the mode's room()) and emits bulk-start, every entry as an update
 * flagged BULK, then bulk-end carrying the entry count. Restarting a bulk
 * while one runs begins a new walk with a new bulk-start.
 */
import type { Cache } from '../cache/types';
import type { CtKind, CtRecord } from '../netlink/types';
import type { SyncMode } from './mode';
import type { EntryMessage } from './wire/types';
import { MsgFlag } from './wire/types';

/** Walks the ct cache, then the expect cache (no generator layer or tuple per entry of its own). */
class Walk {
  kind: CtKind = 'ct';
  private it: Iterator<[string, CtRecord]>;

  constructor(private readonly internal: Record<CtKind, Cache>) {
    this.it = internal.ct.entries();
  }

  /** The next record (a cache view), or undefined at the end. */
  next(): CtRecord | undefined {
    for (;;) {
      const r = this.it.next();
      if (!r.done) return r.value[1];
      if (this.kind === 'expect') return undefined;
      this.kind = 'expect';
      this.it = this.internal.expect.entries();
    }
  }
}

export type EntryBuilder = (kind: CtKind, op: 'update', record: CtRecord, flags: number) => EntryMessage;

export class BulkSender {
  private cur: { it: Walk; count: number } | undefined;
  started = 0;
  completed = 0;

  constructor(
    private readonly internal: Record<CtKind, Cache>,
    private readonly mode: () => SyncMode,
    private readonly entry: EntryBuilder,
    private readonly chunk: number,
  ) {}

  get active(): boolean {
    return this.cur !== undefined;
  }

  start(now: number): void {
    this.started++;
    this.cur = { it: new Walk(this.internal), count: 0 };
    this.mode().enqueue({ type: 'bulk-start', flags: 0, seq: 0 }, now);
  }

  stop(): void {
    this.cur = undefined;
  }

  /** Send the next chunk; called every tick. */
  step(now: number): void {
    const cur = this.cur;
    if (cur === undefined) return;
    const n = Math.min(this.chunk, this.mode().room());
    for (let i = 0; i < n; i++) {
      const rec = cur.it.next();
      if (rec === undefined) {
        this.cur = undefined;
        this.completed++;
        this.mode().enqueue({ type: 'bulk-end', flags: 0, seq: 0, count: cur.count }, now);
        return;
      }
      cur.count++;
      this.mode().enqueue(this.entry(cur.it.kind, 'update', rec, MsgFlag.BULK), now);
      if (this.cur !== cur) return; // the mode restarted the bulk (stream reset)
    }
  }
}

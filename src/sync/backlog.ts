/**
 * Local changes waiting for room in the sync mode (FT-FW's window and resend
 * queue full during a burst). One slot per key: a newer change of a key
 * replaces the waiting one in place (new + update + destroy leave only the
 * destroy), so the backlog never holds more than one change per flow and a
 * burst costs no resend-queue overflow. Order: first arrival of each key.
 *
 * A FIFO of keys with a moving head (compacted when half consumed) plus a
 * Map key -> newest change: push and shift are O(1) amortised, and nothing
 * iterates a Map from its front (which walks deleted slots).
 *
 * New and update changes may leave their record out (`record` undefined): the
 * entry is then read from the internal cache when it leaves the backlog (its
 * newest state, and a burst of 150k waiting changes holds no record copies).
 * A destroy keeps its record (the cache no longer has it).
 */
import type { CtEventType, CtKind, CtRecord } from '../netlink/types';

export interface BacklogChange {
  type: CtEventType;
  kind: CtKind;
  key: string;
  record?: CtRecord;
}

export class LocalBacklog {
  private keys: string[] = [];
  private head = 0;
  private readonly latest = new Map<string, BacklogChange>();

  get size(): number {
    return this.latest.size;
  }

  push(c: BacklogChange): void {
    if (!this.latest.has(c.key)) this.keys.push(c.key);
    this.latest.set(c.key, c);
  }

  /** The oldest waiting change (its newest version), or undefined when empty. */
  shift(): BacklogChange | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head++] as string;
      const c = this.latest.get(key);
      if (c === undefined) continue;
      this.latest.delete(key);
      if (this.head >= 1024 && this.head * 2 >= this.keys.length) {
        this.keys = this.keys.slice(this.head);
        this.head = 0;
      }
      return c;
    }
    this.keys = [];
    this.head = 0;
    return undefined;
  }

  clear(): void {
    this.keys = [];
    this.head = 0;
    this.latest.clear();
  }
}

/**
 * Which peer each external entry was learned from (for the bulk sweep and for
 * ignoring a late destroy from a flow's previous owner, active-active).
 *
 * With two replicas every entry comes from the one peer: no per-key record
 * is kept then (it cost a second 200k-key Map on the receiver). The map is
 * built, from the external cache's keys, when a second peer sends entries.
 */
import type { CtKind } from '../netlink/types';

export class Owners {
  /** The only peer that sent entries so far, while there is one. */
  private solo: string | null = null;
  private map: Record<CtKind, Map<string, string>> | null = null;

  /** `keys(kind)`: the external cache's keys (the entries owned by the solo peer). */
  constructor(private readonly keys: (kind: CtKind) => Iterable<string>) {}

  get(kind: CtKind, key: string): string | undefined {
    if (this.map !== null) return this.map[kind].get(key);
    return this.solo ?? undefined;
  }

  set(kind: CtKind, key: string, peer: string): void {
    if (this.map === null) {
      if (this.solo === null || this.solo === peer) {
        this.solo = peer;
        return;
      }
      this.map = { ct: this.fill('ct'), expect: this.fill('expect') };
    }
    this.map[kind].set(key, peer);
  }

  delete(kind: CtKind, key: string): void {
    this.map?.[kind].delete(key);
  }

  /** Keys currently owned by `peer` (a copy). */
  ownedBy(kind: CtKind, peer: string): Set<string> {
    if (this.map === null) return peer === this.solo ? new Set(this.keys(kind)) : new Set();
    const s = new Set<string>();
    for (const [key, p] of this.map[kind]) if (p === peer) s.add(key);
    return s;
  }

  private fill(kind: CtKind): Map<string, string> {
    const m = new Map<string, string>();
    const solo = this.solo;
    if (solo !== null) for (const k of this.keys(kind)) m.set(k, solo);
    return m;
  }
}

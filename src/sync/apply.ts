/**
 * Applies data messages from peers to the external caches: entries are
 * upserted/deleted by key; bulk-start/bulk-end frame a full transfer so that,
 * at bulk-end, entries previously learned from that peer and not refreshed
 * during the transfer are swept (they no longer exist on the peer). The sweep
 * is skipped when the entry count in bulk-end differs from what arrived (a
 * lossy mode lost part of the bulk). Keys are remembered per owner peer so a
 * sweep only touches that peer's entries.
 */
import type { Cache } from '../cache/types';
import type { CtKind, CtRecord } from '../netlink/types';
import type { Logger } from '../util/log';
import { Counters } from './mode';
import { Owners } from './owners';
import { entryKind, entryOp, isEntry, MsgFlag, type EntryMessage, type Message } from './wire/types';

export type KeyOf = (record: CtRecord) => string | undefined;

export interface ApplyEvents {
  resyncRequested(peer: string): void;
  bulkDone(peer: string, swept: number): void;
  bulkIncomplete(peer: string, expected: number, got: number): void;
}

interface BulkRx {
  count: number;
  stale: Record<CtKind, Set<string>>;
}

export class ExternalApplier {
  readonly st = new Counters([
    'upserts',
    'deletes',
    'foreignDestroys',
    'refused',
    'badKey',
    'bulkStarted',
    'bulkCompleted',
    'bulkIncomplete',
    'bulkOrphanEnd',
    'swept',
    'purged',
  ]);
  private readonly owners: Owners;
  private readonly bulks = new Map<string, BulkRx>();

  constructor(
    private readonly external: Record<CtKind, Cache>,
    private readonly keyOf: KeyOf,
    private readonly events: ApplyEvents,
    private readonly logger: Logger,
  ) {
    this.owners = new Owners((kind) => this.external[kind].keys());
  }

  apply(peer: string, m: Message, now: number): void {
    if (isEntry(m)) {
      this.entry(peer, m, now);
      return;
    }
    switch (m.type) {
      case 'bulk-start':
        this.st.inc('bulkStarted');
        this.bulks.set(peer, { count: 0, stale: { ct: this.owners.ownedBy('ct', peer), expect: this.owners.ownedBy('expect', peer) } });
        break;
      case 'bulk-end':
        this.bulkEnd(peer, m.count);
        break;
      case 'resync':
        this.events.resyncRequested(peer);
        break;
      default:
        break;
    }
  }

  /** Expire external entries per the caches' own timeout; forget their owners. */
  purge(now: number): void {
    for (const kind of ['ct', 'expect'] as const) {
      for (const key of this.external[kind].purge(now)) {
        this.owners.delete(kind, key);
        this.st.inc('purged');
      }
    }
  }

  private entry(peer: string, m: EntryMessage, now: number): void {
    const kind = entryKind(m.type);
    const record: CtRecord = { kind, family: m.family, attrs: m.attrs };
    let key: string | undefined;
    try {
      key = this.keyOf(record);
    } catch {
      key = undefined;
    }
    if (key === undefined) {
      this.st.inc('badKey');
      this.logger.debug({ peer, type: m.type }, 'sync: entry without a usable key dropped');
      return;
    }
    const bulk = this.bulks.size > 0 ? this.bulks.get(peer) : undefined;
    if (bulk) {
      const stale = bulk.stale[kind];
      if (stale.size > 0) stale.delete(key);
      if (m.flags & MsgFlag.BULK) bulk.count++;
    }
    if (entryOp(m.type) === 'destroy') {
      // With more than two nodes a flow changes hands (active-active); a late
      // destroy from its previous owner must not remove the new owner's entry.
      const owner = this.owners.get(kind, key);
      if (owner !== undefined && owner !== peer) {
        this.st.inc('foreignDestroys');
        return;
      }
      this.external[kind].remove(key);
      this.owners.delete(kind, key);
      this.st.inc('deletes');
      return;
    }
    const r = this.external[kind].upsert(key, record, now);
    if (r === 'refused') {
      this.st.inc('refused');
      return;
    }
    this.owners.set(kind, key, peer);
    this.st.inc('upserts');
  }

  private bulkEnd(peer: string, expected: number): void {
    const b = this.bulks.get(peer);
    this.bulks.delete(peer);
    if (b === undefined) {
      this.st.inc('bulkOrphanEnd');
      return;
    }
    if (b.count !== expected) {
      this.st.inc('bulkIncomplete');
      this.events.bulkIncomplete(peer, expected, b.count);
      return;
    }
    let swept = 0;
    for (const kind of ['ct', 'expect'] as const) {
      for (const key of b.stale[kind]) {
        if (this.owners.get(kind, key) !== peer) continue;
        this.external[kind].remove(key);
        this.owners.delete(kind, key);
        swept++;
      }
    }
    this.st.inc('swept', swept);
    this.st.inc('bulkCompleted');
    this.events.bulkDone(peer, swept);
  }
}

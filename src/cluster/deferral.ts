/**
 * pfsync-style deferral for active-active clusters: the first packet of a
 * new flow waits in an nfnetlink queue until every peer has acknowledged
 * the flow's state (or a bounded delay passed), so that return traffic that
 * reaches another node finds the flow in that node's external cache.
 *
 * While the packet is queued its conntrack entry is unconfirmed: the kernel
 * has sent no ctnetlink NEW event yet. The state is taken from the packet
 * itself (NFQA_CT, the entry's ctnetlink attributes), put into the internal
 * cache (so the kernel's NEW event after the verdict is an update, not a
 * second new) and handed to the sync engine as a local change; then
 * engine.delivered(timeout) is awaited and the packet accepted.
 *
 *  - Every packet of one socket read shares one barrier (one delivered()).
 *  - On timeout the packet is accepted anyway (counted: acceptedOnTimeout).
 *  - Packets that are not NEW, carry no conntrack, or are refused by the
 *    filter are accepted at once (notNew / errors / filtered).
 *  - Verdicts: one NFQNL_MSG_VERDICT_BATCH for decided ids below every id
 *    still waiting (it also releases packets whose messages an overrun lost),
 *    single verdicts for the rest.
 *  - An entry announced here that the kernel never confirmed (the packet
 *    was dropped after our verdict, e.g. by a later rule) would stay in the
 *    caches forever: `confirmCheckMs` after the verdict, if the internal
 *    cache still holds exactly our bytes (the kernel's event always differs:
 *    IPS_CONFIRMED), it is withdrawn (removed, destroy sent; orphans).
 *
 * No I/O here: the queue socket, engine, cache and clock are injected.
 */
import type { Cache } from '../cache/types';
import { IP_CT, NF_ACCEPT, idAfter, type QueuedPacket } from '../netlink/nfqueue';
import type { CtRecord, Family } from '../netlink/types';
import type { LocalChange } from '../sync/engine';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { recordFromPacket } from './deferral-packet';

/** The verdict side of the queue (src/netlink/nfqueue-client.ts). */
export interface DeferralQueue {
  verdict(id: number, verdict: number): void;
  verdictBatch(maxId: number, verdict: number): void;
}

/** The part of the sync engine deferral uses. */
export interface DeferralEngine {
  local(change: LocalChange): void;
  delivered(timeoutMs: number): Promise<boolean>;
}

export interface DeferralOptions {
  queue: DeferralQueue;
  engine: DeferralEngine;
  /** The internal conntrack cache. */
  internal: Cache;
  keyOf: (rec: CtRecord) => string | null;
  /** The daemon's flow filter; refused flows are not announced (accepted at once). Default: all. */
  accept?: (rec: CtRecord) => boolean;
  clock: Clock;
  logger: Logger;
  /** Longest hold of a packet, ms. */
  timeoutMs: number;
  /** Withdraw an announced entry the kernel has not confirmed after this many ms. Default 5000; 0 = never. */
  confirmCheckMs?: number;
  /**
   * Where the state comes from: 'conntrack' (NFQA_CT, default) or 'packet'
   * (rebuilt from the packet's headers, deferral-packet.ts; for kernels
   * without conntrack glue, where the rule's `ct state new` is the only NEW test).
   */
  source?: 'conntrack' | 'packet';
}

export interface DeferralStats {
  /** NEW packets held for the peers' acknowledgement. */
  deferred: number;
  acceptedAfterAck: number;
  acceptedOnTimeout: number;
  /** Packets that were not NEW or had no conntrack attached; accepted at once. */
  notNew: number;
  /** NEW packets of flows the filter does not sync; accepted at once. */
  filtered: number;
  /** Packets whose state could not be used (no key, bad family, cache full); accepted at once. */
  errors: number;
  /** Accepted without waiting because deferral stopped. */
  acceptedOnStop: number;
  /** Entries withdrawn because the kernel never confirmed them. */
  orphans: number;
  /** Packets held right now. */
  pending: number;
  /** Hold time of released deferred packets, ms: sum and maximum. */
  delayMsTotal: number;
  delayMsMax: number;
}

export interface Deferral {
  /** Packets of one socket read, in kernel order. */
  handle(packets: QueuedPacket[]): void;
  stats(): DeferralStats;
  /**
   * Accept every held packet at once, and any still unread in the socket (one
   * batch verdict reaching 2^30 ids past the last seen); later barrier results
   * are ignored. Call after the rule is gone, before the queue closes.
   */
  stop(): void;
}

interface Held {
  id: number;
  key: string;
  family: Family;
  attrs: Buffer;
  at: number;
}

/** Ids a final batch verdict reaches past the last seen one (well inside the kernel's wrap-safe window of 2^31). */
const SWEEP = 0x40000000;

function isFamily(n: number): n is Family {
  return n === 2 || n === 10;
}

export function createDeferral(o: DeferralOptions): Deferral {
  const log = o.logger;
  const st = {
    deferred: 0,
    acceptedAfterAck: 0,
    acceptedOnTimeout: 0,
    notNew: 0,
    filtered: 0,
    errors: 0,
    acceptedOnStop: 0,
    orphans: 0,
    delayMsTotal: 0,
    delayMsMax: 0,
  };
  /** Undecided ids in arrival (= kernel id) order. */
  const pending = new Set<number>();
  const checks = new Set<TimerHandle>();
  let stopped = false;
  let lastId: number | undefined;

  /** Accept `ids` (all pending): one batch verdict for those below every undecided id, singles for the rest. */
  const decide = (ids: number[]): void => {
    if (ids.length === 0) return;
    for (const id of ids) pending.delete(id);
    const first = pending.values().next();
    const oldest = first.done === true ? undefined : first.value;
    let batchMax: number | undefined;
    const singles: number[] = [];
    for (const id of ids) {
      if (oldest === undefined || idAfter(oldest, id)) {
        if (batchMax === undefined || idAfter(id, batchMax)) batchMax = id;
      } else singles.push(id);
    }
    if (batchMax !== undefined) o.queue.verdictBatch(batchMax, NF_ACCEPT);
    for (const id of singles) o.queue.verdict(id, NF_ACCEPT);
  };

  const scheduleCheck = (held: Held[]): void => {
    const ms = o.confirmCheckMs ?? 5000;
    if (ms <= 0 || held.length === 0) return;
    const t = o.clock.setTimeout(() => {
      checks.delete(t);
      for (const h of held) {
        const cur = o.internal.get(h.key);
        if (cur === undefined || !cur.attrs.equals(h.attrs)) continue; // confirmed (updated by the kernel's event) or gone
        o.internal.remove(h.key);
        o.engine.local({ type: 'destroy', key: h.key, record: { kind: 'ct', family: h.family, attrs: h.attrs } });
        st.orphans++;
      }
    }, ms);
    checks.add(t);
  };

  const release = (held: Held[], acked: boolean): void => {
    if (stopped) return;
    const now = o.clock.now();
    const ids: number[] = [];
    for (const h of held) {
      if (!pending.has(h.id)) continue;
      const d = Math.max(0, now - h.at);
      st.delayMsTotal += d;
      if (d > st.delayMsMax) st.delayMsMax = d;
      if (acked) st.acceptedAfterAck++;
      else st.acceptedOnTimeout++;
      ids.push(h.id);
    }
    decide(ids);
    if (!acked) log.debug({ packets: ids.length, timeoutMs: o.timeoutMs }, 'deferral: peers did not acknowledge in time; accepted');
    scheduleCheck(held);
  };

  /** Announce the packet's flow; the Held record, or why it is accepted at once. */
  const stateOf = (p: QueuedPacket): Buffer | 'notNew' | 'errors' => {
    if (o.source !== 'packet') return p.ct !== undefined && p.ctInfo === IP_CT.NEW ? p.ct : 'notNew';
    if (p.ctInfo !== undefined && p.ctInfo !== IP_CT.NEW) return 'notNew';
    if (p.payload === undefined) return 'errors';
    const r = recordFromPacket(p.family, p.payload);
    return r.ok ? r.record.attrs : 'errors';
  };

  const announce = (p: QueuedPacket, now: number): Held | 'notNew' | 'filtered' | 'errors' => {
    if (!isFamily(p.family)) return 'errors';
    const attrs = stateOf(p);
    if (typeof attrs === 'string') return attrs;
    const rec: CtRecord = { kind: 'ct', family: p.family, attrs };
    const key = o.keyOf(rec);
    if (key === null) return 'errors';
    if (o.accept !== undefined && !o.accept(rec)) return 'filtered';
    const r = o.internal.upsert(key, rec, now);
    if (r === 'refused') return 'errors';
    // A retransmitted SYN of a flow already announced is NEW too: an update (or nothing) then.
    if (r !== 'unchanged') o.engine.local({ type: r === 'created' ? 'new' : 'update', key, record: rec });
    return { id: p.id, key, family: p.family, attrs, at: now };
  };

  return {
    handle(packets) {
      const now = o.clock.now();
      const held: Held[] = [];
      const at_once: number[] = [];
      for (const p of packets) {
        pending.add(p.id);
        lastId = p.id;
        if (stopped) {
          // Read after stop(): the final batch verdict has accepted it already.
          pending.delete(p.id);
          st.acceptedOnStop++;
          continue;
        }
        const a = announce(p, now);
        if (typeof a === 'object') {
          held.push(a);
          st.deferred++;
        } else {
          st[a]++;
          at_once.push(p.id);
        }
      }
      decide(at_once);
      if (held.length === 0) return;
      o.engine.delivered(o.timeoutMs).then(
        (acked) => release(held, acked),
        (e: unknown) => {
          st.errors++;
          log.warn({ err: e instanceof Error ? e.message : String(e) }, 'deferral: delivery barrier failed; accepted');
          release(held, false);
        },
      );
    },
    stats: () => ({ ...st, pending: pending.size }),
    stop() {
      if (stopped) return;
      stopped = true;
      st.acceptedOnStop += pending.size;
      pending.clear();
      if (lastId !== undefined) o.queue.verdictBatch((lastId + SWEEP) >>> 0, NF_ACCEPT);
      for (const t of checks) o.clock.clear(t);
      checks.clear();
    },
  };
}

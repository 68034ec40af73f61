/**
 * Membership and bucket ownership for one node: a pure state machine,
 * step(state, event, now) -> { state, actions }. No I/O, no timers: the
 * driver (driver.ts) feeds it ticks, heartbeats and takeover results.
 *
 * The seed paper's clusterdev algorithm, made safe under loss, reordering
 * and differing views:
 *  - view = me + every peer heard within `deadAfter` intervals that is
 *    neither joining nor leaving; aim = my buckets in targetAssignment(view).
 *  - every tick: buckets of my aim that I do not hold are acquired (the
 *    driver commits their flows and opens the kernel rule, then reports
 *    `acquired`); only then do I claim them, with epoch = highest epoch
 *    known for that bucket + 1.
 *  - a claim is ordered by (epoch, node id). On a heartbeat that claims a
 *    bucket of mine with a higher pair: if the bucket is in my aim I claim
 *    it again with a higher epoch, else I release it. So the holder of the
 *    highest pair ever made for a bucket never releases it: a bucket is
 *    released only after someone else has claimed it (no orphan), whatever
 *    the message loss or order, as long as its holder lives.
 *  - per-peer (incarnation, seq) drops stale and reordered heartbeats.
 *  - a new node listens for `listenIntervals` before it claims anything, so
 *    it learns the members and epochs first.
 */
import type { Heartbeat } from './wire';
import { HB_FLAG_JOINING, HB_FLAG_LEAVING } from './wire';
import { has, minus, targetOf } from './ranges';

export interface MemberConfig {
  /** This node's id: non-zero u32, unique in the cluster (e.g. its sync address as a u32). */
  self: number;
  /** Bucket count N (1..32), the same on every node. */
  buckets: number;
  /** Hash seed, the same on every node. */
  seed: number;
  /** Heartbeat interval, ms. */
  intervalMs: number;
  /** A peer silent for this many intervals is dead. */
  deadAfter: number;
  /** Intervals a starting node listens before claiming. */
  listenIntervals: number;
}

export type Phase = 'joining' | 'active' | 'leaving' | 'left';

export interface PeerState {
  incarnation: number;
  seq: number;
  lastHeard: number;
  flags: number;
  aim: number;
  members: number[];
  /** Bucket -> epoch the peer claims. */
  claims: Map<number, number>;
}

export interface MemberStats {
  received: number;
  stale: number;
  rejected: number;
  peersUp: number;
  peersDown: number;
  acquired: number;
  released: number;
  reclaimed: number;
}

export interface MemberState {
  cfg: MemberConfig;
  incarnation: number;
  seq: number;
  phase: Phase;
  startedAt: number;
  /** Epoch of each bucket I hold (claimed and announced); -1 = not held. */
  held: number[];
  /** Buckets being taken over (asked of the driver, not claimed yet). */
  pending: number;
  /** Highest (epoch, node) known per bucket. */
  knownEpoch: number[];
  knownNode: number[];
  peers: Map<number, PeerState>;
  /**
   * Peers (id -> incarnation) that were starting together with me when I
   * turned active: they count in my view while still joining, so nodes
   * started together do not first grab every bucket and hand them back.
   */
  cohort: Map<number, number>;
  stats: MemberStats;
}

export type MemberEvent =
  | { type: 'tick' }
  | { type: 'heartbeat'; msg: Heartbeat }
  | { type: 'acquired'; buckets: number }
  | { type: 'acquire-failed'; buckets: number }
  | { type: 'leave' };

export type MemberAction =
  | { type: 'send'; msg: Heartbeat }
  /** Commit the flows of `buckets`, then let the kernel forward mask(state); answer with 'acquired'. */
  | { type: 'acquire'; buckets: number }
  /** `buckets` are no longer ours: the kernel should forward only mask(state). */
  | { type: 'release'; buckets: number }
  | { type: 'peer-up'; node: number; incarnation: number }
  | { type: 'peer-down'; node: number; reason: 'timeout' | 'restart' }
  | { type: 'reject'; node: number; reason: 'self' | 'buckets' | 'seed' }
  | { type: 'left' };

export interface StepResult {
  state: MemberState;
  actions: MemberAction[];
}

export function initialState(cfg: MemberConfig, incarnation: number, now: number): MemberState {
  return {
    cfg,
    incarnation: incarnation >>> 0,
    seq: 0,
    phase: 'joining',
    startedAt: now,
    held: new Array<number>(cfg.buckets).fill(-1),
    pending: 0,
    knownEpoch: new Array<number>(cfg.buckets).fill(0),
    knownNode: new Array<number>(cfg.buckets).fill(0),
    peers: new Map(),
    cohort: new Map(),
    stats: { received: 0, stale: 0, rejected: 0, peersUp: 0, peersDown: 0, acquired: 0, released: 0, reclaimed: 0 },
  };
}

/** Buckets I hold (claimed). */
export function heldMask(s: MemberState): number {
  let m = 0;
  s.held.forEach((e, b) => {
    if (e >= 0) m |= 1 << b;
  });
  return m >>> 0;
}

/** What the kernel should forward: held plus being taken over. */
export function kernelMask(s: MemberState): number {
  return (heldMask(s) | s.pending) >>> 0;
}

/**
 * Sorted ids of the current view: me (unless leaving or left) and every live
 * peer that is neither joining nor leaving. A joining peer enters the views
 * of active nodes once it turns active, so a restarted node's old buckets
 * are taken over by the others at once instead of waiting for its listen
 * period; peers that started with me (cohort) count while joining.
 */
export function view(s: MemberState): number[] {
  const ids: number[] = [];
  if (s.phase === 'joining' || s.phase === 'active') ids.push(s.cfg.self);
  for (const [id, p] of s.peers) {
    if ((p.flags & HB_FLAG_LEAVING) !== 0) continue;
    if ((p.flags & HB_FLAG_JOINING) !== 0 && s.phase !== 'joining' && s.cohort.get(id) !== p.incarnation) continue;
    ids.push(id);
  }
  return ids.sort((a, b) => a - b);
}

export function aim(s: MemberState): number {
  if (s.phase !== 'active') return 0;
  return targetOf(s.cfg.self, view(s), s.cfg.buckets);
}

function clone(s: MemberState): MemberState {
  return {
    ...s,
    held: [...s.held],
    knownEpoch: [...s.knownEpoch],
    knownNode: [...s.knownNode],
    peers: new Map(s.peers),
    cohort: new Map(s.cohort),
    stats: { ...s.stats },
  };
}

function higher(e1: number, n1: number, e2: number, n2: number): boolean {
  return e1 > e2 || (e1 === e2 && n1 > n2);
}

function learn(s: MemberState, b: number, epoch: number, node: number): void {
  if (higher(epoch, node, s.knownEpoch[b] ?? 0, s.knownNode[b] ?? 0)) {
    s.knownEpoch[b] = epoch;
    s.knownNode[b] = node;
  }
}

/** Claim b with an epoch above every one known. */
function claim(s: MemberState, b: number): void {
  const e = ((s.knownEpoch[b] ?? 0) + 1) >>> 0;
  s.held[b] = e;
  learn(s, b, e, s.cfg.self);
}

export function heartbeatOf(s: MemberState): Heartbeat {
  const claims: Array<{ bucket: number; epoch: number }> = [];
  s.held.forEach((e, b) => {
    if (e >= 0) claims.push({ bucket: b, epoch: e });
  });
  let flags = 0;
  if (s.phase === 'joining') flags |= HB_FLAG_JOINING;
  if (s.phase === 'leaving' || s.phase === 'left') flags |= HB_FLAG_LEAVING;
  return {
    node: s.cfg.self,
    incarnation: s.incarnation,
    seq: s.seq,
    flags,
    buckets: s.cfg.buckets,
    seed: s.cfg.seed,
    aim: aim(s),
    members: view(s),
    claims,
  };
}

/** Ask for the buckets of my aim that I neither hold nor am taking over. */
function reconcile(s: MemberState, out: MemberAction[]): void {
  const want = minus(minus(aim(s), heldMask(s)), s.pending);
  if (want !== 0) {
    s.pending = (s.pending | want) >>> 0;
    out.push({ type: 'acquire', buckets: want });
  }
  if (s.phase === 'leaving' && heldMask(s) === 0 && s.pending === 0) {
    s.phase = 'left';
    out.push({ type: 'left' });
  }
}

function send(s: MemberState, out: MemberAction[]): void {
  s.seq = (s.seq + 1) >>> 0;
  out.push({ type: 'send', msg: heartbeatOf(s) });
}

function onTick(s: MemberState, now: number, out: MemberAction[]): void {
  const deadline = s.cfg.deadAfter * s.cfg.intervalMs;
  for (const [id, p] of s.peers) {
    if (now - p.lastHeard > deadline) {
      s.peers.delete(id);
      s.cohort.delete(id);
      s.stats.peersDown++;
      out.push({ type: 'peer-down', node: id, reason: 'timeout' });
    }
  }
  if (s.phase === 'joining' && now - s.startedAt >= s.cfg.listenIntervals * s.cfg.intervalMs) {
    s.phase = 'active';
    for (const [id, p] of s.peers) if ((p.flags & HB_FLAG_JOINING) !== 0) s.cohort.set(id, p.incarnation);
  }
  reconcile(s, out);
  if (s.phase !== 'left') send(s, out);
}

function onHeartbeat(s: MemberState, m: Heartbeat, now: number, out: MemberAction[]): void {
  if (m.node === s.cfg.self) {
    s.stats.rejected++;
    out.push({ type: 'reject', node: m.node, reason: 'self' });
    return;
  }
  if (m.buckets !== s.cfg.buckets || m.seed >>> 0 !== s.cfg.seed >>> 0) {
    s.stats.rejected++;
    out.push({ type: 'reject', node: m.node, reason: m.buckets !== s.cfg.buckets ? 'buckets' : 'seed' });
    return;
  }
  const old = s.peers.get(m.node);
  if (old && (m.incarnation < old.incarnation || (m.incarnation === old.incarnation && m.seq <= old.seq))) {
    s.stats.stale++;
    return;
  }
  s.stats.received++;
  if (old && m.incarnation !== old.incarnation) {
    s.stats.peersDown++;
    out.push({ type: 'peer-down', node: m.node, reason: 'restart' });
  }
  if (!old || m.incarnation !== old.incarnation) {
    s.stats.peersUp++;
    out.push({ type: 'peer-up', node: m.node, incarnation: m.incarnation });
  }
  const claims = new Map<number, number>();
  for (const c of m.claims) claims.set(c.bucket, c.epoch);
  s.peers.set(m.node, { incarnation: m.incarnation, seq: m.seq, lastHeard: now, flags: m.flags, aim: m.aim, members: m.members, claims });
  const myAim = aim(s);
  let released = 0;
  for (const [b, e] of claims) {
    learn(s, b, e, m.node);
    const mine = s.held[b] ?? -1;
    if (mine < 0 || !higher(e, m.node, mine, s.cfg.self)) continue;
    if (has(myAim, b)) {
      claim(s, b);
      s.stats.reclaimed++;
    } else {
      s.held[b] = -1;
      released |= 1 << b;
    }
  }
  if (released !== 0) {
    s.stats.released += countBits(released);
    out.push({ type: 'release', buckets: released >>> 0 });
  }
  reconcile(s, out);
}

function countBits(m: number): number {
  let c = 0;
  for (let x = m >>> 0; x !== 0; x = (x & (x - 1)) >>> 0) c++;
  return c;
}

function onAcquired(s: MemberState, buckets: number, out: MemberAction[]): void {
  const got = (buckets & s.pending) >>> 0;
  s.pending = minus(s.pending, got);
  const myAim = aim(s);
  let drop = 0;
  for (let b = 0; b < s.cfg.buckets; b++) {
    if (!has(got, b)) continue;
    if (has(myAim, b)) {
      if ((s.held[b] ?? -1) < 0) {
        claim(s, b);
        s.stats.acquired++;
      }
    } else if ((s.held[b] ?? -1) < 0) {
      drop |= 1 << b;
    }
  }
  if (drop !== 0) out.push({ type: 'release', buckets: drop >>> 0 });
  reconcile(s, out);
  // Announce new claims at once: the previous holders release sooner.
  if (got !== 0 && s.phase !== 'left') send(s, out);
}

export function step(state: MemberState, ev: MemberEvent, now: number): StepResult {
  const s = clone(state);
  const out: MemberAction[] = [];
  if (s.phase === 'left') return { state: s, actions: out };
  switch (ev.type) {
    case 'tick':
      onTick(s, now, out);
      break;
    case 'heartbeat':
      onHeartbeat(s, ev.msg, now, out);
      break;
    case 'acquired':
      onAcquired(s, ev.buckets >>> 0, out);
      break;
    case 'acquire-failed':
      s.pending = minus(s.pending, ev.buckets >>> 0);
      break;
    case 'leave':
      if (s.phase === 'joining' || s.phase === 'active') s.phase = 'leaving';
      reconcile(s, out);
      if (s.phase === 'leaving') send(s, out);
      break;
  }
  return { state: s, actions: out };
}


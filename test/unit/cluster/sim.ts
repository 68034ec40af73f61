/**
 * Deterministic simulation of N membership state machines on a lossy,
 * reordering broadcast network with a fake clock. Messages go through the
 * real wire codec. Used by the property tests.
 */
import { seededRandom, type Random } from '../../../src/transport/seeded-random';
import { decodeHeartbeat, encodeHeartbeat } from '../../../src/cluster/wire';
import { initialState, kernelMask, heldMask, step, view, type MemberConfig, type MemberEvent, type MemberState } from '../../../src/cluster/membership';
import { fullMask, targetAssignment } from '../../../src/cluster/ranges';

export interface SimNode {
  id: number;
  state: MemberState;
  alive: boolean;
  /** Tick phase offset, ms. */
  phase: number;
}

interface InFlight {
  at: number;
  order: number;
  to: number;
  data: Buffer;
}

export interface SimOptions {
  seed: number;
  buckets: number;
  intervalMs?: number;
  loss?: number;
  /** Max network delay, ms (random 0..max: reorders messages). */
  maxDelayMs?: number;
  /** Max takeover duration, ms. */
  maxAcquireMs?: number;
}

export const STEP_MS = 10;

export class Sim {
  readonly nodes = new Map<number, SimNode>();
  now = 0;
  loss: number;
  readonly rnd: Random;
  readonly cfgBase: Omit<MemberConfig, 'self'>;
  private net: InFlight[] = [];
  private acq: Array<{ at: number; node: number; inc: number; buckets: number }> = [];
  private order = 0;
  private nextInc = 1;
  violations: string[] = [];
  /** Crashed incarnations. */
  readonly crashed: Array<{ id: number; inc: number }> = [];

  constructor(readonly o: SimOptions) {
    this.rnd = seededRandom(o.seed);
    this.loss = o.loss ?? 0;
    this.cfgBase = { buckets: o.buckets, seed: 0x5eed, intervalMs: o.intervalMs ?? 100, deadAfter: 3, listenIntervals: 3 };
  }

  start(id: number): void {
    const cfg: MemberConfig = { ...this.cfgBase, self: id };
    const phase = Math.floor(this.rnd() * (cfg.intervalMs / STEP_MS)) * STEP_MS;
    this.nodes.set(id, { id, state: initialState(cfg, this.nextInc++, this.now), alive: true, phase });
  }

  crash(id: number): void {
    const n = this.nodes.get(id);
    if (!n || !n.alive) return;
    n.alive = false;
    this.crashSeen = true;
    this.crashed.push({ id, inc: n.state.incarnation });
  }

  leave(id: number): void {
    this.feed(id, { type: 'leave' });
  }

  live(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive && n.state.phase !== 'left');
  }

  private feed(id: number, ev: MemberEvent): void {
    const n = this.nodes.get(id);
    if (!n || !n.alive) return;
    const r = step(n.state, ev, this.now);
    n.state = r.state;
    for (const a of r.actions) {
      if (a.type === 'send') {
        const data = encodeHeartbeat(a.msg);
        for (const peer of this.nodes.values()) {
          if (peer.id === id) continue;
          if (this.rnd() < this.loss) continue;
          const delay = Math.floor(this.rnd() * ((this.o.maxDelayMs ?? 30) + 1));
          this.net.push({ at: this.now + delay, order: this.order++, to: peer.id, data });
        }
      } else if (a.type === 'acquire') {
        const d = Math.floor(this.rnd() * ((this.o.maxAcquireMs ?? 30) + 1));
        this.acq.push({ at: this.now + d, node: id, inc: n.state.incarnation, buckets: a.buckets });
      } else if (a.type === 'left') {
        n.alive = false;
      }
    }
  }

  /** Advance one step: deliver due messages and takeovers, run due ticks, then check. */
  tick(): void {
    this.now += STEP_MS;
    const due = this.net.filter((m) => m.at <= this.now).sort((a, b) => a.at - b.at || a.order - b.order);
    this.net = this.net.filter((m) => m.at > this.now);
    for (const m of due) {
      const d = decodeHeartbeat(m.data);
      if (!d.ok) throw new Error(`decode failed: ${d.code}`);
      this.feed(m.to, { type: 'heartbeat', msg: d.value });
    }
    const acq = this.acq.filter((x) => x.at <= this.now);
    this.acq = this.acq.filter((x) => x.at > this.now);
    for (const x of acq) {
      const n = this.nodes.get(x.node);
      if (n && n.alive && n.state.incarnation === x.inc) this.feed(x.node, { type: 'acquired', buckets: x.buckets });
    }
    for (const n of [...this.nodes.values()]) {
      if (n.alive && (this.now - n.phase) % this.cfgBase.intervalMs === 0) this.feed(n.id, { type: 'tick' });
    }
    this.check();
  }

  run(ms: number): void {
    for (let t = 0; t < ms; t += STEP_MS) this.tick();
  }

  /** True while some live node still believes in a crashed incarnation. */
  undetectedCrash(): boolean {
    const live = this.live();
    return this.crashed.some((c) => live.some((n) => n.state.peers.get(c.id)?.incarnation === c.inc));
  }

  /**
   * Never an unowned bucket. Strict while no node has crashed: every bucket
   * is claimed by a live node at every step. After a crash, a bucket may be
   * unclaimed only while the crash is undetected or the live nodes' views
   * still disagree; once they agree, held + being-taken-over must cover all.
   */
  check(): void {
    const full = fullMask(this.o.buckets);
    const live = this.live();
    if (live.length === 0) return;
    let heldLive = 0;
    let kernelLive = 0;
    for (const n of live) {
      heldLive |= heldMask(n.state);
      kernelLive |= kernelMask(n.state);
    }
    if ((heldLive & full) >>> 0 === full) {
      this.formed = true;
      return;
    }
    // Before the first complete assignment the cluster is still forming.
    if (!this.formed) return;
    if (this.crashSeen) {
      if (this.undetectedCrash()) return;
      const ids = live.map((n) => n.id).sort((x, y) => x - y).join(',');
      if (live.some((n) => view(n.state).join(',') !== ids)) return;
      if ((kernelLive & full) >>> 0 === full) return;
    }
    this.violations.push(`t=${this.now}: unowned buckets 0x${((~heldLive & full) >>> 0).toString(16)}`);
  }

  /** Set once any crash happened (then takeover gaps are allowed, see check()). */
  crashSeen = false;
  /** Set once every bucket was held (the cluster formed). */
  formed = false;

  /** Converged: every live node sees the same view and holds exactly its target. */
  converged(): string | null {
    const live = this.live();
    const ids = live.map((n) => n.id).sort((a, b) => a - b);
    const target = targetAssignment(ids, this.o.buckets);
    for (const n of live) {
      const v = view(n.state);
      if (v.join(',') !== ids.join(',')) return `node ${n.id} view ${v.join(',')} != ${ids.join(',')}`;
      const want = target.get(n.id) ?? 0;
      if (heldMask(n.state) !== want) return `node ${n.id} holds 0x${heldMask(n.state).toString(16)}, target 0x${want.toString(16)}`;
      if (n.state.pending !== 0) return `node ${n.id} still taking over 0x${n.state.pending.toString(16)}`;
    }
    return null;
  }
}

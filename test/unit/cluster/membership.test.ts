import { describe, expect, it } from 'vitest';
import { aim, heldMask, heartbeatOf, initialState, step, view, type MemberConfig, type MemberState } from '../../../src/cluster/membership';
import type { Heartbeat } from '../../../src/cluster/wire';

const cfg = (self: number): MemberConfig => ({ self, buckets: 8, seed: 9, intervalMs: 100, deadAfter: 3, listenIntervals: 3 });

/** A node that has been alone long enough to hold everything. */
function alone(self: number): MemberState {
  let s = initialState(cfg(self), 1, 0);
  for (let t = 0; t <= 300; t += 100) s = step(s, { type: 'tick' }, t).state;
  s = step(s, { type: 'acquired', buckets: 0xff }, 300).state;
  return s;
}

const hb = (over: Partial<Heartbeat>): Heartbeat => ({
  node: 2,
  incarnation: 1,
  seq: 1,
  flags: 0,
  buckets: 8,
  seed: 9,
  aim: 0,
  members: [],
  claims: [],
  ...over,
});

describe('cluster membership state machine', () => {
  it('a lone node listens, then takes over every bucket, then claims them', () => {
    let s = initialState(cfg(1), 1, 0);
    const r0 = step(s, { type: 'tick' }, 0);
    expect(r0.actions.map((a) => a.type)).toEqual(['send']);
    expect(heartbeatOf(r0.state).flags).toBe(1);
    s = r0.state;
    s = step(s, { type: 'tick' }, 100).state;
    s = step(s, { type: 'tick' }, 200).state;
    const r = step(s, { type: 'tick' }, 300);
    expect(r.actions[0]).toEqual({ type: 'acquire', buckets: 0xff });
    expect(heldMask(r.state)).toBe(0);
    const r2 = step(r.state, { type: 'acquired', buckets: 0xff }, 310);
    expect(heldMask(r2.state)).toBe(0xff);
    expect(r2.actions.map((a) => a.type)).toEqual(['send']);
  });

  it('releases a bucket only on a higher claim, and only when it is not in its aim', () => {
    let s = alone(1);
    // Node 2 appears active, claiming bucket 6 with a LOWER epoch: nothing released.
    let r = step(s, { type: 'heartbeat', msg: hb({ seq: 1, claims: [{ bucket: 6, epoch: 0 }] }) }, 400);
    expect(r.actions.find((a) => a.type === 'release')).toBeUndefined();
    s = r.state;
    expect(view(s)).toEqual([1, 2]);
    expect(aim(s)).toBe(0x0f);
    // Now a higher claim on 6 (not in my aim) and on 1 (in my aim).
    r = step(s, { type: 'heartbeat', msg: hb({ seq: 2, claims: [{ bucket: 6, epoch: 5 }, { bucket: 1, epoch: 5 }] }) }, 500);
    expect(r.actions).toContainEqual({ type: 'release', buckets: 1 << 6 });
    expect(heldMask(r.state)).toBe(0xbf);
    // Bucket 1 is mine: claimed again above the peer's epoch.
    expect(r.state.held[1]).toBe(6);
  });

  it('drops stale and reordered heartbeats, rejects a foreign seed or bucket count and its own id', () => {
    let s = alone(1);
    s = step(s, { type: 'heartbeat', msg: hb({ seq: 5 }) }, 400).state;
    const stale = step(s, { type: 'heartbeat', msg: hb({ seq: 4, claims: [{ bucket: 0, epoch: 99 }] }) }, 410);
    expect(stale.state.stats.stale).toBe(1);
    expect(heldMask(stale.state)).toBe(0xff);
    expect(step(s, { type: 'heartbeat', msg: hb({ seq: 6, seed: 10 }) }, 420).actions).toEqual([{ type: 'reject', node: 2, reason: 'seed' }]);
    expect(step(s, { type: 'heartbeat', msg: hb({ seq: 6, buckets: 16 }) }, 420).actions).toEqual([{ type: 'reject', node: 2, reason: 'buckets' }]);
    expect(step(s, { type: 'heartbeat', msg: hb({ node: 1 }) }, 420).actions).toEqual([{ type: 'reject', node: 1, reason: 'self' }]);
  });

  it('a peer silent for deadAfter intervals is dropped from the view', () => {
    let s = alone(1);
    s = step(s, { type: 'heartbeat', msg: hb({ seq: 1 }) }, 400).state;
    expect(view(s)).toEqual([1, 2]);
    s = step(s, { type: 'tick' }, 700).state;
    expect(view(s)).toEqual([1, 2]);
    const r = step(s, { type: 'tick' }, 701);
    expect(r.actions).toContainEqual({ type: 'peer-down', node: 2, reason: 'timeout' });
    expect(view(r.state)).toEqual([1]);
  });

  it('a restarted peer (new incarnation, joining) is out of the view until it is active', () => {
    let s = alone(1);
    s = step(s, { type: 'heartbeat', msg: hb({ seq: 9, incarnation: 1 }) }, 400).state;
    expect(aim(s)).toBe(0x0f);
    const r = step(s, { type: 'heartbeat', msg: hb({ seq: 1, incarnation: 2, flags: 1 }) }, 450);
    expect(r.actions).toContainEqual({ type: 'peer-down', node: 2, reason: 'restart' });
    expect(r.actions).toContainEqual({ type: 'peer-up', node: 2, incarnation: 2 });
    expect(aim(r.state)).toBe(0xff);
  });

  it('leave: aim empties, buckets go once others claim them, then left', () => {
    let s = alone(1);
    s = step(s, { type: 'leave' }, 400).state;
    expect(heartbeatOf(s).flags).toBe(2);
    expect(aim(s)).toBe(0);
    expect(heldMask(s)).toBe(0xff);
    const claims = Array.from({ length: 8 }, (_, b) => ({ bucket: b, epoch: 10 }));
    const r = step(s, { type: 'heartbeat', msg: hb({ claims }) }, 500);
    expect(r.actions).toContainEqual({ type: 'release', buckets: 0xff });
    expect(r.actions).toContainEqual({ type: 'left' });
    expect(r.state.phase).toBe('left');
    expect(step(r.state, { type: 'tick' }, 600).actions).toEqual([]);
  });
});

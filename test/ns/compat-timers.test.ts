/**
 * `-t` (primary-backup.sh's "shorten kernel conntrack timers") over time,
 * conntrackd 1.4.7 against ctsyncd with PurgeTimeout 3 and no traffic:
 *  - conntrackd leaves the timers alone and, PurgeTimeout seconds later,
 *    deletes the kernel entries and empties its internal cache;
 *  - ctsyncd sets every kernel timer to PurgeTimeout at once, so the entries
 *    expire by themselves at the same moment.
 * The end state (kernel table and internal cache empty) must be the same.
 * One difference is asserted as such: only ctsyncd's peer drops the entries.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { ctsyncdBuilt, FLOWS, createPair, type Impl } from './helpers/compat-pair';

const ready = isRoot() && have('conntrackd') && have('conntrack') && ctsyncdBuilt();
const PURGE = 3;
const N = FLOWS.length;

interface Snapshot {
  code: number;
  kernelRightAfter: number;
  maxTimeoutRightAfter: number;
  kernelAfterPurge: number;
  internalAfterPurge: number;
  peerExternalAfterPurge: number;
  secondsToEmpty: number;
}

async function scenario(lab: Lab, impl: Impl): Promise<Snapshot> {
  const pair = createPair(lab, impl, { purgeTimeout: PURGE });
  const { a, b } = pair;
  pair.start(a);
  pair.start(b);
  pair.insert(a, FLOWS);
  await pair.waitCounts(a, { internal: N });
  await pair.waitCounts(b, { external: N });
  const t0 = Date.now();
  const code = pair.ctl(a, ['-t']).code;
  const right = pair.kernelRaw(a);
  await waitFor(() => pair.kernelRaw(a).length === 0, 30_000, 200);
  const secondsToEmpty = (Date.now() - t0) / 1000;
  // Let the daemon see the last destroy events before reading its cache.
  await waitFor(() => pair.counts(a).internal === 0, 15_000, 200).catch(() => undefined);
  const c = pair.counts(a);
  // Does the peer hear about it? (conntrackd: no; ctsyncd: yes, see below.)
  await waitFor(() => pair.counts(b).external === 0, 3_000, 200).catch(() => undefined);
  const snap: Snapshot = {
    code,
    kernelRightAfter: right.length,
    maxTimeoutRightAfter: Math.max(...right.map((e) => e.timeout)),
    kernelAfterPurge: pair.kernelRaw(a).length,
    internalAfterPurge: c.internal,
    peerExternalAfterPurge: pair.counts(b).external,
    secondsToEmpty,
  };
  pair.stop(a);
  pair.stop(b);
  return snap;
}

describe.skipIf(!ready)('-t with PurgeTimeout: conntrackd vs ctsyncd', () => {
  const labs = { conntrackd: new Lab('ctc'), ctsyncd: new Lab('cts') };
  afterAll(() => {
    labs.conntrackd.cleanup();
    labs.ctsyncd.cleanup();
  });
  const snaps: Partial<Record<Impl, Snapshot>> = {};

  it('conntrackd: timers untouched, kernel flushed after PurgeTimeout', async () => {
    const s = await scenario(labs.conntrackd, 'conntrackd');
    snaps.conntrackd = s;
    expect(s.code).toBe(0);
    expect(s.kernelRightAfter).toBe(N);
    expect(s.maxTimeoutRightAfter).toBeGreaterThan(PURGE);
    expect(s.secondsToEmpty).toBeGreaterThanOrEqual(PURGE - 0.5);
  });

  it('ctsyncd: timers set to PurgeTimeout, entries gone after it', async () => {
    const s = await scenario(labs.ctsyncd, 'ctsyncd');
    snaps.ctsyncd = s;
    expect(s.code).toBe(0);
    expect(s.kernelRightAfter).toBe(N);
    expect(s.maxTimeoutRightAfter).toBeLessThanOrEqual(PURGE);
    expect(s.kernelAfterPurge).toBe(0);
    expect(s.internalAfterPurge).toBe(0);
  });

  it('same end state: kernel table and internal cache empty', () => {
    const c = snaps.conntrackd;
    const s = snaps.ctsyncd;
    expect(c).toBeDefined();
    expect(s).toBeDefined();
    if (!c || !s) return;
    expect({ kernel: s.kernelAfterPurge, internal: s.internalAfterPurge }).toEqual({ kernel: c.kernelAfterPurge, internal: c.internalAfterPurge });
  });

  it('differs on purpose: the peer hears of the purged entries from ctsyncd only', () => {
    // conntrackd empties its internal cache without telling the peers, which
    // keep the entries in their external caches; ctsyncd's entries expire in
    // the kernel, and the destroy events reach the peers like any other.
    expect(snaps.conntrackd?.peerExternalAfterPurge).toBe(N);
    expect(snaps.ctsyncd?.peerExternalAfterPurge).toBe(0);
  });
});

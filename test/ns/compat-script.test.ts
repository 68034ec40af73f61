/**
 * Debian's keepalived notify script (conntrackd's primary-backup.sh) run
 * unchanged, with CONNTRACKD_BIN pointing at conntrackd 1.4.7 on one pair of
 * namespaces and at bin/ctsyncd on another, same flows, same steps:
 *
 *   1. b takes over: `primary-backup.sh primary` on b (-c, -f, -R, -B)
 *   2. a steps back: `primary-backup.sh backup` on a (-s, -t, -n)
 *   3. a faults:     `primary-backup.sh fault` on a (-t)
 *   4. a's daemon crashed (kill -9, stale lock): `backup` starts it with -d
 *
 * The kernel tables (conntrack -L, normalized) and cache counts after every
 * step must be the same for both implementations, and match what the script
 * is meant to do. The script's `logger` calls are caught by a stub on PATH.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot } from '../helpers/netns';
import { CTSYNCD, ctsyncdBuilt, FLOWS, FLOWS_B, PURGE_TIMEOUT, type Impl } from './helpers/compat-pair';
import { haveScript, scriptScenario, type ScriptSnapshot } from './helpers/compat-script';

const ready = isRoot() && have('conntrackd') && have('conntrack') && haveScript() && ctsyncdBuilt();

describe.skipIf(!ready)('primary-backup.sh with conntrackd and with ctsyncd', () => {
  // One Lab per pair: a Lab names its veth pair once.
  const labs = { conntrackd: new Lab('cpsc'), ctsyncd: new Lab('cpss') };
  afterAll(() => {
    labs.conntrackd.cleanup();
    labs.ctsyncd.cleanup();
  });
  const snaps: Partial<Record<Impl, ScriptSnapshot>> = {};

  it('conntrackd 1.4.7 reference run', async () => {
    const s = await scriptScenario(labs.conntrackd, 'conntrackd');
    snaps.conntrackd = s;
    expect(s.exit).toEqual({ primary: 0, backup: 0, fault: 0, sAfterCrash: 1, backupAfterCrash: 0, bogus: 1 });
  });

  it('ctsyncd run', async () => {
    expect(existsSync(CTSYNCD)).toBe(true);
    const s = await scriptScenario(labs.ctsyncd, 'ctsyncd');
    snaps.ctsyncd = s;
    const all = FLOWS.length + FLOWS_B.length;
    expect(s.exit).toEqual({ primary: 0, backup: 0, fault: 0, sAfterCrash: 1, backupAfterCrash: 0, bogus: 1 });
    // Every step did its job.
    expect(s.kernelB).toHaveLength(all);
    expect(s.counts.primaryB).toEqual({ internal: all, external: 0 });
    expect(s.counts.primaryA).toEqual({ internal: FLOWS.length, external: all });
    expect(s.counts.backupA).toEqual({ internal: FLOWS.length, external: all });
    expect(s.maxTimeoutA.backup).toBeLessThanOrEqual(PURGE_TIMEOUT);
    expect(s.maxTimeoutA.fault).toBeLessThanOrEqual(PURGE_TIMEOUT);
    expect(s.afterCrash).toEqual({ running: true, lockRemoved: true });
    // No "ERROR: failed to invoke" from the script.
    expect(s.logger.filter((l) => l.includes('ERROR') && !l.includes('unknown state transition'))).toEqual([]);
  });

  it('same exit codes, kernel tables, cache counts and script log for both', () => {
    const c = snaps.conntrackd;
    const s = snaps.ctsyncd;
    expect(c).toBeDefined();
    expect(s).toBeDefined();
    if (!c || !s) return;
    expect(s.exit).toEqual(c.exit);
    expect(s.kernelB).toEqual(c.kernelB);
    expect(s.kernelA).toEqual(c.kernelA);
    expect(s.counts).toEqual(c.counts);
    expect(s.afterCrash).toEqual(c.afterCrash);
    expect(s.logger).toEqual(c.logger);
    // Differs on purpose: conntrackd's -t leaves the timers alone and flushes the
    // kernel table PurgeTimeout seconds later; ctsyncd sets every timer to
    // PurgeTimeout at once (same end state without traffic: see compat-cli).
    for (const k of ['backup', 'fault']) {
      expect(s.maxTimeoutA[k]).toBeLessThanOrEqual(PURGE_TIMEOUT);
      expect(c.maxTimeoutA[k]).toBeGreaterThan(PURGE_TIMEOUT);
    }
  });
});

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
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, sh } from '../helpers/netns';
import { CTSYNCD, ctsyncdBuilt, FLOWS, FLOWS_B, PURGE_TIMEOUT, createPair, stubDir, type CompatNode, type CompatPair, type Impl } from './helpers/compat-pair';

const SCRIPT = '/usr/share/doc/conntrackd/examples/sync/primary-backup.sh';
const ready = isRoot() && have('conntrackd') && have('conntrack') && existsSync(SCRIPT) && ctsyncdBuilt();

interface Snapshot {
  exit: Record<string, number>;
  logger: string[];
  counts: Record<string, { internal: number; external: number }>;
  kernelB: unknown[];
  kernelA: unknown[];
  maxTimeoutA: Record<string, number>;
  afterCrash: { running: boolean; lockRemoved: boolean };
}

/** Copy the script and point it at this pair's binary, config and lock (sed, as an admin would). */
function scriptFor(pair: CompatPair, n: CompatNode): string {
  const path = join(pair.dir, `primary-backup-${n.name}.sh`);
  copyFileSync(SCRIPT, path);
  sh(
    `sed -i -e 's|^CONNTRACKD_BIN=.*|CONNTRACKD_BIN=${pair.bin}|' -e 's|^CONNTRACKD_LOCK=.*|CONNTRACKD_LOCK=${n.lock}|' ` +
      `-e 's|^CONNTRACKD_CONFIG=.*|CONNTRACKD_CONFIG=${n.conf}|' ${path}`,
  );
  return path;
}

async function scenario(lab: Lab, impl: Impl): Promise<Snapshot> {
  const pair = createPair(lab, impl);
  const { a, b } = pair;
  const stubs = stubDir(pair.dir);
  const env = { PATH: `${stubs.path}:${process.env.PATH ?? ''}` };
  const script = { a: scriptFor(pair, a), b: scriptFor(pair, b) };
  const runScript = (n: CompatNode, arg: string): number => pair.shell(n, `sh ${script[n.name]} ${arg}`, env).code;
  const snap: Snapshot = { exit: {}, logger: [], counts: {}, kernelB: [], kernelA: [], maxTimeoutA: {}, afterCrash: { running: false, lockRemoved: false } };
  const maxTimeout = (n: CompatNode): number => Math.max(...pair.kernelRaw(n).map((e) => e.timeout));

  pair.start(a);
  pair.start(b);
  pair.insert(a, FLOWS);
  pair.insert(b, FLOWS_B);
  await pair.waitCounts(a, { internal: FLOWS.length, external: FLOWS_B.length });
  await pair.waitCounts(b, { internal: FLOWS_B.length, external: FLOWS.length });
  const all = FLOWS.length + FLOWS_B.length;

  // 1. b becomes primary.
  snap.exit.primary = runScript(b, 'primary');
  snap.kernelB = pair.kernel(b);
  await pair.waitCounts(a, { external: all });
  snap.counts.primaryB = pair.counts(b);
  snap.counts.primaryA = pair.counts(a);

  // 2. a becomes backup: timers shortened, resync requested from b.
  snap.exit.backup = runScript(a, 'backup');
  snap.maxTimeoutA.backup = maxTimeout(a);
  await pair.waitCounts(a, { external: all });
  snap.counts.backupA = pair.counts(a);
  snap.kernelA = pair.kernel(a);

  // 3. a faults.
  snap.exit.fault = runScript(a, 'fault');
  snap.maxTimeoutA.fault = maxTimeout(a);

  // 4. a's daemon died without cleaning up (stale lock, stale socket); backup restarts it.
  sh(`ip netns pids ${a.ns} | xargs -r kill -9`);
  snap.exit.sAfterCrash = pair.ctl(a, ['-s']).code;
  snap.exit.backupAfterCrash = runScript(a, 'backup');
  snap.afterCrash.running = pair.ctl(a, ['-s']).code === 0;
  await pair.waitCounts(a, { external: all });
  snap.counts.afterCrashA = { internal: -1, external: pair.counts(a).external };
  snap.afterCrash.lockRemoved = stubs.calls().some((l) => l.includes('was not cleanly stopped'));

  snap.exit.bogus = runScript(a, 'bogus');
  snap.logger = stubs.calls().map((l) => l.replace(pair.bin, 'BIN'));
  pair.stop(a);
  pair.stop(b);
  return snap;
}

describe.skipIf(!ready)('primary-backup.sh with conntrackd and with ctsyncd', () => {
  // One Lab per pair: a Lab names its veth pair once.
  const labs = { conntrackd: new Lab('cpsc'), ctsyncd: new Lab('cpss') };
  afterAll(() => {
    labs.conntrackd.cleanup();
    labs.ctsyncd.cleanup();
  });
  const snaps: Partial<Record<Impl, Snapshot>> = {};

  it('conntrackd 1.4.7 reference run', async () => {
    const s = await scenario(labs.conntrackd, 'conntrackd');
    snaps.conntrackd = s;
    expect(s.exit).toEqual({ primary: 0, backup: 0, fault: 0, sAfterCrash: 1, backupAfterCrash: 0, bogus: 1 });
  });

  it('ctsyncd run', async () => {
    expect(existsSync(CTSYNCD)).toBe(true);
    const s = await scenario(labs.ctsyncd, 'ctsyncd');
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

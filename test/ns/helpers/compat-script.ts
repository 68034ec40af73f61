/**
 * Runs Debian's keepalived notify script (conntrackd's primary-backup.sh)
 * against one implementation on a fresh pair and records what each step did
 * (see test/ns/compat-script.test.ts for the steps). Used by the FTFW test
 * and by the NOTRACK / ALARM comparison.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { sh, waitFor, type Lab } from '../../helpers/netns';
import { FLOWS, FLOWS_B, createPair, stubDir, type CompatNode, type CompatPair, type Impl, type PairOptions } from './compat-pair';

export const SCRIPT = '/usr/share/doc/conntrackd/examples/sync/primary-backup.sh';

export function haveScript(): boolean {
  return existsSync(SCRIPT);
}

export interface ScriptSnapshot {
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

export async function scriptScenario(lab: Lab, impl: Impl, opts: PairOptions = {}): Promise<ScriptSnapshot> {
  const pair = createPair(lab, impl, opts);
  const { a, b } = pair;
  const stubs = stubDir(pair.dir);
  const env = { PATH: `${stubs.path}:${process.env.PATH ?? ''}` };
  const script = { a: scriptFor(pair, a), b: scriptFor(pair, b) };
  const runScript = (n: CompatNode, arg: string): number => pair.shell(n, `sh ${script[n.name]} ${arg}`, env).code;
  const snap: ScriptSnapshot = { exit: {}, logger: [], counts: {}, kernelB: [], kernelA: [], maxTimeoutA: {}, afterCrash: { running: false, lockRemoved: false } };
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
  // ALARM: a keeps re-sending its entries every RefreshTime, so b's flushed
  // external cache fills again; compare once it has (timing aside).
  if (opts.mode === 'ALARM') await pair.waitCounts(b, { external: FLOWS.length }, 20_000);
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
  // SIGKILL is not instant: a dying daemon could still answer the script's -s.
  await waitFor(() => sh(`ip netns pids ${a.ns}`).trim() === '', 10_000, 20);
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

/**
 * The HA stack on the two lab firewalls, one of several variants:
 *   conntrackd     keepalived + conntrackd (Debian; the reference)
 *   ctsyncd        keepalived + bin/ctsyncd through its conntrackd-compatible CLI
 *   ctsyncd-vrrp   bin/ctsyncd alone, with its embedded VRRP speaker
 *                  (`ctsyncd -C conntrackd.conf --vrrp-config vrrp.conf -d`)
 *   none           keepalived alone, no state replication
 * keepalived runs in the foreground (-n -l -D) with per-run pid files; every
 * output line is kept with the time it arrived. Transition steps are timed by
 * the wrapper scripts of ha-configs.ts into <runDir>/fwN/steps.log, and for
 * ctsyncd-vrrp by the daemon's own log (<runDir>/fwN/conntrackd.log).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Lab } from './topology';
import { FW_IF } from './topology';
import { nsExec, pollUntil, sh, quote } from './shell';
import { conntrackdConf, keepalivedConf, notifyScript, patchPrimaryBackup, timedBinScript } from './ha-configs';
import {
  cacheCount, defaultCtsyncdBin, ownsBothVips, repoRoot, startEmbedded, startKeepalived, statusState,
  type KeepalivedProc, type LogLine,
} from './ha-procs';

export { repoRoot, type LogLine };

import { isEmbedded, type Variant } from './variants';

export { isEmbedded, VARIANTS, type Variant } from './variants';

export const PRIMARY_BACKUP_SH = '/usr/share/doc/conntrackd/examples/sync/primary-backup.sh';

export interface HaOptions {
  lab: Lab;
  variant: Variant;
  /** Created if missing; gets fw1/ and fw2/. */
  runDir: string;
  /** VRRP advert interval, seconds; default 0.1 (VRRPv3). */
  advertInt?: number;
  /** VRRP version; default 3 below 1 s, else 2. */
  vrrpVersion?: 2 | 3;
  /** The ctsyncd launcher; default <repo>/bin/ctsyncd. */
  ctsyncdBin?: string;
  conntrackdBin?: string;
  maxFlows?: number;
  expectations?: boolean;
  /** Deadline for the stack to settle (fw1 master with its VIPs), ms. Default 20 s. */
  settleTimeoutMs?: number;
}

export interface HaNode {
  fw: string;
  index: 0 | 1;
  dir: string;
  /** The sync daemon's config, or null for variant none. */
  config: string | null;
  /** Timed wrapper of the sync daemon binary, or null. */
  bin: string | null;
  /** keepalived's output (empty for ctsyncd-vrrp). */
  keepalivedLog: LogLine[];
  stepsLog: string;
  /** The sync daemon's own log file (LogFile of its config), or null. */
  daemonLog: string | null;
  /** The keepalived.conf given to keepalived or to ctsyncd --vrrp-config. */
  vrrpConfig: string;
}

export interface HaStack {
  readonly variant: Variant;
  readonly nodes: readonly [HaNode, HaNode];
  /** Run the sync daemon's CLI on node i with `args` (e.g. '-s'); '' on failure. */
  syncCli(i: 0 | 1, args: string): string;
  /** Entries in node i's external cache (from -s), or null when unknown. */
  externalCount(i: 0 | 1): number | null;
  /** Entries in node i's internal cache (from -s), or null when unknown. */
  internalCount(i: 0 | 1): number | null;
  /** Whether node i holds both virtual IPs. */
  ownsVips(i: 0 | 1): boolean;
  /** SIGKILL every process of node i and take its links down; returns the instant (epoch ms). */
  crash(i: 0 | 1): number;
  /** Stop everything (idempotent). */
  stop(): void;
}

function writeNode(o: HaOptions, index: 0 | 1, realBin: string): HaNode {
  const fw = o.lab.fws[index];
  const dir = path.join(o.runDir, `fw${index + 1}`);
  fs.mkdirSync(dir, { recursive: true });
  const stepsLog = path.join(dir, 'steps.log');
  fs.writeFileSync(stepsLog, '');
  let config: string | null = null;
  let bin: string | null = null;
  let primaryBackup: string | null = null;
  if (o.variant !== 'none') {
    config = path.join(dir, 'conntrackd.conf');
    fs.writeFileSync(config, conntrackdConf({
        index,
        runDir: dir,
        maxFlows: o.maxFlows,
        expectations: o.expectations,
        // ctsyncd as the whole HA stack keeps the peer's flows in the backup kernel, so it takes the VIPs first.
        externalInKernel: isEmbedded(o.variant),
        fastFailover: o.variant === 'ctsyncd-vrrp',
      }));
    bin = path.join(dir, 'syncd-timed.sh');
    fs.writeFileSync(bin, timedBinScript(realBin, stepsLog), { mode: 0o755 });
  }
  if (o.variant === 'conntrackd' || o.variant === 'ctsyncd') {
    primaryBackup = path.join(dir, 'primary-backup.sh');
    const orig = fs.readFileSync(PRIMARY_BACKUP_SH, 'utf8');
    fs.writeFileSync(primaryBackup, patchPrimaryBackup(orig, bin ?? realBin, config ?? '', path.join(dir, 'conntrackd.lock')), { mode: 0o755 });
  }
  // ctsyncd-vrrp: the daemon runs its transitions itself; notify.sh only records when they were announced.
  const notify = path.join(dir, 'notify.sh');
  fs.writeFileSync(notify, notifyScript(stepsLog, primaryBackup), { mode: 0o755 });
  const vrrpConfig = path.join(dir, isEmbedded(o.variant) ? 'vrrp.conf' : 'keepalived.conf');
  const kc = keepalivedConf({
    routerId: `fw${index + 1}`, priority: index === 0 ? 150 : 100, advertInt: o.advertInt ?? 0.1, notify,
    ...(o.vrrpVersion !== undefined ? { version: o.vrrpVersion } : {}),
  });
  fs.writeFileSync(vrrpConfig, kc);
  const daemonLog = config === null ? null : path.join(dir, 'conntrackd.log');
  return { fw, index, dir, config, bin, keepalivedLog: [], stepsLog, daemonLog, vrrpConfig };
}

export async function startHa(o: HaOptions): Promise<HaStack> {
  const { lab } = o;
  fs.mkdirSync(o.runDir, { recursive: true });
  const keepaliveds: KeepalivedProc[] = [];
  const realBin = o.variant === 'conntrackd' ? (o.conntrackdBin ?? '/usr/sbin/conntrackd') : (o.ctsyncdBin ?? defaultCtsyncdBin());
  const nodes = [writeNode(o, 0, realBin), writeNode(o, 1, realBin)] as const;
  const [n1, n2] = nodes;
  let stopped = false;

  const syncCli = (i: 0 | 1, args: string): string => {
    const n = nodes[i];
    if (!n.config) return '';
    return nsExec(n.fw, `${quote(realBin)} -C ${quote(n.config)} ${args}`, { allowFail: true, timeoutMs: 60_000 });
  };
  const ownsVips = (i: 0 | 1): boolean => ownsBothVips(lab.fws[i]);
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const k of keepaliveds) k.kill();
    for (const n of nodes) {
      // Everything left in the firewall namespaces is ours (daemons, notify scripts).
      sh(`ip netns pids ${n.fw} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
    }
  };

  try {
    if (isEmbedded(o.variant)) {
      // fw1 first: it wins the election whichever starts first (priority 150), this only avoids a preemption.
      for (const n of nodes) {
        await startEmbedded({ fw: n.fw, bin: realBin, config: n.config ?? '', vrrpConfig: n.vrrpConfig });
      }
    } else {
      if (o.variant !== 'none') {
        for (const n of nodes) {
          const out = nsExec(n.fw, `${quote(realBin)} -C ${quote(n.config ?? '')} -d 2>&1`, { allowFail: true, timeoutMs: 30_000 });
          const up = await pollUntil(() => syncCli(n.index, '-s').includes('cache'), 10_000, 50);
          if (!up) throw new Error(`${o.variant} did not start on fw${n.index + 1}: ${out.trim()}`);
        }
      }
      for (const n of nodes) keepaliveds.push(startKeepalived(n.fw, n.dir, n.vrrpConfig, n.keepalivedLog));
    }
    // Settled = fw1 alone holds the addresses, for longer than fw2's master-down interval
    // (at start-up both are BACKUP and fw2 may win the first election before fw1 preempts).
    const stableMs = Math.max(1000, 4000 * (o.advertInt ?? 0.1));
    let okSince: number | null = null;
    const settled = await pollUntil(() => {
      const ok =
        ownsVips(0) && !ownsVips(1) && fs.readFileSync(n2.stepsLog, 'utf8').includes('notify-end backup') &&
        // The embedded daemon: its own view must agree (status answers MASTER / BACKUP).
        (!isEmbedded(o.variant) || (statusState(syncCli(0, 'status')) === 'MASTER' && statusState(syncCli(1, 'status')) === 'BACKUP'));
      if (!ok) okSince = null;
      else okSince ??= Date.now();
      return okSince !== null && Date.now() - okSince >= stableMs;
    }, o.settleTimeoutMs ?? 20_000 + stableMs, 50);
    if (!settled) {
      const tail = isEmbedded(o.variant)
        ? `${syncCli(0, 'status')}\n${syncCli(1, 'status')}`
        : n1.keepalivedLog.slice(-10).map((l) => l.line).join('\n');
      throw new Error(`HA stack did not settle (fw1 master, fw2 backup):\n${tail}`);
    }
  } catch (e) {
    stop();
    throw e;
  }

  return {
    variant: o.variant,
    nodes,
    syncCli,
    externalCount: (i) => cacheCount(syncCli(i, '-s'), 'external'),
    internalCount: (i) => cacheCount(syncCli(i, '-s'), 'internal'),
    ownsVips,
    crash: (i) => {
      const n = nodes[i];
      const t = Date.now();
      keepaliveds[i]?.kill();
      sh(`ip netns pids ${n.fw} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
      for (const ifn of [FW_IF.lan, FW_IF.wan, FW_IF.sync]) sh(`ip -n ${n.fw} link set ${ifn} down`, { allowFail: true });
      return t;
    },
    stop,
  };
}

/** Whether `bin -C conf -d` starts a working daemon in namespace fw (it is stopped again). */
export async function probeSyncDaemon(lab: Lab, bin: string, runDir: string): Promise<boolean> {
  const dir = path.join(runDir, 'probe');
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'conntrackd.conf');
  fs.writeFileSync(conf, conntrackdConf({ index: 0, runDir: dir }));
  const fw = lab.fws[0];
  try {
    nsExec(fw, `${quote(bin)} -C ${quote(conf)} -d`, { timeoutMs: 20_000 });
    const ok = await pollUntil(() => nsExec(fw, `${quote(bin)} -C ${quote(conf)} -s`, { allowFail: true }).includes('cache'), 5_000, 50);
    return ok === true;
  } catch {
    return false;
  } finally {
    nsExec(fw, `${quote(bin)} -C ${quote(conf)} -k`, { allowFail: true, timeoutMs: 10_000 });
    sh(`ip netns pids ${fw} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether ctsyncd with its embedded VRRP works in namespace fw1 of `lab`:
 * `bin -C conf --vrrp-config vrrp.conf -d` starts, and alone on the segment
 * it becomes MASTER and takes both virtual addresses (it is stopped again).
 */
export async function probeEmbeddedVrrp(lab: Lab, bin: string, runDir: string): Promise<boolean> {
  const dir = path.join(runDir, 'probe-vrrp');
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'conntrackd.conf');
  const vrrp = path.join(dir, 'vrrp.conf');
  fs.writeFileSync(conf, conntrackdConf({ index: 0, runDir: dir }));
  fs.writeFileSync(vrrp, keepalivedConf({ routerId: 'probe', priority: 150, advertInt: 0.1 }));
  const fw = lab.fws[0];
  try {
    const d = await startEmbedded({ fw, bin, config: conf, vrrpConfig: vrrp, startTimeoutMs: 10_000 });
    const ok = await pollUntil(() => d.state() === 'MASTER' && ownsBothVips(fw), 5_000, 50);
    await d.stop();
    return ok === true;
  } catch {
    return false;
  } finally {
    sh(`ip netns pids ${fw} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

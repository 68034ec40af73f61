/**
 * The HA stack on the two lab firewalls, one of several variants:
 *   conntrackd   keepalived + conntrackd (Debian; the reference)
 *   ctsyncd      keepalived + bin/ctsyncd through its conntrackd-compatible CLI
 *   none         keepalived alone, no state replication
 * (ctsyncd with its embedded VRRP speaker is not wired yet: startHa rejects it.)
 * keepalived runs in the foreground (-n -l -D) with per-run pid files; every
 * output line is kept with the time it arrived. Transition steps are timed by
 * the wrapper scripts of ha-configs.ts into <runDir>/fwN/steps.log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lab } from './topology';
import { LAB_NET, FW_IF } from './topology';
import { nsExec, nsSpawn, killGroup, pollUntil, sh, quote } from './shell';
import { conntrackdConf, keepalivedConf, notifyScript, patchPrimaryBackup, timedBinScript } from './ha-configs';

export type Variant = 'conntrackd' | 'ctsyncd' | 'ctsyncd-vrrp' | 'none';

export const PRIMARY_BACKUP_SH = '/usr/share/doc/conntrackd/examples/sync/primary-backup.sh';

export interface HaOptions {
  lab: Lab;
  variant: Variant;
  /** Created if missing; gets fw1/ and fw2/. */
  runDir: string;
  /** VRRP advert interval, seconds; default 0.1 (VRRPv3). */
  advertInt?: number;
  /** The ctsyncd launcher; default <repo>/bin/ctsyncd. */
  ctsyncdBin?: string;
  conntrackdBin?: string;
  maxFlows?: number;
  expectations?: boolean;
  /** Deadline for the stack to settle (fw1 master with its VIPs), ms. Default 20 s. */
  settleTimeoutMs?: number;
}

export interface LogLine {
  t: number;
  line: string;
}

export interface HaNode {
  fw: string;
  index: 0 | 1;
  dir: string;
  /** The sync daemon's config, or null for variant none. */
  config: string | null;
  /** Timed wrapper of the sync daemon binary, or null. */
  bin: string | null;
  keepalivedLog: LogLine[];
  stepsLog: string;
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

export function repoRoot(): string {
  // dist/lab or src/lab -> repository root
  return path.resolve(__dirname, '..', '..');
}

function cacheCount(stats: string, which: 'internal' | 'external'): number | null {
  const at = stats.indexOf(`cache ${which}:`);
  if (at < 0) return null;
  const m = /current active connections:\s*(\d+)/.exec(stats.slice(at));
  return m && m[1] !== undefined ? Number(m[1]) : null;
}

function startKeepalived(fw: string, dir: string, conf: string, log: LogLine[]): ChildProcess {
  // stdbuf: keepalived's console log must arrive line by line (lines are timed on arrival).
  const child = nsSpawn(fw, [
    'stdbuf', '-oL', '-eL', 'keepalived', '-n', '-l', '-D', '-P', '-f', conf,
    '-p', path.join(dir, 'keepalived.pid'), '-r', path.join(dir, 'vrrp.pid'), '-c', path.join(dir, 'checkers.pid'),
  ]);
  for (const s of [child.stdout, child.stderr]) {
    if (s) createInterface({ input: s }).on('line', (line) => log.push({ t: Date.now(), line }));
  }
  return child;
}

export async function startHa(o: HaOptions): Promise<HaStack> {
  if (o.variant === 'ctsyncd-vrrp') throw new Error('variant ctsyncd-vrrp (embedded VRRP) is not available yet');
  const { lab } = o;
  const advert = o.advertInt ?? 0.1;
  fs.mkdirSync(o.runDir, { recursive: true });
  const keepaliveds: ChildProcess[] = [];
  const nodes: HaNode[] = [];
  const realBin =
    o.variant === 'ctsyncd' ? (o.ctsyncdBin ?? path.join(repoRoot(), 'bin', 'ctsyncd')) : (o.conntrackdBin ?? '/usr/sbin/conntrackd');
  let stopped = false;

  for (const index of [0, 1] as const) {
    const fw = lab.fws[index];
    const dir = path.join(o.runDir, `fw${index + 1}`);
    fs.mkdirSync(dir, { recursive: true });
    const stepsLog = path.join(dir, 'steps.log');
    fs.writeFileSync(stepsLog, '');
    let config: string | null = null;
    let bin: string | null = null;
    let primaryBackup: string | null = null;
    if (o.variant !== 'none') {
      config = path.join(dir, 'conntrackd.conf');
      fs.writeFileSync(config, conntrackdConf({ index, runDir: dir, maxFlows: o.maxFlows, expectations: o.expectations }));
      bin = path.join(dir, 'syncd-timed.sh');
      fs.writeFileSync(bin, timedBinScript(realBin, stepsLog), { mode: 0o755 });
      primaryBackup = path.join(dir, 'primary-backup.sh');
      const orig = fs.readFileSync(PRIMARY_BACKUP_SH, 'utf8');
      fs.writeFileSync(primaryBackup, patchPrimaryBackup(orig, bin, config, path.join(dir, 'conntrackd.lock')), { mode: 0o755 });
    }
    const notify = path.join(dir, 'notify.sh');
    fs.writeFileSync(notify, notifyScript(stepsLog, primaryBackup), { mode: 0o755 });
    const kconf = path.join(dir, 'keepalived.conf');
    fs.writeFileSync(kconf, keepalivedConf({ routerId: `fw${index + 1}`, priority: index === 0 ? 150 : 100, advertInt: advert, notify }));
    nodes.push({ fw, index, dir, config, bin, keepalivedLog: [], stepsLog });
  }
  const [n1, n2] = nodes as [HaNode, HaNode];

  const syncCli = (i: 0 | 1, args: string): string => {
    const n = i === 0 ? n1 : n2;
    if (!n.config) return '';
    return nsExec(n.fw, `${quote(realBin)} -C ${quote(n.config)} ${args}`, { allowFail: true, timeoutMs: 60_000 });
  };
  const ownsVips = (i: 0 | 1): boolean => {
    const fw = lab.fws[i];
    const a = sh(`ip -n ${fw} -4 -o addr show`, { allowFail: true });
    return a.includes(`${LAB_NET.lanVip}/`) && a.includes(`${LAB_NET.wanVip}/`);
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const k of keepaliveds) killGroup(k);
    for (const n of nodes) {
      // Everything left in the firewall namespaces is ours (daemons, notify scripts).
      sh(`ip netns pids ${n.fw} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
    }
  };

  try {
    if (o.variant !== 'none') {
      for (const n of nodes) {
        const out = nsExec(n.fw, `${quote(realBin)} -C ${quote(n.config ?? '')} -d 2>&1`, { allowFail: true, timeoutMs: 30_000 });
        const up = await pollUntil(() => syncCli(n.index, '-s').includes('cache'), 10_000, 50);
        if (!up) throw new Error(`${o.variant} did not start on fw${n.index + 1}: ${out.trim()}`);
      }
    }
    for (const n of nodes) keepaliveds.push(startKeepalived(n.fw, n.dir, path.join(n.dir, 'keepalived.conf'), n.keepalivedLog));
    const settled = await pollUntil(
      () => ownsVips(0) && !ownsVips(1) && fs.readFileSync(n2.stepsLog, 'utf8').includes('notify-end backup'),
      o.settleTimeoutMs ?? 20_000,
      50,
    );
    if (!settled) {
      const tail = n1.keepalivedLog.slice(-10).map((l) => l.line).join('\n');
      throw new Error(`HA stack did not settle (fw1 master, fw2 backup):\n${tail}`);
    }
  } catch (e) {
    stop();
    throw e;
  }

  return {
    variant: o.variant,
    nodes: [n1, n2],
    syncCli,
    externalCount: (i) => cacheCount(syncCli(i, '-s'), 'external'),
    internalCount: (i) => cacheCount(syncCli(i, '-s'), 'internal'),
    ownsVips,
    crash: (i) => {
      const n = i === 0 ? n1 : n2;
      const t = Date.now();
      const k = keepaliveds[i];
      if (k) killGroup(k);
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

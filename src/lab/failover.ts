/**
 * The failover scenario: build the lab, start an HA variant on fw1/fw2,
 * fill fw1's table with background flows, run TCP streams through the
 * master, crash it (SIGKILL of its daemons and its links down), observe,
 * and return what happened. Always tears everything down.
 */
import { raiseConntrackLimits } from '../daemon/sysctl';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLab, LAB_NET, type Lab } from './topology';
import { isEmbedded, startHa, type HaStack, type Variant } from './ha-stack';
import { startStreams, fillFlows, type StreamRun } from './streams';
import { analyzeStreams, type StreamRecord, type StreamVerdict } from './stream-stats';
import { parseCtsyncdLog, parseKeepalived, parseStepsLog, type StepMark } from './steps';
import { INVALID_COUNTER_CMD, parseCounterPackets } from './ruleset';
import { delay, pollUntil } from './shell';
import { vipsOf } from './ha-procs';
import { ftpBeforeCrash, ftpFinish, type FtpOutcome, type FtpRunning, type FtpScenario } from './ftp-failover';
import type { Logger } from '../util/log';

export interface FailoverOptions {
  prefix: string;
  seq?: number;
  variant: Variant;
  runDir: string;
  logger: Logger;
  streams?: number;
  /** Background flows created in fw1's table; default 0. */
  flows?: number;
  /** Streams run this long before the crash, ms; default 2000. */
  warmupMs?: number;
  /** Observation after the crash, ms; default 5000. */
  observeMs?: number;
  advertInt?: number;
  /** VRRP version; default 3 below 1 s advert interval, else 2. */
  vrrpVersion?: 2 | 3;
  agentPath?: string;
  ctsyncdBin?: string;
  /** How long to wait for fw2 to hold every flow before the crash, ms; default 60 s. */
  syncTimeoutMs?: number;
  ftpHelper?: boolean;
  /**
   * An FTP session through the firewalls alongside the streams (ftp-failover.ts):
   * implies `ftpHelper` and ExpectationSync. Default off.
   */
  ftp?: boolean | FtpScenario;
}

export interface FailoverResult {
  variant: Variant;
  startAt: number;
  crashAt: number;
  endAt: number;
  records: StreamRecord[];
  verdicts: StreamVerdict[];
  steps: StepMark[];
  survived: number;
  broken: number;
  flowsCreated: number;
  /** fw2's external cache size just before the crash (null: no replication / unknown). */
  replicatedBeforeCrash: number | null;
  /** Forwarded packets fw2 dropped as INVALID after the crash. */
  fw2InvalidDrops: number | null;
  /** VRRP advert interval of the run, seconds. */
  advertInt: number;
  /** `ctsyncd status` on fw2 at the end (ctsyncd-vrrp: the transition with its step timings), else null. */
  fw2Status: string | null;
  /**
   * fw2 became MASTER (or held a virtual address) between the settle and the crash:
   * a false failover, e.g. the master's adverts were late. The run then measures that, not the crash.
   */
  fw2MasterBeforeCrash: boolean;
  /** The FTP session of the run (only with the `ftp` option). */
  ftp?: FtpOutcome;
}

export async function runFailover(o: FailoverOptions): Promise<FailoverResult> {
  const log = o.logger;
  const nStreams = o.streams ?? 10;
  let lab: Lab | null = null;
  let ha: HaStack | null = null;
  let run: StreamRun | null = null;
  let ftp: FtpRunning | null = null;
  const ftpOpts: FtpScenario | null = o.ftp === true ? {} : o.ftp ? o.ftp : null;
  const ftpHelper = o.ftpHelper === true || ftpOpts !== null;
  // nf_conntrack_max is one value for every namespace: fw1 holds the background
  // flows plus the streams, fw2 the same after its commit. Raised for the run (with
  // the hash buckets, as an administrator sizes them), restored after.
  const restoreMax = raiseConntrackLimits((o.flows ?? 0) + 100_000);
  try {
    lab = createLab({ prefix: o.prefix, seq: o.seq ?? 0, ftpHelper });
    log.info({ variant: o.variant, tag: lab.tag }, 'lab built');
    ha = await startHa({
      lab, variant: o.variant, runDir: o.runDir, advertInt: o.advertInt, ctsyncdBin: o.ctsyncdBin,
      maxFlows: o.flows, expectations: ftpHelper, ...(o.vrrpVersion !== undefined ? { vrrpVersion: o.vrrpVersion } : {}),
    });
    log.info('HA stack settled: fw1 master, fw2 backup');
    const settledAt = Date.now();
    let flowsCreated = 0;
    if ((o.flows ?? 0) > 0) {
      const f = await fillFlows(lab.ns.fw1, o.flows ?? 0, log);
      flowsCreated = f.created;
      log.info({ created: f.created, failed: f.failed, ms: f.ms }, 'background flows created on fw1');
    }
    const startAt = Date.now();
    run = await startStreams({
      clientNs: lab.ns.client, serverNs: lab.ns.server, serverAddr: LAB_NET.server, streams: nStreams, agentPath: o.agentPath,
    });
    let replicated: number | null = null;
    if (o.variant !== 'none') {
      const h = ha;
      const want = flowsCreated + nStreams;
      // Everything created, or everything fw1 still holds (background flows whose
      // timeout ran out during a long fill are gone from both).
      const got = await pollUntil(() => {
        const n = h.externalCount(1);
        if (n === null) return null;
        if (n >= want) return n;
        const held = h.internalCount(0);
        return held !== null && held >= nStreams && n >= held ? n : null;
      }, o.syncTimeoutMs ?? 60_000, 200);
      replicated = got ?? h.externalCount(1);
      log.info({ want, replicated }, 'replication before the crash');
    }
    if (ftpOpts) {
      // The first file runs from here to about the middle of the observation.
      ftp = await ftpBeforeCrash(lab, ha, ftpOpts, (o.warmupMs ?? 2000) + (o.observeMs ?? 5000) / 2);
      log.info({ port: ftp.dataPort, fw2: ftp.replication }, 'ftp transfer running');
    }
    await delay(o.warmupMs ?? 2000);
    const invalidBefore = parseCounterPackets(lab.exec(lab.ns.fw2, INVALID_COUNTER_CMD, true)) ?? 0;
    const fw2VipBefore = ((v) => v.lan || v.wan)(vipsOf(lab.fws[1]));
    const crashAt = ha.crash(0);
    log.info('fw1 crashed (SIGKILL, links down)');
    const h = ha;
    await pollUntil(() => h.ownsVips(1), 10_000, 20);
    ftp?.session.go();
    await delay(Math.max(0, crashAt + (o.observeMs ?? 5000) - Date.now()));
    const endAt = Date.now();
    const records = await run.stop();
    const ftpOutcome = ftp ? await ftpFinish(lab, ftp, ftpOpts ?? {}, crashAt, endAt) : null;
    const invalidAfter = parseCounterPackets(lab.exec(lab.ns.fw2, INVALID_COUNTER_CMD, true));
    const verdicts = analyzeStreams(records, { at: crashAt, end: endAt });
    const fw2 = ha.nodes[1];
    const embedded = isEmbedded(o.variant);
    const fw2Status = embedded ? ha.syncCli(1, 'status') : null;
    // The daemon writes its log asynchronously: wait (bounded) for the MASTER transition's last line.
    const daemonLog = (): string => (fw2.daemonLog !== null && fs.existsSync(fw2.daemonLog) ? fs.readFileSync(fw2.daemonLog, 'utf8') : '');
    if (embedded) await pollUntil(() => parseCtsyncdLog(daemonLog(), 'fw2', crashAt).some((m) => m.label.endsWith('VIPs added')), 3000, 50);
    const steps: StepMark[] = [
      ...parseKeepalived(fw2.keepalivedLog, 'fw2', crashAt),
      ...parseStepsLog(fs.readFileSync(fw2.stepsLog, 'utf8'), 'fw2', crashAt),
      ...(embedded ? parseCtsyncdLog(daemonLog(), 'fw2', crashAt) : []),
    ];
    const resumed = verdicts.filter((v) => v.stallTo !== null && v.stallFrom !== null && v.stallTo > crashAt);
    if (resumed.length > 0) {
      steps.push({ t: Math.min(...resumed.map((v) => v.stallTo ?? Infinity)), node: 'streams', label: 'first stream resumes' });
      if (resumed.length === verdicts.length) {
        steps.push({ t: Math.max(...resumed.map((v) => v.stallTo ?? 0)), node: 'streams', label: 'all streams resumed' });
      }
    }
    steps.sort((a, b) => a.t - b.t);
    const before = [
      ...parseKeepalived(fw2.keepalivedLog, 'fw2', settledAt),
      ...(embedded ? parseCtsyncdLog(daemonLog(), 'fw2', settledAt) : []),
    ].filter((m) => m.t < crashAt && /^VRRP \w+ MASTER$/.test(m.label));
    const fw2MasterBeforeCrash = fw2VipBefore || before.length > 0;
    if (fw2MasterBeforeCrash) log.warn({ at: before.map((m) => m.t - crashAt) }, 'fw2 was MASTER before the crash (false failover)');
    const result: FailoverResult = {
      variant: o.variant,
      startAt,
      crashAt,
      endAt,
      records,
      verdicts,
      steps,
      survived: verdicts.filter((v) => v.survived).length,
      broken: verdicts.filter((v) => v.broken).length,
      flowsCreated,
      replicatedBeforeCrash: replicated,
      fw2InvalidDrops: invalidAfter === null ? null : invalidAfter - invalidBefore,
      advertInt: o.advertInt ?? 0.1,
      fw2Status,
      fw2MasterBeforeCrash,
      ...(ftpOutcome ? { ftp: ftpOutcome } : {}),
    };
    fs.mkdirSync(o.runDir, { recursive: true });
    fs.writeFileSync(path.join(o.runDir, 'result.json'), JSON.stringify(result));
    return result;
  } finally {
    run?.kill();
    ftp?.session.kill();
    ha?.stop();
    lab?.destroy();
    restoreMax();
  }
}

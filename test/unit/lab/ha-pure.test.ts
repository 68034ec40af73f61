import { describe, it, expect } from 'vitest';
import { parseCtsyncdLog } from '../../../src/lab/steps';
import { summarize, formatSummary } from '../../../src/lab/summary';
import { keepalivedConf } from '../../../src/lab/ha-configs';
import { cacheCount, statusState } from '../../../src/lab/ha-procs';
import { failoverRows, failoverOptionsFromEnv, failoverSummaryRows } from '../../../src/bench/failover';
import type { FailoverResult } from '../../../src/lab/failover';

const T = 1_000_000;
const line = (dt: number, o: Record<string, unknown>): string =>
  JSON.stringify({ level: 30, time: T + dt, pid: 1, hostname: 'h', name: 'ctsyncd', ...o });

/** The log of a MASTER transition as ctsyncd writes it (src/ha/vrrp/speaker.ts, src/daemon/transitions.ts). */
const LOG = [
  line(-500, { vrrp: 'LAN', to: 'BACKUP', from: 'INIT', reason: 'startup', msg: 'LAN: INIT -> BACKUP' }),
  line(300, { vrrp: 'LAN', from: 'BACKUP', to: 'MASTER', reason: 'master down timer expired', msg: 'LAN: BACKUP -> MASTER' }),
  line(301, { vrrp: 'WAN', from: 'BACKUP', to: 'MASTER', reason: 'sync group master', msg: 'WAN: BACKUP -> MASTER' }),
  line(600, { committed: 3004, failed: 0, seconds: 0.3, msg: 'commit done' }),
  line(601, { step: 'commit', ms: 300, msg: 'transition step done' }),
  line(700, { step: 'resync-kernel', ms: 90, msg: 'transition step done' }),
  line(701, { step: 'bulk-send', ms: 1, msg: 'transition step failed' }),
  line(702, { vrrp: 'WAN', to: 'MASTER', steps: { beforeMaster: 300, addVips: 8, afterMaster: 92 }, msg: 'transition steps done' }),
  line(705, { vrrp: 'LAN', to: 'MASTER', steps: { beforeMaster: 300, addVips: 100, afterMaster: 0 }, msg: 'transition steps done' }),
  '{"torn line',
  'not json',
].join('\n');

describe('ctsyncd log steps', () => {
  it('gives detection, commit, each step and when each instance took its addresses', () => {
    const marks = parseCtsyncdLog(LOG, 'fw2', T);
    expect(marks.map((m) => [m.t - T, m.label])).toEqual([
      [300, 'VRRP advert timeout'],
      [300, 'VRRP LAN MASTER'],
      [301, 'VRRP WAN MASTER'],
      [600, 'commit: 3004 entries'],
      [601, 'commit done (300 ms)'],
      [700, 'resync-kernel done (90 ms)'],
      [701, 'bulk-send FAILED'],
      [610, 'VRRP WAN VIPs added'],
      [705, 'VRRP LAN VIPs added'],
    ]);
    expect(marks.every((m) => m.node === 'fw2')).toBe(true);
  });

  it('ignores lines before `since` and a BACKUP -> MASTER by preemption is no advert timeout', () => {
    const log = line(10, { vrrp: 'LAN', from: 'BACKUP', to: 'MASTER', reason: 'higher priority', msg: 'LAN: BACKUP -> MASTER' });
    expect(parseCtsyncdLog(`${LOG}\n${log}`, 'x', T + 650).map((m) => m.label)).toEqual([
      'resync-kernel done (90 ms)', 'bulk-send FAILED', 'VRRP WAN VIPs added', 'VRRP LAN VIPs added',
    ]);
    expect(parseCtsyncdLog(log, 'x', 0).map((m) => m.label)).toEqual(['VRRP LAN MASTER']);
  });
});

function result(variant: FailoverResult['variant'], steps: Array<[number, string, string?]>, stalls: number[], broken = 0): FailoverResult {
  return {
    variant, startAt: T - 3000, crashAt: T, endAt: T + 5000, records: [],
    verdicts: stalls.map((s, id) => ({ id, bytes: 1, broken: id < broken, reason: null, stallMs: s, stallFrom: T, stallTo: s > 4000 ? null : T + s, bytesAfter: 1, survived: s <= 4000 && id >= broken })),
    steps: steps.map(([dt, label, node]) => ({ t: T + dt, label, node: node ?? 'fw2' })),
    survived: 0, broken, flowsCreated: 0, replicatedBeforeCrash: null, fw2InvalidDrops: null, advertInt: 0.1, fw2Status: null, fw2MasterBeforeCrash: false,
  };
}

describe('failover summary', () => {
  it('embedded: detection, commit done, the later of the two address moves, resumes, longest stall', () => {
    const r = result('ctsyncd-vrrp', [
      [300, 'VRRP advert timeout'], [300, 'VRRP LAN MASTER'], [601, 'commit done (300 ms)'],
      [610, 'VRRP WAN VIPs added'], [705, 'VRRP LAN VIPs added'], [1400, 'first stream resumes', 'streams'], [1450, 'all streams resumed', 'streams'],
    ], [1400, 1450]);
    const s = summarize(r);
    expect(s).toEqual({ maxStallMs: 1450, broken: 0, hung: 0, detectMs: 300, commitDoneMs: 601, kernelReadyMs: null, vipsMs: 705, firstResumeMs: 1400, allResumedMs: 1450 });
    expect(formatSummary(s)).toBe('detect +300 ms, commit done +601 ms, VIPs +705 ms, first stream +1400 ms, all +1450 ms; longest stall 1450 ms, 0 broken, 0 hung');
  });

  it('keepalived variants: addresses move on entering MASTER, commit is the -c step; hung and broken are counted', () => {
    const r = result('conntrackd', [
      [361, 'VRRP advert timeout'], [362, 'VRRP WAN MASTER'], [420, 'VRRP LAN MASTER'], [480, 'commit external cache (-c) done'],
    ], [5000, 600, 700], 1);
    const s = summarize(r);
    expect([s.detectMs, s.vipsMs, s.commitDoneMs, s.firstResumeMs, s.hung, s.broken, s.maxStallMs]).toEqual([361, 420, 480, null, 0, 1, 5000]);
    expect(summarize(result('none', [], [5000])).hung).toBe(1);
  });
});

describe('HA configs and CLI output', () => {
  it('keepalivedConf: version override, v2 refuses a sub-second or fractional advert', () => {
    expect(keepalivedConf({ routerId: 'a', priority: 100, advertInt: 1, version: 3 })).toContain('vrrp_version 3');
    expect(keepalivedConf({ routerId: 'a', priority: 100, advertInt: 1 })).toContain('vrrp_version 2');
    expect(keepalivedConf({ routerId: 'a', priority: 100, advertInt: 0.1 })).toMatch(/vrrp_version 3[\s\S]*advert_int 0\.1/);
    expect(() => keepalivedConf({ routerId: 'a', priority: 100, advertInt: 0.5, version: 2 })).toThrow(/whole advert_int/);
  });

  it('status state and -s cache counts', () => {
    expect(statusState('ctsyncd 0.1.0 (pid 5), up 0 min\nstate:    MASTER\nmode:     FTFW\n')).toBe('MASTER');
    expect(statusState('')).toBeNull();
    const s = 'cache internal:\ncurrent active connections:       12\ncache external:\ncurrent active connections:      3004\n';
    expect(cacheCount(s, 'internal')).toBe(12);
    expect(cacheCount(s, 'external')).toBe(3004);
    expect(cacheCount('nothing', 'external')).toBeNull();
  });
});

describe('failover bench rows', () => {
  it('stall ratio against keepalived + conntrackd in the same cell; failed runs keep their error', () => {
    const ref = result('conntrackd', [], [700]);
    const ours = result('ctsyncd-vrrp', [], [1400]);
    const rows = failoverRows([
      { flows: 0, advert: 0.1, variant: 'ctsyncd-vrrp', result: ours, summary: summarize(ours) },
      { flows: 0, advert: 0.1, variant: 'conntrackd', result: ref, summary: summarize(ref) },
      { flows: 0, advert: 1, variant: 'ctsyncd', error: 'did not settle' },
    ]);
    expect(rows[0]).toMatchObject({ stack: 'ctsyncd-vrrp', stall_ms: 1400, stall_ratio: 2, broken: 0, early_master: 'no' });
    expect(rows[1]).toMatchObject({ stack: 'conntrackd', stall_ratio: 1 });
    expect(rows[2]).toEqual({ flows: 0, advert_s: 1, stack: 'ctsyncd', error: 'did not settle' });
  });

  it('several runs per cell: ratios against the reference of the same run, a median/min/max row per cell', () => {
    const cells = [700, 900, 800].flatMap((refStall, i) => {
      const ref = result('conntrackd', [], [refStall]);
      const ours = result('ctsyncd-vrrp', [], [[100, 300, 200][i] ?? 0]);
      return [
        { flows: 0, advert: 0.1, variant: 'ctsyncd-vrrp' as const, run: i + 1, result: ours, summary: summarize(ours) },
        { flows: 0, advert: 0.1, variant: 'conntrackd' as const, run: i + 1, result: ref, summary: summarize(ref) },
      ];
    });
    const rows = failoverRows(cells);
    expect(rows.map((r) => [r.run, r.stack, r.stall_ratio])).toEqual([
      [1, 'ctsyncd-vrrp', 0.14],
      [1, 'conntrackd', 1],
      [2, 'ctsyncd-vrrp', 0.33],
      [2, 'conntrackd', 1],
      [3, 'ctsyncd-vrrp', 0.25],
      [3, 'conntrackd', 1],
    ]);
    expect(failoverSummaryRows(cells)).toEqual([
      { flows: 0, advert_s: 0.1, stack: 'ctsyncd-vrrp', run: 'median of 3/3', stall_ms: 200, stall_min_ms: 100, stall_max_ms: 300, broken: 0, early_master: 'no' },
      { flows: 0, advert_s: 0.1, stack: 'conntrackd', run: 'median of 3/3', stall_ms: 800, stall_min_ms: 700, stall_max_ms: 900, broken: 0, early_master: 'no' },
    ]);
    expect(failoverSummaryRows(cells.slice(0, 2))).toEqual([]);
    expect(failoverOptionsFromEnv({ CTSYNC_BENCH_FO_RUNS: '3' }).runs).toBe(3);
    expect(failoverOptionsFromEnv({}).runs).toBe(1);
  });

  it('options from the environment are validated', () => {
    expect(failoverOptionsFromEnv({})).toMatchObject({ flows: [0, 100_000], adverts: [1, 0.1], variants: ['ctsyncd-vrrp', 'ctsyncd-vrrp-rfc', 'conntrackd', 'ctsyncd'], streams: 50 });
    expect(failoverOptionsFromEnv({ CTSYNC_BENCH_FO_FLOWS: '0, 1000000', CTSYNC_BENCH_FO_VARIANTS: 'none' })).toMatchObject({ flows: [0, 1_000_000], variants: ['none'] });
    expect(() => failoverOptionsFromEnv({ CTSYNC_BENCH_FO_VARIANTS: 'vrrpd' })).toThrow(/unknown 'vrrpd'/);
    expect(() => failoverOptionsFromEnv({ CTSYNC_BENCH_FO_ADVERTS: '0' })).toThrow(/outside/);
    expect(() => failoverOptionsFromEnv({ CTSYNC_BENCH_FO_FLOWS: 'x' })).toThrow(/not a number/);
  });
});

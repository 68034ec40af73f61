/**
 * The stock Pacemaker agent ocf:heartbeat:conntrackd, run action by action
 * with the environment Pacemaker gives it (OCF_ROOT, OCF_RESOURCE_INSTANCE,
 * OCF_RESKEY_binary/config, CRM meta attributes, notify variables), once with
 * binary=conntrackd and once with binary=ctsyncd, on identical namespace
 * pairs. crm_master (called through $HA_SBIN_DIR) is a stub that records its
 * arguments. Exit codes, crm_master calls, cache counts and the kernel table
 * must be the same; then ocf-tester must pass for both.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot } from '../helpers/netns';
import { CTSYNCD, ctsyncdBuilt, FLOWS, FLOWS_B, createPair, run, stubDir, type CompatPair, type Impl } from './helpers/compat-pair';

const AGENT = '/usr/lib/ocf/resource.d/heartbeat/conntrackd';
const ready = isRoot() && have('conntrackd') && have('conntrack') && have('ocf-tester') && ctsyncdBuilt();

/** OCF exit codes (ocf-returncodes). */
const OCF_SUCCESS = 0;
const OCF_NOT_RUNNING = 7;
const OCF_RUNNING_MASTER = 8;

interface Snapshot {
  codes: Array<[string, number]>;
  crm: string[];
  counts: Record<string, { internal: number; external: number }>;
  kernelAfterPromote: unknown[];
  afterStop: { processes: string; socket: boolean; lock: boolean };
  tester: { code: number; stdout: string };
}

function ocfEnv(pair: CompatPair, stubs: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const rsc = join(pair.dir, 'rsctmp');
  mkdirSync(rsc, { recursive: true });
  return {
    OCF_ROOT: '/usr/lib/ocf',
    OCF_RESOURCE_INSTANCE: 'ct:0',
    OCF_RESKEY_binary: pair.bin,
    OCF_RESKEY_config: pair.a.conf,
    OCF_RESKEY_CRM_meta_master_max: '1',
    OCF_RESKEY_CRM_meta_master_node_max: '1',
    OCF_RESKEY_CRM_meta_clone_node_max: '1',
    OCF_RESKEY_CRM_meta_notify: 'true',
    OCF_RESKEY_CRM_meta_timeout: '30000',
    OCF_RESKEY_CRM_meta_interval: '0',
    HA_SBIN_DIR: stubs,
    HA_RSCTMP: rsc,
    PATH: `${stubs}:${process.env.PATH ?? ''}`,
    ...extra,
  };
}

async function scenario(lab: Lab, impl: Impl): Promise<Snapshot> {
  const pair = createPair(lab, impl);
  const { a, b } = pair;
  const stubs = stubDir(pair.dir);
  const snap: Snapshot = { codes: [], crm: [], counts: {}, kernelAfterPromote: [], afterStop: { processes: '', socket: true, lock: true }, tester: { code: -1, stdout: '' } };
  const agent = (action: string, extra: NodeJS.ProcessEnv = {}): number => {
    const r = run(['ip', 'netns', 'exec', a.ns, AGENT, action], ocfEnv(pair, stubs.path, extra), 60_000);
    snap.codes.push([`${action}${extra.OCF_RESKEY_CRM_meta_notify_type ? `:${extra.OCF_RESKEY_CRM_meta_notify_type}` : ''}${extra.OCF_RESKEY_CRM_meta_interval ? `@${extra.OCF_RESKEY_CRM_meta_interval}` : ''}`, r.code]);
    return r.code;
  };
  const recurring = { OCF_RESKEY_CRM_meta_interval: '10000' };

  // b is the current master with its own flows; a's kernel has older flows.
  pair.start(b);
  pair.insert(b, FLOWS_B);
  pair.insert(a, FLOWS);
  await pair.waitCounts(b, { internal: FLOWS_B.length });
  const all = FLOWS.length + FLOWS_B.length;

  agent('monitor'); // probe: not running
  agent('start');
  await pair.waitCounts(a, { internal: FLOWS.length, external: FLOWS_B.length });
  snap.counts.started = pair.counts(a);
  agent('monitor', recurring);

  agent('promote');
  snap.kernelAfterPromote = pair.kernel(a);
  await pair.waitCounts(b, { external: all });
  snap.counts.promotedA = pair.counts(a);
  snap.counts.promotedB = pair.counts(b);
  agent('monitor', recurring);
  agent('monitor'); // probe while promoted: restores the master score

  agent('demote');
  await pair.waitCounts(a, { external: FLOWS_B.length });
  snap.counts.demoted = pair.counts(a);
  agent('monitor', recurring);

  // pre-promote notification for another node: bulk send to the peers.
  pair.ctl(b, ['-f', 'external']);
  await pair.waitCounts(b, { external: 0 });
  agent('notify', {
    OCF_RESKEY_CRM_meta_notify_type: 'pre',
    OCF_RESKEY_CRM_meta_notify_operation: 'promote',
    OCF_RESKEY_CRM_meta_notify_promote_uname: 'othernode',
  });
  await pair.waitCounts(b, { external: all });
  snap.counts.notifiedPreB = pair.counts(b);
  // post-start notification while this node is master and the other just started: bulk again.
  pair.ctl(b, ['-f', 'external']);
  await pair.waitCounts(b, { external: 0 });
  agent('notify', {
    OCF_RESKEY_CRM_meta_notify_type: 'post',
    OCF_RESKEY_CRM_meta_notify_operation: 'start',
    OCF_RESKEY_CRM_meta_notify_master_uname: hostname(),
    OCF_RESKEY_CRM_meta_notify_start_uname: 'othernode',
  });
  await pair.waitCounts(b, { external: all });
  snap.counts.notifiedPostB = pair.counts(b);

  agent('stop');
  snap.afterStop = {
    processes: run(['ip', 'netns', 'pids', a.ns]).stdout.trim(),
    socket: run(['test', '-e', a.sock]).code === 0,
    lock: run(['test', '-e', a.lock]).code === 0,
  };
  agent('monitor', recurring);
  agent('stop');
  agent('validate-all', { OCF_RESKEY_config: join(pair.dir, 'missing.conf') });
  snap.crm = stubs.calls().filter((l) => l.startsWith('crm_'));

  // ocf-tester, inside a's namespace, against the same configuration.
  const t = run(
    ['timeout', '240', 'ip', 'netns', 'exec', a.ns, 'ocf-tester', '-n', 'ct', '-o', `binary=${pair.bin}`, '-o', `config=${a.conf}`, AGENT],
    ocfEnv(pair, stubs.path, { OCF_RESOURCE_INSTANCE: '' }),
    250_000,
  );
  snap.tester = { code: t.code, stdout: t.stdout };
  pair.stop(b);
  return snap;
}

describe.skipIf(!ready)('ocf:heartbeat:conntrackd with conntrackd and with ctsyncd', () => {
  const labs = { conntrackd: new Lab('coc'), ctsyncd: new Lab('cos') };
  afterAll(() => {
    labs.conntrackd.cleanup();
    labs.ctsyncd.cleanup();
  });
  const snaps: Partial<Record<Impl, Snapshot>> = {};
  const expectedCodes: Array<[string, number]> = [
    ['monitor', OCF_NOT_RUNNING],
    ['start', OCF_SUCCESS],
    ['monitor@10000', OCF_SUCCESS],
    ['promote', OCF_SUCCESS],
    ['monitor@10000', OCF_RUNNING_MASTER],
    ['monitor', OCF_RUNNING_MASTER],
    ['demote', OCF_SUCCESS],
    ['monitor@10000', OCF_SUCCESS],
    ['notify:pre', OCF_SUCCESS],
    ['notify:post', OCF_SUCCESS],
    ['stop', OCF_SUCCESS],
    ['monitor@10000', OCF_NOT_RUNNING],
    ['stop', OCF_SUCCESS],
    ['validate-all', 5], // OCF_ERR_INSTALLED: config file missing
  ];

  it('conntrackd 1.4.7 reference run', { timeout: 300_000 }, async () => {
    const s = await scenario(labs.conntrackd, 'conntrackd');
    snaps.conntrackd = s;
    expect(s.codes).toEqual(expectedCodes);
    expect(s.tester.code).toBe(0);
  });

  it('ctsyncd run: every action has its effect', { timeout: 300_000 }, async () => {
    expect(CTSYNCD).toMatch(/ctsyncd$/);
    const s = await scenario(labs.ctsyncd, 'ctsyncd');
    snaps.ctsyncd = s;
    const all = FLOWS.length + FLOWS_B.length;
    expect(s.codes).toEqual(expectedCodes);
    expect(s.counts).toEqual({
      started: { internal: FLOWS.length, external: FLOWS_B.length },
      promotedA: { internal: all, external: 0 },
      promotedB: { internal: FLOWS_B.length, external: all },
      demoted: { internal: all, external: FLOWS_B.length },
      notifiedPreB: { internal: FLOWS_B.length, external: all },
      notifiedPostB: { internal: FLOWS_B.length, external: all },
    });
    expect(s.kernelAfterPromote).toHaveLength(all);
    expect(s.afterStop).toEqual({ processes: '', socket: false, lock: false });
    expect(s.crm).toEqual([
      'crm_master -Q -l reboot -v 100', // start: its monitor (interval 0) sees the daemon up
      'crm_master -Q -l reboot -v 100', // start
      'crm_master -Q -l reboot -v 1000', // promote
      'crm_master -Q -l reboot -v 1000', // probe while promoted
      'crm_master -Q -l reboot -v 100', // demote
      'crm_master -Q -l reboot -v 100', // stop: its monitor sees the daemon up
    ]);
    expect(s.tester.stdout).toContain('passed all tests');
    expect(s.tester.code).toBe(0);
  });

  it('same exit codes, crm_master calls, caches, kernel table and ocf-tester verdict for both', () => {
    const c = snaps.conntrackd;
    const s = snaps.ctsyncd;
    expect(c).toBeDefined();
    expect(s).toBeDefined();
    if (!c || !s) return;
    expect(s.codes).toEqual(c.codes);
    expect(s.crm).toEqual(c.crm);
    expect(s.counts).toEqual(c.counts);
    expect(s.kernelAfterPromote).toEqual(c.kernelAfterPromote);
    expect(s.afterStop).toEqual(c.afterStop);
    expect(s.tester).toEqual(c.tester);
  });
});

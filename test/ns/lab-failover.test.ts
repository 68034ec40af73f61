/**
 * The lab is a valid test: TCP streams through the master survive a crash of
 * the master with conntrackd replication (keepalived + conntrackd FT-FW), and
 * die without replication (keepalived alone), because the backup's strict
 * conntrack (nf_conntrack_tcp_loose=0) drops mid-stream packets it does not know.
 */
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFailover } from '../../src/lab/failover';
import { createLab, listNamespaces } from '../../src/lab/topology';
import { probeSyncDaemon, repoRoot } from '../../src/lab/ha-stack';
import { silentLogger } from '../../src/util/log';
import { isRoot, have } from '../helpers/netns';
import { compileAgent } from './lab-agent';

const ok = isRoot() && have('nft') && have('keepalived') && have('conntrackd');

describe.skipIf(!ok)('lab failover', () => {
  const agent = ok ? compileAgent() : null;
  const runDir = process.env.CTLAB_KEEP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-fo-'));
  afterAll(() => {
    agent?.cleanup();
    if (!process.env.CTLAB_KEEP) fs.rmSync(runDir, { recursive: true, force: true });
  });
  const mine = (): string[] => listNamespaces().filter((n) => n.startsWith(`lfo${process.pid.toString(36)}_`));

  it('with conntrackd replication every stream survives the crash of the master', async () => {
    const r = await runFailover({
      prefix: 'lfo', seq: 0, variant: 'conntrackd', runDir: path.join(runDir, 'a'), logger: silentLogger(),
      streams: 3, flows: 2000, warmupMs: 1000, observeMs: 4000, agentPath: agent?.path,
    });
    expect(r.flowsCreated).toBe(2000);
    expect(r.replicatedBeforeCrash).toBeGreaterThanOrEqual(2003);
    expect(r.broken).toBe(0);
    expect(r.survived).toBe(3);
    for (const v of r.verdicts) expect(v.stallMs).toBeLessThan(3000);
    expect(r.steps.map((s) => s.label)).toContain('commit external cache (-c) done');
    expect(mine()).toEqual([]);
  }, 90_000);

  it('with ctsyncd replication (when bin/ctsyncd works) every stream survives', async (ctx) => {
    const probeLab = createLab({ prefix: 'lfo', seq: 3 });
    let works = false;
    try {
      works = await probeSyncDaemon(probeLab, path.join(repoRoot(), 'bin', 'ctsyncd'), path.join(runDir, 'p'));
    } finally {
      probeLab.destroy();
    }
    if (!works) ctx.skip();
    const r = await runFailover({
      prefix: 'lfo', seq: 2, variant: 'ctsyncd', runDir: path.join(runDir, 'b'), logger: silentLogger(),
      streams: 3, flows: 2000, warmupMs: 1000, observeMs: 4000, agentPath: agent?.path,
    });
    expect(r.replicatedBeforeCrash).toBeGreaterThanOrEqual(2003);
    expect(r.broken).toBe(0);
    expect(r.survived).toBe(3);
    expect(r.steps.map((s) => s.label)).toContain('commit external cache (-c) done');
    expect(mine()).toEqual([]);
  }, 90_000);

  it('without replication the same streams die', async () => {
    const r = await runFailover({
      prefix: 'lfo', seq: 1, variant: 'none', runDir: path.join(runDir, 'd'), logger: silentLogger(),
      streams: 3, warmupMs: 1000, observeMs: 4000, agentPath: agent?.path,
    });
    expect(r.survived).toBe(0);
    for (const v of r.verdicts) {
      // Stalled from (about) the crash to the end of the observation, never resumed.
      expect(v.stallTo).toBeNull();
      expect(v.stallFrom ?? 0).toBeLessThan(r.crashAt + 500);
      expect(v.stallMs).toBeGreaterThan(3500);
    }
    expect(r.fw2InvalidDrops ?? 0).toBeGreaterThan(0);
    expect(mine()).toEqual([]);
  }, 90_000);
});

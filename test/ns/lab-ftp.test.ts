/**
 * Issue 7: an FTP transfer through the lab firewalls survives the crash of
 * the master. The kernel ftp helper on the firewalls (ruleset variant
 * ftpHelper) expects the passive data connection; ctsyncd replicates the
 * expectation and the entries (ExpectationSync On). Test-sized: 2 TCP streams,
 * 1000 background flows, a paced RETR (PASV) running across the crash, then
 * NOOP + EPSV + RETR on the same control connection after the failover (the
 * new master's helper must know the control connection to expect it).
 * Without replication the same session hangs.
 * Uses dist/ (run `npm run build` first).
 */
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFailover, type FailoverResult } from '../../src/lab/failover';
import { listNamespaces, sweepLabs } from '../../src/lab/topology';
import { defaultFtpAgentPath } from '../../src/lab/ftp';
import { silentLogger } from '../../src/util/log';
import { isRoot, have } from '../helpers/netns';

const root = path.resolve(__dirname, '..', '..');
const ok =
  isRoot() && have('nft') && have('conntrack') && have('keepalived') &&
  fs.existsSync(path.join(root, 'dist', 'daemon', 'main.js')) && fs.existsSync(defaultFtpAgentPath());

const PREFIX = 'lftp';

describe.skipIf(!ok)('issue 7: an FTP transfer across the failover', () => {
  const runDir = process.env.CTLAB_KEEP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-ftp-'));
  afterAll(() => {
    sweepLabs(PREFIX, false, process.pid);
    if (!process.env.CTLAB_KEEP) fs.rmSync(runDir, { recursive: true, force: true });
  });
  const mine = (): string[] => listNamespaces().filter((n) => n.startsWith(`${PREFIX}${process.pid.toString(36)}_`));
  const common = {
    prefix: PREFIX, logger: silentLogger(), streams: 2, warmupMs: 1000, observeMs: 3000, advertInt: 0.1, ftp: true,
  } as const;

  function expectReplicatedFtp(r: FailoverResult): void {
    const f = r.ftp;
    expect(f).toBeDefined();
    if (!f) return;
    // Before the crash fw2 held the expectation (while the client held the data connection),
    // then the control and the data entries, both from the client's address.
    expect(f.dataPort).not.toBeNull();
    expect(f.replication.expectation).toMatch(new RegExp(`dport=${f.dataPort}\\b`));
    expect(f.replication.control).toMatch(/dport=21\b/);
    expect(f.replication.data).toMatch(new RegExp(`dport=${f.dataPort}\\b`));
    // The whole session: two transfers with the right size and SHA-256, then 221.
    expect(f.record.error).toBeNull();
    expect(f.verdict.state).toBe('ok');
    expect(f.verdict.completed).toBe(true);
    expect(f.record.transfers.map((t) => [t.mode, t.ok, t.bytes === t.size, t.sha256 === t.expectedSha256])).toEqual([
      ['PASV', true, true, true],
      ['EPSV', true, true, true],
    ]);
    // The first ran across the crash; the second was asked for after it, through fw2's helper.
    expect(f.verdict.acrossIndex).toBe(0);
    expect(f.verdict.afterRequested).toBe(1);
    expect(f.verdict.afterOk).toBe(1);
    expect(f.record.transfers[1]?.requestedAt ?? 0).toBeGreaterThan(r.crashAt);
    expect(f.verdict.stallTo).not.toBeNull();
    expect(f.verdict.stallMs).toBeGreaterThan(0);
    expect(f.verdict.stallMs).toBeLessThan(3000);
    // fw2's kernel entry of the control connection carries the ftp helper.
    expect(f.replication.fw2KernelControl).toMatch(/helper=ftp/);
    expect(r.broken).toBe(0);
    expect(r.survived).toBe(2);
  }

  it('ctsyncd with its embedded VRRP: the transfer completes with the right checksum, the EPSV after the failover works', async () => {
    const r = await runFailover({ ...common, seq: 0, variant: 'ctsyncd-vrrp', flows: 1000, runDir: path.join(runDir, 'vrrp') });
    expect(r.fw2MasterBeforeCrash).toBe(false);
    expectReplicatedFtp(r);
    expect(mine()).toEqual([]);
  }, 60_000);

  it('keepalived + ctsyncd: the same', async () => {
    const r = await runFailover({ ...common, seq: 1, variant: 'ctsyncd', flows: 1000, runDir: path.join(runDir, 'ka') });
    expectReplicatedFtp(r);
    expect(r.steps.map((s) => s.label)).toContain('commit external cache (-c) done');
    expect(mine()).toEqual([]);
  }, 60_000);

  it('without replication the session hangs at the crash and the EPSV never comes', async () => {
    const r = await runFailover({ ...common, seq: 2, variant: 'none', flows: 0, runDir: path.join(runDir, 'none') });
    const f = r.ftp;
    expect(f).toBeDefined();
    if (!f) return;
    expect(f.verdict.completed).toBe(false);
    expect(f.verdict.state).toBe('hung');
    expect(f.verdict.acrossIndex).toBe(0);
    expect(f.verdict.stallTo).toBeNull();
    expect(f.record.transfers).toHaveLength(1);
    expect(f.record.transfers[0]?.ok).toBe(false);
    expect(f.record.transfers[0]?.bytes ?? 0).toBeLessThan(f.record.transfers[0]?.size ?? 0);
    expect(mine()).toEqual([]);
  }, 60_000);
});

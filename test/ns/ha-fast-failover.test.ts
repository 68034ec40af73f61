/**
 * Fast failover (Sync { FastFailover { } }, src/ha/liveness.ts, src/ha/vrrp/early.ts)
 * with two real ctsyncd nodes of the lab, 100 ms adverts: when only the probes on the
 * sync link are lost (the master is alive and advertising), the backup stays BACKUP
 * and the master keeps the addresses; a crash of the master after that is detected by
 * the RFC's master down timer, not by the fast path (its adverts kept arriving after
 * the probes stopped, which disarms it). `status` shows the peer's liveness.
 */
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startHa, type HaStack } from '../../src/lab/ha-stack';
import { createLab, listNamespaces, type Lab } from '../../src/lab/topology';
import { nsExec, pollUntil } from '../../src/lab/shell';
import { isRoot, have } from '../helpers/netns';

const ok = isRoot() && have('nft') && fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'daemon', 'main.js'));

describe.skipIf(!ok)('fast failover: a lost sync link alone makes no second master', () => {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-hff-'));
  let lab: Lab | null = null;
  let ha: HaStack | null = null;
  afterAll(() => {
    ha?.stop();
    lab?.destroy();
    fs.rmSync(runDir, { recursive: true, force: true });
  });
  const mine = (): string[] => listNamespaces().filter((n) => n.startsWith(`hff${process.pid.toString(36)}_`));

  it('probes dropped on the backup: it sees the peer silent, stays BACKUP; then a real crash waits for the master down timer', async () => {
    const l = createLab({ prefix: 'hff', seq: 0 });
    lab = l;
    const h = await startHa({ lab: l, variant: 'ctsyncd-vrrp', runDir, advertInt: 0.1 });
    ha = h;
    const alive = await pollUntil(() => /^fast failover: peer \S+ alive/m.test(h.syncCli(1, 'status')), 10_000, 100);
    expect(alive).toBe(true);

    // Drop the probes fw2 receives (UDP 3782), nothing else: replication and VRRP continue.
    nsExec(l.ns.fw2, `nft -f - <<'EOF'
table inet hff_probe {
  chain in { type filter hook input priority -10; udp dport 3782 drop; }
}
EOF`);
    const silent = await pollUntil(() => /^fast failover: peer \S+ silent/m.test(h.syncCli(1, 'status')), 5_000, 50);
    expect(silent).toBe(true);
    // Observe for 2 s (about 20 adverts): fw2 must never become master or take an address.
    const until = Date.now() + 2000;
    let fw2EverMaster = false;
    while (Date.now() < until) {
      if (h.ownsVips(1) || /^state:\s+MASTER$/m.test(h.syncCli(1, 'status'))) fw2EverMaster = true;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(fw2EverMaster).toBe(false);
    expect(h.ownsVips(0)).toBe(true);
    expect(h.syncCli(0, 'status')).toMatch(/^state:\s+MASTER$/m);

    // The master really dies now: fw2 takes over by the RFC timer (the fast path stays disarmed).
    const crashAt = h.crash(0);
    const took = await pollUntil(() => h.ownsVips(1), 5_000, 10);
    expect(took).toBe(true);
    const log = fs.readFileSync(h.nodes[1].daemonLog ?? '', 'utf8');
    expect(log).toContain('master down timer expired');
    expect(log).not.toContain('fast failover');
    expect(Date.now() - crashAt).toBeGreaterThan(250);
    ha.stop();
    l.destroy();
    expect(mine()).toEqual([]);
  }, 60_000);
});

/**
 * `ctsyncd init` outputs checked by the real tools: nft -c (in a namespace),
 * keepalived -t (in a namespace that has the interfaces), xmllint for the
 * CIB and the D-Bus policy, systemd-analyze verify for the unit.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultInitDeps } from '../../src/init/deps';
import { runInit } from '../../src/init/run';
import { have, isRoot, Lab, sh } from '../helpers/netns';

const ROOT = join(__dirname, '..', '..');
const CLUSTER = join(ROOT, 'test', 'fixtures', 'config', 'cluster.ini');

async function render(dir: string, extra: string[]): Promise<number> {
  const out: string[] = [];
  const deps = { ...defaultInitDeps(), stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
  const code = await runInit(
    ['--cluster', CLUSTER, '--out', dir, '--key-file', join(dir, 'sync.key'), '--binary', join(ROOT, 'bin', 'ctsyncd'), '--notify-hook', join(ROOT, 'hooks', 'keepalived-notify'), ...extra],
    deps,
  );
  if (code !== 0) throw new Error(out.join(''));
  return code;
}

describe.skipIf(!isRoot())('ctsyncd init outputs pass the real tools', () => {
  const lab = new Lab('ini');
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-init-'));
  let ns = '';
  beforeAll(async () => {
    await render(join(dir, 'fw1'), ['--node', 'fw1', '--group', 'daemon']);
    await render(join(dir, 'fw2'), ['--node', 'fw2']);
    ns = lab.netns('n');
    // the interfaces the cluster file names: eth0 (LAN), eth1 (WAN), eth2 (sync)
    lab.exec(ns, 'ip link add eth0 type veth peer name eth1 && ip link add eth2 type veth peer name eth3');
  });
  afterAll(() => {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it.runIf(have('nft'))('nft -c accepts the ruleset, and it loads and has the sync and VRRP rules', () => {
    for (const node of ['fw1', 'fw2']) lab.exec(ns, `nft -c -f ${join(dir, node, 'nftables.conf')}`);
    lab.exec(ns, `nft -f ${join(dir, 'fw1', 'nftables.conf')}`);
    lab.exec(ns, `nft -f ${join(dir, 'fw1', 'nftables.conf')}`); // loading twice replaces the table
    const listed = lab.exec(ns, 'nft list table inet ctsync_fw');
    expect(listed).toContain('iifname "eth2" ip saddr 203.0.113.2 udp dport 3780 accept');
    expect(listed).toMatch(/ip daddr 224\.0\.0\.18 ip protocol vrrp accept/);
    expect(listed).toContain('policy drop;');
  });

  it.runIf(have('nft'))('with fast_failover the ruleset also admits the peer\'s liveness probes, and nft loads it', async () => {
    const ini = join(dir, 'ff.ini');
    writeFileSync(ini, readFileSync(CLUSTER, 'utf8').replace('sync_port = 3780', 'sync_port = 3780\nfast_failover = 20'));
    const out: string[] = [];
    const deps = { ...defaultInitDeps(), stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) } };
    const code = await runInit(['--cluster', ini, '--node', 'fw1', '--out', join(dir, 'ff'), '--no-auth', '--only', 'nftables,conntrackd'], deps);
    expect(code, out.join('')).toBe(0);
    lab.exec(ns, `nft -f ${join(dir, 'ff', 'nftables.conf')}`);
    expect(lab.exec(ns, 'nft list table inet ctsync_fw')).toContain('iifname "eth2" ip saddr 203.0.113.2 udp dport 3782 accept');
  });

  it.runIf(have('keepalived'))('keepalived -t accepts keepalived.conf without warnings', () => {
    for (const node of ['fw1', 'fw2']) {
      const r = sh(`ip netns exec ${ns} keepalived -t -l -f ${join(dir, node, 'keepalived.conf')} 2>&1; echo "rc=$?"`);
      expect(r.trim()).toBe('rc=0');
    }
    // and the check can fail: a config naming a missing interface is refused
    const bad = readFileSync(join(dir, 'fw1', 'keepalived.conf'), 'utf8').replace(/interface eth0/, 'interface nope0');
    writeFileSync(join(dir, 'bad-keepalived.conf'), bad);
    const r = sh(`ip netns exec ${ns} keepalived -t -l -f ${join(dir, 'bad-keepalived.conf')} 2>&1; echo "rc=$?"`);
    expect(r).toContain("interface nope0 for vrrp_instance edge_lan doesn't exist");
    expect(r).not.toMatch(/rc=0\s*$/);
  });

  it.runIf(have('xmllint'))('the CIB snippet and the D-Bus policy are well-formed XML', () => {
    sh(`xmllint --noout ${join(dir, 'fw1', 'cib.xml')}`);
    sh(`xmllint --noout ${join(dir, 'fw1', 'org.ctsync.Daemon1.conf')}`);
    const cib = sh(`xmllint --xpath 'string(//clone[@id="ctsync-clone"]/meta_attributes/nvpair[@name="promotable"]/@value)' ${join(dir, 'fw1', 'cib.xml')}`);
    expect(cib.trim()).toBe('true');
    const policy = sh(`xmllint --xpath 'string(//policy[@group]/@group)' ${join(dir, 'fw1', 'org.ctsync.Daemon1.conf')}`);
    expect(policy.trim()).toBe('daemon');
  });

  it.runIf(have('systemd-analyze'))('systemd-analyze verify accepts the unit', () => {
    const r = sh(`systemd-analyze verify ${join(dir, 'fw1', 'ctsyncd.service')} 2>&1; echo "rc=$?"`);
    expect(r.trim()).toBe('rc=0');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConntrackdConf } from '../../../src/config/conntrackd';
import { parseKeepalivedConf } from '../../../src/config/keepalived';
import { parseInitArgs } from '../../../src/init/args';
import { runInit } from '../../../src/init/run';
import { memoryDeps } from './memory-deps';

const CLUSTER = readFileSync(join(__dirname, '..', '..', 'fixtures', 'config', 'cluster.ini'), 'utf8');

async function init(argv: string[], inputs: Record<string, string> = { 'cluster.ini': CLUSTER }, host = 'fw1') {
  const deps = memoryDeps(inputs, host);
  const code = await runInit(argv, deps);
  const file = (name: string): string => deps.files.get(name)?.text ?? '';
  return { code, deps, file, err: deps.err.join('') };
}

describe('ctsyncd init', () => {
  it('writes the six files for the host node, each accepted by our parsers without errors', async () => {
    const { code, deps, file, err } = await init(['--cluster', 'cluster.ini', '--out', 'out', '--group', 'ctsync']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect([...deps.files.keys()].sort()).toEqual(
      ['/etc/ctsync/sync.key', 'out/cib.xml', 'out/conntrackd.conf', 'out/ctsyncd.service', 'out/keepalived.conf', 'out/nftables.conf', 'out/org.ctsync.Daemon1.conf'],
    );
    const ct = parseConntrackdConf(file('out/conntrackd.conf'));
    expect(ct.diagnostics).toEqual([]);
    expect(ct.config.sync?.mode.mode).toBe('ftfw');
    expect(ct.config.sync?.links).toHaveLength(1);
    expect(ct.config.general.controlGroup).toBe('ctsync');
    const ka = parseKeepalivedConf(file('out/keepalived.conf'));
    expect(ka.diagnostics).toEqual([]);
    expect(ka.config.instances.map((i) => i.name)).toEqual(['edge_lan', 'edge_wan']);
    expect(deps.out.join('')).toContain('wrote out/conntrackd.conf');
  });

  it('conntrackd.conf: UDP link from this node to its peer, VIPs and sync addresses ignored', async () => {
    const { file } = await init(['--cluster', 'cluster.ini', '--out', 'o']);
    const text = file('o/conntrackd.conf');
    expect(text).toMatch(/\tMode FTFW \{/);
    expect(text).toContain('\t\tIPv4_address 203.0.113.1\n\t\tIPv4_Destination_Address 203.0.113.2\n\t\tPort 3780\n\t\tInterface eth2');
    for (const a of ['192.0.2.1', '198.51.100.1', '198.51.100.2', '203.0.113.2']) expect(text).toContain(`\t\t\tIPv4_address ${a}\n`);
    expect(text).not.toContain('\tControlGroup');
  });

  it('the other node gets the mirror image (--node)', async () => {
    const { file } = await init(['--cluster', 'cluster.ini', '--node', 'fw2', '--out', 'o']);
    expect(file('o/conntrackd.conf')).toContain('IPv4_address 203.0.113.2\n\t\tIPv4_Destination_Address 203.0.113.1');
    expect(file('o/keepalived.conf')).toContain('    priority 100\n');
  });

  it('keepalived.conf: sync group notify points at the hook, instances on LAN and WAN', async () => {
    const { file } = await init(['--cluster', 'cluster.ini', '--out', 'o', '--notify-hook', '/opt/ctsync/hooks/keepalived-notify']);
    const ka = parseKeepalivedConf(file('o/keepalived.conf'));
    expect(ka.config.syncGroups[0]?.notify.any?.argv).toEqual(['/opt/ctsync/hooks/keepalived-notify']);
    expect(ka.config.syncGroups[0]?.members).toEqual(['edge_lan', 'edge_wan']);
    const text = file('o/keepalived.conf');
    expect(text).toContain('    notify "/opt/ctsync/hooks/keepalived-notify"');
    expect(text).toMatch(/vrrp_instance edge_lan \{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 150/);
    expect(text).toContain('        198.51.100.2/24 dev eth1');
    expect(text.match(/notify\S* "/g)).toEqual(['notify "']); // only the group's notify: one run per transition
  });

  it('systemd unit and D-Bus policy get the paths and the group', async () => {
    const { file } = await init(['--cluster', 'cluster.ini', '--out', 'o', '--binary', '/opt/ctsync/bin/ctsyncd', '--config', '/etc/ctsync/sync.conf']);
    expect(file('o/ctsyncd.service')).toContain('\nExecStart=/opt/ctsync/bin/ctsyncd -C /etc/ctsync/sync.conf\n');
    expect(file('o/org.ctsync.Daemon1.conf')).not.toContain('<policy group=');
    const g = await init(['--cluster', 'cluster.ini', '--out', 'o', '--group', 'fwops']);
    expect(g.file('o/org.ctsync.Daemon1.conf')).toContain('<policy group="fwops">');
    expect(g.file('o/cib.xml')).toContain('<nvpair id="ctsync-clone-meta-promoted-max" name="promoted-max" value="1"/>');
  });

  it('builds the cluster from flags', async () => {
    const { code, file, err } = await init([
      '--name', 'lab', '--vrid', '7', '--vip-lan', '192.0.2.254/24', '--sync-transport', 'tcp', '--sync-mode', 'notrack',
      '--node-def', 'a,198.18.0.1,s0,l0,w0,200', '--node-def', 'b,198.18.0.2,s0,l0,w0,100', '--node', 'a', '--out', 'x',
    ], {});
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(file('x/conntrackd.conf')).toContain('\tTCP {\n\t\tIPv4_address 198.18.0.1\n\t\tIPv4_Destination_Address 198.18.0.2');
    expect(file('x/conntrackd.conf')).toContain('Mode NOTRACK');
    expect(file('x/nftables.conf')).toContain('iifname "s0" ip saddr 198.18.0.2 tcp dport 3780 accept');
    expect(file('x/keepalived.conf')).not.toContain('_wan');
  });

  it('fast_failover: a FastFailover block our parser accepts, and the probes allowed from the peer in nftables', async () => {
    const ff = CLUSTER.replace('sync_port = 3780', 'sync_port = 3780\nfast_failover = 25');
    const r = await init(['--cluster', 'c.ini', '--out', 'o'], { 'c.ini': ff });
    expect(r.code).toBe(0);
    const conf = r.file('o/conntrackd.conf');
    expect(conf).toContain('\tFastFailover {\n\t\tInterval 25\n\t\tMisses 5\n\t\tPort 3782\n\t}');
    const parsed = parseConntrackdConf(conf);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.config.sync?.fastFailover).toMatchObject({ intervalMs: 25, misses: 5, port: 3782 });
    expect(r.file('o/nftables.conf')).toContain('\t\tiifname "eth2" ip saddr 203.0.113.2 udp dport 3782 accept');
    // without it: neither
    const plain = await init(['--cluster', 'cluster.ini', '--out', 'p']);
    expect(plain.file('p/conntrackd.conf')).not.toContain('\tFastFailover {');
    expect(plain.file('p/nftables.conf')).not.toContain('3782');
    // multicast has no single peer; a bad interval is refused with file:line
    const mc = await init(['--cluster', 'c.ini', '--out', 'm'], { 'c.ini': ff.replace('sync_transport = udp', 'sync_transport = multicast') });
    expect(mc.code).toBe(1);
    expect(mc.err).toContain("'fast_failover' in [cluster] needs sync_transport udp or tcp");
    const bad = await init(['--cluster', 'c.ini', '--out', 'b'], { 'c.ini': ff.replace('fast_failover = 25', 'fast_failover = 2') });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("c.ini:11: invalid 'fast_failover' in [cluster]: 2 is out of range 5..1000");
  });

  it('three nodes need multicast; multicast renders a Multicast block', async () => {
    const three = `${CLUSTER}\n[node.fw3]\nsync_address = 203.0.113.3\nsync_interface = eth2\nlan_interface = eth0\nwan_interface = eth1\npriority = 50\n`;
    const udp = await init(['--cluster', 'c.ini', '--out', 'o'], { 'c.ini': three });
    expect(udp.code).toBe(1);
    expect(udp.err).toContain('udp sync links two nodes; this cluster has 3 (use sync_transport = multicast)');
    expect(udp.deps.files.size).toBe(0);
    const mc = await init(['--cluster', 'c.ini', '--out', 'o'], { 'c.ini': three.replace('sync_transport = udp', 'sync_transport = multicast') });
    expect(mc.code).toBe(0);
    expect(mc.file('o/conntrackd.conf')).toContain('\tMulticast {\n\t\tIPv4_address 225.0.0.50\n\t\tGroup 3780\n\t\tIPv4_interface 203.0.113.1');
    expect(parseConntrackdConf(mc.file('o/conntrackd.conf')).diagnostics).toEqual([]);
  });

  it('errors: bad cluster, unknown node, existing files, bad flags', async () => {
    const bad = await init(['--cluster', 'c.ini'], { 'c.ini': '[cluster]\nname = x\n' });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('invalid cluster description, nothing written');
    const host = await init(['--cluster', 'cluster.ini'], undefined, 'elsewhere');
    expect(host.err).toContain('this host (elsewhere) is not a node of the cluster; pick one with --node (fw1, fw2)');
    const missing = await init(['--cluster', 'nope.ini']);
    expect(missing.err).toContain('cannot read nope.ini (ENOENT)');
    expect(parseInitArgs(['--only', 'conntrackd,ha'])).toEqual({ ok: false, error: "--only: unknown output 'ha' (known: conntrackd, keepalived, nftables, systemd, pacemaker, dbus)" });
    expect(parseInitArgs(['--group', 'Bad Group']).ok).toBe(false);
    expect(parseInitArgs(['--cluster', 'a', '--name', 'x']).ok).toBe(false);
    expect(parseInitArgs(['--binary', 'relative']).ok).toBe(false);

    const deps = memoryDeps({ 'cluster.ini': CLUSTER });
    expect(await runInit(['--cluster', 'cluster.ini', '--out', 'o', '--only', 'nftables'], deps)).toBe(0);
    expect(await runInit(['--cluster', 'cluster.ini', '--out', 'o', '--only', 'nftables'], deps)).toBe(1);
    expect(deps.err.join('')).toContain('o/nftables.conf already exist; use --force to overwrite');
    expect(await runInit(['--cluster', 'cluster.ini', '--out', 'o', '--only', 'nftables', '--force'], deps)).toBe(0);
  });
});

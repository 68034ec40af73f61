/**
 * Interop with a real keepalived 2.2.7 in the same VRID: two namespaces on a
 * veth, keepalived in one, our speaker (node on the built dist/) in the other.
 * For VRRPv2 (PASS auth), VRRPv3 over IPv4 and VRRPv3 over IPv6:
 *   - the higher priority becomes master whichever program has it
 *     (the VIP ends up on exactly one node);
 *   - graceful stop of the master (priority 0) hands over within one second;
 *   - preemption returns the VIP;
 *   - tcpdump sees our adverts with TTL 255 and our gratuitous ARPs / NAs.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, sh, waitFor } from '../helpers/netns';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const ok = isRoot() && have('keepalived') && have('tcpdump') && existsSync(join(ROOT, 'build', 'Release', 'ctsock.node'));

/** Newest mtime of the .ts files under a directory. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuilt(): void {
  const out = join(DIST, 'ha', 'vrrp', 'manager.js');
  const srcs = ['ha', 'config', 'netlink', 'util'].map((d) => newest(join(ROOT, 'src', d)));
  if (existsSync(out) && statSync(out).mtimeMs >= Math.max(...srcs)) return;
  sh(`cd ${ROOT} && npx tsc -p tsconfig.build.json`, { allowFail: true }); // others' files may have errors; ours still emit
  if (!existsSync(out)) throw new Error('build did not produce dist/ha/vrrp/manager.js');
}

const SPEAKER_JS = `
const fs = require('fs');
const D = process.argv[2];
const { parseKeepalivedConf } = require(D + '/config/keepalived');
const { createVrrpManager } = require(D + '/ha/vrrp/manager');
const { createRtnl } = require(D + '/netlink/rtnl-client');
const { systemClock } = require(D + '/util/clock');
const { createLogger } = require(D + '/util/log');
const { config, diagnostics } = parseKeepalivedConf(fs.readFileSync(process.argv[3], 'utf8'));
const logger = createLogger({ pretty: false, level: 'info' });
const rtnl = createRtnl({});
if (rtnl.code) { console.log(JSON.stringify({ ev: 'error', err: rtnl })); process.exit(1); }
const mgr = createVrrpManager({ config, clock: systemClock(), random: Math.random, logger, rtnl });
const say = (o) => console.log(JSON.stringify(o));
mgr.start().then((failed) => {
  say({ ev: 'ready', failed, diagnostics: diagnostics.filter((d) => d.severity === 'error') });
  for (const sp of mgr.speakers()) sp.onTransition((from, to) => say({ ev: 'transition', from, to }));
});
process.on('SIGUSR1', () => say({ ev: 'stats', stats: mgr.stats() }));
process.on('SIGTERM', () => {
  mgr.stop().then(() => { say({ ev: 'stopped', stats: mgr.stats() }); rtnl.close(); process.exit(0); });
});
`;

interface Variant {
  name: string;
  version: 2 | 3;
  family: 4 | 6;
  vip: string;
  auth: boolean;
}

const variants: Variant[] = [
  { name: 'VRRPv2 IPv4 (PASS auth)', version: 2, family: 4, vip: '192.0.2.100', auth: true },
  { name: 'VRRPv3 IPv4', version: 3, family: 4, vip: '192.0.2.100', auth: false },
  { name: 'VRRPv3 IPv6', version: 3, family: 6, vip: '2001:db8::100', auth: false },
];

function conf(v: Variant, priority: number, routerId: string): string {
  const prefix = v.family === 6 ? 64 : 24;
  return [
    'global_defs {',
    `  router_id ${routerId}`,
    '  garp_master_delay 1',
    '  garp_master_repeat 2',
    '}',
    'vrrp_instance VI_T {',
    '  state BACKUP',
    '  interface eth0',
    '  virtual_router_id 42',
    `  priority ${priority}`,
    '  advert_int 1',
    `  version ${v.version}`,
    ...(v.auth ? ['  authentication {', '    auth_type PASS', '    auth_pass s3cret', '  }'] : []),
    '  virtual_ipaddress {',
    `    ${v.vip}/${prefix}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

describe.skipIf(!ok)('embedded VRRP speaker interoperates with keepalived 2.2.7', () => {
  const lab = new Lab('vk');
  const tmp = mkdtempSync(join(tmpdir(), 'ctsync-vrrp-'));
  let ka = '';
  let us = '';
  afterAll(() => {
    lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeAll(() => {
    ensureBuilt();
    writeFileSync(join(tmp, 'speaker.js'), SPEAKER_JS);
    ka = lab.netns('k');
    us = lab.netns('u');
    for (const ns of [ka, us]) lab.exec(ns, 'sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0');
    lab.veth(ka, 'eth0', us, 'eth0', '192.0.2.1/24', '192.0.2.2/24');
    for (const ns of [ka, us]) lab.exec(ns, 'sysctl -qw net.ipv6.conf.eth0.accept_dad=0');
    // Link-local addresses must be there before IPv6 instances start.
    waitForSync(() => lab.exec(us, 'ip -6 -o addr show dev eth0 scope link').includes('fe80') && lab.exec(ka, 'ip -6 -o addr show dev eth0 scope link').includes('fe80'));
  }, 300_000); // a stale dist/ is rebuilt first (tsc takes a minute on a loaded machine)

  function waitForSync(fn: () => boolean): void {
    for (let i = 0; i < 200 && !fn(); i++) sh('sleep 0.05');
  }

  const hasVip = (ns: string, vip: string): boolean => sh(`ip -n ${ns} -o addr show dev eth0`).includes(` ${vip}/`);
  const holders = (vip: string): string[] => [hasVip(ka, vip) ? 'keepalived' : '', hasVip(us, vip) ? 'ours' : ''].filter((x) => x !== '');

  let seq = 0;
  function startKeepalived(v: Variant, priority: number): { child: ChildProcess; out: () => string } {
    seq += 1;
    const f = join(tmp, `ka${seq}.conf`);
    writeFileSync(f, conf(v, priority, `ka${seq}`));
    const child = lab.spawn(ka, ['keepalived', '-n', '-l', '-D', '--vrrp', '-f', f, '-p', join(tmp, `ka${seq}.pid`), '-r', join(tmp, `kv${seq}.pid`)]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out };
  }
  function startOurs(v: Variant, priority: number): { child: ChildProcess; out: () => string } {
    seq += 1;
    const f = join(tmp, `us${seq}.conf`);
    writeFileSync(f, conf(v, priority, `us${seq}`));
    const child = lab.spawn(us, ['node', join(tmp, 'speaker.js'), DIST, f]);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out };
  }
  async function stop(p: { child: ChildProcess }, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (p.child.exitCode !== null || p.child.pid === undefined) return;
    const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
    process.kill(p.child.pid, signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (p.child.exitCode === null) process.kill(-p.child.pid, 'SIGKILL');
  }
  /** Poll until the VIP is on exactly `who` and stays so for 1.5 s. */
  async function settled(vip: string, who: string, timeoutMs = 12_000): Promise<void> {
    await waitFor(() => holders(vip).join() === who, timeoutMs, 50);
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      expect(holders(vip)).toEqual([who]);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** ms from now until the new master `who` holds the VIP (the old one dropping it is checked by settled()). */
  async function handoverMs(vip: string, who: string, act: () => Promise<void> | void): Promise<number> {
    const t0 = Date.now();
    const acting = act();
    await waitFor(() => hasVip(who === 'ours' ? us : ka, vip), 5000, 10);
    const ms = Date.now() - t0;
    await acting;
    return ms;
  }

  for (const v of variants) {
    it(`${v.name}: ours higher -> ours master; graceful stop hands over < 1 s; preemption returns the VIP; wire format`, async () => {
      const dumpFile = join(tmp, `dump-${v.version}-${v.family}.txt`);
      // Only frames from our speaker's MAC: keepalived's own GARPs look the same.
      const mac = lab.exec(us, 'cat /sys/class/net/eth0/address').trim();
      const filter = `ether src ${mac} and (${v.family === 6 ? 'ip6 proto 112 or icmp6' : 'ip proto 112 or arp'})`;
      const dump = lab.spawn(ka, ['sh', '-c', `exec tcpdump -i eth0 -n -v -l -U "${filter}" > ${dumpFile} 2>/dev/null`]);
      await waitFor(() => lab.exec(ka, 'cat /proc/net/packet | wc -l').trim() !== '1', 5000, 50);
      const k = startKeepalived(v, 100);
      let o = startOurs(v, 200);
      try {
        await settled(v.vip, 'ours');
        expect(k.out()).toMatch(/Entering BACKUP STATE/);
        const ms = await handoverMs(v.vip, 'keepalived', () => stop(o));
        expect(ms).toBeLessThan(1000);
        expect(holders(v.vip)).toEqual(['keepalived']);
        expect(o.out()).toMatch(/"ev":"stopped"/);
        // Preemption: ours comes back with the higher priority and takes the VIP back.
        o = startOurs(v, 200);
        await settled(v.vip, 'ours');
        // The wire as keepalived's side sees it.
        const text = lab.exec(ka, `cat ${dumpFile}`);
        if (v.family === 4) {
          expect(text).toMatch(new RegExp(`ttl 255, id \\d+, offset 0, flags \\[none\\], proto VRRP \\(112\\), length ${v.version === 2 ? 40 : 32}\\)\\n\\s+192\\.0\\.2\\.2 > 224\\.0\\.0\\.18: VRRPv${v.version}, Advertisement, vrid 42, prio 200`));
          expect(text).toMatch(/ARP, Ethernet \(len 6\), IPv4 \(len 4\), Request who-has 192\.0\.2\.100 \(ff:ff:ff:ff:ff:ff\) tell 192\.0\.2\.100, length 28/);
          if (v.auth) expect(text).toMatch(/192\.0\.2\.2 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 42, prio 200, authtype simple, intvl 1s, length 20, addrs: 192\.0\.2\.100 auth "s3cret/);
        } else {
          expect(text).toMatch(/hlim 255, next-header VRRP \(112\) payload length: 24\) fe80::[0-9a-f:]+ > ff02::12: VRRPv3, Advertisement, vrid 42, prio 200, intvl 100cs, length 24, addrs: 2001:db8::100/);
          expect(text).toMatch(/2001:db8::100 > ff02::1: \[icmp6 sum ok\] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8::100, Flags \[override\]/);
        }
        expect(text).not.toMatch(/bad vrrp|\[bad .*cksum/i);
        expect(k.out()).not.toMatch(/bogus|invalid|wrong/i);
      } finally {
        await stop(o);
        await stop(k);
        await stop({ child: dump }, 'SIGINT');
      }
    });

    it(`${v.name}: keepalived higher -> keepalived master, ours backup; keepalived's graceful stop hands over to ours < 1 s`, async () => {
      const o = startOurs(v, 100);
      const k = startKeepalived(v, 200);
      try {
        await settled(v.vip, 'keepalived');
        expect(o.out()).toMatch(/"to":"BACKUP"/);
        const ms = await handoverMs(v.vip, 'ours', () => stop(k));
        expect(ms).toBeLessThan(1000);
        await settled(v.vip, 'ours');
        process.kill(o.child.pid ?? 0, 'SIGUSR1');
        await waitFor(() => o.out().includes('"ev":"stats"'), 3000, 20);
        const line = o.out().split('\n').find((l) => l.includes('"ev":"stats"')) ?? '{}';
        const st = (JSON.parse(line) as { stats: Array<{ advertsReceived: number; drops: Record<string, number>; state: string }> }).stats[0];
        expect(st?.state).toBe('MASTER');
        expect(st?.advertsReceived).toBeGreaterThan(1);
        expect(st?.drops).toEqual({});
      } finally {
        await stop(o);
        await stop(k);
      }
    });
  }
});

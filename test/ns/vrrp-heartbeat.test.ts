/**
 * Heartbeat transport (VRRP over UDP unicast) between two of our speakers in
 * two namespaces, with IP protocol 112 blocked by nftables on both sides:
 * election by priority, graceful-stop handover, sync group with two
 * instances moving together, notify scripts run with keepalived's arguments.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, sh, waitFor } from '../helpers/netns';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const ok = isRoot() && have('nft') && existsSync(join(ROOT, 'build', 'Release', 'ctsock.node'));

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
  sh(`cd ${ROOT} && npx tsc -p tsconfig.build.json`, { allowFail: true });
  if (!existsSync(out)) throw new Error('build did not produce dist/ha/vrrp/manager.js');
}

const SPEAKER_JS = `
const fs = require('fs');
const D = process.argv[2];
const { parseKeepalivedConf } = require(D + '/config/keepalived');
const { createVrrpManager } = require(D + '/ha/vrrp/manager');
const { createNotifier } = require(D + '/ha/notify');
const { createRtnl } = require(D + '/netlink/rtnl-client');
const { systemClock } = require(D + '/util/clock');
const { createLogger } = require(D + '/util/log');
const { config } = parseKeepalivedConf(fs.readFileSync(process.argv[3], 'utf8'));
const logger = createLogger({ pretty: false, level: 'info' });
const clock = systemClock();
const rtnl = createRtnl({});
const notifier = createNotifier({ clock, logger });
const mgr = createVrrpManager({ config, clock, random: Math.random, logger, rtnl, notifier, transport: 'heartbeat', heartbeatPort: 3781 });
mgr.start().then((failed) => console.log(JSON.stringify({ ev: 'ready', failed })));
process.on('SIGTERM', () => {
  mgr.stop().then(() => notifier.idle()).then(() => { console.log(JSON.stringify({ ev: 'stopped', stats: mgr.stats() })); rtnl.close(); process.exit(0); });
});
`;

function conf(me: string, peer: string, priority: number, notify: string): string {
  const inst = (name: string, vrid: number, dev: string, vip: string, src: string, dst: string): string =>
    [
      `vrrp_instance ${name} {`,
      '  state BACKUP',
      `  interface ${dev}`,
      `  virtual_router_id ${vrid}`,
      `  priority ${priority}`,
      '  advert_int 1',
      '  version 3',
      `  unicast_src_ip ${src}`,
      `  unicast_peer {`,
      `    ${dst}`,
      '  }',
      `  notify ${notify}`,
      `  virtual_ipaddress {`,
      `    ${vip}`,
      '  }',
      '}',
    ].join('\n');
  return [
    'vrrp_sync_group G {',
    '  group {',
    '    VI_A',
    '    VI_B',
    '  }',
    `  notify ${notify}`,
    '}',
    inst('VI_A', 61, 'eth0', '192.0.2.100/24', `192.0.2.${me}`, `192.0.2.${peer}`),
    inst('VI_B', 62, 'eth1', '198.51.100.100/24', `198.51.100.${me}`, `198.51.100.${peer}`),
    '',
  ].join('\n');
}

describe.skipIf(!ok)('heartbeat transport between two ctsync speakers (protocol 112 blocked)', () => {
  const lab = new Lab('vh');
  const tmp = mkdtempSync(join(tmpdir(), 'ctsync-hb-'));
  let a = '';
  let b = '';
  afterAll(() => {
    lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeAll(() => {
    ensureBuilt();
    writeFileSync(join(tmp, 'speaker.js'), SPEAKER_JS);
    const notify = join(tmp, 'notify.sh');
    writeFileSync(notify, `#!/bin/sh\necho "$@" >> "$NOTIFY_LOG"\n`);
    chmodSync(notify, 0o755);
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'eth0', b, 'eth0', '192.0.2.1/24', '192.0.2.2/24');
    lab.veth(a, 'eth1', b, 'eth1', '198.51.100.1/24', '198.51.100.2/24');
    for (const ns of [a, b]) lab.exec(ns, 'nft add table inet vh; nft add chain inet vh in "{ type filter hook input priority 0; }"; nft add rule inet vh in meta l4proto 112 drop');
  }, 300_000);

  const hasVip = (ns: string, dev: string, vip: string): boolean => sh(`ip -n ${ns} -o addr show dev ${dev}`).includes(` ${vip}/`);
  const holder = (dev: string, vip: string): string => [hasVip(a, dev, vip) ? 'a' : '', hasVip(b, dev, vip) ? 'b' : ''].join('');
  const both = (): string => `${holder('eth0', '192.0.2.100')}/${holder('eth1', '198.51.100.100')}`;

  function start(ns: string, me: string, peer: string, priority: number, log: string): { child: ChildProcess; out: () => string } {
    const f = join(tmp, `${ns}.conf`);
    writeFileSync(f, conf(me, peer, priority, join(tmp, 'notify.sh')));
    const child = lab.spawn(ns, ['node', join(tmp, 'speaker.js'), DIST, f], { NOTIFY_LOG: log });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out };
  }
  async function stop(p: { child: ChildProcess }): Promise<void> {
    if (p.child.exitCode !== null || p.child.pid === undefined) return;
    const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
    process.kill(p.child.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (p.child.exitCode === null) process.kill(-p.child.pid, 'SIGKILL');
  }

  it('elects the higher priority for the whole group, hands over on graceful stop, notifies INSTANCE and GROUP', async () => {
    const logA = join(tmp, 'a.log');
    const logB = join(tmp, 'b.log');
    const pa = start(a, '1', '2', 200, logA);
    const pb = start(b, '2', '1', 100, logB);
    try {
      await waitFor(() => both() === 'a/a', 12_000, 50).catch((e: Error) => {
        throw new Error(`${e.message}; VIPs ${both()}\nA: ${pa.out().slice(-3000)}\nB: ${pb.out().slice(-3000)}`);
      });
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        expect(both()).toBe('a/a');
        await new Promise((r) => setTimeout(r, 100));
      }
      const t0 = Date.now();
      const stopping = stop(pa);
      await waitFor(() => both() === 'b/b', 5000, 10);
      expect(Date.now() - t0).toBeLessThan(1500);
      await stopping;
      const stats = JSON.parse(pa.out().split('\n').find((l) => l.includes('"ev":"stopped"')) ?? '{}') as { stats: Array<{ advertsSent: number; drops: object }> };
      expect(stats.stats.map((s) => s.drops)).toEqual([{}, {}]);
      expect(stats.stats.every((s) => s.advertsSent > 2)).toBe(true);
      const la = readFileSync(logA, 'utf8');
      expect(la).toContain('INSTANCE VI_A MASTER 200');
      expect(la).toContain('INSTANCE VI_B MASTER 200');
      expect(la).toContain('GROUP G MASTER 0');
      expect(la).toContain('INSTANCE VI_A STOP 200');
      await waitFor(() => readFileSync(logB, 'utf8').includes('GROUP G MASTER 0'), 3000, 20);
    } finally {
      await stop(pa);
      await stop(pb);
    }
  });
});

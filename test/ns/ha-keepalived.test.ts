/**
 * Issue 5 acceptance (a): the real daemon (`bin/ctsyncd -C conntrackd.conf
 * --vrrp-config vrrp.conf -d`) and keepalived 2.2.7 in the same VRIDs on the
 * lab's segments (sync group LAN + WAN, VRIDs 51/52), VRRPv2 (advert 1 s)
 * and VRRPv3 (advert 100 ms):
 *   - the higher priority is master whichever program has it;
 *   - a graceful stop of the master (`ctsyncd -k` / keepalived SIGTERM: both
 *     send priority 0) hands both addresses over within 1 s;
 *   - preemption returns them;
 *   - never two owners (nor none) once settled.
 * The speaker-level interop (wire format, IPv6, PASS auth) is
 * test/ns/vrrp-keepalived.test.ts; this one runs the whole daemon.
 */
import { describe, it, expect, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLab, listNamespaces, type Lab } from '../../src/lab/topology';
import { conntrackdConf, keepalivedConf } from '../../src/lab/ha-configs';
import { defaultCtsyncdBin, startEmbedded, startKeepalived, vipsOf, type EmbeddedProc, type KeepalivedProc } from '../../src/lab/ha-procs';
import { isRoot, have, waitFor } from '../helpers/netns';

const bin = defaultCtsyncdBin();
const ok = isRoot() && have('keepalived') && have('nft') && fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'daemon', 'main.js'));

type Who = 'fw1' | 'fw2';

interface Case {
  name: string;
  version: 2 | 3;
  advertInt: number;
}

const cases: Case[] = [
  { name: 'VRRPv2, advert 1 s', version: 2, advertInt: 1 },
  { name: 'VRRPv3, advert 100 ms', version: 3, advertInt: 0.1 },
];

describe.skipIf(!ok)('issue 5: ctsyncd (embedded VRRP) and keepalived in one VRID', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsync-hk-'));
  const labs: Lab[] = [];
  afterAll(() => {
    for (const l of labs) l.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  let seq = 0;

  /** Who holds each virtual address: exactly one owner per address when settled. */
  const owners = (lab: Lab): { lan: Who[]; wan: Who[] } => {
    const [a, b] = [vipsOf(lab.fws[0]), vipsOf(lab.fws[1])];
    const pick = (x: boolean, y: boolean): Who[] => [...(x ? ['fw1' as const] : []), ...(y ? ['fw2' as const] : [])];
    return { lan: pick(a.lan, b.lan), wan: pick(a.wan, b.wan) };
  };
  const holds = (lab: Lab, who: Who): boolean => {
    const o = owners(lab);
    return o.lan.join() === who && o.wan.join() === who;
  };
  /** Wait until `who` alone holds both addresses, then check it stays so for 1.5 s. */
  async function settled(lab: Lab, who: Who, timeoutMs: number): Promise<void> {
    await waitFor(() => holds(lab, who), timeoutMs, 50);
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      expect(owners(lab)).toEqual({ lan: [who], wan: [who] });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** ms from the start of `act` until `who` holds both addresses. */
  async function handoverMs(lab: Lab, who: Who, act: () => Promise<void>): Promise<number> {
    const t0 = Date.now();
    const acting = act();
    await waitFor(() => vipsOf(lab.fws[who === 'fw1' ? 0 : 1]).lan && vipsOf(lab.fws[who === 'fw1' ? 0 : 1]).wan, 5000, 10);
    const ms = Date.now() - t0;
    await acting;
    return ms;
  }

  function setup(c: Case): { lab: Lab; dir: (i: 0 | 1) => string; vrrpConf: (i: 0 | 1, prio: number) => string; conf: (i: 0 | 1) => string } {
    seq += 1;
    const lab = createLab({ prefix: 'hka', seq });
    labs.push(lab);
    const dir = (i: 0 | 1): string => {
      const d = path.join(tmp, `${seq}`, `fw${i + 1}`);
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    const vrrpConf = (i: 0 | 1, prio: number): string => {
      const f = path.join(dir(i), `vrrp-${prio}.conf`);
      fs.writeFileSync(f, keepalivedConf({ routerId: `fw${i + 1}`, priority: prio, advertInt: c.advertInt, version: c.version }));
      return f;
    };
    const conf = (i: 0 | 1): string => {
      const f = path.join(dir(i), 'conntrackd.conf');
      fs.writeFileSync(f, conntrackdConf({ index: i, runDir: dir(i) }));
      return f;
    };
    return { lab, dir, vrrpConf, conf };
  }
  // Master down interval: 3 adverts + skew, and the daemon's start.
  const electMs = (c: Case): number => 3 * c.advertInt * 1000 + 1000 + 10_000;

  for (const c of cases) {
    it(`${c.name}: ctsyncd higher -> master; ctsyncd -k hands over < 1 s; preemption returns the addresses`, async () => {
      const { lab, dir, vrrpConf, conf } = setup(c);
      let us: EmbeddedProc | null = null;
      let ka: KeepalivedProc | null = null;
      try {
        ka = startKeepalived(lab.fws[1], dir(1), vrrpConf(1, 100));
        us = await startEmbedded({ fw: lab.fws[0], bin, config: conf(0), vrrpConfig: vrrpConf(0, 150) });
        await settled(lab, 'fw1', electMs(c));
        expect(us.state()).toBe('MASTER');
        expect(ka.log.map((l) => l.line).join('\n')).toMatch(/\(LAN\) Entering BACKUP STATE/);

        const u = us;
        const ms = await handoverMs(lab, 'fw2', () => u.stop());
        process.stdout.write(`ha-keepalived ${c.name}: ctsyncd -k -> keepalived holds both addresses after ${ms} ms\n`);
        expect(ms).toBeLessThan(1000);
        await settled(lab, 'fw2', 2000);
        expect(us.state()).toBeNull(); // the daemon is gone

        us = await startEmbedded({ fw: lab.fws[0], bin, config: conf(0), vrrpConfig: vrrpConf(0, 150) });
        await settled(lab, 'fw1', electMs(c));
        expect(us.state()).toBe('MASTER');
        // keepalived saw the higher priority and stepped back.
        expect(ka.log.filter((l) => /\(LAN\) Entering BACKUP STATE/.test(l.line)).length).toBeGreaterThanOrEqual(2);
        // ctsyncd status carries the MASTER transition with the commit before the addresses.
        expect(us.cli('status')).toMatch(/ok\s+commit\s+\d+ ms/);
      } finally {
        await us?.stop();
        await ka?.stop();
        lab.destroy();
      }
    }, 90_000);

    it(`${c.name}: keepalived higher -> master; its graceful stop hands over to ctsyncd < 1 s; preemption returns the addresses`, async () => {
      const { lab, dir, vrrpConf, conf } = setup(c);
      let us: EmbeddedProc | null = null;
      let ka: KeepalivedProc | null = null;
      try {
        us = await startEmbedded({ fw: lab.fws[1], bin, config: conf(1), vrrpConfig: vrrpConf(1, 100) });
        ka = startKeepalived(lab.fws[0], dir(0), vrrpConf(0, 150));
        await settled(lab, 'fw1', electMs(c));
        expect(us.state()).toBe('BACKUP');

        const k = ka;
        const ms = await handoverMs(lab, 'fw2', () => k.stop());
        process.stdout.write(`ha-keepalived ${c.name}: keepalived SIGTERM -> ctsyncd holds both addresses after ${ms} ms\n`);
        expect(ms).toBeLessThan(1000);
        await settled(lab, 'fw2', 2000);
        expect(us.state()).toBe('MASTER');

        ka = startKeepalived(lab.fws[0], dir(0), vrrpConf(0, 150));
        await settled(lab, 'fw1', electMs(c));
        expect(us.state()).toBe('BACKUP');
      } finally {
        await us?.stop();
        await ka?.stop();
        lab.destroy();
      }
      expect(listNamespaces().filter((n) => n.startsWith(`hka${process.pid.toString(36)}_`))).toEqual([]);
    }, 90_000);
  }
});

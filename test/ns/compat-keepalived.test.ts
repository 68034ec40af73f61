/**
 * The switch described in docs/compatibility.md, end to end: keepalived 2.2.7
 * in both namespaces of a ctsyncd pair, VRRP on the sync link, notify_master /
 * notify_backup / notify_fault calling Debian's primary-backup.sh with only
 * CONNTRACKD_BIN (and the test's config and lock paths) changed. When the
 * master's keepalived stops, the backup takes over and its kernel table gets
 * the master's flows through the script's `primary` branch (-c, -f, -R, -B).
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, sh, waitFor } from '../helpers/netns';
import { ctsyncdBuilt, FLOWS, createPair, type CompatNode } from './helpers/compat-pair';
import { SCRIPT, haveScript } from './helpers/compat-script';

const ready = isRoot() && have('keepalived') && have('conntrack') && haveScript() && ctsyncdBuilt();
const VIP = '198.19.255.254';
const N = FLOWS.length;

function keepalivedConf(n: CompatNode, priority: number, script: string): string {
  return `global_defs {
  router_id ${n.ns}
  script_user root
  enable_script_security
}
vrrp_instance CT {
  state BACKUP
  interface sync0
  virtual_router_id 51
  priority ${priority}
  advert_int 1
  nopreempt
  virtual_ipaddress {
    ${VIP}/24 dev sync0
  }
  notify_master "${script} primary"
  notify_backup "${script} backup"
  notify_fault "${script} fault"
}
`;
}

function hasVip(n: CompatNode): boolean {
  return sh(`ip -n ${n.ns} -4 addr show dev sync0`).includes(`${VIP}/24`);
}

describe.skipIf(!ready)('keepalived + primary-backup.sh + ctsyncd', () => {
  const lab = new Lab('ckv');
  afterAll(() => lab.cleanup());

  it('failover: the new master commits the old master’s flows into its kernel', { timeout: 120_000 }, async () => {
    const pair = createPair(lab, 'ctsyncd');
    const { a, b } = pair;
    const script = (n: CompatNode): string => {
      const path = join(pair.dir, `notify-${n.name}.sh`);
      copyFileSync(SCRIPT, path);
      sh(
        `sed -i -e 's|^CONNTRACKD_BIN=.*|CONNTRACKD_BIN=${pair.bin}|' -e 's|^CONNTRACKD_LOCK=.*|CONNTRACKD_LOCK=${n.lock}|' ` +
          `-e 's|^CONNTRACKD_CONFIG=.*|CONNTRACKD_CONFIG=${n.conf}|' ${path}`,
      );
      // keepalived's enable_script_security wants root-owned, non-writable-by-others scripts and dirs.
      sh(`chmod 755 ${path} ${pair.dir}`);
      return path;
    };
    const logs: Record<string, string> = { a: '', b: '' };
    const start = (n: CompatNode, priority: number): void => {
      const conf = join(pair.dir, `keepalived-${n.name}.conf`);
      writeFileSync(conf, keepalivedConf(n, priority, script(n)));
      const child = lab.spawn(n.ns, [
        'keepalived', '-n', '-l', '-D', '-P', '-f', conf,
        '-p', join(pair.dir, `keepalived-${n.name}.pid`), '-r', join(pair.dir, `vrrp-${n.name}.pid`),
      ]);
      const add = (d: Buffer): void => {
        logs[n.name] += d.toString();
      };
      child.stdout?.on('data', add);
      child.stderr?.on('data', add);
    };

    pair.start(a);
    pair.start(b);
    pair.insert(a, FLOWS);
    await pair.waitCounts(b, { external: N });

    start(a, 200);
    await waitFor(() => hasVip(a), 15_000, 100).catch(() => {
      throw new Error(`keepalived on a never became master:\n${logs.a}`);
    });
    start(b, 100);
    // b settles as backup (its notify_backup runs the script's backup branch: -s, -t, -n).
    await waitFor(() => logs.b?.includes('Entering BACKUP STATE'), 15_000, 100).catch(() => {
      throw new Error(`keepalived on b never entered BACKUP:\n${logs.b}`);
    });
    expect(hasVip(b)).toBe(false);
    expect(pair.kernelRaw(b)).toHaveLength(0);

    // Master's keepalived stops: it sends priority 0, b takes over within a few adverts.
    sh(`kill -TERM $(cat ${join(pair.dir, 'keepalived-a.pid')})`);
    await waitFor(() => hasVip(b), 15_000, 100);
    await waitFor(() => pair.kernelRaw(b).length === N, 15_000, 100);
    expect(pair.kernel(b)).toEqual(pair.kernel(a));
    // After -f and -R the new master's internal cache is its kernel table.
    await pair.waitCounts(b, { internal: N, external: 0 });
  });
});

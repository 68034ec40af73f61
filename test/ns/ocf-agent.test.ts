/**
 * hooks/ocf/ctsync with a REAL ctsyncd in a namespace: ocf-tester passes,
 * the meta-data validates against the OCF RA API DTD, and the role
 * transitions give the exit codes Pacemaker expects (0 / 8 / 7).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, isRoot, Lab, sh } from '../helpers/netns';
import { labConf } from './helpers/ctsyncd-conf';

const ROOT = join(__dirname, '..', '..');
const AGENT = join(ROOT, 'hooks', 'ocf', 'ctsync');
const BINARY = join(ROOT, 'bin', 'ctsyncd');
const DTD = '/usr/share/resource-agents/ra-api-1.dtd';
const ready = isRoot() && have('ocf-tester') && have('xmllint');

describe.skipIf(!ready)('OCF agent ocf:ctsync:ctsync', () => {
  const lab = new Lab('ocf');
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-ocf-'));
  const conf = join(dir, 'ctsyncd.conf');
  const instance = `ctsync-${lab.tag}`;
  let ns = '';
  const env = `OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=${instance} OCF_RESKEY_binary=${BINARY} OCF_RESKEY_config=${conf}`;
  const agent = (action: string, extra = ''): number =>
    Number(sh(`ip netns exec ${ns} env ${env} ${extra} ${AGENT} ${action} >/dev/null 2>&1; echo $?`).trim());

  beforeAll(() => {
    ns = lab.netns('n');
    lab.exec(ns, 'ip link add s0 type veth peer name s1 && ip link set s0 up && ip link set s1 up');
    lab.exec(ns, 'ip addr add 198.18.0.1/24 dev s0 && ip addr add 198.18.0.2/24 dev s1');
    writeFileSync(conf, labConf({ local: '198.18.0.1', peer: '198.18.0.2', iface: 's0', dir }));
    lab.onCleanup(() => {
      sh(`ip netns exec ${ns} ${BINARY} -C ${conf} -k`, { allowFail: true });
      sh(`rm -f /run/resource-agents/ctsync.${instance}.promoted`, { allowFail: true });
    });
  });
  afterAll(() => {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('meta-data validates against ra-api-1.dtd', () => {
    const r = sh(`OCF_ROOT=/usr/lib/ocf ${AGENT} meta-data | xmllint --noout --dtdvalid ${DTD} - 2>&1; echo "rc=$?"`);
    expect(r).toMatch(/rc=0\s*$/);
    expect(r).not.toMatch(/validity error|does not validate/);
    const roles = sh(`OCF_ROOT=/usr/lib/ocf ${AGENT} meta-data | xmllint --xpath '//action[@name="monitor"]/@role' -`);
    expect(roles).toContain('role="Promoted"');
  });

  it('role transitions: start 0, promote -> monitor 8, demote -> monitor 0, stop -> monitor 7', () => {
    expect(agent('monitor')).toBe(7);
    expect(agent('start')).toBe(0);
    expect(agent('monitor', 'OCF_RESKEY_CRM_meta_interval=10000')).toBe(0);
    expect(agent('promote')).toBe(0);
    expect(agent('monitor', 'OCF_RESKEY_CRM_meta_interval=10000')).toBe(8);
    expect(agent('notify', 'OCF_RESKEY_CRM_meta_notify_type=post OCF_RESKEY_CRM_meta_notify_operation=start OCF_RESKEY_CRM_meta_notify_start_uname=other')).toBe(0);
    expect(agent('demote')).toBe(0);
    expect(agent('monitor')).toBe(0);
    expect(agent('stop')).toBe(0);
    expect(agent('monitor')).toBe(7);
  });

  it('validate-all refuses a missing config and promoted-max other than 1', () => {
    expect(Number(sh(`env ${env.replace(conf, '/nonexistent.conf')} ${AGENT} validate-all >/dev/null 2>&1; echo $?`).trim())).toBe(5);
    expect(Number(sh(`env ${env} OCF_RESKEY_CRM_meta_promoted_max=2 ${AGENT} validate-all >/dev/null 2>&1; echo $?`).trim())).toBe(6);
  });

  it('passes ocf-tester', () => {
    const out = sh(
      `ip netns exec ${ns} ocf-tester -n ${instance} -o binary=${BINARY} -o config=${conf} ${AGENT} 2>&1; echo "rc=$?"`,
    );
    expect(out).toContain(`${AGENT} passed all tests`);
    expect(out).toMatch(/rc=0\s*$/);
  }, 120_000);
});

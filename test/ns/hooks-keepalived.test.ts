/**
 * hooks/keepalived-notify driven by a REAL keepalived 2.2.7: two namespaces
 * on a veth, one vrrp_instance each, `notify` -> a wrapper that runs our
 * hook with the fake ctsyncd (test/bats/fake/ctsyncd, records its calls).
 * Killing the master's keepalived makes the backup run the MASTER sequence.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { have, isRoot, Lab, waitFor } from '../helpers/netns';

const ROOT = join(__dirname, '..', '..');
const HOOK = join(ROOT, 'hooks', 'keepalived-notify');
const FAKE = join(ROOT, 'test', 'bats', 'fake', 'ctsyncd');
const ready = isRoot() && have('keepalived');

const MASTER_SEQ = ['-c', '-f', '-R', '-B'];
const BACKUP_SEQ = ['-s', '-t', '-n'];

describe.skipIf(!ready)('keepalived notify hook with a real keepalived', () => {
  const lab = new Lab('kah');
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-ka-'));
  const procs: Record<string, ChildProcess> = {};
  const calls = (node: string): string[] => {
    try {
      return readFileSync(join(dir, `${node}.calls`), 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').pop() ?? '');
    } catch {
      return [];
    }
  };

  function start(node: string, ns: string, iface: string, state: 'MASTER' | 'BACKUP', priority: number): void {
    const wrapper = join(dir, `notify-${node}`);
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexport PATH=${join(ROOT, 'test', 'bats', 'fake')}:$PATH CTSYNCD=${FAKE} CALLS=${dir}/${node}.calls LOGGED=${dir}/${node}.log LOCKFILE=${dir}/${node}.lock\n` +
        `export CONFIG=/etc/ctsync-${node}.conf CTSYNC_DEFAULTS=/nonexistent\nexec ${HOOK} "$@" 2>>${dir}/${node}.err\n`,
      { mode: 0o755 },
    );
    const conf = join(dir, `keepalived-${node}.conf`);
    writeFileSync(
      conf,
      [
        'global_defs {',
        `    router_id ${node}`,
        '    enable_script_security',
        '    script_user root',
        '}',
        'vrrp_instance VI_1 {',
        `    state ${state}`,
        `    interface ${iface}`,
        '    virtual_router_id 51',
        `    priority ${priority}`,
        '    advert_int 1',
        '    virtual_ipaddress {',
        `        192.0.2.100/24 dev ${iface}`,
        '    }',
        `    notify "${wrapper}"`,
        '}',
        '',
      ].join('\n'),
    );
    procs[node] = lab.spawn(ns, [
      'keepalived', '-n', '-l', '-P', '-f', conf, `--pid=${dir}/${node}.pid`, `--vrrp_pid=${dir}/${node}.vrrp.pid`,
      `--checkers_pid=${dir}/${node}.chk.pid`,
    ]);
  }

  let nsA = '';
  let nsB = '';
  beforeAll(() => {
    nsA = lab.netns('a');
    nsB = lab.netns('b');
    lab.veth(nsA, 'ka0', nsB, 'kb0', '192.0.2.11/24', '192.0.2.12/24');
  });
  afterAll(() => {
    lab.cleanup(); // kills both keepalived process groups, removes the namespaces
    rmSync(dir, { recursive: true, force: true });
  });

  it('master runs the MASTER sequence, backup the BACKUP one; killing the master fails over', async () => {
    start('a', nsA, 'ka0', 'MASTER', 150);
    start('b', nsB, 'kb0', 'BACKUP', 100);
    const endsWithMaster = (c: string[]): boolean => c.slice(-4).join(' ') === MASTER_SEQ.join(' ');
    await waitFor(() => endsWithMaster(calls('a')) && calls('b').length >= 3, 20_000, 50);
    // keepalived 2.2.7 may report BACKUP first even with `state MASTER`
    expect([MASTER_SEQ, [...BACKUP_SEQ, ...MASTER_SEQ]]).toContainEqual(calls('a'));
    expect(calls('b')).toEqual(BACKUP_SEQ);
    expect(readFileSync(join(dir, 'b.log'), 'utf8')).toContain('ctsync daemon.info BACKUP: transition started (INSTANCE VI_1 priority 100)');

    const a = procs.a;
    if (a?.pid === undefined) throw new Error('keepalived a did not start');
    process.kill(-a.pid, 'SIGKILL'); // a crash: no priority-0 advert, b waits for master-down
    await waitFor(() => calls('b').length >= 7, 20_000, 50);
    expect(calls('b')).toEqual([...BACKUP_SEQ, ...MASTER_SEQ]);
    const log = readFileSync(join(dir, 'b.log'), 'utf8');
    expect(log).toContain('ctsync daemon.info MASTER: transition started (INSTANCE VI_1 priority 100)');
    expect(log).toContain('ctsync daemon.info MASTER: transition finished');
    // the VIP moved too: keepalived added it on b
    const addrs = lab.exec(nsB, 'ip -4 addr show dev kb0');
    expect(addrs).toContain('192.0.2.100/24');
  }, 60_000);
});

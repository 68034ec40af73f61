/**
 * Expectations on the real kernel: a passive FTP control connection through a
 * router namespace with the ftp conntrack helper makes an expectation; our
 * table dumps it and recreates it (with its master) in another namespace.
 *
 *   client (192.0.2.2) -- router (192.0.2.1 | 198.51.100.1, ct helper ftp) -- server (198.51.100.2)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { fakeFtpClient, fakeFtpServer } from '../helpers/fake-ftp';
import { createKernelTable, type KernelTableHandle } from '../../src/netlink/kernel-table';
import { decodeExpectation } from '../../src/netlink/ct/expect';
import { silentLogger } from '../../src/util/log';
import type { ChildProcess } from 'node:child_process';

const SERVER = fakeFtpServer('198.51.100.2');
const CLIENT = fakeFtpClient({ connect: { port: 21, host: '198.51.100.2' }, keepOpen: true });

const NFT = `
table inet ctsync_ftp {
  ct helper ftp-std { type "ftp" protocol tcp; }
  chain pre { type filter hook prerouting priority 0; tcp dport 21 ct helper set "ftp-std"; }
}
`;

function lineOf(p: ChildProcess, want: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no '${want}' within ${timeoutMs} ms: ${out}`)), timeoutMs);
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(want)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** `conntrack -L expect` lines without the leading timeout countdown. */
function expectLines(lab: Lab, ns: string): string[] {
  return lab
    .exec(ns, 'conntrack -L expect 2>/dev/null', { allowFail: true })
    .split('\n')
    .filter((l) => l.includes('proto='))
    .map((l) => l.trim().replace(/^\d+\s+/, ''))
    .sort();
}

describe.skipIf(!isRoot() || !have('nft') || !have('conntrack'))('kernel table expectations (FTP helper)', () => {
  const lab = new Lab('kex');
  let router = '';
  let other = '';
  let tr: KernelTableHandle;
  let tb: KernelTableHandle;

  beforeAll(async () => {
    const client = lab.netns('c');
    router = lab.netns('r');
    const server = lab.netns('s');
    other = lab.netns('b');
    lab.veth(client, 'eth0', router, 'eth0', '192.0.2.2/24', '192.0.2.1/24');
    lab.veth(router, 'eth1', server, 'eth0', '198.51.100.1/24', '198.51.100.2/24');
    lab.exec(client, 'ip route add default via 192.0.2.1');
    lab.exec(server, 'ip route add default via 198.51.100.1');
    lab.exec(router, 'sysctl -qw net.ipv4.ip_forward=1');
    lab.exec(router, 'nft -f -', { input: NFT });
    const srv = lab.spawn(server, [process.execPath, '-e', SERVER]);
    await lineOf(srv, 'ready');
    const cli = lab.spawn(client, [process.execPath, '-e', CLIENT]);
    await lineOf(cli, 'pasv');
    tr = createKernelTable({ logger: silentLogger(), netns: router });
    tb = createKernelTable({ logger: silentLogger(), netns: other });
  });
  afterAll(() => {
    tr?.close();
    tb?.close();
    lab.cleanup();
  });

  it('dumps the expectation the ftp helper created', async () => {
    await waitFor(() => expectLines(lab, router).length === 1, 10_000);
    const exps = await tr.dump('expect');
    expect(exps).toHaveLength(1);
    const first = exps[0];
    if (!first) throw new Error('no expectation');
    const d = decodeExpectation(first);
    if (!d.ok) throw new Error(`decode: ${d.error.message}`);
    expect(d.value.tuple).toMatchObject({ src: '192.0.2.2', dst: '198.51.100.2', proto: 6, dport: 50000 });
    expect(d.value.master).toMatchObject({ src: '192.0.2.2', dst: '198.51.100.2', proto: 6, dport: 21 });
    expect(d.value.helper).toBe('ftp');
  });

  it('recreates master and expectation in another namespace; conntrack lists them identically', async () => {
    const masters = await tr.dump('ct');
    const ftp = masters.filter((r) => r.attrs.length > 0);
    expect(ftp.length).toBeGreaterThanOrEqual(1);
    const rc = await tb.create(ftp);
    expect(rc.failed).toEqual([]);
    const exps = await tr.dump('expect');
    const re = await tb.create(exps);
    expect(re.failed).toEqual([]);
    expect(re.ok).toBe(1);
    const inB = expectLines(lab, other);
    expect(inB).toHaveLength(1);
    expect(inB).toEqual(expectLines(lab, router));
    expect(await tb.count('expect')).toBe(1);
    await tb.flush('expect');
    expect(expectLines(lab, other)).toEqual([]);
    expect(expectLines(lab, router)).toHaveLength(1);
  });
});

/**
 * Expectations through the conntrackd command line (ExpectationSync On):
 * a passive FTP control connection over loopback in namespace a, with the
 * kernel ftp helper set by nftables, makes one expectation. It must reach b's
 * external cache (-e expect), and `-c ct` then `-c expect` must put master
 * and expectation into b's kernel, `-F expect` must flush it, like conntrackd
 * 1.4.7 does on an identical pair.
 *
 *   ns a: 192.0.2.2 (client) and 203.0.113.2 (server) on lo, helper on tcp/21
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { fakeFtpClient, fakeFtpServer } from '../helpers/fake-ftp';
import { ctsyncdBuilt, createPair, run, type CompatPair, type Impl } from './helpers/compat-pair';

const ready = isRoot() && have('conntrackd') && have('conntrack') && have('nft') && ctsyncdBuilt();

const SERVER = fakeFtpServer('203.0.113.2');
const CLIENT = fakeFtpClient({ connect: { port: 21, host: '203.0.113.2', localAddress: '192.0.2.2', localPort: 40021 }, keepOpen: false });

const NFT = `
table inet ctsync_compat_ftp {
  ct helper ftp-std { type "ftp" protocol tcp; }
  chain out { type filter hook output priority 0; tcp dport 21 ct helper set "ftp-std"; }
}
`;

interface Snapshot {
  internal: string[];
  external: string[];
  commitCt: number;
  commitExpect: number;
  kernelExpectB: string[];
  flushExpect: number;
  kernelExpectBAfterFlush: string[];
  kernelCtBAfterFlush: unknown[];
}

/** `conntrack -L expect` lines without the countdown. */
function kernelExpect(p: CompatPair, n: 'a' | 'b'): string[] {
  return p
    .shell(p[n], 'conntrack -L expect 2>/dev/null')
    .stdout.split('\n')
    .filter((l) => l.includes('proto='))
    .map((l) => l.replace(/^\d+ /, ''))
    .sort();
}

function lines(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/\[active since \d+s\]/, '').replace(/^\d+ /, '').trim())
    .sort();
}

async function scenario(lab: Lab, impl: Impl): Promise<Snapshot> {
  const pair = createPair(lab, impl, { syncExtra: '\tOptions {\n\t\tExpectationSync On\n\t}' });
  const { a, b } = pair;
  run(['ip', '-n', a.ns, 'addr', 'add', '192.0.2.2/32', 'dev', 'lo']);
  run(['ip', '-n', a.ns, 'addr', 'add', '203.0.113.2/32', 'dev', 'lo']);
  writeFileSync(join(pair.dir, 'nft.conf'), NFT);
  expect(pair.shell(a, `nft -f ${join(pair.dir, 'nft.conf')}`).code).toBe(0);
  writeFileSync(join(pair.dir, 'server.js'), SERVER);
  writeFileSync(join(pair.dir, 'client.js'), CLIENT);
  pair.start(a);
  pair.start(b);

  const server = lab.spawn(a.ns, [process.execPath, join(pair.dir, 'server.js')]);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ftp server did not start')), 10_000);
    server.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const c = run(['timeout', '10', 'ip', 'netns', 'exec', a.ns, process.execPath, join(pair.dir, 'client.js')]);
  expect(c.stdout).toContain('pasv');
  expect(kernelExpect(pair, 'a')).toHaveLength(1);

  await waitFor(() => lines(pair.ctl(b, ['-e', 'expect']).stdout).length === 1, 10_000, 100);
  const snap: Snapshot = {
    internal: lines(pair.ctl(a, ['-i', 'expect']).stdout),
    external: lines(pair.ctl(b, ['-e', 'expect']).stdout),
    commitCt: pair.ctl(b, ['-c', 'ct']).code,
    commitExpect: pair.ctl(b, ['-c', 'expect']).code,
    kernelExpectB: [],
    flushExpect: -1,
    kernelExpectBAfterFlush: [],
    kernelCtBAfterFlush: [],
  };
  // conntrackd commits in the background: wait for the result instead of the exit.
  await waitFor(() => kernelExpect(pair, 'b').length > 0, 5_000, 50).catch(() => undefined);
  snap.kernelExpectB = kernelExpect(pair, 'b');
  snap.flushExpect = pair.ctl(b, ['-F', 'expect']).code;
  await waitFor(() => kernelExpect(pair, 'b').length === 0, 5_000, 50).catch(() => undefined);
  snap.kernelExpectBAfterFlush = kernelExpect(pair, 'b');
  snap.kernelCtBAfterFlush = pair.kernel(b);
  if (server.pid !== undefined) process.kill(-server.pid, 'SIGKILL');
  pair.stop(a);
  pair.stop(b);
  return snap;
}

describe.skipIf(!ready)('expectations: -i/-e expect, -c expect, -F expect with conntrackd and with ctsyncd', () => {
  const labs = { conntrackd: new Lab('cec'), ctsyncd: new Lab('ces') };
  afterAll(() => {
    labs.conntrackd.cleanup();
    labs.ctsyncd.cleanup();
  });
  const snaps: Partial<Record<Impl, Snapshot>> = {};

  it('conntrackd 1.4.7 reference run', async () => {
    snaps.conntrackd = await scenario(labs.conntrackd, 'conntrackd');
    expect(snaps.conntrackd.kernelExpectB).toHaveLength(1);
  });

  it('ctsyncd: the expectation is synced, committed after its master, and flushed', async () => {
    const s = await scenario(labs.ctsyncd, 'ctsyncd');
    snaps.ctsyncd = s;
    expect(s.internal).toHaveLength(1);
    expect(s.external).toHaveLength(1);
    expect(s.commitCt).toBe(0);
    expect(s.commitExpect).toBe(0);
    expect(s.kernelExpectB).toHaveLength(1);
    expect(s.kernelExpectB[0]).toContain('dport=50000');
    expect(s.kernelExpectB[0]).toContain('helper=ftp');
    expect(s.flushExpect).toBe(0);
    expect(s.kernelExpectBAfterFlush).toEqual([]);
    expect(s.kernelCtBAfterFlush.length).toBeGreaterThan(0); // -F expect leaves the conntrack table alone
  });

  it('same caches and kernel effects for both', () => {
    const c = snaps.conntrackd;
    const s = snaps.ctsyncd;
    expect(c).toBeDefined();
    expect(s).toBeDefined();
    if (!c || !s) return;
    expect(s.kernelExpectB).toEqual(c.kernelExpectB);
    expect(s.kernelExpectBAfterFlush).toEqual(c.kernelExpectBAfterFlush);
    expect(s.kernelCtBAfterFlush).toEqual(c.kernelCtBAfterFlush);
    expect(s.internal).toEqual(c.internal);
    expect(s.external).toEqual(c.external);
  });
});

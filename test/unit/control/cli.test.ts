import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, type CliDeps } from '../../../src/control/cli';
import { createControlClient } from '../../../src/control/client';
import { createControlServer, type ControlServer } from '../../../src/control/server';
import type { Conntrack } from '../../../src/netlink/types';
import { systemClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { decodeConntrack, encodeConntrack } from '../../../src/netlink/ct/conntrack';
import { createFakeDaemon, fakeDecode, fakeRecord, type FakeDaemon } from './fake-daemon';

const dir = mkdtempSync(join(tmpdir(), 'ctsync-cli-'));
const sockPath = join(dir, 'ctl.sock');
const conf = join(dir, 'conntrackd.conf');
writeFileSync(conf, `General {\n\t# control socket\n\tUNIX {\n\t\tPath ${sockPath}\n\t}\n}\nSync { Mode FTFW { } }\n`);

let daemon: FakeDaemon;
let server: ControlServer;
beforeAll(async () => {
  daemon = createFakeDaemon();
  server = createControlServer({ path: sockPath, api: daemon, logger: silentLogger(), clock: systemClock(), progressIntervalMs: 0 });
  await server.listen();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  daemon.calls.length = 0;
  daemon.commitTotal = 3;
});

interface Run {
  code: number;
  out: string;
  err: string;
  daemonRuns: Array<{ config: string; daemonize: boolean }>;
}

async function cli(argv: string[], extra: Partial<CliDeps> = {}): Promise<Run> {
  let out = '';
  let err = '';
  const daemonRuns: Run['daemonRuns'] = [];
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    isTTY: false,
    version: '0.1.0',
    connect: createControlClient,
    decodeConntrack: fakeDecode,
    runDaemon: async (o) => {
      daemonRuns.push(o);
      return 0;
    },
    ...extra,
  });
  return { code, out, err, daemonRuns };
}

describe('runCli', () => {
  const table: Array<[string, unknown[]]> = [
    ['-c', ['commit', 'all']],
    ['-c ct', ['commit', 'ct']],
    ['-f', ['flushCache', 'all']],
    ['-f external', ['flushCache', 'external']],
    ['-F expect', ['flushKernel', 'expect']],
    ['-i', ['dumpCache', 'internal', 'ct']],
    ['-e -x', ['dumpCache', 'external', 'ct']],
    ['-k', ['kill']],
    ['-s', ['stats', 'general']],
    ['-s cache', ['stats', 'cache']],
    ['-R', ['resyncKernel', 'all']],
    ['-n', ['requestResync']],
    ['-B', ['bulkSend']],
    ['-t', ['shortenTimers']],
    ['status', ['status']],
  ];
  it.each(table)('-C conf %s reaches the daemon and exits 0', async (line, call) => {
    const r = await cli(['-C', conf, ...line.split(' ')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(daemon.calls).toEqual([call]);
  });

  it('commit prints a summary; no progress line when not a TTY', async () => {
    const r = await cli(['-C', conf, '-c']);
    expect(r.out).toBe('commit: 3 entries committed, 0 failed, 0.50 seconds\n');
  });

  it('commit on a TTY shows a progress line for large caches, then clears it', async () => {
    daemon.commitTotal = 2000;
    const r = await cli(['-C', conf, '-c'], { isTTY: true });
    expect(r.out).toContain('\rcommitting: 2000/2000 entries (100%)');
    expect(r.out.endsWith('\r\x1b[Kcommit: 2000 entries committed, 0 failed, 0.50 seconds\n')).toBe(true);
  });

  it('a failure inside the daemon exits 1 with its message (conntrackd would exit 0)', async () => {
    daemon.failNext('flushCache', new Error('cache locked'));
    const r = await cli(['-C', conf, '-f']);
    expect(r).toMatchObject({ code: 1, out: '', err: 'ctsyncd: cache locked\n' });
  });

  it('EBUSY commit exits 1 with a clear message', async () => {
    daemon.failNext('commit', Object.assign(new Error('a commit is already running (started 3s ago); retry when it has finished'), { code: 'EBUSY' }));
    const r = await cli(['-C', conf, '-c']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('ctsyncd: a commit is already running (started 3s ago); retry when it has finished\n');
  });

  it('-i prints conntrackd lines, -e -x prints XML without ids', async () => {
    const ct: Conntrack = {
      family: 2,
      orig: { src: '192.0.2.11', dst: '203.0.113.53', proto: 17, sport: 5353, dport: 53 },
      reply: { src: '203.0.113.53', dst: '192.0.2.11', proto: 17, sport: 53, dport: 5353 },
      status: 8,
      mark: 42,
      id: 77,
    };
    daemon.dump = [{ record: fakeRecord(ct), ageSeconds: 12 }];
    const r = await cli(['-C', conf, '-i']);
    expect(r.out).toBe(
      'udp      17 src=192.0.2.11 dst=203.0.113.53 sport=5353 dport=53 [UNREPLIED] src=203.0.113.53 dst=192.0.2.11 sport=53 dport=5353 mark=42 [active since 12s]\n',
    );
    const x = await cli(['-C', conf, '-e', '-x']);
    expect(x.out).toMatch(/^<flow>.*<mark>42<\/mark><unreplied\/><\/meta><\/flow>\n$/);
    expect(x.out).not.toContain('<id>');
    const xi = await cli(['-C', conf, '-i', '-x']);
    expect(xi.out).toContain('<id>77</id>');
  });

  it('real ctnetlink records: encodeConntrack -> socket -> decodeConntrack -> conntrackd line', async () => {
    const ct: Conntrack = {
      family: 10,
      orig: { src: '2001:db8::1', dst: '2001:db8::2', proto: 6, sport: 50000, dport: 443 },
      reply: { src: '2001:db8::2', dst: '2001:db8::1', proto: 6, sport: 443, dport: 50000 },
      status: 4 | 8,
      mark: 7,
      protoinfo: { tcp: { state: 3 } },
    };
    daemon.dump = [{ record: encodeConntrack(ct), ageSeconds: 2 }];
    const r = await cli(['-C', conf, '-i'], { decodeConntrack: (rec) => decodeConntrack(rec) });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'tcp      6 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 sport=50000 dport=443 [UNREPLIED] src=2001:db8::2 dst=2001:db8::1 sport=443 dport=50000 [ASSURED] mark=7 [active since 2s]\n',
    );
  });

  it('undecodable entries are counted and exit 1, the rest is printed', async () => {
    const good: Conntrack = { family: 2, orig: { src: '192.0.2.1', dst: '192.0.2.2', proto: 99 }, reply: { src: '192.0.2.2', dst: '192.0.2.1', proto: 99 } };
    daemon.dump = [
      { record: { kind: 'ct', family: 2, attrs: Buffer.from([1, 2, 3]) }, ageSeconds: 1 },
      { record: fakeRecord(good), ageSeconds: 1 },
    ];
    const r = await cli(['-C', conf, '-i']);
    expect(r.code).toBe(1);
    expect(r.out.split('\n')).toHaveLength(2);
    expect(r.err).toBe('ctsyncd: 1 entries could not be decoded and were not shown\n');
  });

  it('-s prints the conntrackd layout', async () => {
    const r = await cli(['-C', conf, '-s']);
    expect(r.out.startsWith('cache internal:\ncurrent active connections:\t           1\n')).toBe(true);
  });

  it('status is readable', async () => {
    const r = await cli(['-C', conf, 'status'], { now: () => 1_700_000_010_000 });
    expect(r.out).toContain('state:    MASTER\n');
  });

  it('not running: names the socket, exit 1', async () => {
    const other = join(dir, 'other.conf');
    writeFileSync(other, `General { UNIX { Path ${join(dir, 'nope.ctl')} } }\n`);
    const r = await cli(['-C', other, '-s']);
    expect(r).toMatchObject({ code: 1, out: '', err: `ctsyncd: ctsyncd is not running (no control socket at ${join(dir, 'nope.ctl')})\n` });
  });

  it('missing config file: exit 1', async () => {
    const r = await cli(['-C', join(dir, 'absent.conf'), '-s']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`ctsyncd: can't open config file \`${join(dir, 'absent.conf')}' (ENOENT)\n`);
  });

  it('unknown flag: usage error naming it, exit 1', async () => {
    const r = await cli(['-C', conf, '-z']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('Usage: ctsyncd [commands] [options]');
    expect(r.err.endsWith('Error: unknown option: -z\n')).toBe(true);
    expect(daemon.calls).toEqual([]);
  });

  it('-h and -v exit 0 on stdout', async () => {
    expect(await cli(['-h'])).toMatchObject({ code: 0, err: '' });
    expect((await cli(['-h'])).out).toContain('-c [ct|expect], commit external cache to conntrack table');
    expect(await cli(['-v'])).toMatchObject({ code: 0, out: 'ctsyncd v0.1.0 (conntrackd 1.4.7 compatible command line)\n' });
  });

  it('-d and no command start the daemon with the config', async () => {
    expect((await cli(['-C', conf, '-d'])).daemonRuns).toEqual([{ config: conf, daemonize: true }]);
    expect((await cli([])).daemonRuns).toEqual([{ config: '/etc/conntrackd/conntrackd.conf', daemonize: false }]);
  });

  it('warnings go to stderr and do not fail', async () => {
    const r = await cli(['-C', conf, '-s', 'multicast']);
    expect(r.code).toBe(0);
    expect(r.err).toBe("WARNING: use `link' instead of `multicast' as parameter.\n");
    expect(daemon.calls).toEqual([['stats', 'link']]);
  });
});

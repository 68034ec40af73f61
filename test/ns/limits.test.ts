/**
 * Resource limits reached on real daemons (test/ns/helpers/daemon-pair.ts):
 * (a) fw1's internal cache full (HashLimit): flows past the limit are refused
 *     and counted, the daemon keeps running with bounded memory, and once
 *     flows are gone new ones are cached again;
 * (b) the kernel table full on fw2 (nf_conntrack_max, GLOBAL sysctl: lowered
 *     for a few seconds only, the exact previous value restored in finally)
 *     during `-c`: the commit reports the refused entries (exit 1), the daemon
 *     keeps running, and a second `-c` after the limit is raised commits the rest.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot, waitFor } from '../helpers/netns';
import { buildOnce, DaemonPair, type NodeName } from './helpers/daemon-pair';

const CT_MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const LIMIT = 5_000;

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

async function noSpace(pair: DaemonPair, n: NodeName): Promise<number> {
  const s = await pair.stats(n, 'cache');
  return s.caches.find((c) => c.name === 'internal')?.noSpace ?? -1;
}

async function overruns(pair: DaemonPair, n: NodeName): Promise<number> {
  return (await pair.stats(n, 'runtime')).netlink.overrun;
}

/** Create flows [first, first+n) in chunks; the kernel must accept all of them. */
async function create(pair: DaemonPair, n: NodeName, first: number, count: number, chunk = 2_000): Promise<void> {
  for (let i = 0; i < count; i += chunk) {
    const k = Math.min(chunk, count - i);
    const r = await pair.table(n).create(makeFlows(k, { first: first + i }));
    expect(r.failed.length, `${n}: create: ${r.failed[0]?.code}`).toBe(0);
  }
}

async function destroy(pair: DaemonPair, n: NodeName, first: number, count: number, chunk = 2_000): Promise<void> {
  for (let i = 0; i < count; i += chunk) {
    const r = await pair.table(n).delete(makeFlows(Math.min(chunk, count - i), { first: first + i }));
    expect(r.failed.length, `${n}: delete: ${r.failed[0]?.code}`).toBe(0);
  }
}

describe.skipIf(!isRoot())('limits: HashLimit reached on fw1', () => {
  const pair = new DaemonPair({ mode: 'FTFW', fw1: { hashLimit: LIMIT } });
  beforeAll(async () => {
    buildOnce();
    await pair.start();
  }, 120_000);
  afterAll(() => pair.cleanup());

  it('refusals counted, daemon alive, memory bounded, new flows cached again once flows are gone', async () => {
    const pid = pair.pid('fw1');
    expect(pid).not.toBeNull();
    // 8000 flows, 5000 fit
    await create(pair, 'fw1', 0, 8_000);
    await pair.waitCount('fw1', 'internal', LIMIT, 30_000);
    await waitFor(async () => (await noSpace(pair, 'fw1')) >= 3_000, 30_000, 200);
    const firstRefused = await noSpace(pair, 'fw1');
    // exact unless an event overrun made the daemon resync (a dump retries the refused flows)
    if ((await overruns(pair, 'fw1')) === 0) expect(firstRefused).toBe(3_000);
    await pair.waitReplicated({ expectSize: LIMIT, timeoutMs: 60_000 });
    const rss1 = rssKiB(pid as number);

    // a second burst of 20,000 flows: all refused, memory must not follow
    await create(pair, 'fw1', 8_000, 20_000, 5_000);
    await waitFor(async () => (await noSpace(pair, 'fw1')) >= firstRefused + 20_000, 60_000, 200);
    if ((await overruns(pair, 'fw1')) === 0) expect(await noSpace(pair, 'fw1')).toBe(23_000);
    const rss2 = rssKiB(pid as number);
    expect((await pair.status('fw1')).cache.internal).toBe(LIMIT);
    expect(pair.pid('fw1')).toBe(pid);
    // 20,000 cached entries would cost far more than this (a few hundred bytes each, plus replication state)
    expect(rss2 - rss1, `RSS ${rss1} -> ${rss2} KiB`).toBeLessThan(16 * 1024);

    // the CLI shows the refusals
    const s = await pair.cli('fw1', ['-s', 'cache']);
    expect(s.code).toBe(0);
    const m = /no space left in cache:\s+(\d+)/.exec(s.stdout);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(firstRefused + 20_000);

    // every flow gone: the cache empties, nothing is stuck
    await destroy(pair, 'fw1', 0, 28_000, 5_000);
    await pair.waitCount('fw1', 'internal', 0, 60_000);
    await create(pair, 'fw1', 100_000, 1_000);
    await pair.waitCount('fw1', 'internal', 1_000, 30_000);
    await pair.waitReplicated({ expectSize: 1_000, timeoutMs: 60_000 });
    expect(pair.pid('fw1')).toBe(pid);
  }, 240_000);
});

describe.skipIf(!isRoot())('limits: nf_conntrack_max reached on fw2 during -c', () => {
  const pair = new DaemonPair({ mode: 'FTFW' });
  const N = 3_000;
  const LOW = 1_000;
  beforeAll(async () => {
    buildOnce();
    await pair.start();
  }, 120_000);
  afterAll(() => pair.cleanup());

  it('the commit reports the refused entries, the daemon survives, a second -c commits the rest', async () => {
    await create(pair, 'fw1', 0, N);
    await pair.waitReplicated({ expectSize: N, timeoutMs: 60_000 });
    const pid = pair.pid('fw2');
    expect(await pair.table('fw2').count('ct')).toBe(0);

    const saved = readFileSync(CT_MAX, 'utf8').trim();
    let first;
    try {
      writeFileSync(CT_MAX, String(LOW));
      first = await pair.cli('fw2', ['-c'], 60_000);
    } finally {
      writeFileSync(CT_MAX, saved);
    }
    expect(readFileSync(CT_MAX, 'utf8').trim()).toBe(saved);
    expect(first.code).toBe(1);
    const m = /commit: (\d+) entries committed, (\d+) failed/.exec(first.stderr);
    expect(m, first.stderr).not.toBeNull();
    const committed = Number(m?.[1]);
    const failed = Number(m?.[2]);
    // the kernel takes entries up to nf_conntrack_max in the namespace, then ENOMEM
    // (established TCP flows are not early-dropped)
    expect([committed, failed]).toEqual([LOW, N - LOW]);
    expect(await pair.table('fw2').count('ct')).toBe(committed);
    expect(pair.pid('fw2')).toBe(pid);
    expect((await pair.status('fw2')).cache.external).toBe(N);

    const second = await pair.cli('fw2', ['-c'], 60_000);
    expect(await pair.table('fw2').count('ct')).toBe(N);
    expect(pair.pid('fw2')).toBe(pid);
    // entries already present are not failures
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^commit: 3000 entries committed, 0 failed, [\d.]+ seconds\n$/);
  }, 180_000);
});

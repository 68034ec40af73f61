/**
 * Acceptance: netlink overrun. fw1 runs with `NetlinkBufferSize 65536` and
 * 100,000 flows are created in one burst: its event socket overruns
 * (`-s runtime` netlink overrun > 0), the daemon resyncs from a dump, and
 * afterwards fw1's internal cache equals its kernel table and fw2 converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot, waitFor } from '../helpers/netns';
import { compareRecords, summary } from './helpers/ct-compare';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';

const N = 100_000;

describe.skipIf(!isRoot())('netlink overrun on a 100k burst', () => {
  let pair: DaemonPair;
  beforeAll(async () => {
    buildOnce();
    pair = new DaemonPair({ mode: 'FTFW', fw1: { netlinkBufferSize: 65_536 }, conntrackMax: 1_000_000 });
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('overrun is counted, the internal cache resyncs to the kernel table, fw2 converges', async () => {
    const created = await pair.table('fw1').create(makeFlows(N));
    expect(created.failed).toEqual([]);
    expect(created.ok).toBe(N);

    const rt = await pair.cli('fw1', ['-s', 'runtime']);
    expect(rt.code).toBe(0);
    const m = /netlink overrun:\s+(\d+)/.exec(rt.stdout);
    expect(m, rt.stdout).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThan(0);

    await pair.waitCount('fw1', 'internal', N, 60_000);
    const [kernel, internal] = await Promise.all([pair.table('fw1').dump('ct'), pair.dump('fw1', 'internal')]);
    expect(summary(compareRecords(kernel, internal, { sample: 5_000, timeoutSlack: 120 }))).toBe(
      `want ${N}, got ${N}: 0 missing, 0 stale, 0 different, 0 undecodable`,
    );

    const rep = await pair.waitReplicated({ expectSize: N, timeoutMs: 90_000, sample: 5_000 });
    expect(rep.gotSize).toBe(N);
    await waitFor(async () => (await pair.stats('fw1', 'runtime')).netlink.overrun > 0, 1_000);
  }, 200_000);

  // A netlink socket reports ENOBUFS once, then drops silently while congested: the
  // mirror resubscribes on a fresh socket before its resync dump (src/cache/mirror.ts).
  it('a burst with an 8 MiB event buffer: the internal cache reaches the kernel table', async () => {
    const big = new DaemonPair({ mode: 'FTFW', fw1: { netlinkBufferSize: 8 << 20 }, conntrackMax: 1_000_000 });
    try {
      await big.start();
      const created = await big.table('fw1').create(makeFlows(N));
      expect(created.ok).toBe(N);
      await big.waitCount('fw1', 'internal', N, 45_000);
    } finally {
      big.cleanup();
    }
  }, 150_000);
});

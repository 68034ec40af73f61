/**
 * Fault injection on the hosts rather than the link (FT-FW over UDP):
 *  1. kernel event overrun forced: fw1 runs with NetlinkBufferSize 65536 and
 *     100,000 flows are created in one burst; the overrun is counted and fw2
 *     converges exactly;
 *  2. fw2 is SIGKILLed in the middle of a bulk transfer (fw2 restarted empty,
 *     `ctsyncd -B` on fw1 with 100,000 entries; killed once fw2 holds part of
 *     them), then restarted: it converges exactly and both daemons answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot, waitFor } from '../helpers/netns';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';
import { bothAnswer } from './helpers/faults-pair';

const N = 100_000;

describe.skipIf(!isRoot())('host faults: event overrun, SIGKILL during a bulk transfer', () => {
  let pair: DaemonPair;
  beforeAll(async () => {
    buildOnce();
    const bufs = { sndSocketBuffer: 8 << 20, rcvSocketBuffer: 8 << 20 };
    pair = new DaemonPair({ mode: 'FTFW', port: 3791, fw1: { netlinkBufferSize: 65_536, ...bufs }, fw2: bufs, conntrackMax: 1_000_000 });
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('a forced event overrun on fw1 is counted and fw2 still converges exactly', async () => {
    const created = await pair.table('fw1').create(makeFlows(N));
    expect(created.failed).toEqual([]);
    expect(created.ok).toBe(N);
    await waitFor(async () => (await pair.stats('fw1', 'runtime')).netlink.overrun > 0, 10_000, 100);
    const rep = await pair.waitReplicated({ expectSize: N, timeoutMs: 90_000, sample: 5_000, timeoutSlack: 120 });
    expect(rep.gotSize).toBe(N);
    await bothAnswer(pair);
  }, 150_000);

  it('fw2 SIGKILLed in the middle of a bulk send, restarted: converges exactly', async () => {
    let caught = -1;
    for (let attempt = 0; attempt < 3 && caught < 0; attempt++) {
      await pair.kill9('fw2');
      await pair.start('fw2');
      const bulk = await pair.cli('fw1', ['-B']);
      expect(bulk.code, bulk.stderr).toBe(0);
      // Poll fw2's external cache fast; kill as soon as it holds part of the table.
      const seen = await waitFor(async () => {
        const n = (await pair.status('fw2')).cache.external;
        return n > 0 ? n : 0;
      }, 20_000, 5).catch(() => 0);
      if (seen > 0 && seen < N) {
        await pair.kill9('fw2');
        caught = seen;
      }
    }
    expect(caught, 'fw2 was never caught mid-transfer').toBeGreaterThan(0);
    expect(caught).toBeLessThan(N);
    await pair.start('fw2');
    const rep = await pair.waitReplicated({ expectSize: N, timeoutMs: 90_000, sample: 5_000, timeoutSlack: 120 });
    expect(rep.gotSize).toBe(N);
    await bothAnswer(pair);
  }, 200_000);
});

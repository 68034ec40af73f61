/**
 * SIGKILL of the committing daemon in the middle of `ctsyncd -c` (100,000
 * entries into fw2's kernel), then restart: fw2 learns fw1's table again
 * (FT-FW HELLO -> resync), a second `-c` completes, and fw2's kernel holds
 * exactly fw1's flows (entries the first commit already wrote count as updates).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot, waitFor } from '../helpers/netns';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';
import { bothAnswer } from './helpers/faults-pair';

const N = 100_000;

describe.skipIf(!isRoot())('host faults: SIGKILL during a commit', () => {
  let pair: DaemonPair;
  beforeAll(async () => {
    buildOnce();
    const bufs = { sndSocketBuffer: 8 << 20, rcvSocketBuffer: 8 << 20 };
    pair = new DaemonPair({ mode: 'FTFW', port: 3793, fw1: bufs, fw2: bufs, conntrackMax: 1_000_000 });
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('fw2 killed mid-commit, restarted: a second commit completes exactly', async () => {
    await pair.createFlows('fw1', N, { chunk: 20_000 });
    const rep = await pair.waitReplicated({ expectSize: N, timeoutMs: 90_000, sample: 2_000, timeoutSlack: 120 });
    expect(rep.gotSize).toBe(N);

    let caught = -1;
    for (let attempt = 0; attempt < 3 && caught < 0; attempt++) {
      if (attempt > 0) {
        await pair.table('fw2').flush('ct');
        await pair.waitReplicated({ expectSize: N, timeoutMs: 90_000, sample: 100, timeoutSlack: 120 });
      }
      const commit = pair.cli('fw2', ['-c'], 60_000);
      const seen = await waitFor(async () => {
        const n = await pair.table('fw2').count('ct');
        return n > 0 ? n : 0;
      }, 20_000, 2).catch(() => 0);
      if (seen > 0 && seen < N) {
        await pair.kill9('fw2');
        caught = seen;
      }
      const r = await commit;
      if (caught > 0) expect(r.code, 'the interrupted client reports a failure').not.toBe(0);
    }
    expect(caught, 'fw2 was never caught mid-commit').toBeGreaterThan(0);
    expect(await pair.table('fw2').count('ct')).toBeLessThan(N);

    await pair.start('fw2');
    await pair.waitReplicated({ expectSize: N, timeoutMs: 90_000, sample: 2_000, timeoutSlack: 120 });
    const again = await pair.cli('fw2', ['-c'], 60_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`commit: ${N} entries committed, 0 failed`));
    expect(await pair.table('fw2').count('ct')).toBe(N);
    await bothAnswer(pair);
  }, 300_000);
});

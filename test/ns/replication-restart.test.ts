/**
 * Acceptance: restarts. fw2's daemon is SIGKILLed while fw1 is still creating
 * flows and started again: fw2's external cache converges exactly (FT-FW
 * HELLO -> RESET + bulk). Then fw1 is stopped, flows are destroyed in its
 * kernel while it is down, and it starts again: fw2 drops the stale entries
 * (fw2 sees a new epoch, requests a resync, the bulk sweep removes them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot } from '../helpers/netns';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';

const N = 20_000;
const DESTROY = 2_500;

describe.skipIf(!isRoot())('replication across daemon restarts (FT-FW, UDP)', () => {
  let pair: DaemonPair;
  beforeAll(async () => {
    buildOnce();
    pair = new DaemonPair({ mode: 'FTFW' });
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('fw2 SIGKILLed mid-stream and restarted converges exactly', async () => {
    await pair.createFlows('fw1', N / 2, { chunk: 2_000 });
    const killed = pair.kill9('fw2');
    await pair.createFlows('fw1', N / 2, { first: N / 2, chunk: 2_000, base: N / 2 });
    await killed;
    expect(pair.pid('fw2')).not.toBeNull(); // the stale lock of the killed daemon is still there
    await pair.start('fw2');
    const rep = await pair.waitReplicated({ expectSize: N, timeoutMs: 60_000 });
    expect(rep.gotSize).toBe(N);
  }, 150_000);

  it('fw1 restarted after destroys while it was down: fw2 drops the stale entries', async () => {
    await pair.stop('fw1');
    const gone = await pair.table('fw1').delete(makeFlows(DESTROY));
    expect(gone.failed).toEqual([]);
    expect(gone.ok).toBe(DESTROY);
    // fw2 still holds them: nobody told it yet.
    expect((await pair.status('fw2')).cache.external).toBe(N);
    await pair.start('fw1');
    const rep = await pair.waitReplicated({ expectSize: N - DESTROY, timeoutMs: 60_000 });
    expect(rep.gotSize).toBe(N - DESTROY);
    expect(rep.stale).toBe(0);
  }, 150_000);
});

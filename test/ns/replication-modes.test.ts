/**
 * Acceptance: the real ctsyncd pair in namespaces, for each sync mode (FTFW,
 * ALARM with short timers, NOTRACK) over UDP. 100,000 flows created in fw1's
 * kernel reach fw2's external cache exactly (every key; 5,000 entries compared
 * attribute by attribute; created in paced batches of 20,000), a few thousand destroys propagate, and fw2's `-c`
 * puts exactly the same flows into fw2's kernel table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot } from '../helpers/netns';
import { compareRecords, summary } from './helpers/ct-compare';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';
import type { SyncModeName } from './helpers/sync-conf';

const N = 100_000;
const DESTROY = 3_000;
/** Status bits a replica must agree on: SEEN_REPLY | ASSURED (nf_conntrack_common.h). */
const STATUS_FLOW_BITS = (1 << 1) | (1 << 2);

const MODES: SyncModeName[] = ['FTFW', 'ALARM', 'NOTRACK'];

describe.skipIf(!isRoot())('replication of 100k flows per sync mode', () => {
  beforeAll(() => buildOnce(), 200_000);

  describe.each(MODES)('%s over UDP', (mode) => {
    let pair: DaemonPair;
    beforeAll(async () => {
      const node = {
        ...(mode === 'ALARM' ? { refreshTime: 5, cacheTimeout: 20 } : {}),
        netlinkBufferSize: 32 << 20,
        sndSocketBuffer: 8 << 20,
        rcvSocketBuffer: 8 << 20,
      };
      pair = new DaemonPair({ mode, fw1: node, fw2: node, conntrackMax: 1_000_000 });
      await pair.start();
    }, 60_000);
    afterAll(() => pair?.cleanup());

    it('creates reach fw2 exactly, destroys propagate, -c fills fw2 kernel', async () => {
      // Paced (20,000 per batch) so fw1's event socket keeps up; bursts are replication-overrun's job.
      await pair.createFlows('fw1', N, { chunk: 20_000 });

      // fw1 mirrors its kernel table exactly.
      const k1 = await pair.table('fw1').dump('ct');
      expect(k1.length).toBe(N);
      const mirror = compareRecords(k1, await pair.dump('fw1', 'internal'), { timeoutSlack: 120, sample: 5_000 });
      expect(summary(mirror)).toBe(`want ${N}, got ${N}: 0 missing, 0 stale, 0 different, 0 undecodable`);

      // Every key; 5,000 entries (spread over the set) attribute by attribute.
      const rep = await pair.waitReplicated({ expectSize: N, timeoutMs: 60_000, sample: 5_000 });
      expect(rep.gotSize).toBe(N);

      const gone = await pair.table('fw1').delete(makeFlows(DESTROY));
      expect(gone.failed).toEqual([]);
      await pair.waitReplicated({ expectSize: N - DESTROY, timeoutMs: 60_000, sample: 5_000 });

      const commit = await pair.cli('fw2', ['-c']);
      expect(commit.stderr).toBe('');
      expect(commit.code).toBe(0);
      expect(commit.stdout).toMatch(new RegExp(`^commit: ${N - DESTROY} entries committed, 0 failed`, 'm'));
      const [a, b] = await Promise.all([pair.table('fw1').dump('ct'), pair.table('fw2').dump('ct')]);
      expect(a.length).toBe(N - DESTROY);
      expect(b.length).toBe(N - DESTROY);
      const kernels = compareRecords(a, b, { timeoutSlack: 120, statusMask: STATUS_FLOW_BITS, sample: 5_000 });
      expect(summary(kernels)).toBe(`want ${N - DESTROY}, got ${N - DESTROY}: 0 missing, 0 stale, 0 different, 0 undecodable`);
    }, 150_000);
  });
});

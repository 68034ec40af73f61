/**
 * The in-process pipeline (src/bench/pipeline-setup.ts): kernel NEW events ->
 * event views -> mirror (daemon filter) -> FT-FW engine -> compact datagrams
 * -> receiver's external cache, on fake clocks. Checks exact convergence
 * (attribute bytes, minus what is not synced) and that a bulk is paced by
 * the ACKs, not by the scheduler tick (bulkChunk per 10 ms tick would need
 * at least 100 ms for 20,000 entries).
 */
import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../../src/bench/pipeline-setup';
import type { Cache } from '../../../src/cache/types';
import { CT_SYNC_DROP, syncAttrs } from '../../../src/netlink/ct/sync-attrs';

const N = 20_000;

function synced(c: Cache): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, r] of c.entries()) m.set(k, syncAttrs(r).attrs.toString('hex'));
  return m;
}

describe('replication pipeline (in process)', () => {
  it('a burst of kernel events reaches the external cache exactly; a bulk refills it, paced by ACKs', async () => {
    expect(CT_SYNC_DROP.size).toBeGreaterThan(0);
    const p = await buildPipeline(N);
    try {
      for (const w of p.wakeups) {
        p.feed(w);
        p.round();
      }
      let rounds = 0;
      while (p.receiverSize() < N && rounds < 10_000) {
        p.round();
        rounds++;
      }
      expect(p.receiverSize()).toBe(N);
      const want = synced(p.senderInternal());
      expect(want.size).toBe(N);
      expect(synced(p.receiverExternal())).toEqual(want);

      p.clearReceiver();
      expect(p.receiverSize()).toBe(0);
      p.bulkSend();
      let ms = 0;
      while (!p.bulkDone() && ms < 10_000) {
        p.round();
        ms++;
      }
      expect(p.bulkDone()).toBe(true);
      expect(ms).toBeLessThan(80);
      expect(synced(p.receiverExternal())).toEqual(want);
      expect(p.senderStats().resends).toBe(0);
    } finally {
      p.stop();
    }
  });
});

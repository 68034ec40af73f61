/**
 * Acceptance: FT-FW over UDP with 5 % and 20 % random loss in BOTH directions
 * on the sync link (nftables numgen in each namespace, input and output, so a
 * datagram crosses two lossy hooks). 20,000 flows are created, 5,000 updated
 * (mark) and 3,000 destroyed while the loss is on; once the rules are gone,
 * fw2's external cache must equal fw1's internal cache exactly (every entry,
 * attribute by attribute) within a bounded time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot } from '../helpers/netns';
import { flowView } from './helpers/ct-compare';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';

const N = 20_000;
const UPDATE = 5_000;
const DESTROY = 3_000;

function lossRules(port: number, percent: number): string {
  // First rule counts what passes the hook, the second drops `percent` % of it.
  const rules = `udp dport ${port} counter; udp dport ${port} numgen random mod 100 < ${percent} counter drop`;
  return [
    'table inet lossy {',
    `  chain in { type filter hook input priority -300; ${rules}; }`,
    `  chain out { type filter hook output priority -300; ${rules}; }`,
    '}',
  ].join('\n');
}

describe.skipIf(!isRoot())('FT-FW under random loss', () => {
  beforeAll(() => buildOnce(), 200_000);

  describe.each([5, 20])('%i %% loss both ways', (percent) => {
    let pair: DaemonPair;
    beforeAll(async () => {
      pair = new DaemonPair({ mode: 'FTFW' });
      await pair.start();
    }, 60_000);
    afterAll(() => pair?.cleanup());

    it('converges exactly after the loss stops', async () => {
      for (const n of [pair.fw1, pair.fw2]) pair.lab.exec(n.ns, 'nft -f -', { input: lossRules(pair.port, percent) });

      await pair.createFlows('fw1', N, { chunk: 5_000 });
      const up = await pair.table('fw1').update(makeFlows(UPDATE, { first: 1_000, mark: 0x5a }));
      expect(up.failed).toEqual([]);
      const gone = await pair.table('fw1').delete(makeFlows(DESTROY, { first: N - DESTROY }));
      expect(gone.failed).toEqual([]);
      await pair.waitCount('fw1', 'internal', N - DESTROY);

      // The loss really happened. Per namespace the counters are [in: seen, dropped, out: seen, dropped].
      // Data goes fw1 out -> fw2 in: datagrams were dropped there. ACKs and NACKs go the other way under the
      // same rule; they are few (one per ACKWindowSize messages), so that direction may lose none by chance.
      const counters = [pair.fw1, pair.fw2].map((n) => {
        const rules = pair.lab.exec(n.ns, 'nft list chain inet lossy in') + pair.lab.exec(n.ns, 'nft list chain inet lossy out');
        pair.lab.exec(n.ns, 'nft delete table inet lossy');
        return [...rules.matchAll(/packets (\d+)/g)].map((m) => Number(m[1]));
      });
      const [c1, c2] = counters as [number[], number[]];
      expect(c1.length).toBe(4);
      expect(c2.length).toBe(4);
      expect(c1[3]).toBeGreaterThan(0); // fw1 out: data dropped
      expect(c2[1]).toBeGreaterThan(0); // fw2 in: data dropped
      expect(c1[0]).toBeGreaterThan(0); // fw1 in: replies crossed the lossy hook
      expect(c2[2]).toBeGreaterThan(0); // fw2 out: replies crossed the lossy hook

      const rep = await pair.waitReplicated({ expectSize: N - DESTROY, timeoutMs: 60_000, timeoutSlack: 120 });
      expect(rep.gotSize).toBe(N - DESTROY);
      const ext = await pair.dump('fw2', 'external');
      const marked = ext.map(flowView).filter((v) => v !== null && v.mark === 0x5a).length;
      expect(marked).toBe(UPDATE);

      // The loss was repaired by retransmission (FT-FW resends each lost message
      // about once, so duplicates at fw2 are no longer a reliable witness).
      const st1 = await pair.status('fw1');
      expect(st1.sync?.['resends'] ?? 0).toBeGreaterThan(0);
    }, 150_000);

    it('-s network reports the lost messages fw2 NACKed; status shows NACKs and resends', async () => {
      const net2 = await pair.stats('fw2', 'network');
      expect(net2.seq.lost).toBeGreaterThan(0);
      const st1 = await pair.status('fw1');
      const st2 = await pair.status('fw2');
      expect(st2.sync?.['nacksSent'] ?? 0).toBeGreaterThan(0);
      expect(st1.sync?.['resends'] ?? 0).toBeGreaterThan(0);
    });
  });
});

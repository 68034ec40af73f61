/**
 * Fault injection with Sync/Auth (HMAC-SHA256): FT-FW through the fault proxy
 * with bit flips, loss and duplication at once. Every flipped datagram is
 * rejected by the HMAC (never by the engine's CRC, which never sees it), the
 * proxy's duplicates are rejected as replays, and once the faults stop fw2's
 * external cache equals fw1's internal cache exactly.
 * Runs once the daemon wires Sync/Auth (test/ns/helpers/auth-pair.ts authWired()).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot } from '../helpers/netns';
import { AuthPair, authWired } from './helpers/auth-pair';
import { buildOnce } from './helpers/daemon-pair';
import { addAuth, bothAnswer, routeThroughProxy, writeKey, type FaultProxy } from './helpers/faults-pair';

const CREATE = 1_000;
const MAX_ROUNDS = 20;

describe.skipIf(!isRoot() || !authWired())('FT-FW with Sync/Auth through the fault proxy', () => {
  let pair: AuthPair;
  let proxy: FaultProxy;
  beforeAll(async () => {
    buildOnce();
    pair = new AuthPair({ mode: 'FTFW', port: 3793 });
    const key = writeKey(pair, 'k');
    addAuth(pair, 'fw1', { keyFile: key });
    addAuth(pair, 'fw2', { keyFile: key });
    proxy = await routeThroughProxy(pair, 11);
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('bit flips, loss and duplicates are rejected or recovered; fw2 converges exactly', async () => {
    await proxy.set({ corrupt: 3, loss: 3, duplicate: 3 });
    let base = 0;
    let c = await proxy.counters();
    for (let round = 0; round < MAX_ROUNDS && (c.up.corrupted < 3 || c.up.duplicated < 3); round++) {
      await pair.createFlows('fw1', CREATE, { first: round * CREATE, chunk: CREATE, base });
      const gone = await pair.table('fw1').delete(makeFlows(100, { first: round * CREATE }));
      expect(gone.failed).toEqual([]);
      base += CREATE - 100;
      await pair.waitCount('fw1', 'internal', base);
      c = await proxy.counters();
    }
    await proxy.set({});
    expect(c.up.corrupted).toBeGreaterThanOrEqual(3);
    expect(c.up.duplicated).toBeGreaterThanOrEqual(3);

    const rep = await pair.waitReplicated({ expectSize: base, timeoutMs: 45_000, timeoutSlack: 120 });
    expect(rep.gotSize).toBe(base);
    const net2 = await pair.stats('fw2', 'network');
    // The engine never saw a corrupted datagram: the auth layer rejected them all.
    expect(net2.recv.malformed).toBe(0);
    const after = await proxy.counters();
    // Rejected by fw2: every corrupted datagram and every duplicate (at least those
    // of the up direction seen before the faults stopped).
    expect(net2.link?.errorRecv ?? 0).toBeGreaterThanOrEqual(c.up.corrupted + c.up.duplicated);
    expect(net2.link?.errorRecv ?? 0).toBeLessThanOrEqual(after.up.corrupted + after.up.duplicated);
    await bothAnswer(pair);
  }, 150_000);
});

/**
 * Fault injection: two real ctsyncd (FT-FW over UDP) whose sync traffic, both
 * ways, goes through the fault-injecting UDP proxy (test/ns/helpers/faults-pair.ts).
 * Scenario by scenario on the same pair: faults on; flows created, updated
 * (mark) and destroyed on fw1; faults off; fw2's external cache must equal
 * fw1's internal cache exactly, the proxy must show the fault really happened,
 * and both daemons must still answer `status`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot } from '../helpers/netns';
import { flowView } from './helpers/ct-compare';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';
import { bothAnswer, routeThroughProxy, type DirCounters, type FaultProxy, type FaultSettings } from './helpers/faults-pair';

const CREATE = 1_000;
const UPDATE = 250;
const DESTROY = 250;
const MAX_ROUNDS = 25;

function delta(a: DirCounters, b: DirCounters): Record<string, number> {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - a[k as keyof DirCounters]]));
}

interface Scenario {
  name: string;
  faults: FaultSettings;
  /** Which proxy counter must have moved (both directions). */
  counter: keyof DirCounters;
}

/**
 * The fw2 -> fw1 direction carries only acks and alives (about 5 datagrams per
 * round against 200 the other way): at 1-2 % a fault would hit it within
 * MAX_ROUNDS only about three times in four (seen failing in CI). That
 * direction gets the same kind of fault at a rate of at least 10 %.
 */
function scenario(name: string, counter: keyof DirCounters, key: 'loss' | 'reorder' | 'duplicate' | 'corrupt', rate: number): Scenario {
  return { name, counter, faults: { [key]: rate, down: { [key]: Math.max(rate, 10) } } };
}

const SCENARIOS: Scenario[] = [
  scenario('1% loss', 'dropped', 'loss', 1),
  scenario('5% loss', 'dropped', 'loss', 5),
  scenario('20% loss', 'dropped', 'loss', 20),
  scenario('10% reordering', 'reordered', 'reorder', 10),
  scenario('5% duplication', 'duplicated', 'duplicate', 5),
  scenario('2% bit flips', 'corrupted', 'corrupt', 2),
];

describe.skipIf(!isRoot())('FT-FW through the fault-injecting proxy', () => {
  let pair: DaemonPair;
  let proxy: FaultProxy;
  let base = 0;

  beforeAll(async () => {
    buildOnce();
    pair = new DaemonPair({ mode: 'FTFW', port: 3790 });
    proxy = await routeThroughProxy(pair, 7);
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('the proxy path works before any fault', async () => {
    await pair.createFlows('fw1', 100, { first: 900_000 });
    base = 100;
    await pair.waitReplicated({ expectSize: base, timeoutMs: 20_000 });
    const c = await proxy.counters();
    expect(c.up.forwarded).toBeGreaterThan(0);
    expect(c.down.forwarded).toBeGreaterThan(0);
    expect(c.unexpected).toBe(0);
  }, 60_000);

  SCENARIOS.forEach((s, idx) => {
    it(`${s.name}: fw2 converges exactly once the faults stop`, async () => {
      const mark = 0x100 + idx;
      const before = await proxy.counters();
      const net0 = await pair.stats('fw2', 'network');
      await proxy.set(s.faults);

      // Rounds of changes while the faults are on, until the fault has hit
      // both directions (acks and alives are few, so low rates need several rounds).
      let after = before;
      const moved = (dir: 'up' | 'down'): number => after[dir][s.counter] - before[dir][s.counter];
      let round = 0;
      for (; round < MAX_ROUNDS && (moved('up') < 2 || moved('down') < 1); round++) {
        const first = idx * 100_000 + round * CREATE;
        await pair.createFlows('fw1', CREATE, { first, chunk: CREATE, base });
        const up = await pair.table('fw1').update(makeFlows(UPDATE, { first, mark }));
        expect(up.failed).toEqual([]);
        const gone = await pair.table('fw1').delete(makeFlows(DESTROY, { first: first + CREATE - DESTROY }));
        expect(gone.failed).toEqual([]);
        base += CREATE - DESTROY;
        await pair.waitCount('fw1', 'internal', base);
        await bothAnswer(pair);
        after = await proxy.counters();
      }
      await proxy.set({});
      console.log(`${s.name}: ${round} rounds, up ${JSON.stringify(delta(before.up, after.up))}, down ${JSON.stringify(delta(before.down, after.down))}`);
      expect(moved('up'), `up ${s.counter}`).toBeGreaterThanOrEqual(2);
      expect(moved('down'), `down ${s.counter}`).toBeGreaterThanOrEqual(1);

      const rep = await pair.waitReplicated({ expectSize: base, timeoutMs: 45_000, timeoutSlack: 120 });
      expect(rep.gotSize).toBe(base);
      const ext = await pair.dump('fw2', 'external');
      expect(ext.map(flowView).filter((v) => v !== null && v.mark === mark).length).toBe(UPDATE * round);
      await bothAnswer(pair);

      if (s.counter === 'corrupted') {
        // Every flipped datagram fw2 received was rejected by the CRC32C (malformed), none applied.
        const net = await pair.stats('fw2', 'network');
        expect(net.recv.malformed - net0.recv.malformed).toBeGreaterThan(0);
        expect(net.recv.malformed - net0.recv.malformed).toBeLessThanOrEqual(after.up.corrupted - before.up.corrupted);
      }
    }, 90_000);
  });
});

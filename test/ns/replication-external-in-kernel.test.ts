/**
 * DisableExternalCache on, with real daemons and the real kernel: fw2 keeps
 * fw1's flows in its own kernel table as they arrive (creates, mark updates,
 * destroys), its own mirror does not take them for local flows (nothing comes
 * back to fw1), and `status` counts the kernel writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import { isRoot, waitFor } from '../helpers/netns';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';

describe.skipIf(!isRoot())('DisableExternalCache on (external cache kept in the kernel)', () => {
  let pair: DaemonPair;
  beforeAll(async () => {
    buildOnce();
    pair = new DaemonPair({ mode: 'FTFW', port: 3795, fw2: { externalInKernel: true } });
    await pair.start();
  }, 120_000);
  afterAll(() => pair?.cleanup());

  it('creates, updates and destroys on fw1 reach fw2\'s kernel table; fw2 does not send them back', async () => {
    const N = 20_000;
    await pair.createFlows('fw1', N, { first: 7_000_000 });
    await pair.waitCount('fw2', 'external', N);
    const kernel2 = pair.table('fw2');
    await waitFor(async () => (await kernel2.count('ct')) === N, 20_000);
    expect(await kernel2.count('ct')).toBe(N);

    const marked = makeFlows(1000, { first: 7_000_000, mark: 0x77 });
    expect((await pair.table('fw1').update(marked)).failed).toEqual([]);
    expect((await pair.table('fw1').delete(makeFlows(5000, { first: 7_000_000 + N - 5000 }))).failed).toEqual([]);
    await waitFor(async () => (await kernel2.count('ct')) === N - 5000, 20_000);
    const dumped = await kernel2.dump('ct');
    const marks = dumped.filter((r) => {
      // CTA_MARK (8), u32 BE, top level
      for (let o = 0; o + 4 <= r.attrs.length; ) {
        const len = r.attrs.readUInt16LE(o);
        if (len < 4) break;
        if ((r.attrs.readUInt16LE(o + 2) & 0x3fff) === 8 && len === 8) return r.attrs.readUInt32BE(o + 4) === 0x77;
        o += (len + 3) & ~3;
      }
      return false;
    }).length;
    expect(marks).toBe(1000);

    const s2 = await pair.status('fw2');
    expect(s2.cache.internal).toBe(0);
    expect(s2.sync?.['externalInKernel.failed']).toBe(0);
    expect(s2.sync?.['externalInKernel.deleted']).toBe(5000);
    const s1 = await pair.status('fw1');
    expect(s1.cache.external).toBe(0);
  }, 90_000);
});

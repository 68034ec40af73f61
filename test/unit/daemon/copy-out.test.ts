/**
 * copyOut: records taken out of a cache for a commit own their bytes (one
 * allocation for all), so a change to the cache while the commit waits does
 * not change what is written.
 */
import { describe, expect, it } from 'vitest';
import { createCache } from '../../../src/cache/packed-cache';
import { copyOut } from '../../../src/daemon/daemon';
import { makeFlows } from '../../../src/bench/flows';
import { tupleKey } from '../../../src/netlink/ct/key';

describe('copyOut', () => {
  it('copies every record exactly; later cache changes do not reach the copies', () => {
    const cache = createCache({ name: 'external', limit: 1000 });
    const flows = makeFlows(50);
    for (const f of flows) cache.upsert(tupleKey(f) ?? '', f, 0);
    const out = copyOut(cache.entries());
    expect(out.map((r) => [r.kind, r.family, r.attrs.toString('hex')])).toEqual(flows.map((r) => [r.kind, r.family, r.attrs.toString('hex')]));
    expect(new Set(out.map((r) => r.attrs.buffer)).size).toBe(1);
    // Overwrite the cache's memory: clear and refill with other flows (the arena is reused).
    cache.clear();
    for (const f of makeFlows(50, { first: 1000 })) cache.upsert(tupleKey(f) ?? '', f, 0);
    expect(out.map((r) => r.attrs.toString('hex'))).toEqual(flows.map((r) => r.attrs.toString('hex')));
    expect(copyOut([])).toEqual([]);
  });
});

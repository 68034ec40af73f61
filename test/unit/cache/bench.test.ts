import { describe, expect, it } from 'vitest';
import { cacheMemSection } from '../../../src/bench/cache-mem';

describe('cache bench section', () => {
  it('runs small sizes and reports rows (no timing asserted)', async () => {
    const rows = await cacheMemSection({ sizes: [2000], opsFlows: 500 }).run();
    expect(rows[0]).toMatchObject({ flows: 2000, recordBytes: 192 });
    expect(rows.slice(1).map((r) => r.case)).toEqual([
      'upsert (create)',
      'upsert (unchanged)',
      'upsert (update)',
      'get',
      'iterate entries',
      'remove',
    ]);
    expect(rows.slice(1).every((r) => r.ops === 500)).toBe(true);
  });
});

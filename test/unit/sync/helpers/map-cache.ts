/** A simple Map-backed Cache for sync tests (records stored as owned copies). */
import type { Cache, CacheStats, UpsertResult } from '../../../../src/cache/types';
import type { CtRecord } from '../../../../src/netlink/types';

export function mapCache(name: string, timeoutMs = 0, limit = 1_000_000): Cache {
  const m = new Map<string, { rec: CtRecord; at: number }>();
  const st: CacheStats = { current: 0, created: 0, updated: 0, destroyed: 0, failed: 0, expired: 0, bytes: 0 };
  const cache: Cache = {
    name,
    get size() {
      return m.size;
    },
    get: (k) => m.get(k)?.rec,
    has: (k) => m.has(k),
    upsert(k, rec, now): UpsertResult {
      const old = m.get(k);
      if (!old && m.size >= limit) {
        st.failed++;
        return 'refused';
      }
      const copy: CtRecord = { kind: rec.kind, family: rec.family, attrs: Buffer.from(rec.attrs) };
      if (old && old.rec.family === rec.family && old.rec.attrs.equals(rec.attrs)) {
        old.at = now;
        return 'unchanged';
      }
      m.set(k, { rec: copy, at: now });
      if (old) st.updated++;
      else st.created++;
      return old ? 'updated' : 'created';
    },
    delete(k) {
      const e = m.get(k);
      if (e) {
        m.delete(k);
        st.destroyed++;
      }
      return e?.rec;
    },
    remove: (k) => cache.delete(k) !== undefined,
    refreshedAt: (k) => m.get(k)?.at,
    *entries() {
      for (const [k, e] of m) yield [k, e.rec] as [string, CtRecord];
    },
    keys: () => m.keys(),
    clear: () => m.clear(),
    purge(now) {
      if (timeoutMs <= 0) return [];
      const gone: string[] = [];
      for (const [k, e] of m) if (now - e.at > timeoutMs) gone.push(k);
      for (const k of gone) m.delete(k);
      st.expired += gone.length;
      return gone;
    },
    stats: () => ({ ...st, current: m.size }),
  };
  return cache;
}

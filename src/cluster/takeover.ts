/**
 * Takeover: before a node starts forwarding newly gained buckets, it
 * commits into its kernel table the flows of exactly those buckets from the
 * external cache (the flows its peers replicated to it). The filter is the
 * kernel's own bucket function (hash.ts), so what is committed is what the
 * new rule lets through.
 */
import type { KernelTable } from '../netlink/table';
import type { CtRecord } from '../netlink/types';
import { bucketOfRecord } from './hash';
import { has } from './ranges';

export interface TakeoverOptions {
  table: KernelTable;
  /** Entries of the external cache; records may be views (they are copied). */
  external: () => Iterable<CtRecord>;
  buckets: number;
  seed: number;
  /** Records per create() call. Default 1000. */
  chunk?: number;
}

export interface TakeoverResult {
  /** External entries looked at. */
  scanned: number;
  /** Entries in the gained buckets. */
  selected: number;
  /** Written to the kernel (created or updated). */
  committed: number;
  /** Refused by the kernel, by errno name. */
  failed: Record<string, number>;
  /** Records whose bucket could not be computed (malformed, expectations). */
  skipped: number;
  /** Set when a whole create() call failed (socket, timeout). */
  error?: string;
}

/** Records of `gained` buckets, copied out of the cache. */
export function selectFlows(records: Iterable<CtRecord>, gained: number, buckets: number, seed: number): { picked: CtRecord[]; scanned: number; skipped: number } {
  const picked: CtRecord[] = [];
  let scanned = 0;
  let skipped = 0;
  for (const r of records) {
    scanned++;
    const b = bucketOfRecord(r, buckets, seed);
    if (b === null) {
      skipped++;
      continue;
    }
    if (has(gained, b)) picked.push({ kind: r.kind, family: r.family, attrs: Buffer.from(r.attrs) });
  }
  return { picked, scanned, skipped };
}

export async function takeover(o: TakeoverOptions, gained: number): Promise<TakeoverResult> {
  const { picked, scanned, skipped } = selectFlows(o.external(), gained, o.buckets, o.seed);
  const res: TakeoverResult = { scanned, selected: picked.length, committed: 0, failed: {}, skipped };
  const chunk = Math.max(1, o.chunk ?? 1000);
  for (let i = 0; i < picked.length; i += chunk) {
    try {
      const r = await o.table.create(picked.slice(i, i + chunk));
      res.committed += r.ok;
      for (const f of r.failed) res.failed[f.code] = (res.failed[f.code] ?? 0) + 1;
    } catch (e) {
      res.error = e instanceof Error ? e.message : String(e);
      break;
    }
  }
  return res;
}

export interface ReleaseResult {
  /** Kernel entries in the released buckets. */
  selected: number;
  deleted: number;
  failed: Record<string, number>;
  error?: string;
}

/**
 * After a bucket moved away (and the rule no longer admits it): delete its
 * flows from this node's kernel table, so the table holds only our flows
 * and the sync engine stops announcing entries another node now owns.
 */
export async function releaseFlows(
  o: Pick<TakeoverOptions, 'table' | 'buckets' | 'seed'> & {
    /** Entries to leave alone although their bucket moved (e.g. connections to the node's own management address). */
    keep?: (rec: CtRecord) => boolean;
  },
  released: number,
): Promise<ReleaseResult> {
  const res: ReleaseResult = { selected: 0, deleted: 0, failed: {} };
  try {
    const all = await o.table.dump('ct');
    const keep = o.keep;
    const { picked } = selectFlows(keep ? all.filter((r) => !keep(r)) : all, released, o.buckets, o.seed);
    res.selected = picked.length;
    if (picked.length === 0) return res;
    const r = await o.table.delete(picked);
    res.deleted = r.ok;
    for (const f of r.failed) res.failed[f.code] = (res.failed[f.code] ?? 0) + 1;
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
  }
  return res;
}

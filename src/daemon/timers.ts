/**
 * `-t`: shorten the kernel timers. Every conntrack entry whose timeout is
 * longer than PurgeTimeout gets PurgeTimeout, so entries this node no longer
 * owns (after a demotion) expire soon unless traffic refreshes them.
 */
import { walkAttrs, makeAttr, be32Attr } from '../netlink/ct/attr';
import { CTA } from '../netlink/ct/consts';
import type { KernelTable } from '../netlink/table';
import type { CtRecord } from '../netlink/types';
import type { Logger } from '../util/log';

/** A record carrying only the identity (orig tuple, zone) and a new timeout; null if none needed. */
export function withTimeout(rec: CtRecord, seconds: number): CtRecord | null {
  const parts: Buffer[] = [];
  let current: number | undefined;
  const buf = rec.attrs;
  walkAttrs(buf, 0, buf.length, (raw, off, len) => {
    const type = raw & 0x3fff;
    if (type === CTA.TUPLE_ORIG || type === CTA.ZONE) parts.push(makeAttr(raw, buf.subarray(off, off + len)));
    if (type === CTA.TIMEOUT && len === 4) current = buf.readUInt32BE(off);
  });
  if (current !== undefined && current <= seconds) return null;
  parts.push(be32Attr(CTA.TIMEOUT, seconds));
  return { kind: 'ct', family: rec.family, attrs: Buffer.concat(parts) };
}

export async function shortenTimeouts(table: KernelTable, seconds: number, log: Logger): Promise<number> {
  const all = await table.dump('ct');
  const updates: CtRecord[] = [];
  for (const r of all) {
    const u = withTimeout(r, seconds);
    if (u) updates.push(u);
  }
  if (updates.length === 0) return 0;
  const res = await table.update(updates);
  // ENOENT: the entry died meanwhile, which is what we wanted anyway.
  const real = res.failed.filter((f) => f.code !== 'ENOENT');
  if (real.length > 0) log.warn({ failed: real.length, first: real[0]?.code }, 'shorten timers: some updates failed');
  return res.ok;
}

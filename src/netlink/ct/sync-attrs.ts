/**
 * syncAttrs: the subset of an entry that a peer needs to take over the flow
 * (conntrackd's network message content): tuples, status, timeout, mark,
 * secmark, zone, labels, protoinfo, seq adj, helper, master tuple, NAT,
 * synproxy and unknown attributes. Drops what is local to one kernel or only
 * statistics: counters, CTA_USE, CTA_ID, CTA_TIMESTAMP, CTA_SECCTX (and
 * CTA_EXPECT_ID for expectations). Copies attribute slices; no decode.
 * A record with a framing error is cut at the first bad attribute.
 */
import type { CtRecord } from '../types';
import { concatSlices, NLA_HDRLEN, nlaAlign } from './attr';
import { CTA, CTA_EXPECT } from './consts';
import { scanAttrs } from './tuple-raw';

/** Top-level conntrack attributes a peer does not get (flags masked). */
export const CT_SYNC_DROP: ReadonlySet<number> = new Set<number>([CTA.COUNTERS_ORIG, CTA.COUNTERS_REPLY, CTA.USE, CTA.ID, CTA.TIMESTAMP, CTA.SECCTX]);
/** Top-level expectation attributes a peer does not get. */
export const EXPECT_SYNC_DROP: ReadonlySet<number> = new Set<number>([CTA_EXPECT.ID]);

export function syncAttrs(rec: CtRecord): CtRecord {
  const drop = rec.kind === 'ct' ? CT_SYNC_DROP : EXPECT_SYNC_DROP;
  const buf = rec.attrs;
  const keep: Array<[number, number]> = [];
  let dropped = false;
  const ok = scanAttrs(buf, 0, buf.length, (type, off, len) => {
    if (drop.has(type)) dropped = true;
    else keep.push([off - NLA_HDRLEN, nlaAlign(len + NLA_HDRLEN)]);
  });
  if (ok && !dropped) return rec;
  return { kind: rec.kind, family: rec.family, attrs: concatSlices(buf, keep) };
}

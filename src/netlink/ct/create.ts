/**
 * Attribute sets for writing an entry into another kernel, the way
 * conntrackd's commit does (conntrack-tools src/netlink.c, libnetfilter_conntrack
 * SETUP_SNAT/SETUP_DNAT), checked against net/netfilter/nf_conntrack_netlink.c:
 *
 *  create (IPCTNL_MSG_CT_NEW + NLM_F_CREATE):
 *   - keeps tuples, CTA_ZONE, CTA_TIMEOUT (required by the kernel), CTA_MARK,
 *     labels (+mask), protoinfo, seq adj, helper, master tuple, synproxy,
 *     NAT attributes already present, and unknown (newer) attributes;
 *   - drops read-only ones: CTA_ID, CTA_USE, counters, timestamp, CTA_SECCTX,
 *     CTA_SECMARK, CTA_MARK_MASK, CTA_STATUS_MASK, CTA_FILTER;
 *   - status: bits in IPS_UNCHANGEABLE_MASK removed (the kernel refuses
 *     EXPECTED/DYING with EBUSY and ignores the rest), IPS_CONFIRMED set (the
 *     kernel marks a created entry confirmed before applying status);
 *   - NAT: when the entry is SNATed (IPS_SRC_NAT, or orig src != reply dst,
 *     or ports differ) CTA_NAT_SRC = reply dst address (+ reply dst port /
 *     ICMP id); when DNATed (IPS_DST_NAT, or orig dst != reply src, ...)
 *     CTA_NAT_DST = reply src address (+ reply src port), so the new kernel
 *     sets up the same NAT binding. The reply tuple is then sent as the plain
 *     inverse of the original one (like conntrackd, which sends no reply
 *     tuple and lets libnetfilter_conntrack invert the original): the kernel
 *     sets IPS_SRC_NAT/IPS_DST_NAT only when its NAT setup changes the reply;
 *   - TCP: flags are applied (mask = flags for WINDOW_SCALE, SACK_PERM,
 *     CLOSE_INIT, BE_LIBERAL); `beLiberal` adds IP_CT_TCP_FLAG_BE_LIBERAL
 *     like conntrackd without TCPWindowTracking.
 *  update (IPCTNL_MSG_CT_NEW without NLM_F_CREATE, entry exists): tuples,
 *   zone, status (as above, keeping IPS_EXPECTED as read), timeout, mark,
 *   protoinfo, seq adj, labels, synproxy, unknown; never NAT, helper or
 *   master (the kernel answers EOPNOTSUPP / EBUSY to those).
 *  delete: orig tuple (reply tuple if no orig) + zone.
 *
 * Malformed input: attributes up to the first framing error are used.
 *
 * create / update are written by create-fast.ts (two passes, no Buffer per
 * attribute; createAttrWriter() writes straight into a batch datagram).
 */
import type { CtRecord } from '../types';
import { concatSlices, NLA_HDRLEN, nlaAlign } from './attr';
import { CTA, CTA_EXPECT } from './consts';
import { createAttrWriter, createCopyWriter, rewriteAttrs, type AttrWriter, type CreateOptions, type RewriteMode } from './create-fast';
import { scanAttrs } from './tuple-raw';

export { createAttrWriter, createCopyWriter, type AttrWriter, type CreateOptions, type RewriteMode };

interface Slice {
  type: number;
  off: number;
  len: number;
}

function topSlices(buf: Buffer): Slice[] {
  const out: Slice[] = [];
  scanAttrs(buf, 0, buf.length, (type, off, len) => {
    out.push({ type, off, len });
  });
  return out;
}

/** Whole attribute (header + padded payload) as [offset, size] for concatSlices. */
function whole(s: Slice): [number, number] {
  return [s.off - NLA_HDRLEN, nlaAlign(s.len + NLA_HDRLEN)];
}

export function toCreateAttrs(rec: CtRecord, opts: CreateOptions = {}): Buffer {
  if (rec.kind === 'expect') return toExpectCreateAttrs(rec);
  return rewriteAttrs(rec, 'create', opts);
}

export function toUpdateAttrs(rec: CtRecord, opts: CreateOptions = {}): Buffer {
  return rewriteAttrs(rec, 'update', opts);
}

/** Orig tuple (or reply when absent) + zone, for IPCTNL_MSG_CT_DELETE; expectation: tuple + zone. */
export function toDeleteAttrs(rec: CtRecord): Buffer {
  const slices = topSlices(rec.attrs);
  const isCt = rec.kind === 'ct';
  const tupleType = isCt ? CTA.TUPLE_ORIG : CTA_EXPECT.TUPLE;
  const zoneType = isCt ? CTA.ZONE : CTA_EXPECT.ZONE;
  let t = slices.find((s) => s.type === tupleType);
  if (!t && isCt) t = slices.find((s) => s.type === CTA.TUPLE_REPLY);
  const keep: Array<[number, number]> = [];
  if (t) keep.push(whole(t));
  const z = slices.find((s) => s.type === zoneType);
  if (z) keep.push(whole(z));
  return concatSlices(rec.attrs, keep);
}

const EXPECT_DROP = new Set<number>([CTA_EXPECT.ID]);

/** Expectation create: everything but CTA_EXPECT_ID (kernel-local). */
export function toExpectCreateAttrs(rec: CtRecord): Buffer {
  const keep = topSlices(rec.attrs)
    .filter((s) => !EXPECT_DROP.has(s.type))
    .map(whole);
  return concatSlices(rec.attrs, keep);
}


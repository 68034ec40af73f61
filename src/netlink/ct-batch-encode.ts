/**
 * Per-record request encoders for batched writes (pure).
 *
 * Attribute preparation (what may be written to a kernel) belongs to the
 * ctnetlink codec (src/netlink/ct/create.ts); this file picks the message
 * type and flags, and refuses anything that would turn a delete into a
 * flush: IPCTNL_MSG_CT_DELETE without a tuple flushes the whole table, and
 * IPCTNL_MSG_EXP_DELETE without CTA_EXPECT_TUPLE flushes all expectations
 * (net/netfilter/nf_conntrack_netlink.c).
 */
import type { CtRecord } from './types';
import type { BatchEncoder, DirectEncoder } from './ct-batch';
import { NLM_F_CREATE, NLM_F_EXCL, align4, readU16 } from './nlmsg';
import { msgType } from './nfnl';

/** The codec's exports (src/netlink/ct/create.ts), injectable. */
export interface AttrTransforms {
  toCreateAttrs(rec: CtRecord): Buffer;
  toUpdateAttrs(rec: CtRecord): Buffer;
  toDeleteAttrs(rec: CtRecord): Buffer;
  toExpectCreateAttrs(rec: CtRecord): Buffer;
  /**
   * Optional: a writer that gives the same bytes as toCreateAttrs /
   * toUpdateAttrs for conntrack records, straight into the datagram
   * (createAttrWriter in src/netlink/ct/create.ts). One per batch.
   */
  writer?(op: 'create' | 'update'): AttrWriter;
}

/** Measure-then-write attribute preparation (src/netlink/ct/create-fast.ts AttrWriter). */
export interface AttrWriter {
  measure(rec: CtRecord): number;
  write(rec: CtRecord, out: Buffer, off: number): number;
}

export type WriteOp = 'create' | 'update' | 'delete';

/** enum ctattr_type (nfnetlink_conntrack.h). */
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
/** enum ctattr_expect (nfnetlink_conntrack.h). */
const CTA_EXPECT_TUPLE = 2;
const CTA_EXPECT_ZONE = 7;

/** Is any of `types` a top-level attribute of `attrs`? (nlattr header host order, type masked 0x3fff) */
export function hasAttr(attrs: Buffer, types: number[]): boolean {
  let off = 0;
  while (off + 4 <= attrs.length) {
    const len = readU16(attrs, off);
    if (len < 4 || off + len > attrs.length) return false;
    if (types.includes(readU16(attrs, off + 2) & 0x3fff)) return true;
    off += align4(len);
  }
  return false;
}

/** Copy of the top-level attributes whose type is in `types` (in their order). */
export function pickAttrs(attrs: Buffer, types: number[]): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 4 <= attrs.length) {
    const len = readU16(attrs, off);
    if (len < 4 || off + len > attrs.length) break;
    const end = Math.min(off + align4(len), attrs.length);
    if (types.includes(readU16(attrs, off + 2) & 0x3fff)) {
      const part = Buffer.alloc(align4(len));
      attrs.copy(part, 0, off, end);
      parts.push(part);
    }
    off += align4(len);
  }
  return Buffer.concat(parts);
}

function guard(fn: () => Buffer): Buffer | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

export function encoderFor(op: WriteOp, t: AttrTransforms): BatchEncoder {
  return (rec) => {
    const isCt = rec.kind === 'ct';
    let attrs: Buffer | null;
    let flags = 0;
    if (op === 'delete') {
      attrs = isCt ? guard(() => t.toDeleteAttrs(rec)) : pickAttrs(rec.attrs, [CTA_EXPECT_TUPLE, CTA_EXPECT_ZONE]);
      if (attrs && !hasAttr(attrs, isCt ? [CTA_TUPLE_ORIG, CTA_TUPLE_REPLY] : [CTA_EXPECT_TUPLE])) return 'EINVAL';
    } else if (op === 'create') {
      attrs = guard(() => (isCt ? t.toCreateAttrs(rec) : t.toExpectCreateAttrs(rec)));
      flags = NLM_F_CREATE | NLM_F_EXCL;
    } else {
      attrs = guard(() => (isCt ? t.toUpdateAttrs(rec) : t.toExpectCreateAttrs(rec)));
    }
    if (!attrs) return 'EINVAL';
    return { type: msgType(rec.kind, op === 'delete' ? 'delete' : 'new'), flags, family: rec.family, attrs };
  };
}

/**
 * The direct (no Buffer per record) form of encoderFor for create / update
 * of conntrack entries, when the transforms offer a writer; undefined
 * otherwise. Expectations go through encoderFor (measure says null).
 */
export function directFor(op: WriteOp, t: AttrTransforms): DirectEncoder | undefined {
  if (op === 'delete' || !t.writer) return undefined;
  const w = t.writer(op);
  return {
    type: msgType('ct', 'new'),
    flags: op === 'create' ? NLM_F_CREATE | NLM_F_EXCL : 0,
    measure: (rec) => (rec.kind === 'ct' ? w.measure(rec) : null),
    write: (rec, buf, off) => w.write(rec, buf, off),
  };
}

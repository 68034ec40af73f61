/**
 * Compare two sets of conntrack records (a cache dump, a kernel dump) entry by
 * entry: same key set, and for each key the same tuples, status, TCP state,
 * mark and zone, with timeouts within a slack. Records are decoded with the
 * ctnetlink codec; a record that does not decode is reported, never skipped.
 */
import { decodeConntrack } from '../../../src/netlink/ct/conntrack';
import { tupleKey } from '../../../src/netlink/ct/key';
import type { CtRecord, Tuple } from '../../../src/netlink/types';

/** What must be equal between two replicas of one flow. */
export interface FlowView {
  key: string;
  orig: string;
  reply: string;
  status: number;
  tcpState: number | null;
  mark: number;
  zone: number;
  /** Seconds; compared with a slack. */
  timeout: number;
}

export interface CompareOptions {
  /** Allowed timeout difference, seconds; default 60. Infinity skips the check. */
  timeoutSlack?: number;
  /** Status bits to compare (default all). The kernel sets bits of its own on a commit. */
  statusMask?: number;
  /** Entries to compare attribute by attribute; default all. */
  sample?: number;
  /** How many differences to keep as examples. */
  examples?: number;
}

export interface CompareResult {
  /** Keys of `want` not in `got`. */
  missing: number;
  /** Keys of `got` not in `want`. */
  stale: number;
  /** Same key, different attributes. */
  different: number;
  /** Records that did not decode (either side). */
  undecodable: number;
  wantSize: number;
  gotSize: number;
  examples: string[];
}

function tupleText(t: Tuple): string {
  const l4 = t.proto === 1 || t.proto === 58 ? `type=${t.icmpType} code=${t.icmpCode} id=${t.icmpId}` : `sport=${t.sport} dport=${t.dport}`;
  return `${t.proto} src=${t.src} dst=${t.dst} ${l4}${t.zone !== undefined ? ` zone=${t.zone}` : ''}`;
}

/** Decode one record into the fields replicas must agree on; null when it does not decode. */
export function flowView(rec: CtRecord): FlowView | null {
  const key = tupleKey(rec);
  const d = decodeConntrack(rec);
  if (key === null || !d.ok) return null;
  const ct = d.value;
  return {
    key,
    orig: tupleText(ct.orig),
    reply: tupleText(ct.reply),
    status: ct.status ?? 0,
    tcpState: ct.protoinfo?.tcp?.state ?? null,
    mark: ct.mark ?? 0,
    zone: ct.zone ?? 0,
    timeout: ct.timeout ?? 0,
  };
}

/** Map key -> record; duplicates (same key twice) are counted as undecodable. */
export function byKey(recs: readonly CtRecord[]): { map: Map<string, CtRecord>; bad: number } {
  const map = new Map<string, CtRecord>();
  let bad = 0;
  for (const r of recs) {
    const k = tupleKey(r);
    if (k === null || map.has(k)) bad++;
    else map.set(k, r);
  }
  return { map, bad };
}

function diffView(a: FlowView, b: FlowView, o: Required<Pick<CompareOptions, 'timeoutSlack' | 'statusMask'>>): string | null {
  const d: string[] = [];
  if (a.orig !== b.orig) d.push(`orig ${a.orig} != ${b.orig}`);
  if (a.reply !== b.reply) d.push(`reply ${a.reply} != ${b.reply}`);
  if ((a.status & o.statusMask) !== (b.status & o.statusMask)) d.push(`status 0x${a.status.toString(16)} != 0x${b.status.toString(16)}`);
  if (a.tcpState !== b.tcpState) d.push(`tcp state ${a.tcpState} != ${b.tcpState}`);
  if (a.mark !== b.mark) d.push(`mark ${a.mark} != ${b.mark}`);
  if (a.zone !== b.zone) d.push(`zone ${a.zone} != ${b.zone}`);
  if (Math.abs(a.timeout - b.timeout) > o.timeoutSlack) d.push(`timeout ${a.timeout} vs ${b.timeout}`);
  return d.length === 0 ? null : `${a.orig}: ${d.join(', ')}`;
}

/** Compare `got` against the reference `want`. */
export function compareRecords(want: readonly CtRecord[], got: readonly CtRecord[], opts: CompareOptions = {}): CompareResult {
  const o = { timeoutSlack: opts.timeoutSlack ?? 60, statusMask: opts.statusMask ?? 0xffffffff };
  const maxExamples = opts.examples ?? 5;
  const w = byKey(want);
  const g = byKey(got);
  const res: CompareResult = {
    missing: 0,
    stale: 0,
    different: 0,
    undecodable: w.bad + g.bad,
    wantSize: want.length,
    gotSize: got.length,
    examples: [],
  };
  const note = (s: string): void => {
    if (res.examples.length < maxExamples) res.examples.push(s);
  };
  const sampleEvery = opts.sample && opts.sample < w.map.size ? Math.floor(w.map.size / opts.sample) : 1;
  let i = 0;
  for (const [k, wr] of w.map) {
    const gr = g.map.get(k);
    if (!gr) {
      res.missing++;
      note(`missing: ${flowView(wr)?.orig ?? '(undecodable)'}`);
      continue;
    }
    if (i++ % sampleEvery !== 0) continue;
    const a = flowView(wr);
    const b = flowView(gr);
    if (!a || !b) {
      res.undecodable++;
      continue;
    }
    const d = diffView(a, b, o);
    if (d) {
      res.different++;
      note(`different: ${d}`);
    }
  }
  for (const [k, gr] of g.map) {
    if (!w.map.has(k)) {
      res.stale++;
      note(`stale: ${flowView(gr)?.orig ?? '(undecodable)'}`);
    }
  }
  return res;
}

export function isSame(r: CompareResult): boolean {
  return r.missing === 0 && r.stale === 0 && r.different === 0 && r.undecodable === 0;
}

export function summary(r: CompareResult): string {
  return `want ${r.wantSize}, got ${r.gotSize}: ${r.missing} missing, ${r.stale} stale, ${r.different} different, ${r.undecodable} undecodable${r.examples.length ? `\n  ${r.examples.join('\n  ')}` : ''}`;
}

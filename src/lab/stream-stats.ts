/**
 * Pure analysis of a stream-agent report: per stream bytes, broken or not,
 * the longest stall (gap between successful round trips) around an instant.
 */
import { reportObject } from './report-line';
export interface StreamRecord {
  id: number;
  connectedAt: number | null;
  sent: number;
  received: number;
  /** [epoch ms, cumulative echoed bytes] at each receipt. */
  samples: Array<[number, number]>;
  brokenAt: number | null;
  reason: string | null;
}

export interface StallWindow {
  /** The instant of interest (e.g. the crash), epoch ms. */
  at: number;
  /** End of the observation, epoch ms. */
  end: number;
  /** Gaps ending before at - before are ignored; default 1000 ms. */
  before?: number;
  /** A stream survived if it received something within this long before `end`; default 1000 ms. */
  aliveWithin?: number;
}

export interface StreamVerdict {
  id: number;
  bytes: number;
  broken: boolean;
  reason: string | null;
  /** Longest gap between receipts in the window, ms (an open gap runs to `end`). */
  stallMs: number;
  stallFrom: number | null;
  /** null when the stall had not ended at `end`. */
  stallTo: number | null;
  /** Bytes received after `at`. */
  bytesAfter: number;
  survived: boolean;
}

export function analyzeStream(r: StreamRecord, w: StallWindow): StreamVerdict {
  const before = w.before ?? 1000;
  const aliveWithin = w.aliveWithin ?? 1000;
  let stallMs = 0;
  let stallFrom: number | null = null;
  let stallTo: number | null = null;
  let prev: number | null = null;
  let atBytes = 0;
  let last: [number, number] | null = null;
  for (const s of r.samples) {
    const [t, bytes] = s;
    if (t > w.end) break;
    if (t <= w.at) atBytes = bytes;
    if (prev !== null && t >= w.at - before && t - prev > stallMs) {
      stallMs = t - prev;
      stallFrom = prev;
      stallTo = t;
    }
    prev = t;
    last = s;
  }
  const openFrom = prev;
  if (openFrom !== null && w.end - openFrom > stallMs) {
    stallMs = w.end - openFrom;
    stallFrom = openFrom;
    stallTo = null;
  }
  const lastT = last ? last[0] : null;
  const bytes = last ? last[1] : 0;
  const broken = r.brokenAt !== null && r.brokenAt <= w.end;
  return {
    id: r.id,
    bytes,
    broken,
    reason: broken ? r.reason : null,
    stallMs,
    stallFrom,
    stallTo,
    bytesAfter: bytes - atBytes,
    survived: !broken && lastT !== null && lastT >= w.end - aliveWithin && bytes > atBytes,
  };
}

export function analyzeStreams(rs: StreamRecord[], w: StallWindow): StreamVerdict[] {
  return rs.map((r) => analyzeStream(r, w));
}

/** Parse a report line from the agent; null when it is not a valid report. */
export function parseReport(line: string): StreamRecord[] | null {
  const o = reportObject(line);
  if (o === null || !Array.isArray(o.streams)) return null;
  const out: StreamRecord[] = [];
  for (const s of o.streams as unknown[]) {
    if (typeof s !== 'object' || s === null) return null;
    const r = s as Partial<StreamRecord>;
    if (typeof r.id !== 'number' || !Array.isArray(r.samples)) return null;
    out.push({
      id: r.id,
      connectedAt: typeof r.connectedAt === 'number' ? r.connectedAt : null,
      sent: typeof r.sent === 'number' ? r.sent : 0,
      received: typeof r.received === 'number' ? r.received : 0,
      samples: r.samples.filter((p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number'),
      brokenAt: typeof r.brokenAt === 'number' ? r.brokenAt : null,
      reason: typeof r.reason === 'string' ? r.reason : null,
    });
  }
  return out;
}

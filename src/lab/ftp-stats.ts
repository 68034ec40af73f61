/**
 * Pure analysis of an FTP agent report (src/lab/ftp-agent.ts): per transfer
 * bytes and checksum, the stall of the transfer that ran across an instant
 * (the crash), and the outcome of the session (ok, hung, reset, failed).
 */
import { reportObject } from './report-line';

export interface FtpTransfer {
  /** `data-<size>-<seed>.bin` */
  name: string;
  size: number;
  mode: 'PASV' | 'EPSV';
  /** Data port of the 227/229 reply, null before it. */
  port: number | null;
  /** When PASV/EPSV (or the NOOP before it) was sent, epoch ms. */
  requestedAt: number;
  dataConnectedAt: number | null;
  /** [epoch ms, cumulative bytes] at each receipt on the data connection. */
  samples: Array<[number, number]>;
  bytes: number;
  sha256: string | null;
  expectedSha256: string;
  /** 226 received and the data connection closed. */
  completeAt: number | null;
  /** Complete with the right size and SHA-256. */
  ok: boolean;
  error: string | null;
}

export interface FtpRecord {
  host: string;
  connectedAt: number | null;
  /** [epoch ms, reply code] of every control reply. */
  control: Array<[number, number]>;
  transfers: FtpTransfer[];
  /** 221 received. */
  quitAt: number | null;
  /** The control connection failed or closed before QUIT. */
  brokenAt: number | null;
  reason: string | null;
  /** First error of the session (a reply code, a data error, a checksum), else null. */
  error: string | null;
}

export type FtpState = 'ok' | 'hung' | 'reset' | 'failed';

export interface FtpVerdict {
  state: FtpState;
  /** Every transfer ok and QUIT answered. */
  completed: boolean;
  transfersOk: number;
  transfers: number;
  bytes: number;
  /** Index of the transfer whose data connection was open at the instant, or null. */
  acrossIndex: number | null;
  /** Transfers whose PASV/EPSV was sent after the instant, and how many of them completed ok. */
  afterRequested: number;
  afterOk: number;
  /** Longest gap between data receipts of the transfer across the instant, ms (an open gap runs to `end`). */
  stallMs: number;
  stallFrom: number | null;
  stallTo: number | null;
  reason: string | null;
}

const RESET = /ECONNRESET|EPIPE|ECONNREFUSED|EOF|closed/;

/** Longest gap of samples (from `from` on) of one transfer; an unfinished transfer's last gap runs to `end`. */
function gap(t: FtpTransfer, from: number, end: number): { ms: number; a: number | null; b: number | null } {
  let best = { ms: 0, a: null as number | null, b: null as number | null };
  let prev: number | null = t.dataConnectedAt;
  for (const [ts] of t.samples) {
    if (ts > end) break;
    if (prev !== null && ts >= from && ts - prev > best.ms) best = { ms: ts - prev, a: prev, b: ts };
    prev = ts;
  }
  if (t.completeAt === null && prev !== null && end - prev > best.ms) best = { ms: end - prev, a: prev, b: null };
  return best;
}

export interface FtpWindow {
  /** The instant of interest (the crash), epoch ms. */
  at: number;
  /** End of the observation, epoch ms. */
  end: number;
  /** Gaps ending before at - before are ignored; default 1000 ms. */
  before?: number;
}

export function analyzeFtp(r: FtpRecord, w: FtpWindow): FtpVerdict {
  const ok = r.transfers.filter((t) => t.ok);
  const completed = r.transfers.length > 0 && ok.length === r.transfers.length && r.quitAt !== null && r.error === null;
  const acrossIndex = r.transfers.findIndex(
    (t) => t.dataConnectedAt !== null && t.dataConnectedAt <= w.at && (t.completeAt === null || t.completeAt > w.at),
  );
  const across = acrossIndex >= 0 ? r.transfers[acrossIndex] : undefined;
  const g = across ? gap(across, w.at - (w.before ?? 1000), w.end) : { ms: 0, a: null, b: null };
  const after = r.transfers.filter((t) => t.requestedAt > w.at);
  const failedBy = r.error ?? r.transfers.find((t) => t.error !== null)?.error ?? null;
  let state: FtpState;
  let reason: string | null = null;
  if (completed) state = 'ok';
  else if (r.brokenAt !== null || (failedBy !== null && RESET.test(failedBy))) {
    state = 'reset';
    reason = r.reason ?? failedBy;
  } else if (failedBy !== null) {
    state = 'failed';
    reason = failedBy;
  } else state = 'hung';
  return {
    state,
    completed,
    transfersOk: ok.length,
    transfers: r.transfers.length,
    bytes: r.transfers.reduce((n, t) => n + t.bytes, 0),
    acrossIndex: across ? acrossIndex : null,
    afterRequested: after.length,
    afterOk: after.filter((t) => t.ok).length,
    stallMs: g.ms,
    stallFrom: g.a,
    stallTo: g.b,
    reason,
  };
}

/** Data bytes of all transfers as one cumulative series, for a timeline lane. */
export function ftpDataSeries(r: FtpRecord): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let base = 0;
  for (const t of r.transfers) {
    for (const [ts, b] of t.samples) out.push([ts, base + b]);
    base += t.bytes;
  }
  return out;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown): number | null => (isNum(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const pairs = (v: unknown): Array<[number, number]> =>
  Array.isArray(v) ? v.filter((p): p is [number, number] => Array.isArray(p) && isNum(p[0]) && isNum(p[1])) : [];

function transferOf(v: unknown): FtpTransfer | null {
  if (typeof v !== 'object' || v === null) return null;
  const t = v as Record<string, unknown>;
  if (typeof t.name !== 'string' || !isNum(t.size) || typeof t.expectedSha256 !== 'string' || !isNum(t.requestedAt)) return null;
  return {
    name: t.name,
    size: t.size,
    mode: t.mode === 'EPSV' ? 'EPSV' : 'PASV',
    port: numOrNull(t.port),
    requestedAt: t.requestedAt,
    dataConnectedAt: numOrNull(t.dataConnectedAt),
    samples: pairs(t.samples),
    bytes: isNum(t.bytes) ? t.bytes : 0,
    sha256: strOrNull(t.sha256),
    expectedSha256: t.expectedSha256,
    completeAt: numOrNull(t.completeAt),
    ok: t.ok === true,
    error: strOrNull(t.error),
  };
}

/** Parse the agent's report line; null when it is not a valid report. */
export function parseFtpReport(line: string): FtpRecord | null {
  const o = reportObject(line);
  if (o === null || typeof o.ftp !== 'object' || o.ftp === null) return null;
  const f = o.ftp as Record<string, unknown>;
  if (typeof f.host !== 'string' || !Array.isArray(f.transfers)) return null;
  const transfers: FtpTransfer[] = [];
  for (const t of f.transfers as unknown[]) {
    const x = transferOf(t);
    if (!x) return null;
    transfers.push(x);
  }
  return {
    host: f.host,
    connectedAt: numOrNull(f.connectedAt),
    control: pairs(f.control),
    transfers,
    quitAt: numOrNull(f.quitAt),
    brokenAt: numOrNull(f.brokenAt),
    reason: strOrNull(f.reason),
    error: strOrNull(f.error),
  };
}

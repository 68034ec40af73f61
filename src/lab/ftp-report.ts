/**
 * The FTP session of a failover run as report text and timeline lanes (pure).
 */
import type { FailoverResult } from './failover';
import type { FtpOutcome } from './ftp-failover';
import { ftpDataSeries } from './ftp-stats';
import type { TimelineLane } from './timeline';

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

function rel(t: number, crashAt: number): string {
  const d = Math.round(t - crashAt);
  return `${d >= 0 ? '+' : ''}${d} ms`;
}

const STATE_TEXT = { ok: 'ok', hung: 'HUNG', reset: 'RESET', failed: 'FAILED' } as const;

/** One line per fact of the session; [] when the run had no FTP session. */
export function formatFtp(r: FailoverResult): string[] {
  const f: FtpOutcome | undefined = r.ftp;
  if (!f) return [];
  const v = f.verdict;
  const lines: string[] = [];
  lines.push('   ftp: passive FTP through the firewalls\' ftp helper, one control connection:');
  if (r.variant !== 'none') {
    const seen = [
      f.replication.expectation ? `expectation (data port ${f.dataPort ?? '?'})` : 'expectation NOT seen',
      f.replication.control ? `control entry${/helper=ftp/.test(f.replication.control) ? ' (helper=ftp)' : ''}` : 'control entry NOT seen',
      f.replication.data ? 'data entry' : 'data entry NOT seen',
    ];
    lines.push(`     in fw2's external cache before the crash: ${seen.join(', ')}`);
  }
  f.record.transfers.forEach((t, i) => {
    const when = t.requestedAt > r.crashAt ? ` (asked ${rel(t.requestedAt, r.crashAt)})` : '';
    let state: string;
    if (t.ok) state = `ok, ${kib(t.bytes)}, SHA-256 verified`;
    else if (t.completeAt !== null) state = `BAD, ${kib(t.bytes)} of ${kib(t.size)}, SHA-256 ${t.sha256 === t.expectedSha256 ? 'ok' : 'mismatch'}`;
    else if (t.error !== null) state = `FAILED at ${kib(t.bytes)} of ${kib(t.size)}: ${t.error}`;
    else state = `HUNG at ${kib(t.bytes)} of ${kib(t.size)}`;
    const stall =
      v.acrossIndex === i
        ? v.stallTo === null
          ? `, no data since ${rel(v.stallFrom ?? r.crashAt, r.crashAt)} (${v.stallMs} ms until the end)`
          : `, longest stall ${v.stallMs} ms`
        : '';
    lines.push(`     transfer ${i + 1} ${t.mode} ${t.name}${when}: ${state}${stall}`);
  });
  const missing = f.record.transfers.length < 2 ? '; the transfer after the failover was never asked for' : '';
  const why = v.reason !== null ? ` (${v.reason})` : '';
  lines.push(`     session: ${STATE_TEXT[v.state]}${why}${v.completed ? ', QUIT answered' : missing}`);
  if (f.replication.fw2KernelControl !== null) {
    lines.push(`     fw2 kernel, control entry after the run: ${/helper=ftp/.test(f.replication.fw2KernelControl) ? 'helper=ftp' : 'no helper'}`);
  }
  return lines;
}

/** Timeline lanes ftp-data (bytes of all transfers) and ftp-control (each reply code); [] without FTP. */
export function ftpLanes(r: FailoverResult): TimelineLane[] {
  const f = r.ftp;
  if (!f) return [];
  const v = f.verdict;
  const total = f.record.transfers.reduce((n, t) => n + t.size, 0);
  const data: TimelineLane = {
    label: 'ftp-data',
    samples: ftpDataSeries(f.record),
    total,
    note: v.completed
      ? `ftp ok: ${f.record.transfers.length} files, SHA-256 verified, stall ${v.stallMs} ms`
      : `ftp ${STATE_TEXT[v.state]}: ${v.transfersOk}/${Math.max(2, v.transfers)} files`,
    good: v.completed,
  };
  const control: TimelineLane = {
    label: 'ftp-control',
    samples: [],
    marks: f.record.control.map(([t, code]): [number, string] => [t, String(code)]),
    note: 'control replies (227/229: passive, 226: done)',
  };
  return [data, control];
}

/**
 * SVG timeline of failover runs (pure: recorded data in, SVG text out).
 * One panel per run: each stream's echoed bytes over time as a line, the
 * crash instant as a red line, every transition step as a numbered dashed
 * line listed on the right with its offset from the crash, and the stall
 * shaded and labelled. A run may carry extra lanes (e.g. ftp-data and
 * ftp-control of the FTP session), each a strip under the plot on the same
 * time axis: progress as a line scaled to the lane, marks as ticks.
 */
import type { StreamRecord, StreamVerdict } from './stream-stats';
import type { StepMark } from './steps';

export interface TimelineRun {
  label: string;
  startAt: number;
  crashAt: number;
  endAt: number;
  records: StreamRecord[];
  verdicts: StreamVerdict[];
  steps: StepMark[];
  /** Strips under the stream plot, same time axis (none: the panel is as before). */
  lanes?: TimelineLane[];
}

export interface TimelineLane {
  /** Shown left of the strip, e.g. 'ftp-data'. */
  label: string;
  /** [epoch ms, cumulative amount], drawn as a line from 0 to `total`. */
  samples: Array<[number, number]>;
  /** Full scale; default the largest sample. */
  total?: number;
  /** Ticks with a short text, e.g. [epoch ms, '226'] for each control reply. */
  marks?: Array<[number, string]>;
  /** Shown right of the strip, e.g. 'ok, SHA-256 verified'. */
  note?: string;
  /** Colour of the note: true green, false red; default grey. */
  good?: boolean;
}

/** Height of one lane strip, px. */
export const LANE_HEIGHT = 40;

export interface TimelineOptions {
  title?: string;
  width?: number;
  panelHeight?: number;
  /** Time shown before the crash, ms; default 2000. */
  beforeMs?: number;
}

const COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#ff7f0e', '#393b79'];

/**
 * SVG polyline points of [time, value] samples within [t0, t1], at most one per half pixel;
 * a gap of more than 50 ms is drawn flat (nothing arrived), then the jump. Returns the last sample too.
 */
function polylinePoints(
  samples: ReadonlyArray<readonly [number, number]>, t0: number, t1: number, x: (t: number) => number, y: (v: number) => number,
): { pts: string[]; prev: readonly [number, number] | null } {
  const pts: string[] = [];
  let prev: readonly [number, number] | null = null;
  let lastPx = -1;
  for (const s of samples) {
    const [t, v] = s;
    if (t < t0 || t > t1) continue;
    if (prev && t - prev[0] > 50) pts.push(`${fmt(x(t))},${fmt(y(prev[1]))}`);
    prev = s;
    const px = Math.round(x(t) * 2) / 2;
    if (px === lastPx) continue;
    lastPx = px;
    pts.push(`${fmt(px)},${fmt(y(v))}`);
  }
  return { pts, prev };
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

function panel(run: TimelineRun, y0: number, width: number, height: number, beforeMs: number): string[] {
  const left = 70;
  const legendW = 330;
  const plotW = width - left - legendW - 20;
  const top = y0 + 30;
  const plotH = height - 70;
  // every panel shows the same window: `beforeMs` before the crash to the end
  const t0 = Math.max(run.startAt, run.crashAt - beforeMs);
  const t1 = Math.max(run.endAt, t0 + 1);
  let maxBytes = 1;
  for (const r of run.records) for (const [, b] of r.samples) if (b > maxBytes) maxBytes = b;
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (b: number): number => top + plotH - (b / maxBytes) * plotH;
  const out: string[] = [];
  out.push(`<text x="${left}" y="${y0 + 18}" font-size="15" font-weight="bold">${escapeXml(run.label)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${fmt(plotW)}" height="${plotH}" fill="#fafafa" stroke="#999"/>`);
  // stall band: earliest stall start to latest stall end (or the end when not resumed)
  const stalls = run.verdicts.filter((v) => v.stallFrom !== null);
  if (stalls.length > 0) {
    const from = Math.min(...stalls.map((v) => v.stallFrom ?? Infinity));
    const open = stalls.some((v) => v.stallTo === null);
    const to = open ? run.endAt : Math.max(...stalls.map((v) => v.stallTo ?? 0));
    const maxStall = Math.max(...stalls.map((v) => v.stallMs));
    const txt = open ? `no progress after the crash (${fmt(maxStall / 1000)} s until the end)` : `stall ${Math.round(maxStall)} ms (longest stream)`;
    out.push(`<rect x="${fmt(x(from))}" y="${top}" width="${fmt(Math.max(1, x(to) - x(from)))}" height="${plotH}" fill="${open ? '#f8d0d0' : '#fde9b8'}" opacity="0.8"/>`);
    out.push(`<text x="${fmt(Math.min(x(from) + 4, left + plotW - 250))}" y="${top + plotH - 8}" font-size="12" fill="#8a4b00">${escapeXml(txt)}</text>`);
  }
  // axes: seconds relative to the crash
  for (let s = Math.ceil((t0 - run.crashAt) / 1000); s <= (t1 - run.crashAt) / 1000; s++) {
    const px = x(run.crashAt + s * 1000);
    out.push(`<line x1="${fmt(px)}" y1="${top + plotH}" x2="${fmt(px)}" y2="${top + plotH + 5}" stroke="#333"/>`);
    out.push(`<text x="${fmt(px)}" y="${top + plotH + 18}" font-size="11" text-anchor="middle">${s > 0 ? '+' : ''}${s} s</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" font-size="11" text-anchor="middle">time relative to the crash</text>`);
  out.push(`<text x="${left - 8}" y="${top + 10}" font-size="11" text-anchor="end">${fmt(maxBytes / 1024)} KiB</text>`);
  out.push(`<text x="${left - 8}" y="${top + plotH}" font-size="11" text-anchor="end">0</text>`);
  out.push(`<text x="14" y="${top + plotH / 2}" font-size="11" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">echoed bytes per stream</text>`);
  // streams
  run.records.forEach((r, i) => {
    const { pts, prev } = polylinePoints(r.samples, t0, t1, x, y);
    if (prev && r.brokenAt === null && t1 - prev[0] > 50) pts.push(`${fmt(x(t1))},${fmt(y(prev[1]))}`);
    const color = COLORS[i % COLORS.length] ?? '#000';
    if (pts.length > 0) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    if (r.brokenAt !== null && r.brokenAt <= t1) {
      out.push(`<text x="${fmt(x(r.brokenAt))}" y="${top + 14 + i * 12}" font-size="11" fill="${color}">✕ stream ${r.id} ${escapeXml(r.reason ?? 'broken')}</text>`);
    }
  });
  // crash and steps
  const cx = x(run.crashAt);
  out.push(`<line x1="${fmt(cx)}" y1="${top}" x2="${fmt(cx)}" y2="${top + plotH}" stroke="#d62728" stroke-width="2"/>`);
  out.push(`<text x="${fmt(cx - 4)}" y="${top + 14}" font-size="12" fill="#d62728" text-anchor="end">crash</text>`);
  const lx = left + plotW + 20;
  out.push(`<text x="${lx}" y="${top + 4}" font-size="12" font-weight="bold">after the crash (fw1 SIGKILL + links down)</text>`);
  run.steps.forEach((s, i) => {
    const px = x(s.t);
    const n = i + 1;
    out.push(`<line x1="${fmt(px)}" y1="${top}" x2="${fmt(px)}" y2="${top + plotH}" stroke="#555" stroke-dasharray="3,3" stroke-width="0.8"/>`);
    out.push(`<text x="${fmt(px + 2)}" y="${top + 12 + (i % 6) * 12}" font-size="10" fill="#333">${n}</text>`);
    out.push(
      `<text x="${lx}" y="${top + 22 + i * 15}" font-size="11">${n}. +${Math.round(s.t - run.crashAt)} ms  ${escapeXml(s.node)}: ${escapeXml(s.label)}</text>`,
    );
  });
  (run.lanes ?? []).forEach((lane, i) => out.push(...laneStrip(lane, y0 + height - 4 + i * LANE_HEIGHT, left, plotW, x, t0, t1, run.crashAt)));
  const survived = run.verdicts.filter((v) => v.survived).length;
  out.push(
    `<text x="${lx}" y="${top + 30 + run.steps.length * 15}" font-size="12" font-weight="bold" fill="${survived === run.verdicts.length ? '#2ca02c' : '#d62728'}">${survived}/${run.verdicts.length} streams survived</text>`,
  );
  return out;
}

function laneStrip(
  lane: TimelineLane, yTop: number, left: number, plotW: number, x: (t: number) => number, t0: number, t1: number, crashAt: number,
): string[] {
  const out: string[] = [];
  const h = LANE_HEIGHT - 12;
  const top = yTop + 4;
  let max = lane.total ?? 0;
  for (const [, v] of lane.samples) if (v > max) max = v;
  max = Math.max(1, max);
  const y = (v: number): number => top + h - (v / max) * h;
  out.push(`<text x="${left - 8}" y="${top + h / 2 + 4}" font-size="11" text-anchor="end">${escapeXml(lane.label)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${fmt(plotW)}" height="${h}" fill="#fafafa" stroke="#bbb"/>`);
  const { pts } = polylinePoints(lane.samples, t0, t1, x, y);
  if (pts.length > 0) out.push(`<polyline fill="none" stroke="#ff7f0e" stroke-width="1.5" points="${pts.join(' ')}"/>`);
  (lane.marks ?? []).forEach(([t, label], i) => {
    if (t < t0 || t > t1) return;
    const px = fmt(x(t));
    out.push(`<line x1="${px}" y1="${top + h - 8}" x2="${px}" y2="${top + h}" stroke="#333" stroke-width="1"/>`);
    out.push(`<text x="${px}" y="${top + 9 + (i % 2) * 9}" font-size="8" text-anchor="middle" fill="#333">${escapeXml(label)}</text>`);
  });
  const cx = fmt(x(crashAt));
  out.push(`<line x1="${cx}" y1="${top}" x2="${cx}" y2="${top + h}" stroke="#d62728" stroke-width="2"/>`);
  if (lane.note !== undefined) {
    const color = lane.good === undefined ? '#555' : lane.good ? '#2ca02c' : '#d62728';
    out.push(`<text x="${fmt(left + plotW + 20)}" y="${top + h / 2 + 4}" font-size="11" fill="${color}">${escapeXml(lane.note)}</text>`);
  }
  return out;
}

export function renderTimeline(runs: TimelineRun[], o: TimelineOptions = {}): string {
  const width = o.width ?? 1200;
  const ph = o.panelHeight ?? 340;
  const head = o.title ? 36 : 8;
  const heights = runs.map((r) => ph + (r.lanes?.length ?? 0) * LANE_HEIGHT);
  const height = head + heights.reduce((a, b) => a + b, 0) + 10;
  const body: string[] = [];
  if (o.title) body.push(`<text x="20" y="26" font-size="18" font-weight="bold">${escapeXml(o.title)}</text>`);
  let y0 = head;
  runs.forEach((r, i) => {
    body.push(...panel(r, y0, width, ph, o.beforeMs ?? 2000));
    y0 += heights[i] ?? ph;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

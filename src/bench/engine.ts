/**
 * Foundation benchmark, on the real kernel in namespaces:
 *  (a) ctnetlink dump rate of N entries;
 *  (b) event receive + decode rate of an N-event burst (a flush);
 *  (c) time to create N entries in one batch (and its attribute preparation);
 *  (d) committing N entries from a cache: ctsync's batched create against
 *      `conntrackd -c` of conntrackd (Debian 1.4.7) committing the same N from
 *      its external cache, filled over FT-FW/UDP by a second conntrackd.
 * Namespaces, daemons and temporary files are always removed.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKernelTable, type KernelTableHandle } from '../netlink/kernel-table';
import { toCreateAttrs } from '../netlink/ct/create';
import { decodeConntrack } from '../netlink/ct/conntrack';
import { silentLogger } from '../util/log';
import { makeFlows } from './flows';
import { BenchLab, pollUntil } from './netns';
import type { BenchRow, BenchSection } from './section';
import type { BatchResult } from '../netlink/table';
import type { CtRecord } from '../netlink/types';

export interface KernelBenchOptions {
  /** Entries; default 100,000. */
  n?: number;
  /** Skip the conntrackd comparison. */
  noConntrackd?: boolean;
  /** Repetitions per timing; the median is reported. Default 3 (the bench section: 5). */
  reps?: number;
}

const ms = (t0: number): number => performance.now() - t0;
const rate = (n: number, msec: number): number => Math.round((n * 1000) / msec);

function row(metric: string, ctsync: number | string, conntrackd: number | string, unit: string): BenchRow {
  // speedup > 1 means ctsync is faster: conntrackd time / ctsync time, or ctsync rate / conntrackd rate.
  const speedup =
    typeof ctsync === 'number' && typeof conntrackd === 'number' && ctsync > 0 && conntrackd > 0
      ? `${(unit.endsWith('/s') ? ctsync / conntrackd : conntrackd / ctsync).toFixed(2)}x`
      : '';
  return { metric, ctsync, conntrackd, unit, speedup };
}

function table(ns: string, overlapWrites = true): KernelTableHandle {
  return createKernelTable({ logger: silentLogger(), netns: ns, timeoutMs: 120_000, overlapWrites });
}

/** conntrackd.conf for one side of an FT-FW pair over UDP. */
export function conntrackdConf(dir: string, name: string, local: string, peer: string, ifname: string): string {
  return `General {
  HashSize 262144
  HashLimit 524288
  LogFile off
  Syslog off
  LockFile ${join(dir, `${name}.lock`)}
  UNIX {
    Path ${join(dir, `${name}.sock`)}
  }
  NetlinkBufferSize 67108864
  NetlinkBufferSizeMaxGrowth 268435456
}
Sync {
  Mode FTFW {
    ResendQueueSize 262144
  }
  UDP {
    IPv4_address ${local}
    IPv4_Destination_Address ${peer}
    Port 3780
    Interface ${ifname}
    SndSocketBuffer 24985600
    RcvSocketBuffer 24985600
    Checksum on
  }
}
`;
}

function externalEntries(lab: BenchLab, ns: string, conf: string): number {
  try {
    const out = lab.exec(ns, `conntrackd -C ${conf} -s cache 2>/dev/null`);
    const m = /cache:external\s+active objects:\s+(\d+)/.exec(out);
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

interface ConntrackdResult {
  /** Wall time of each commit: from `conntrackd -c` until the kernel holds all n. */
  commitMs: number[];
  committed: number;
  /** Dump of the first kernel, reused as ctsync's input (same records). */
  records: CtRecord[];
}

export async function conntrackdCommit(lab: BenchLab, n: number, reps: number): Promise<ConntrackdResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-bench-'));
  const x = lab.netns('x');
  const y = lab.netns('y');
  const tx = table(x);
  const ty = table(y);
  try {
    lab.veth(x, y, 'ctb0', '203.0.113.1/24', '203.0.113.2/24');
    const cx = join(dir, 'x.conf');
    const cy = join(dir, 'y.conf');
    writeFileSync(cx, conntrackdConf(dir, 'x', '203.0.113.1', '203.0.113.2', 'ctb0'));
    writeFileSync(cy, conntrackdConf(dir, 'y', '203.0.113.2', '203.0.113.1', 'ctb0'));
    const procs = ([
      [x, cx],
      [y, cy],
    ] as const).map(([ns, conf]) => {
      const p = lab.spawn(ns, ['conntrackd', '-C', conf]);
      p.stdout?.resume();
      p.stderr?.resume();
      return p;
    });
    const up = await pollUntil(() => existsSync(join(dir, 'x.sock')) && existsSync(join(dir, 'y.sock')), 10_000);
    if (!up) throw new Error('conntrackd did not start');
    const c = await tx.create(makeFlows(n));
    if (c.ok !== n) throw new Error(`fill: ${c.failed.length} failed`);
    const synced = await pollUntil(() => externalEntries(lab, y, cy) >= n, 180_000, 250);
    if (!synced) throw new Error(`conntrackd external cache has ${externalEntries(lab, y, cy)} of ${n}`);
    // As at a failover: the peer (x) is gone; only y's own conntrackd listens to events on this kernel.
    await stopProc(procs[0]);
    const commitMs: number[] = [];
    let committed = 0;
    for (let i = 0; i < reps; i++) {
      await ty.flush('ct');
      if (!(await pollUntil(async () => (await ty.count('ct')) === 0, 30_000, 20))) throw new Error('flush of y');
      const t0 = performance.now();
      lab.exec(y, `conntrackd -C ${cy} -c ct`);
      const done = await pollUntil(async () => (await ty.count('ct')) >= n, 120_000, 10);
      commitMs.push(ms(t0));
      if (!done) throw new Error(`after conntrackd -c the kernel has ${await ty.count('ct')} of ${n}`);
      committed = (await ty.dump('ct')).length;
    }
    const records = await tx.dump('ct');
    // ctsync's commits run next on this kernel: no conntrackd listener may remain,
    // and the kernel holds what it held at conntrackd's commits (x's table; y's
    // committed copy would lengthen the shared hash chains for ctsync only).
    await stopProc(procs[1]);
    await ty.flush('ct');
    return { commitMs, committed, records };
  } finally {
    tx.close();
    ty.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SIGTERM the process group, SIGKILL after 10 s; resolves when it has exited. */
async function stopProc(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  process.kill(-p.pid, 'SIGTERM');
  const t = setTimeout(() => {
    if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
  }, 10_000);
  await done;
  clearTimeout(t);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Time `fn` reps times, after `reset` each time; returns the times in ms. */
async function timed(reps: number, reset: () => Promise<void>, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    await reset();
    const t0 = performance.now();
    await fn();
    out.push(ms(t0));
  }
  return out;
}

function expectAll(what: string, n: number, r: BatchResult): void {
  if (r.ok !== n) throw new Error(`${what}: ${r.failed.length} failed (${r.failed[0]?.code ?? ''})`);
}

async function localRates(lab: BenchLab, n: number, reps: number, rows: BenchRow[]): Promise<void> {
  const ta = table(lab.netns('a'));
  try {
    const flows = makeFlows(n);
    const flush = (): Promise<void> => ta.flush('ct');
    const prep = await timed(reps, async () => {}, async () => {
      for (const f of flows) toCreateAttrs(f);
    });
    const create = await timed(reps, flush, async () => expectAll('create', n, await ta.create(flows)));
    const prepared = flows.map((f) => ({ ...f, attrs: toCreateAttrs(f) }));
    const write = await timed(reps, flush, async () => expectAll('create', n, await ta.create(prepared, { prepared: true })));
    rows.push(row(`(c) create ${n} in one batch (empty table, no listener)`, Math.round(median(create)), '', 'ms'));
    rows.push(row(`    attribute preparation alone (toCreateAttrs x ${n})`, Math.round(median(prep)), '', 'ms'));
    rows.push(row(`    kernel write alone (attributes prepared beforehand)`, Math.round(median(write)), '', 'ms'));

    const dump = await timed(reps, async () => {}, async () => {
      const d = await ta.dump('ct');
      if (d.length !== n) throw new Error(`dump: ${d.length} of ${n}`);
    });
    rows.push(row(`(a) dump ${n} entries`, rate(n, median(dump)), '', 'entries/s'));

    // The kernel attaches event state to an entry at creation only if someone
    // listens then (nf_conntrack_events = 2): subscribe first, then create the burst's entries.
    await ta.flush('ct');
    let got = 0;
    let bad = 0;
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((r) => (resolveAll = r));
    const sub = ta.subscribe(
      { kinds: ['ct'], types: ['destroy'], rcvbuf: 128 << 20 },
      {
        onEvents: (es) => {
          for (const e of es) if (!decodeConntrack(e.record).ok) bad++;
          got += es.length;
          if (got >= n) resolveAll();
        },
        onOverrun: () => resolveAll(),
      },
    );
    expectAll('create', n, await ta.create(prepared, { prepared: true }));
    const t0 = performance.now();
    await ta.flush('ct');
    await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
    const evMs = ms(t0);
    const overruns = sub.overruns;
    sub.close();
    rows.push(row(`(b) ${n}-event burst (flush) received + decoded: ${got} got, ${overruns} overruns, ${bad} bad`, rate(got, evMs), '', 'events/s'));
  } finally {
    ta.close();
  }
}

export async function runKernelBench(o: KernelBenchOptions = {}): Promise<BenchRow[]> {
  const n = o.n ?? 100_000;
  const reps = o.reps ?? 3;
  const lab = new BenchLab('kbn');
  const rows: BenchRow[] = [];
  try {
    await localRates(lab, n, reps, rows);
    if (o.noConntrackd || !hasCmd('conntrackd')) {
      rows.push(row('(d) commit from cache', 'skipped', 'not run', ''));
      return rows;
    }
    const cd = await conntrackdCommit(lab, n, reps);
    const nsZ = lab.netns('z');
    const tz = table(nsZ);
    try {
      // Both as at a failover (the peer gone). conntrackd keeps its own event socket open
      // while it commits (measured so, above); ctsyncd leaves its event groups for the
      // commit and resyncs after it (src/daemon), so its commit runs without a listener.
      // The same commit with a listener present (what ctsyncd would pay if it kept
      // listening, or if any other process listened) is reported too.
      const flush = (): Promise<void> => tz.flush('ct');
      const atCommit = await timed(reps, flush, async () => expectAll('commit', n, await tz.create(cd.records)));
      const count = await tz.count('ct');
      const prepared = cd.records.map((rec) => ({ ...rec, attrs: toCreateAttrs(rec) }));
      const onReceipt = await timed(reps, flush, async () => expectAll('commit', n, await tz.create(prepared, { prepared: true })));
      const count2 = await tz.count('ct');
      // The same without the overlap: every window sent from the main thread, the next written only after it.
      const serialTable = table(nsZ, false);
      const serial = await timed(reps, flush, async () => expectAll('commit', n, await serialTable.create(cd.records)));
      serialTable.close();
      const sub = tz.subscribe({ kinds: ['ct'], rcvbuf: 1 << 20 }, { onEvents: () => {}, onOverrun: () => {} });
      const listened = await timed(reps, flush, async () => expectAll('commit', n, await tz.create(cd.records)));
      sub.close();
      if (count !== n || count2 !== n) throw new Error(`ctsync commit: kernel has ${count} / ${count2} of ${n}`);
      const theirs = Math.round(median(cd.commitMs));
      rows.push(row(`(d) commit ${n} from cache, attributes prepared at commit, no listener (as ctsyncd -c) (kernel: ${count}; conntrackd: ${cd.committed})`, Math.round(median(atCommit)), theirs, 'ms'));
      rows.push(row(`(d) commit ${n} from cache, attributes prepared on receipt, no listener (kernel: ${count2})`, Math.round(median(onReceipt)), theirs, 'ms'));
      rows.push(row(`(d) commit ${n} from cache, prepared at commit, windows sent from the main thread (no overlap)`, Math.round(median(serial)), theirs, 'ms'));
      rows.push(row(`(d) commit ${n} from cache, prepared at commit, with an event listener in the namespace`, Math.round(median(listened)), theirs, 'ms'));
      const runs = [atCommit, onReceipt, serial, listened].map((r) => r.map(Math.round).join('/')).join(', ');
      rows.push({ metric: `runs (ms): conntrackd -c ${cd.commitMs.map(Math.round).join('/')}; ctsync (rows above, in order) ${runs}`, ctsync: '', conntrackd: '', unit: '', speedup: '' });
    } finally {
      tz.close();
    }
    return rows;
  } finally {
    lab.cleanup();
  }
}

function hasCmd(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const kernelTableBench: BenchSection = {
  name: 'kernel-table',
  description: 'ctnetlink dump/event/create rates and commit vs conntrackd -c (root, namespaces)',
  run: () =>
    runKernelBench({
      n: Number(process.env.CTSYNC_BENCH_N ?? 100_000),
      reps: Number(process.env.CTSYNC_BENCH_REPS ?? 5),
      noConntrackd: process.env.CTSYNC_BENCH_NO_CONNTRACKD === '1',
    }),
};

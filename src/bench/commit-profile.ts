/**
 * Where the time of a commit (external cache -> kernel) goes, for N entries
 * (default 100,000) created in an empty namespace, each timing repeated
 * (default 5) with the median reported:
 *
 *  transform (CPU only, no kernel): toCreateAttrs (a Buffer per entry), and
 *    the batch planner writing every request straight into the datagrams
 *    (what a commit does), and the same planner copying prepared attributes;
 *  (a) KernelTable.create(records): transform at commit + kernel write;
 *  (b) KernelTable.create(prepared, {prepared: true}): kernel write only;
 *  (c) the kernel alone: the datagrams planned beforehand, sent on a bare
 *      ctnetlink socket, one window in flight, waiting for each barrier ACK;
 *  each of (a)-(c) without an event listener in the namespace and with one
 *  (`conntrack -E`, another process, as conntrackd has its own event socket).
 *
 * Each row gives wall ms, µs per entry, and this process's user and system
 * CPU: ctnetlink runs in the sender's system call, so system CPU is the
 * kernel's share. Note: netlink's "has listeners" test is global, so any
 * event listener elsewhere on the machine makes the kernel build events in
 * the "no listener" rows too.
 *
 * conntrackd -c of the same N is measured when src/bench/engine.ts exports
 * its conntrackdCommit (reused, not copied); CTSYNC_BENCH_NO_CONNTRACKD=1
 * skips it.
 */
import { createKernelTable, type KernelTableHandle } from '../netlink/kernel-table';
import { createAttrWriter, createCopyWriter, toCreateAttrs, toDeleteAttrs, toExpectCreateAttrs, toUpdateAttrs } from '../netlink/ct/create';
import { DEFAULT_WINDOW, planBatch, type BatchWindow } from '../netlink/ct-batch';
import { directFor, encoderFor, type AttrTransforms } from '../netlink/ct-batch-encode';
import { openNetlink } from '../netlink/native';
import { NETLINK_NETFILTER } from '../netlink/nfnl';
import { NLMSG_ERROR, parseDatagram, parseError } from '../netlink/nlmsg';
import { isSockError, type NetlinkSocket } from '../netlink/socket';
import type { BatchResult } from '../netlink/table';
import type { CtRecord } from '../netlink/types';
import { silentLogger } from '../util/log';
import { median } from './engine';
import { makeFlows } from './flows';
import { BenchLab, pollUntil } from './netns';
import type { BenchRow, BenchSection } from './section';

export interface CommitProfileOptions {
  n?: number;
  reps?: number;
  noConntrackd?: boolean;
}

interface Sample {
  ms: number;
  userMs: number;
  sysMs: number;
}

const TRANSFORMS: AttrTransforms = {
  toCreateAttrs: (r) => toCreateAttrs(r),
  toUpdateAttrs: (r) => toUpdateAttrs(r),
  toDeleteAttrs,
  toExpectCreateAttrs,
  writer: (op) => createAttrWriter(op),
};
const PREPARED: AttrTransforms = {
  toCreateAttrs: (r) => r.attrs,
  toUpdateAttrs: (r) => r.attrs,
  toDeleteAttrs: (r) => r.attrs,
  toExpectCreateAttrs: (r) => r.attrs,
  writer: () => createCopyWriter(),
};

async function sample(fn: () => unknown): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, userMs: c.user / 1000, sysMs: c.system / 1000 };
}

async function repeat(reps: number, reset: () => Promise<void>, fn: () => unknown): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < reps; i++) {
    await reset();
    out.push(await sample(fn));
  }
  return out;
}

function row(what: string, listener: string, n: number, s: Sample[]): BenchRow {
  const ms = median(s.map((x) => x.ms));
  return {
    what,
    listener,
    ms: Math.round(ms),
    'µs/entry': Number(((ms * 1000) / n).toFixed(2)),
    'user ms': Math.round(median(s.map((x) => x.userMs))),
    'sys ms': Math.round(median(s.map((x) => x.sysMs))),
    runs: s.map((x) => Math.round(x.ms)).join('/'),
  };
}

function expectAll(n: number, r: BatchResult): void {
  if (r.ok !== n) throw new Error(`create: ${r.failed.length} of ${n} failed (${r.failed[0]?.code ?? ''})`);
}

/** Send planned windows on a bare socket, one in flight, each done at its barrier's ACK. */
function sendWindows(sock: NetlinkSocket, windows: BatchWindow[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let i = 0;
    let errors = 0;
    const next = (): void => {
      const w = windows[i];
      if (!w) {
        resolve(errors);
        return;
      }
      const e = sock.send([w.datagram]);
      if (e) reject(new Error(`send: ${e.code}`));
    };
    sock.start(
      (datagrams) => {
        for (const dg of datagrams) {
          for (const m of parseDatagram(dg).messages) {
            if (m.type !== NLMSG_ERROR) continue;
            const e = parseError(m);
            if (!e.ok) continue;
            if (e.value.request.seq === windows[i]?.barrierSeq) {
              i++;
              next();
            } else if (e.value.errno !== 0) errors++;
          }
        }
      },
      (e) => reject(new Error(`socket: ${e.code}`)),
    );
    next();
  });
}

/** `conntrack -E` in `ns`, output discarded; resolves once its event socket is bound. */
async function startListener(lab: BenchLab, ns: string): Promise<void> {
  const before = netfilterListeners(lab, ns);
  const p = lab.spawn(ns, ['sh', '-c', 'exec conntrack -E >/dev/null 2>&1']);
  p.stdout?.resume();
  p.stderr?.resume();
  if (!(await pollUntil(() => netfilterListeners(lab, ns) > before, 5_000, 20))) throw new Error('conntrack -E did not subscribe');
}

/** NETLINK_NETFILTER sockets with multicast groups in `ns` (/proc/net/netlink: sk Eth Pid Groups ...). */
function netfilterListeners(lab: BenchLab, ns: string): number {
  return lab
    .exec(ns, 'cat /proc/net/netlink')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === String(NETLINK_NETFILTER) && /^[0-9a-f]+$/.test(f[3] ?? '') && Number.parseInt(f[3] ?? '0', 16) !== 0).length;
}

type ConntrackdCommit = (lab: BenchLab, n: number, reps: number) => Promise<{ commitMs: number[]; committed: number; records: CtRecord[] }>;

/** engine.ts's conntrackd commit measurement, when it is exported. */
function conntrackdCommit(): ConntrackdCommit | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const f = (require('./engine') as Record<string, unknown>).conntrackdCommit;
  return typeof f === 'function' ? (f as ConntrackdCommit) : null;
}

async function kernelRows(lab: BenchLab, n: number, reps: number, flows: CtRecord[], rows: BenchRow[]): Promise<void> {
  const ns = lab.netns('a');
  const table = createKernelTable({ logger: silentLogger(), netns: ns, timeoutMs: 120_000 });
  const raw = openNetlink({ protocol: NETLINK_NETFILTER, rcvbuf: 32 << 20, sndbuf: 8 << 20, extAck: true, capAck: true, netns: `/var/run/netns/${ns}` });
  if (isSockError(raw)) throw new Error(`ctnetlink socket: ${raw.code}`);
  try {
    const prepared = flows.map((f) => ({ ...f, attrs: toCreateAttrs(f) }));
    const empty = async (): Promise<void> => {
      await table.flush('ct');
      if (!(await pollUntil(async () => (await table.count('ct')) === 0, 30_000, 20))) throw new Error('flush did not empty the table');
    };
    for (const listener of ['none', 'conntrack -E']) {
      if (listener !== 'none') await startListener(lab, ns);
      const a = await repeat(reps, empty, async () => expectAll(n, await table.create(flows)));
      const b = await repeat(reps, empty, async () => expectAll(n, await table.create(prepared, { prepared: true })));
      let windows: BatchWindow[] = [];
      const c = await repeat(
        reps,
        async () => {
          await empty();
          windows = planBatch(prepared, encoderFor('create', PREPARED), 1, DEFAULT_WINDOW, directFor('create', PREPARED)).windows;
        },
        async () => {
          const errors = await sendWindows(raw, windows);
          if (errors > 0) throw new Error(`kernel alone: ${errors} errors`);
        },
      );
      if ((await table.count('ct')) !== n) throw new Error('kernel alone: entries missing');
      rows.push(row('(a) create, transform at commit', listener, n, a));
      rows.push(row('(b) create, attributes prepared', listener, n, b));
      rows.push(row(`(c) kernel alone (${windows.length} datagrams, ACK on the barrier only)`, listener, n, c));
    }
  } finally {
    raw.stop();
    raw.close();
    table.close();
  }
}

/** ctsync committing the very records conntrackd committed, into a fresh namespace with a listener. */
async function commitDumped(lab: BenchLab, reps: number, records: CtRecord[]): Promise<Sample[]> {
  const ns = lab.netns('d');
  const table = createKernelTable({ logger: silentLogger(), netns: ns, timeoutMs: 120_000 });
  try {
    await startListener(lab, ns);
    const empty = async (): Promise<void> => {
      await table.flush('ct');
      if (!(await pollUntil(async () => (await table.count('ct')) === 0, 30_000, 20))) throw new Error('flush did not empty the table');
    };
    return await repeat(reps, empty, async () => expectAll(records.length, await table.create(records)));
  } finally {
    table.close();
  }
}

export async function runCommitProfile(o: CommitProfileOptions = {}): Promise<BenchRow[]> {
  const n = o.n ?? 100_000;
  const reps = o.reps ?? 5;
  const flows = makeFlows(n);
  const none = async (): Promise<void> => {};
  const rows: BenchRow[] = [];
  rows.push(row('transform: toCreateAttrs, a Buffer per entry', '-', n, await repeat(reps, none, () => flows.forEach((f) => toCreateAttrs(f)))));
  rows.push(
    row('transform: plan datagrams, attributes written in place', '-', n, await repeat(reps, none, () => planBatch(flows, encoderFor('create', TRANSFORMS), 1, DEFAULT_WINDOW, directFor('create', TRANSFORMS)))),
  );
  const prepared = flows.map((f) => ({ ...f, attrs: toCreateAttrs(f) }));
  rows.push(row('transform: plan datagrams, prepared attributes copied', '-', n, await repeat(reps, none, () => planBatch(prepared, encoderFor('create', PREPARED), 1, DEFAULT_WINDOW, directFor('create', PREPARED)))));
  const lab = new BenchLab('cprf');
  try {
    await kernelRows(lab, n, reps, flows, rows);
    const cd = o.noConntrackd ? null : conntrackdCommit();
    if (!cd) {
      rows.push({ what: 'conntrackd -c', listener: '', ms: 'not run', 'µs/entry': o.noConntrackd ? 'skipped' : 'engine.ts does not export conntrackdCommit' });
      return rows;
    }
    const r = await cd(lab, n, reps);
    const ms = median(r.commitMs);
    rows.push({ what: `conntrackd -c (1.4.7, committed ${r.committed})`, listener: 'its own', ms: Math.round(ms), 'µs/entry': Number(((ms * 1000) / n).toFixed(2)), runs: r.commitMs.map(Math.round).join('/') });
    rows.push(row('(d) create of the records conntrackd committed (dumped), transform at commit', 'conntrack -E', n, await commitDumped(lab, reps, r.records)));
    return rows;
  } finally {
    lab.cleanup();
  }
}

export const commitProfileBench: BenchSection = {
  name: 'commit-profile',
  description: 'commit of N entries split into transform and kernel write, with and without an event listener (root, namespaces)',
  run: () =>
    runCommitProfile({
      n: Number(process.env.CTSYNC_BENCH_N ?? 100_000),
      reps: Number(process.env.CTSYNC_BENCH_REPS ?? 5),
      noConntrackd: process.env.CTSYNC_BENCH_NO_CONNTRACKD === '1',
    }),
};

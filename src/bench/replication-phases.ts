/**
 * One implementation, one table size: build the lab, start the pair, then
 * measure the burst (replication lag), RSS per flow, the bulk send and the
 * commit, with the CPU time both daemons spent on each phase. Phases only
 * drive the pair through SyncNode, so both implementations get the same
 * steps. Everything started here is stopped and removed before returning.
 */
import { createKernelTable, type KernelTableHandle } from '../netlink/kernel-table';
import { silentLogger } from '../util/log';
import { makeFlows } from './flows';
import { cpuSeconds, pollUntil, ReplicationLab, rssKiB, settle, SYNC_ADDR, SYNC_IF } from './replication-lab';
import { DEFAULT_PAIR_CONF, pairConf, type Implementation, type LinkTraffic, type PairConfOptions, type SyncNode, parseLinkStats } from './replication-node';

export interface PhaseResult {
  /** Wall time of the phase, ms (see each phase for start and end). */
  ms: number;
  /** Whether the end condition was reached before the deadline. */
  complete: boolean;
  /** CPU seconds of fw1's and fw2's daemon from the phase start until both were idle again. */
  cpu: [number, number];
  /** Sync datagrams and bytes fw1's and fw2's daemons sent during the phase (from `-s link`; -1 when unknown). */
  sentPkts: [number, number];
  sentBytes: [number, number];
  /** What the phase reached (entries in fw2's external cache or kernel table). */
  reached: number;
  /** Extra timings of the phase, ms. */
  detail: Record<string, number>;
}

export interface PairResult {
  impl: string;
  n: number;
  /** VmRSS of both daemons idle after start, KiB. */
  idleRssKiB: [number, number];
  /** VmRSS after the burst replicated and both daemons settled, KiB. */
  loadedRssKiB: [number, number];
  /** (loaded - idle) / n, bytes: fw1 holds n internal entries, fw2 n external ones. */
  rssPerFlow: [number, number];
  burst: PhaseResult;
  bulk?: PhaseResult;
  commit?: PhaseResult;
  /**
   * The same commit again (fw2's kernel flushed first) after fw1's daemon was stopped, as at a
   * failover: then no other conntrack event listener exists on this one kernel (netlink's
   * has-listeners bitmap is global across namespaces, so a peer daemon here taxes every insert
   * in fw2's namespace, which two real hosts would not). cpu[0] is 0.
   */
  commitAlone?: PhaseResult;
  /** Counts fw1 internal / fw2 external at the end of the burst. */
  caches: { fw1Internal: number; fw2External: number };
  logs: [string, string];
}

export interface PairOptions {
  n: number;
  /** Distinguishes the labs of one run (namespace names). */
  seq: number;
  /** Also measure bulk send and commit (the 200k run); the 1M run measures burst and memory only. */
  bulkAndCommit: boolean;
  conf?: PairConfOptions;
  /** Poll interval of cache counts, ms. Default 50. */
  pollMs?: number;
  /** Called with the lab as soon as it exists, so a signal handler can clean it up. */
  onLab?(lab: ReplicationLab | null): void;
}

const cpuPair = (a: SyncNode, b: SyncNode): [number, number] => [cpuSeconds(a.proc.pid), cpuSeconds(b.proc.pid)];

async function traffic(node: SyncNode): Promise<LinkTraffic | null> {
  const r = await node.command(['-s', 'link']);
  return r.ok ? parseLinkStats(r.output) : null;
}

interface Snapshot {
  cpu: [number, number];
  link: [LinkTraffic | null, LinkTraffic | null];
}

/** Link counters first (their client costs the daemons a little), CPU last: taken right before a phase starts. */
async function snapshot(a: SyncNode, b: SyncNode): Promise<Snapshot> {
  const link: [LinkTraffic | null, LinkTraffic | null] = [await traffic(a), await traffic(b)];
  return { cpu: cpuPair(a, b), link };
}
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Stop waiting when a count has not moved for this long: a stalled run ends early, reported incomplete. */
const STALL_MS = 20_000;

/** `busy()` true (the burst's kernel create still running) holds the stall clock. */
async function externalAtLeast(node: SyncNode, n: number, timeoutMs: number, pollMs: number, busy: () => boolean = () => false): Promise<{ ok: boolean; last: number }> {
  let last = -1;
  let movedAt = performance.now();
  const ok = await pollUntil(
    async () => {
      const c = await node.counts();
      if ((c && c.external !== last) || busy()) {
        if (c) last = c.external;
        movedAt = performance.now();
      }
      return last >= n || performance.now() - movedAt > STALL_MS;
    },
    timeoutMs,
    pollMs,
  );
  return { ok: ok === true && last >= n, last };
}

interface Spent {
  cpu: [number, number];
  sentPkts: [number, number];
  sentBytes: [number, number];
  settleMs: number;
}

/** CPU and sync traffic since `before`, measured once both daemons are idle again. */
async function phaseCpu(a: SyncNode, b: SyncNode, before: Snapshot): Promise<Spent> {
  const settleMs = await settle([a.proc.pid, b.proc.pid]);
  const after = cpuPair(a, b);
  const link = [await traffic(a), await traffic(b)];
  const d = (i: 0 | 1, f: keyof LinkTraffic): number => {
    const x = link[i];
    const y = before.link[i];
    return x && y ? x[f] - y[f] : -1;
  };
  return {
    cpu: [round3(after[0] - before.cpu[0]), round3(after[1] - before.cpu[1])],
    sentPkts: [d(0, 'pktsSent'), d(1, 'pktsSent')],
    sentBytes: [d(0, 'bytesSent'), d(1, 'bytesSent')],
    settleMs,
  };
}

/** Deadline for n entries to cross: generous, a stall still ends the run. */
const deadline = (n: number): number => 60_000 + n * 0.3;

async function burst(fw1: SyncNode, fw2: SyncNode, t1: KernelTableHandle, n: number, pollMs: number): Promise<PhaseResult> {
  const flows = makeFlows(n);
  const before = await snapshot(fw1, fw2);
  const t0 = performance.now();
  let createMs = 0;
  let creating = true;
  const created = t1.create(flows).then((r) => {
    createMs = performance.now() - t0;
    creating = false;
    return r;
  });
  const seen = await externalAtLeast(fw2, n, deadline(n), pollMs, () => creating);
  const lagMs = performance.now() - t0;
  const r = await created;
  if (r.ok !== n) throw new Error(`burst: the kernel refused ${r.failed.length} of ${n} (${r.failed[0]?.code ?? ''})`);
  const { settleMs, ...spent } = await phaseCpu(fw1, fw2, before);
  return { ms: Math.round(lagMs), complete: seen.ok, ...spent, reached: seen.last, detail: { createMs: Math.round(createMs), settleMs } };
}

async function bulk(fw1: SyncNode, fw2: SyncNode, n: number, pollMs: number): Promise<PhaseResult> {
  const f = await fw2.command(['-f', 'external']);
  if (!f.ok) throw new Error(`bulk: -f external failed: ${f.output}`);
  const empty = await pollUntil(async () => (await fw2.counts())?.external === 0, 30_000, pollMs);
  if (!empty) throw new Error('bulk: the external cache of fw2 did not empty');
  await settle([fw1.proc.pid, fw2.proc.pid]);
  const before = await snapshot(fw1, fw2);
  const t0 = performance.now();
  const b = await fw1.command(['-B']);
  const cmdMs = performance.now() - t0;
  if (!b.ok) throw new Error(`bulk: -B failed: ${b.output}`);
  const seen = await externalAtLeast(fw2, n, deadline(n), pollMs);
  const ms = performance.now() - t0;
  const { settleMs, ...spent } = await phaseCpu(fw1, fw2, before);
  return { ms: Math.round(ms), complete: seen.ok, ...spent, reached: seen.last, detail: { commandMs: Math.round(cmdMs), settleMs } };
}

/**
 * `-c ct` on fw2, timed until fw2's kernel holds `want` entries (or stops moving).
 * Returns the wall time, whether the client succeeded, and the kernel count at the end.
 */
async function timedCommit(fw2: SyncNode, t2: KernelTableHandle, want: number, n: number): Promise<{ ms: number; cmdMs: number; cmdOk: boolean; reached: boolean }> {
  const t0 = performance.now();
  const c = await fw2.command(['-c', 'ct']);
  const cmdMs = performance.now() - t0;
  let count = 0;
  let movedAt = performance.now();
  const ok = await pollUntil(
    async () => {
      const k = await t2.count('ct');
      if (k !== count) movedAt = performance.now();
      count = k;
      return count >= want || performance.now() - movedAt > STALL_MS;
    },
    deadline(n),
    10,
  );
  return { ms: performance.now() - t0, cmdMs, cmdOk: c.ok, reached: ok === true };
}

async function commit(fw1: SyncNode, fw2: SyncNode, t2: KernelTableHandle, n: number): Promise<PhaseResult> {
  const held = (await fw2.counts())?.external ?? n;
  const already = await t2.count('ct');
  if (already !== 0) throw new Error(`commit: fw2's kernel table already has ${already} entries`);
  const before = await snapshot(fw1, fw2);
  // Measured until the kernel holds what the external cache held (fewer than n when an earlier phase fell short).
  const r = await timedCommit(fw2, t2, Math.min(n, held), n);
  const { settleMs, ...spent } = await phaseCpu(fw1, fw2, before);
  const count = await t2.count('ct');
  return {
    ms: Math.round(r.ms),
    complete: r.reached && r.cmdOk && count === n,
    ...spent,
    reached: count,
    detail: { commandMs: Math.round(r.cmdMs), commandOk: r.cmdOk ? 1 : 0, settleMs },
  };
}

async function commitAlone(lab: ReplicationLab, fw1: SyncNode, fw2: SyncNode, t2: KernelTableHandle, n: number): Promise<PhaseResult> {
  await t2.flush('ct');
  const left = await pollUntil(async () => (await t2.count('ct')) === 0, 30_000, 50);
  if (!left) throw new Error("commit (peer stopped): fw2's kernel table did not empty");
  await lab.stop(fw1.proc);
  await settle([fw2.proc.pid]);
  const held = (await fw2.counts())?.external ?? 0;
  if (held < n) throw new Error(`commit (peer stopped): fw2's external cache holds ${held} of ${n}`);
  const cpu0 = cpuSeconds(fw2.proc.pid);
  const r = await timedCommit(fw2, t2, n, n);
  const settleMs = await settle([fw2.proc.pid]);
  const count = await t2.count('ct');
  return {
    ms: Math.round(r.ms),
    complete: r.reached && r.cmdOk && count === n,
    cpu: [0, round3(cpuSeconds(fw2.proc.pid) - cpu0)],
    sentPkts: [-1, -1],
    sentBytes: [-1, -1],
    reached: count,
    detail: { commandMs: Math.round(r.cmdMs), commandOk: r.cmdOk ? 1 : 0, settleMs },
  };
}

function perFlow(loaded: number, idle: number, n: number): number {
  return Math.round(((loaded - idle) * 1024) / n);
}

export async function runPair(impl: Implementation, o: PairOptions): Promise<PairResult> {
  const pollMs = o.pollMs ?? 50;
  const lab = new ReplicationLab('rpl', o.seq);
  o.onLab?.(lab);
  const tables: KernelTableHandle[] = [];
  try {
    // One kernel holds both nodes' tables (2n entries at the commit): limit and hash
    // buckets sized for that, as each firewall's administrator would size its own.
    lab.raiseConntrackMax(Math.max(2 * o.n + (o.n >> 1), 262_144));
    lab.build();
    const [ns1, ns2] = lab.fw;
    const conf = o.conf ?? DEFAULT_PAIR_CONF;
    const c1 = lab.file('fw1.conf', pairConf(lab.dir, 'fw1', SYNC_ADDR[0], SYNC_ADDR[1], SYNC_IF, conf));
    const c2 = lab.file('fw2.conf', pairConf(lab.dir, 'fw2', SYNC_ADDR[1], SYNC_ADDR[0], SYNC_IF, conf));
    const fw1 = await impl.start(lab, ns1, c1, 'fw1');
    const fw2 = await impl.start(lab, ns2, c2, 'fw2');
    const t1 = createKernelTable({ logger: silentLogger(), netns: ns1, timeoutMs: 600_000 });
    const t2 = createKernelTable({ logger: silentLogger(), netns: ns2, timeoutMs: 600_000 });
    tables.push(t1, t2);
    await settle([fw1.proc.pid, fw2.proc.pid]);
    const idle: [number, number] = [rssKiB(fw1.proc.pid), rssKiB(fw2.proc.pid)];

    const b = await burst(fw1, fw2, t1, o.n, pollMs);
    const loaded: [number, number] = [rssKiB(fw1.proc.pid), rssKiB(fw2.proc.pid)];
    const c1n = await fw1.counts();
    const c2n = await fw2.counts();
    const result: PairResult = {
      impl: impl.name,
      n: o.n,
      idleRssKiB: idle,
      loadedRssKiB: loaded,
      rssPerFlow: [perFlow(loaded[0], idle[0], o.n), perFlow(loaded[1], idle[1], o.n)],
      burst: b,
      caches: { fw1Internal: c1n?.internal ?? -1, fw2External: c2n?.external ?? -1 },
      logs: ['', ''],
    };
    if (o.bulkAndCommit) {
      result.bulk = await bulk(fw1, fw2, o.n, pollMs);
      result.commit = await commit(fw1, fw2, t2, o.n);
      result.commitAlone = await commitAlone(lab, fw1, fw2, t2, o.n);
    }
    for (const t of tables.splice(0)) t.close();
    await Promise.all([lab.stop(fw1.proc), lab.stop(fw2.proc)]);
    result.logs = [lab.log('fw1.log').slice(-2000), lab.log('fw2.log').slice(-2000)];
    return result;
  } finally {
    for (const t of tables) t.close();
    lab.cleanup();
    o.onLab?.(null);
  }
}

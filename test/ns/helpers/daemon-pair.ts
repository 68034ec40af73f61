/**
 * Two firewalls, fw1 and fw2, in network namespaces joined by a veth sync
 * link (203.0.113.1 <-> 203.0.113.2 on "sync0"), each running the real
 * `bin/ctsyncd -C FILE -d`. Helpers run client commands, read caches and
 * statistics over the control socket, read and write the kernel tables, and
 * wait (bounded poll) until fw2's external cache equals fw1's internal cache.
 *
 *   const pair = new DaemonPair({ mode: 'FTFW' });
 *   afterAll(() => pair.cleanup());
 *   await pair.start();
 *   await pair.table('fw1').create(makeFlows(1000));
 *   await pair.waitReplicated();
 *
 * cleanup() sends `-k`, then SIGKILLs whatever is left in the namespaces
 * (Lab), deletes them, removes the temporary directory and restores
 * nf_conntrack_max. It is synchronous and safe to call twice.
 */
import { raiseConntrackMax } from '../../../src/daemon/sysctl';
import { isAlive } from '../../../src/lab/shell';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFlows } from '../../../src/bench/flows';
import { createControlClient } from '../../../src/control/client';
import type { Request } from '../../../src/control/protocol';
import type { CacheName, DaemonStatus, StatsResult, StatsSection } from '../../../src/daemon/api';
import { createKernelTable, type KernelTableHandle } from '../../../src/netlink/kernel-table';
import type { CtRecord } from '../../../src/netlink/types';
import { silentLogger } from '../../../src/util/log';
import { Lab, sh, waitFor } from '../../helpers/netns';
import { compareRecords, isSame, summary, type CompareOptions, type CompareResult } from './ct-compare';
import { nodeConf, type NodeConfOptions, type SyncModeName, type SyncTransportName } from './sync-conf';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const CTSYNCD = join(ROOT, 'bin', 'ctsyncd');

export type NodeName = 'fw1' | 'fw2';

export interface PairOptions {
  mode: SyncModeName;
  transport?: SyncTransportName;
  /** Sync port (UDP/TCP port, multicast Group). Default 3780. */
  port?: number;
  /** Per-node conntrackd.conf overrides (buffer sizes, ALARM timers, ...). */
  fw1?: Partial<NodeConfOptions>;
  fw2?: Partial<NodeConfOptions>;
  /** nf_conntrack_max needed (global, init namespace); raised if lower, restored by cleanup. Default 1,000,000. */
  conntrackMax?: number;
}

export interface NodeInfo {
  name: NodeName;
  ns: string;
  addr: string;
  conf: string;
  socket: string;
  lock: string;
  log: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class DaemonPair {
  readonly lab: Lab;
  readonly dir: string;
  readonly port: number;
  readonly fw1: NodeInfo;
  readonly fw2: NodeInfo;
  private readonly tables = new Map<NodeName, KernelTableHandle>();
  private restoreCtMax: (() => void) | null = null;
  private cleaned = false;

  constructor(readonly opts: PairOptions) {
    this.lab = new Lab('rp');
    this.dir = mkdtempSync(join(tmpdir(), `ctsync-${this.lab.tag}-`));
    this.port = opts.port ?? 3780;
    try {
      this.raiseConntrackMax(opts.conntrackMax ?? 1_000_000);
      this.fw1 = this.node('fw1', '203.0.113.1', '203.0.113.2', opts.fw1);
      this.fw2 = this.node('fw2', '203.0.113.2', '203.0.113.1', opts.fw2);
      this.lab.veth(this.fw1.ns, 'sync0', this.fw2.ns, 'sync0', '203.0.113.1/24', '203.0.113.2/24');
      if (opts.transport === 'Multicast') {
        for (const n of [this.fw1, this.fw2]) sh(`ip -n ${n.ns} route add 224.0.0.0/4 dev sync0`);
      }
    } catch (e) {
      this.cleanup();
      throw e;
    }
  }

  private node(name: NodeName, addr: string, peer: string, over: Partial<NodeConfOptions> = {}): NodeInfo {
    const ns = this.lab.netns(name);
    const info: NodeInfo = {
      name,
      ns,
      addr,
      conf: join(this.dir, `${name}.conf`),
      socket: join(this.dir, `${name}.ctl`),
      lock: join(this.dir, `${name}.lock`),
      log: join(this.dir, `${name}.log`),
    };
    const text = nodeConf({
      mode: this.opts.mode,
      transport: this.opts.transport ?? 'UDP',
      local: addr,
      peer,
      port: this.port,
      iface: 'sync0',
      lockFile: info.lock,
      socketPath: info.socket,
      logFile: info.log,
      ...over,
    });
    writeFileSync(info.conf, text);
    return info;
  }

  private raiseConntrackMax(want: number): void {
    this.restoreCtMax = raiseConntrackMax(want);
  }

  info(n: NodeName): NodeInfo {
    return n === 'fw1' ? this.fw1 : this.fw2;
  }

  /** Run `ctsyncd -C <conf> ARGS` inside the node's namespace. Never rejects. */
  cli(n: NodeName, args: string[], timeoutMs = 120_000): Promise<CliResult> {
    const i = this.info(n);
    return new Promise((res) => {
      execFile(
        'ip',
        ['netns', 'exec', i.ns, process.execPath, CTSYNCD, '-C', i.conf, ...args],
        { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
          res({ code, stdout, stderr });
        },
      );
    });
  }

  /** Start the daemon(s) with -d; rejects with the daemon's message and log tail when it fails. */
  async start(which: NodeName | 'both' = 'both'): Promise<void> {
    const nodes: NodeName[] = which === 'both' ? ['fw1', 'fw2'] : [which];
    const results = await Promise.all(nodes.map((n) => this.cli(n, ['-d'], 40_000)));
    results.forEach((r, idx) => {
      const n = nodes[idx] as NodeName;
      if (r.code !== 0) throw new Error(`${n}: ctsyncd -d exited ${r.code}: ${r.stderr}\n${this.logTail(n)}`);
    });
  }

  /** Pid from the lock file, or null. */
  pid(n: NodeName): number | null {
    try {
      const p = Number(readFileSync(this.info(n).lock, 'utf8').trim());
      return Number.isInteger(p) && p > 0 ? p : null;
    } catch {
      return null;
    }
  }

  /** SIGKILL the daemon (no graceful stop: lock and socket stay behind). */
  async kill9(n: NodeName): Promise<void> {
    const pid = this.pid(n);
    if (pid === null) throw new Error(`${n}: no pid in ${this.info(n).lock}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), 10_000);
  }

  /** `-k`, then wait until the process has gone. */
  async stop(n: NodeName): Promise<void> {
    const pid = this.pid(n);
    const r = await this.cli(n, ['-k'], 20_000);
    if (r.code !== 0) throw new Error(`${n}: ctsyncd -k exited ${r.code}: ${r.stderr}`);
    if (pid !== null) await waitFor(() => !isAlive(pid), 20_000);
  }

  /** A request over the control socket; rejects on a control error. */
  async call(n: NodeName, req: Request, onChunk?: (recs: CtRecord[]) => void): Promise<Record<string, unknown>> {
    const client = createControlClient({ path: this.info(n).socket, timeoutMs: 120_000, idleTimeoutMs: 60_000, maxFrame: 64 * 1024 * 1024 });
    const r = await client.call(req, {
      onChunk: (entries) => onChunk?.(entries.map((e) => ({ kind: e.kind, family: e.family as 2 | 10, attrs: Buffer.from(e.attrs, 'base64') }))),
    });
    if (!r.ok) throw new Error(`${n}: ${req.cmd}: ${r.code}: ${r.message}`);
    return r.body;
  }

  /** The conntrack entries of one cache (control protocol dump, the -i / -e data). */
  async dump(n: NodeName, which: CacheName): Promise<CtRecord[]> {
    const out: CtRecord[] = [];
    await this.call(n, { cmd: 'dumpCache', which, kind: 'ct' }, (recs) => {
      for (const r of recs) out.push(r);
    });
    return out;
  }

  async stats<K extends StatsResult['kind']>(n: NodeName, section: StatsSection & K): Promise<Extract<StatsResult, { kind: K }>> {
    return (await this.call(n, { cmd: 'stats', section })) as unknown as Extract<StatsResult, { kind: K }>;
  }

  async status(n: NodeName): Promise<DaemonStatus> {
    return (await this.call(n, { cmd: 'status' })) as unknown as DaemonStatus;
  }

  /** Kernel conntrack table of a node (ctnetlink from the test process); closed by cleanup. */
  table(n: NodeName): KernelTableHandle {
    let t = this.tables.get(n);
    if (!t) {
      t = createKernelTable({ netns: this.info(n).ns, logger: silentLogger(), timeoutMs: 120_000 });
      this.tables.set(n, t);
    }
    return t;
  }

  /**
   * Create `n` synthetic flows (src/bench/flows makeFlows) in a node's kernel,
   * `chunk` at a time, waiting after each chunk until the node's internal
   * cache has caught up, so the event socket does not overrun.
   * `base` is the internal cache size before the call.
   */
  async createFlows(node: NodeName, n: number, o: { first?: number; chunk?: number; base?: number } = {}): Promise<void> {
    const first = o.first ?? 0;
    const chunk = o.chunk ?? 5_000;
    const base = o.base ?? 0;
    for (let i = 0; i < n; i += chunk) {
      const k = Math.min(chunk, n - i);
      const r = await this.table(node).create(makeFlows(k, { first: first + i }));
      if (r.failed.length > 0 || r.ok !== k) throw new Error(`${node}: create ${k} flows: ${r.ok} ok, ${r.failed.length} failed (${r.failed[0]?.code})`);
      await this.waitCount(node, 'internal', base + i + k, 30_000);
    }
  }

  /** fw1's internal cache against fw2's external cache, once. */
  async compareReplicated(opts: CompareOptions = {}): Promise<CompareResult> {
    const [want, got] = await Promise.all([this.dump('fw1', 'internal'), this.dump('fw2', 'external')]);
    return compareRecords(want, got, opts);
  }

  /** Poll `status` until a node's cache holds `count` conntrack entries. */
  async waitCount(n: NodeName, which: CacheName, count: number, timeoutMs = 30_000): Promise<void> {
    let last = -1;
    try {
      await waitFor(async () => {
        last = (await this.status(n)).cache[which];
        return last === count;
      }, timeoutMs, 200);
    } catch {
      throw new Error(`${n} ${which} cache holds ${last} entries, not ${count}, after ${timeoutMs} ms`);
    }
  }

  /**
   * Poll until fw2's external cache equals fw1's internal cache exactly (and,
   * when `expectSize` is given, holds that many entries). Cache sizes (status)
   * are polled first; full dumps are compared once they match. Rejects with
   * the last difference when it does not converge within timeoutMs.
   */
  async waitReplicated(o: CompareOptions & { timeoutMs?: number; expectSize?: number } = {}): Promise<CompareResult> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    let last: CompareResult | undefined;
    try {
      const ok = await waitFor(
        async () => {
          const [s1, s2] = await Promise.all([this.status('fw1'), this.status('fw2')]);
          if (s1.cache.internal !== s2.cache.external) return null;
          if (o.expectSize !== undefined && s1.cache.internal !== o.expectSize) return null;
          last = await this.compareReplicated(o);
          const sizeOk = o.expectSize === undefined || last.wantSize === o.expectSize;
          return isSame(last) && sizeOk ? last : null;
        },
        timeoutMs,
        250,
      );
      return ok as CompareResult;
    } catch (e) {
      if (!/waitFor/.test((e as Error).message)) throw e;
      last = await this.compareReplicated(o).catch(() => last);
      throw new Error(`fw2 external != fw1 internal after ${timeoutMs} ms: ${last ? summary(last) : 'no comparison'}`);
    }
  }

  /** Last lines of a node's daemon log (for failure messages). */
  logTail(n: NodeName, lines = 20): string {
    try {
      return readFileSync(this.info(n).log, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const t of this.tables.values()) {
      try {
        t.close();
      } catch {
        /* keep cleaning */
      }
    }
    this.tables.clear();
    for (const n of [this.fw1, this.fw2]) {
      if (!n) continue;
      try {
        execFileSync('ip', ['netns', 'exec', n.ns, process.execPath, CTSYNCD, '-C', n.conf, '-k'], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        /* not running, or did not answer: the Lab SIGKILLs what is left */
      }
    }
    this.lab.cleanup();
    // CTSYNC_KEEP_LOGS=1 keeps configs and daemon logs for a post-mortem.
    if (!process.env.CTSYNC_KEEP_LOGS) rmSync(this.dir, { recursive: true, force: true });
    if (this.restoreCtMax) {
      // Restore (only if nobody changed it since) when no other pair (Lab prefix 'rp') still runs.
      const others = sh('ip netns list', { allowFail: true }).split('\n').some((l) => l.startsWith('rp'));
      if (!others) this.restoreCtMax();
      this.restoreCtMax = null;
    }
  }
}

/**
 * Build dist/ (bin/ctsyncd runs it) unless it is newer than every file in src/.
 * Serialised across test workers with flock; a type error in someone else's
 * file does not stop tsc from emitting, so only a missing entry point fails.
 */
export function buildOnce(): void {
  const stamp = `/tmp/ctsync-build-${ROOT.replace(/[^A-Za-z0-9]/g, '_')}.stamp`;
  const script = [
    `cd ${ROOT}`,
    `if [ -f ${stamp} ] && [ -f dist/daemon/main.js ] && [ -z "$(find src -newer ${stamp} -name '*.ts' | head -1)" ]; then exit 0; fi`,
    `touch ${stamp}.new`,
    'npx tsc -p tsconfig.build.json >/dev/null 2>&1 || true',
    'test -f dist/daemon/main.js',
    `mv ${stamp}.new ${stamp}`,
  ].join('\n');
  execFileSync('flock', ['/tmp/ctsync-build.lock', 'sh', '-ec', script], { stdio: 'ignore', timeout: 180_000 });
}

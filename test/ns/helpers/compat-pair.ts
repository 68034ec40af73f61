/**
 * Two firewall replicas in namespaces for the conntrackd drop-in tests: the
 * same conntrackd.conf, flows and commands run against either Debian's
 * conntrackd 1.4.7 or bin/ctsyncd, so a test can compare the two.
 *
 *   ns a (198.19.255.1/24) --veth sync0-- ns b (198.19.255.2/24), UDP 3780
 *
 * Flows come from 192.0.2.0/24 -> 203.0.113.0/24 (see FLOWS), the sync link
 * is 198.19.255.0/24. Use one Lab per pair (a Lab names one veth pair). Every file lives in a per-pair temp dir; the daemons
 * are killed and the dir removed by lab.cleanup(), also after a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { comparable, entryKey, parseToolOutput, type ToolEntry } from '../../helpers/conntrack-tool';
import { sh, waitFor, type Lab } from '../../helpers/netns';

export type Impl = 'conntrackd' | 'ctsyncd';
export type NodeName = 'a' | 'b';

/** bin/ctsyncd of this tree; CTSYNCD_BIN may point at another build (e.g. a snapshot of HEAD). */
export const CTSYNCD = process.env.CTSYNCD_BIN ?? join(__dirname, '..', '..', '..', 'bin', 'ctsyncd');

/** The ctsyncd binary exists and its dist/ is built. */
export function ctsyncdBuilt(): boolean {
  return existsSync(CTSYNCD) && existsSync(join(dirname(CTSYNCD), '..', 'dist', 'daemon', 'main.js'));
}
export const CONNTRACKD = '/usr/sbin/conntrackd';
export const PURGE_TIMEOUT = 60;
/** Prefix of the sync link's addresses (198.19.255.0/24). */
export const SYNC_NET = '198.19.255.';

/** `conntrack -I` arguments of the test flows (distinct orig tuples, several protocols). */
export const FLOWS: readonly string[] = [
  '-p tcp -s 192.0.2.10 -d 203.0.113.20 --sport 40000 --dport 80 --state ESTABLISHED -u ASSURED -t 3600',
  '-p udp -s 192.0.2.11 -d 203.0.113.53 --sport 5353 --dport 53 -t 1200 --mark 42',
  '-p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 50000 --dport 443 --state ESTABLISHED -u ASSURED -t 3600 --mark 7',
  '-p tcp -s 192.0.2.13 -d 203.0.113.21 --sport 40001 --dport 22 --state SYN_SENT -t 1200',
  '-p udp -s 192.0.2.14 -d 203.0.113.54 --sport 1000 --dport 2000 -t 1200 -u SEEN_REPLY',
  ...Array.from({ length: 15 }, (_, i) => `-p tcp -s 192.0.2.${100 + i} -d 203.0.113.80 --sport ${20000 + i} --dport 443 --state ESTABLISHED -u ASSURED -t 3600`),
];

/** A second, disjoint set (flows that only one replica has). */
export const FLOWS_B: readonly string[] = Array.from(
  { length: 5 },
  (_, i) => `-p tcp -s 192.0.2.${200 + i} -d 203.0.113.90 --sport ${30000 + i} --dport 25 --state ESTABLISHED -u ASSURED -t 3600`,
);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CompatNode {
  name: NodeName;
  ns: string;
  addr: string;
  conf: string;
  sock: string;
  lock: string;
  log: string;
}

export interface PairOptions {
  mode?: 'FTFW' | 'NOTRACK' | 'ALARM';
  /** PurgeTimeout in seconds (default PURGE_TIMEOUT). */
  purgeTimeout?: number;
  /** Extra lines inside the Sync block (e.g. `Options { ExpectationSync On }`). */
  syncExtra?: string;
}

export interface CompatPair {
  impl: Impl;
  bin: string;
  dir: string;
  a: CompatNode;
  b: CompatNode;
  /** Run the implementation's binary in the node's namespace: `bin -C conf ...args`. */
  ctl(n: CompatNode, args: string[], env?: NodeJS.ProcessEnv): RunResult;
  /** `bin -C conf -d`, then wait until the control socket answers -s. */
  start(n: CompatNode): void;
  /** `-k`, then wait until the socket is gone. */
  stop(n: CompatNode): void;
  /** Run a shell command in the node's namespace (exit code and output). */
  shell(n: CompatNode, cmd: string, env?: NodeJS.ProcessEnv): RunResult;
  insert(n: CompatNode, flows: readonly string[]): void;
  /** Kernel table without the sync link's flows, normalized (no timeout/use/id), sorted. */
  kernel(n: CompatNode): Array<ReturnType<typeof comparable>>;
  /** Kernel entries with timeouts, without the sync link's flows. */
  kernelRaw(n: CompatNode): ToolEntry[];
  /** Lines of -i / -e (one entry per line). */
  cacheLines(n: CompatNode, which: 'internal' | 'external'): string[];
  /** Cache sizes from `-s` ("current active connections"). */
  counts(n: CompatNode): { internal: number; external: number };
  /** Wait until the node's cache counts equal `want`. */
  waitCounts(n: CompatNode, want: { internal?: number; external?: number }, timeoutMs?: number): Promise<void>;
}

function config(dir: string, name: NodeName, local: string, peer: string, o: PairOptions): string {
  const mode = o.mode ?? 'FTFW';
  return `Sync {
	Mode ${mode} {
${mode === 'ALARM' ? '\t\tRefreshTime 5\n\t\tCacheTimeout 30' : '\t\tDisableExternalCache Off'}
		PurgeTimeout ${o.purgeTimeout ?? PURGE_TIMEOUT}
	}
	UDP {
		IPv4_address ${local}
		IPv4_Destination_Address ${peer}
		Port 3780
		Interface sync0
		Checksum on
	}
${o.syncExtra ?? ''}
}
General {
	HashLimit 65535
	LogFile ${dir}/${name}.log
	Syslog off
	LockFile ${dir}/${name}.lock
	UNIX {
		Path ${dir}/${name}.sock
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
}
`;
}

export function run(argv: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): RunResult {
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function createPair(lab: Lab, impl: Impl, o: PairOptions = {}): CompatPair {
  const dir = mkdtempSync(join(tmpdir(), `ctsync-compat-${impl}-`));
  // Registered first, so the dir goes away even if a namespace cannot be made.
  const made: string[] = [];
  lab.onCleanup(() => {
    for (const ns of made) sh(`ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const nsA = lab.netns('a');
  made.push(nsA);
  const nsB = lab.netns('b');
  made.push(nsB);
  lab.veth(nsA, 'sync0', nsB, 'sync0', '198.19.255.1/24', '198.19.255.2/24');
  const node = (name: NodeName, ns: string, addr: string, peer: string): CompatNode => {
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, config(dir, name, addr, peer, o));
    return { name, ns, addr, conf, sock: join(dir, `${name}.sock`), lock: join(dir, `${name}.lock`), log: join(dir, `${name}.log`) };
  };
  const a = node('a', nsA, '198.19.255.1', '198.19.255.2');
  const b = node('b', nsB, '198.19.255.2', '198.19.255.1');
  const bin = impl === 'ctsyncd' ? CTSYNCD : CONNTRACKD;

  const ctl = (n: CompatNode, args: string[], env: NodeJS.ProcessEnv = {}): RunResult =>
    run(['ip', 'netns', 'exec', n.ns, bin, '-C', n.conf, ...args], env);
  const shell = (n: CompatNode, cmd: string, env: NodeJS.ProcessEnv = {}): RunResult =>
    run(['ip', 'netns', 'exec', n.ns, 'sh', '-c', cmd], env);
  const cacheLines = (n: CompatNode, which: 'internal' | 'external'): string[] => {
    const r = ctl(n, [which === 'internal' ? '-i' : '-e']);
    if (r.code !== 0) throw new Error(`${impl} -${which[0]} failed (${r.code}): ${r.stderr}`);
    return r.stdout.split('\n').filter((l) => l.trim() !== '');
  };
  const logTail = (n: CompatNode): string => `--- ${n.log} (last lines) ---\n${sh(`tail -n 15 ${n.log} 2>/dev/null`, { allowFail: true })}`;
  // One `-s` (both implementations print "cache internal:/external:" then
  // "current active connections: N") instead of a full -i and -e.
  const counts = (n: CompatNode): { internal: number; external: number } => {
    const r = ctl(n, ['-s']);
    if (r.code !== 0) throw new Error(`${impl} -s failed (${r.code}): ${r.stderr}\n${logTail(n)}`);
    const get = (which: string): number => {
      const m = new RegExp(`cache ${which}:\\ncurrent active connections:\\s+(\\d+)`).exec(r.stdout);
      // conntrackd prints no external block when DisableExternalCache is on.
      return m ? Number(m[1]) : 0;
    };
    return { internal: get('internal'), external: get('external') };
  };
  // The sync link's own UDP flows are tracked too (differently by each daemon's
  // socket use): leave them out, they are not what is being replicated.
  const kernelRaw = (n: CompatNode): ToolEntry[] =>
    parseToolOutput(shell(n, 'conntrack -L -o extended 2>/dev/null').stdout).filter(
      (e) => !e.orig.src.startsWith(SYNC_NET) && !e.orig.dst.startsWith(SYNC_NET),
    );

  return {
    impl,
    bin,
    dir,
    a,
    b,
    ctl,
    shell,
    cacheLines,
    counts,
    kernelRaw,
    start(n) {
      const r = ctl(n, ['-d']);
      if (r.code !== 0) throw new Error(`${impl} -d failed (${r.code}): ${r.stderr}${r.stdout}`);
      // conntrackd -d returns before its socket exists in some cases: poll.
      const deadline = Date.now() + 10_000;
      while (ctl(n, ['-s']).code !== 0) {
        if (Date.now() > deadline) throw new Error(`${impl} on ${n.name}: control socket never answered`);
        sh('sleep 0.05');
      }
    },
    stop(n) {
      ctl(n, ['-k']);
      const deadline = Date.now() + 10_000;
      while (sh(`ip netns pids ${n.ns}`).trim() !== '') {
        if (Date.now() > deadline) throw new Error(`${impl} on ${n.name}: still running after -k`);
        sh('sleep 0.05');
      }
    },
    insert(n, flows) {
      const script = flows.map((f) => `conntrack -I ${f} >/dev/null 2>&1 || echo "failed: ${f}"`).join('\n');
      const r = shell(n, script);
      if (r.stdout.trim() !== '') throw new Error(`conntrack -I in ${n.ns}: ${r.stdout}`);
    },
    kernel(n) {
      return kernelRaw(n)
        .sort((x, y) => entryKey(x).localeCompare(entryKey(y)))
        .map(comparable);
    },
    async waitCounts(n, want, timeoutMs = 10_000) {
      try {
        await waitFor(() => {
          const c = counts(n);
          return (want.internal === undefined || c.internal === want.internal) && (want.external === undefined || c.external === want.external);
        }, timeoutMs, 50);
      } catch {
        throw new Error(`${impl} on ${n.name}: counts ${JSON.stringify(counts(n))}, wanted ${JSON.stringify(want)}`);
      }
    },
  };
}

/** Stub directory with `logger`, `crm_master` and `crm_attribute` scripts that append their argv to calls.log. */
export function stubDir(dir: string): { path: string; calls: () => string[] } {
  const path = join(dir, 'stubs');
  const log = join(dir, 'calls.log');
  sh(`mkdir -p ${path}`);
  for (const name of ['logger', 'crm_master', 'crm_attribute']) {
    writeFileSync(join(path, name), `#!/bin/sh\necho "${name} $*" >> ${log}\nexit 0\n`, { mode: 0o755 });
  }
  writeFileSync(log, '');
  return {
    path,
    calls: () =>
      sh(`cat ${log}`)
        .split('\n')
        .filter((l) => l !== ''),
  };
}

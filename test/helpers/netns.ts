/**
 * Network-namespace fixture for tests that need the real kernel.
 * Every name is unique per run (pid + counter), and cleanup() removes every
 * namespace, link and process this lab made, also when a test failed.
 *
 *   const lab = new Lab('ct');            // prefix, <= 4 chars
 *   afterAll(() => lab.cleanup());
 *   const a = lab.netns('a');             // "ct<pid36><n>a"
 *   lab.exec(a, 'conntrack -L');
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

let counter = 0;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function sh(cmd: string, opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync('sh', ['-c', cmd], {
      encoding: 'utf8',
      input: opts.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 512 * 1024 * 1024,
    });
  } catch (e) {
    if (opts.allowFail) return '';
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`command failed: ${cmd}\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

export class Lab {
  readonly tag: string;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly cleanups: Array<() => void> = [];

  constructor(prefix: string) {
    counter += 1;
    this.tag = `${prefix.slice(0, 4)}${process.pid.toString(36)}${counter.toString(36)}`;
  }

  /** Create a namespace with loopback up; returns its name. */
  netns(suffix: string): string {
    const name = `${this.tag}${suffix}`;
    sh(`ip netns add ${name}`);
    this.namespaces.push(name);
    sh(`ip -n ${name} link set lo up`);
    return name;
  }

  /** Path usable as NetlinkSocketOptions.netns. */
  nsPath(name: string): string {
    return `/var/run/netns/${name}`;
  }

  /** Interface name unique to this lab, at most 15 characters. */
  ifname(suffix: string): string {
    return `${this.tag}${suffix}`.slice(-15);
  }

  /** A veth pair between two namespaces, both ends up, with optional CIDR addresses. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string, addrA?: string, addrB?: string): void {
    const tmpA = this.ifname('xa');
    const tmpB = this.ifname('xb');
    sh(`ip link add ${tmpA} type veth peer name ${tmpB}`);
    this.links.push(tmpA);
    sh(`ip link set ${tmpA} netns ${nsA} name ${ifA}`);
    sh(`ip link set ${tmpB} netns ${nsB} name ${ifB}`);
    sh(`ip -n ${nsA} link set ${ifA} up`);
    sh(`ip -n ${nsB} link set ${ifB} up`);
    if (addrA) sh(`ip -n ${nsA} addr add ${addrA} dev ${ifA}`);
    if (addrB) sh(`ip -n ${nsB} addr add ${addrB} dev ${ifB}`);
  }

  exec(ns: string, cmd: string, opts: { input?: string; allowFail?: boolean } = {}): string {
    return sh(`ip netns exec ${ns} sh -c '${cmd.replace(/'/g, `'\\''`)}'`, opts);
  }

  /** Start a long-running process inside a namespace; killed by cleanup(). */
  spawn(ns: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.procs.push(child);
    return child;
  }

  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  cleanup(): void {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* keep cleaning */
      }
    }
    for (const p of this.procs.splice(0)) {
      try {
        if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      // Kill anything still running in the namespace, then delete it.
      sh(`ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
      sh(`ip netns del ${ns}`, { allowFail: true });
    }
    for (const l of this.links.splice(0)) sh(`ip link del ${l} 2>/dev/null`, { allowFail: true });
  }
}

/** Poll `fn` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!last) {
    if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
    last = await fn();
  }
  return last;
}

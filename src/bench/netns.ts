/**
 * Network namespaces for benchmarks (like test/helpers/netns.ts, which the
 * build cannot import): unique names per run, cleanup() removes every
 * namespace, link and process made, also after a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export function sh(cmd: string, input?: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
}

export class BenchLab {
  readonly tag: string;
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];

  constructor(prefix: string, seq = 0) {
    this.tag = `${prefix.slice(0, 4)}${process.pid.toString(36)}${seq.toString(36)}`;
  }

  netns(suffix: string): string {
    const name = `${this.tag}${suffix}`;
    sh(`ip netns add ${name}`);
    this.namespaces.push(name);
    sh(`ip -n ${name} link set lo up`);
    return name;
  }

  /** veth pair between two namespaces, same interface name on both sides. */
  veth(a: string, b: string, ifname: string, addrA: string, addrB: string): void {
    const x = `${this.tag}x`.slice(-15);
    const y = `${this.tag}y`.slice(-15);
    sh(`ip link add ${x} type veth peer name ${y}`);
    sh(`ip link set ${x} netns ${a} name ${ifname} && ip link set ${y} netns ${b} name ${ifname}`);
    sh(`ip -n ${a} link set ${ifname} up && ip -n ${b} link set ${ifname} up`);
    sh(`ip -n ${a} addr add ${addrA} dev ${ifname} && ip -n ${b} addr add ${addrB} dev ${ifname}`);
  }

  exec(ns: string, cmd: string): string {
    return sh(`ip netns exec ${ns} sh -c '${cmd.replace(/'/g, `'\\''`)}'`);
  }

  spawn(ns: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.procs.push(child);
    return child;
  }

  cleanup(): void {
    for (const p of this.procs.splice(0)) {
      try {
        if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      try {
        sh(`ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}`);
      } catch {
        /* keep cleaning */
      }
    }
  }
}

/** Poll until fn() is truthy or the deadline passes; returns the value or null on timeout. */
export async function pollUntil<T>(fn: () => T | Promise<T>, timeoutMs: number, stepMs = 50): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

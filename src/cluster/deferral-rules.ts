/**
 * The kernel rule that sends the first packet of each new forwarded flow to
 * the deferral queue. Two backends:
 *
 *  - nft (preferred): a `defer` chain in the cluster's own nft table
 *    (src/cluster/kernel.ts, forward hook, priority 100), replaced together
 *    with the bucket rule;
 *  - iptables (fallback, used when nft refuses the `queue` statement: a
 *    kernel built without nft_queue but with xt_NFQUEUE): one rule per
 *    cluster interface in the `security` table's FORWARD chain (it runs
 *    after the filter table), for iptables and, with IPv6, ip6tables:
 *      -t security -I FORWARD -i IF -m conntrack --ctstate NEW
 *        -m comment --comment ctsync-defer -j NFQUEUE --queue-num N --queue-bypass
 *
 * Both use bypass: with nobody bound to the queue, packets are accepted.
 */
import { execFile } from 'node:child_process';
import type { ClusterRules } from './kernel';

/** Runs one iptables-style command (argv[0] = iptables | ip6tables); rejects on failure. */
export type IptRunner = (argv: string[]) => Promise<void>;

/** execFile, inside namespace `netns` (ip netns exec) when given. */
export function iptRunner(netns?: string): IptRunner {
  return (argv) =>
    new Promise((resolve, reject) => {
      const [cmd, args] = netns ? ['ip', ['netns', 'exec', netns, ...argv]] : [argv[0] ?? 'iptables', argv.slice(1)];
      execFile(cmd, args, { timeout: 10_000 }, (err, _out, stderr) => {
        if (err) reject(new Error(`${argv[0] ?? 'iptables'} failed: ${String(stderr).trim() || err.message}`));
        else resolve();
      });
    });
}

export const DEFER_COMMENT = 'ctsync-defer';

/** The iptables rule specs (without -I/-D) of the fallback backend. */
export function iptablesDeferSpecs(o: { interfaces: string[]; queue: number; ipv6: boolean }): string[][] {
  const out: string[][] = [];
  const tools = o.ipv6 ? ['iptables', 'ip6tables'] : ['iptables'];
  for (const tool of tools) {
    for (const i of o.interfaces) {
      out.push([
        tool, '-w', '-t', 'security', 'FORWARD', '-i', i, '-m', 'conntrack', '--ctstate', 'NEW',
        '-m', 'comment', '--comment', DEFER_COMMENT, '-j', 'NFQUEUE', '--queue-num', String(o.queue), '--queue-bypass',
      ]);
    }
  }
  return out;
}

/** argv with the chain operation (-I / -D) put in front of the chain name. */
function withOp(spec: string[], op: '-I' | '-D'): string[] {
  const i = spec.indexOf('FORWARD');
  return [...spec.slice(0, i), op, ...spec.slice(i)];
}

export type DeferBackend = 'nft' | 'iptables';

export interface DeferRule {
  readonly backend: DeferBackend;
  remove(): Promise<void>;
}

/** nft's complaint when the kernel lacks the queue expression (ENOENT on the `queue` statement). */
function nftLacksQueue(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /No such file or directory|Operation not supported/i.test(m);
}

/**
 * Install the deferral rule: nft first, iptables when nft refuses the
 * queue statement. Rejects when neither works.
 */
export async function installDeferRule(
  rules: ClusterRules,
  ipt: IptRunner,
  o: { interfaces: string[]; queue: number; ipv6: boolean },
): Promise<DeferRule> {
  try {
    await rules.setDefer(o.queue);
    return { backend: 'nft', remove: () => rules.setDefer(null) };
  } catch (e) {
    if (!nftLacksQueue(e)) throw e;
  }
  const specs = iptablesDeferSpecs(o);
  // A crashed earlier run may have left its rules: delete them first (each at most a few times).
  for (const s of specs) for (let k = 0; k < 4; k++) if (!(await ipt(withOp(s, '-D')).then(() => true, () => false))) break;
  const added: string[][] = [];
  try {
    for (const s of specs) {
      await ipt(withOp(s, '-I'));
      added.push(s);
    }
  } catch (e) {
    for (const s of added) await ipt(withOp(s, '-D')).catch(() => undefined);
    throw e;
  }
  return {
    backend: 'iptables',
    async remove() {
      for (const s of added) await ipt(withOp(s, '-D')).catch(() => undefined);
    },
  };
}

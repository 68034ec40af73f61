/** Deferral rule rendering (nft chain), setDefer, the iptables fallback, and startDeferral's order of operations. */
import { describe, expect, it } from 'vitest';
import { createCache } from '../../../src/cache/packed-cache';
import { installDeferRule, iptablesDeferSpecs } from '../../../src/cluster/deferral-rules';
import { startDeferral } from '../../../src/cluster/deferral-run';
import { clusterRuleset, createClusterRules } from '../../../src/cluster/kernel';
import type { NfQueueOptions, OpenResult } from '../../../src/netlink/nfqueue-client';
import { FakeClock } from '../../../src/util/clock';
import { createLogger } from '../../../src/util/log';

const O = { buckets: 32, seed: 0x5eed, interfaces: ['lan', 'wan'] };

describe('deferral rule', () => {
  it('nft: a forward chain after the filter queues new flows of the cluster interfaces, bypass', () => {
    const s = clusterRuleset({ ...O, deferQueue: 4242 }, 1);
    expect(s).toContain(
      ['  chain defer {', '    type filter hook forward priority 100; policy accept;', '    iifname { "lan", "wan" } ct state new queue num 4242 bypass', '  }'].join('\n'),
    );
    expect(clusterRuleset(O, 1)).not.toContain('queue');
    expect(clusterRuleset({ ...O, ipv6: true, deferQueue: 7 }, 1).match(/queue num 7 bypass/g)).toHaveLength(2);
    expect(() => clusterRuleset({ ...O, deferQueue: 65536 }, 1)).toThrow(RangeError);
  });

  it('setDefer re-applies the mask in force with the chain, and removes it', async () => {
    const scripts: string[] = [];
    const r = createClusterRules(O, async (s) => void scripts.push(s));
    await r.apply(3);
    await r.setDefer(9);
    await r.setDefer(9); // no change, no run
    expect(scripts).toHaveLength(2);
    expect(scripts[1]).toContain('{ 0, 1 } accept');
    expect(scripts[1]).toContain('queue num 9 bypass');
    await r.apply(7);
    expect(scripts[2]).toContain('queue num 9 bypass');
    await r.setDefer(null);
    expect(scripts[3]).not.toContain('queue');
    expect(scripts[3]).toContain('{ 0, 1, 2 } accept');
  });

  it('a failed setDefer keeps the previous state', async () => {
    const scripts: string[] = [];
    const r = createClusterRules(O, async (s) => {
      if (s.includes('queue')) throw new Error('nft failed: Error: Could not process rule: No such file or directory');
      scripts.push(s);
    });
    await r.apply(1);
    await expect(r.setDefer(5)).rejects.toThrow(/No such file/);
    await r.apply(3);
    expect(scripts[1]).not.toContain('queue');
  });

  it('falls back to iptables (security table) when nft has no queue expression; removes exactly its rules', async () => {
    const ran: string[] = [];
    const r = createClusterRules({ ...O, ipv6: true }, async (s) => {
      if (s.includes('queue')) throw new Error('nft failed: Error: Could not process rule: No such file or directory');
    });
    await r.apply(1);
    const rule = await installDeferRule(r, async (argv) => {
      ran.push(argv.join(' '));
      if (argv.includes('-D') && !ran.some((x) => x.includes('-I'))) throw new Error('Bad rule'); // nothing stale
    }, { interfaces: ['lan', 'wan'], queue: 4242, ipv6: true });
    expect(rule.backend).toBe('iptables');
    const inserts = ran.filter((x) => x.includes(' -I '));
    expect(inserts).toEqual([
      'iptables -w -t security -I FORWARD -i lan -m conntrack --ctstate NEW -m comment --comment ctsync-defer -j NFQUEUE --queue-num 4242 --queue-bypass',
      'iptables -w -t security -I FORWARD -i wan -m conntrack --ctstate NEW -m comment --comment ctsync-defer -j NFQUEUE --queue-num 4242 --queue-bypass',
      'ip6tables -w -t security -I FORWARD -i lan -m conntrack --ctstate NEW -m comment --comment ctsync-defer -j NFQUEUE --queue-num 4242 --queue-bypass',
      'ip6tables -w -t security -I FORWARD -i wan -m conntrack --ctstate NEW -m comment --comment ctsync-defer -j NFQUEUE --queue-num 4242 --queue-bypass',
    ]);
    ran.length = 0;
    await rule.remove();
    expect(ran).toEqual(inserts.map((x) => x.replace(' -I ', ' -D ')));
    expect(iptablesDeferSpecs({ interfaces: ['x'], queue: 1, ipv6: false })).toHaveLength(1);
  });

  it('other nft errors are reported, not hidden by the fallback', async () => {
    const r = createClusterRules(O, async (s) => {
      if (s.includes('queue')) throw new Error('nft failed: Error: Could not process rule: Operation not permitted\n  ... queue num 1 bypass');
    });
    await r.apply(1);
    await expect(installDeferRule(r, async () => undefined, { interfaces: ['lan'], queue: 1, ipv6: false })).rejects.toThrow(/Operation not permitted/);
  });
});

describe('startDeferral', () => {
  it('binds the queue before the rule; on stop: rule off, held packets swept, queue closed', async () => {
    const log: string[] = [];
    const scripts: string[] = [];
    const rules = createClusterRules(O, async (s) => {
      scripts.push(s);
      log.push(s.includes('queue') ? 'rule on' : 'rule off');
    });
    await rules.apply(1);
    log.length = 0;
    let deliver: ((ps: Parameters<NfQueueOptions['onPackets']>[0]) => void) | undefined;
    const openQueue = async (o: NfQueueOptions): Promise<OpenResult> => {
      log.push(`bind ${o.queue}`);
      deliver = o.onPackets;
      return {
        ok: true,
        queue: {
          queue: o.queue,
          attach: 'conntrack',
          verdict: (id) => log.push(`verdict ${id}`),
          verdictBatch: (id) => log.push(`batch ${id}`),
          stats: () => ({ packets: 0, bad: 0, overruns: 0, verdicts: 0, batchVerdicts: 0, verdictErrors: {}, sendErrors: 0, handlerErrors: 0 }),
          close: async () => void log.push('close'),
        },
      };
    };
    const h = await startDeferral({
      queue: 77,
      timeoutMs: 50,
      interfaces: ['lan', 'wan'],
      ipv6: false,
      rules,
      ipt: async () => undefined,
      engine: { local: () => undefined, delivered: () => new Promise<boolean>(() => undefined) },
      internal: createCache({ name: 'i', limit: 10 }),
      clock: new FakeClock(),
      logger: createLogger({ level: 'silent' }),
      openQueue,
    });
    expect(log).toEqual(['bind 77', 'rule on']);
    expect(h.status()).toMatchObject({ queue: 77, timeoutMs: 50, backend: 'nft', attach: 'conntrack', deferred: 0, pending: 0 });
    deliver?.([{ queue: 77, family: 2, id: 3, hwProtocol: 0x800, hook: 2, payloadLen: 0, unknown: [], ctInfo: 0 }]); // not NEW
    expect(log.at(-1)).toBe('batch 3');
    await h.stop();
    expect(log.slice(3)).toEqual(['rule off', `batch ${3 + 0x40000000}`, 'close']);
    expect(h.status().notNew).toBe(1);
  });

  it('a failed bind leaves no rule behind', async () => {
    const scripts: string[] = [];
    const rules = createClusterRules(O, async (s) => void scripts.push(s));
    await rules.apply(1);
    await expect(
      startDeferral({
        queue: 1, timeoutMs: 50, interfaces: ['lan'], ipv6: false, rules, ipt: async () => undefined,
        engine: { local: () => undefined, delivered: async () => true },
        internal: createCache({ name: 'i', limit: 10 }), clock: new FakeClock(), logger: createLogger({ level: 'silent' }),
        openQueue: async () => ({ ok: false, code: 'EBUSY', message: 'bind queue 1: EBUSY' }),
      }),
    ).rejects.toThrow(/EBUSY/);
    expect(scripts.some((s) => s.includes('queue'))).toBe(false);
  });
});

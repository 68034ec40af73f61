/**
 * The nfnetlink queue socket and the deferral rule on the real kernel: a
 * router namespace between a client and a server, the cluster table with
 * every bucket open plus the deferral rule (nft, or the iptables fallback
 * when the kernel lacks nft's queue expression), our queue bound with
 * conntrack attached. Checked: a new TCP connection's SYN (and only it)
 * reaches us as a NEW packet whose NFQA_CT carries the flow's tuple; the
 * connection completes only after our verdict; with the queue closed,
 * `bypass` lets traffic through; removing the rule leaves nothing behind.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterRules, nftRunner } from '../../src/cluster/kernel';
import { recordFromPacket } from '../../src/cluster/deferral-packet';
import { installDeferRule, iptRunner, type DeferRule } from '../../src/cluster/deferral-rules';
import { fullMask } from '../../src/cluster/ranges';
import { findAddon } from '../../src/netlink/native';
import { peekFlow } from '../../src/netlink/ct/peek';
import { tupleKey } from '../../src/netlink/ct/key';
import { IP_CT, NF_ACCEPT, type QueuedPacket } from '../../src/netlink/nfqueue';
import { openNfQueue, type NfQueue } from '../../src/netlink/nfqueue-client';
import { createLogger } from '../../src/util/log';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';
import { LineProc, spawnIn } from './helpers/cluster-lab';

const ok = isRoot() && have('nft') && findAddon() !== null;
const QUEUE = 4317;

/** Exit code of a TCP connect from the client namespace (0 = connected). */
function connect(lab: Lab, ns: string, timeoutS = 5): Promise<number> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, 'timeout', String(timeoutS), 'bash', '-c', 'exec 3<>/dev/tcp/198.51.100.10/8080'], (err) => {
      resolve(err ? ((err as { code?: number }).code ?? 1) : 0);
    });
  });
}

describe.skipIf(!ok)('nfqueue client + deferral rule (real kernel)', () => {
  const lab = new Lab('dq');
  let r = '';
  let c = '';
  let rule: DeferRule | undefined;
  let q: NfQueue | undefined;
  const seen: QueuedPacket[] = [];
  let hold = true;
  const held: number[] = [];
  const logger = createLogger({ level: 'silent' });
  const rules = () => createClusterRules({ buckets: 32, seed: 0x5eed, interfaces: ['lan', 'wan'] }, nftRunner(r));
  let cr: ReturnType<typeof rules>;

  beforeAll(async () => {
    r = lab.netns('r');
    c = lab.netns('c');
    const s = lab.netns('s');
    lab.veth(c, 'eth0', r, 'lan', '192.0.2.100/24', '192.0.2.1/24');
    lab.veth(s, 'eth0', r, 'wan', '198.51.100.10/24', '198.51.100.1/24');
    lab.exec(c, 'ip route add default via 192.0.2.1');
    lab.exec(s, 'ip route add default via 198.51.100.1');
    lab.exec(r, 'sysctl -qw net.ipv4.ip_forward=1');
    const srv = new LineProc(spawnIn(lab, s, 'require("net").createServer((x)=>x.on("error",()=>{})).listen(8080,"198.51.100.10",()=>console.log("listening"))'));
    await srv.next('listening');
    cr = rules();
    await cr.apply(fullMask(32));
    rule = await installDeferRule(cr, iptRunner(r), { interfaces: ['lan', 'wan'], queue: QUEUE, ipv6: false });
    const opened = await openNfQueue({
      queue: QUEUE,
      netns: r,
      logger,
      onPackets: (ps) => {
        for (const p of ps) {
          seen.push(p);
          if (hold) held.push(p.id);
          else q?.verdict(p.id, NF_ACCEPT);
        }
      },
    });
    if (!opened.ok) throw new Error(opened.message);
    q = opened.queue;
  }, 30_000);

  afterAll(async () => {
    await q?.close();
    await rule?.remove();
    lab.cleanup();
  });

  it('queues the SYN of a new flow with its conntrack; the connection waits for the verdict', async () => {
    const done = connect(lab, c);
    await waitFor(() => held.length === 1, 5000);
    const p = seen[0];
    expect(p).toBeDefined();
    if (!p) return;
    expect(p.queue).toBe(QUEUE);
    expect(p.family).toBe(2);
    expect(p.hook).toBe(2); // NF_INET_FORWARD
    let attrs: Buffer;
    if (q?.attach === 'conntrack') {
      expect(p.ctInfo).toBe(IP_CT.NEW);
      expect(p.payloadLen).toBe(0); // NFQNL_COPY_META
      attrs = p.ct ?? Buffer.alloc(0);
    } else {
      // Kernel without conntrack glue: the packet's first bytes instead.
      expect(p.ct).toBeUndefined();
      expect(p.payloadLen).toBeGreaterThanOrEqual(40);
      expect(p.payloadLen).toBeLessThanOrEqual(128);
      const r = recordFromPacket(2, p.payload ?? Buffer.alloc(0));
      if (!r.ok) throw new Error(r.error.message);
      attrs = r.record.attrs;
    }
    const rec = { kind: 'ct' as const, family: 2 as const, attrs };
    expect(tupleKey(rec)).not.toBeNull();
    const f = peekFlow(rec);
    expect(f).toMatchObject({ src: '192.0.2.100', dst: '198.51.100.10', dport: 8080, proto: 6 });
    // Held: no confirmed entry yet in the router's table.
    expect(lab.exec(r, 'conntrack -L -p tcp --dport 8080 2>/dev/null', { allowFail: true })).not.toContain('198.51.100.10');
    q?.verdictBatch(p.id, NF_ACCEPT);
    expect(await done).toBe(0);
    expect(seen).toHaveLength(1); // only the first packet of the flow
    expect(q?.stats().verdictErrors).toEqual({});
  });

  it('accepts in single verdicts too, and bypass lets traffic flow once the queue is closed', async () => {
    hold = false;
    expect(await connect(lab, c)).toBe(0);
    expect(seen).toHaveLength(2);
    expect(q?.stats()).toMatchObject({ verdicts: 1, batchVerdicts: 1, bad: 0 });
    await q?.close();
    q = undefined;
    expect(await connect(lab, c)).toBe(0);
    expect(seen).toHaveLength(2);
  });

  it('removes its rule', async () => {
    await rule?.remove();
    const backend = rule?.backend;
    rule = undefined;
    const listing = lab.exec(r, 'nft list ruleset');
    expect(listing).not.toContain(`queue num ${QUEUE}`);
    expect(['nft', 'iptables']).toContain(backend);
  });
});

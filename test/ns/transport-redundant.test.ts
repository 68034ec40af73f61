/**
 * Redundant pair of UDP links over two veth pairs: taking the active link's
 * interface down moves traffic to the second link within a bounded time.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, Lab, waitFor } from '../helpers/netns';
import { buildTransport, type BuiltTransport } from './helpers/build-transport';
import { PeerProcess } from './helpers/peer-process';

const PEER = join(__dirname, 'helpers/transport-peer.js');
/** Poll period of the sysfs link monitor, and the failover bound we assert. */
const POLL_MS = 50;
const FAILOVER_BOUND_MS = 1500;

interface GroupStats {
  active: number;
  failovers: number;
  failbacks: number;
  links: Array<{ ifname: string; up: boolean; active: boolean; stats: { sentDatagrams: number; recvDatagrams: number } }>;
}

describe.skipIf(!isRoot())('redundant sync links in namespaces', () => {
  const lab = new Lab('tr');
  let built: BuiltTransport;
  let a = '';
  let b = '';

  beforeAll(() => {
    built = buildTransport();
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'sync0', b, 'sync0', '192.0.2.1/24', '192.0.2.2/24');
    lab.veth(a, 'sync1', b, 'sync1', '198.51.100.1/24', '198.51.100.2/24');
  });
  afterAll(() => {
    lab.cleanup();
    built?.cleanup();
  });

  const udp = (ifname: string, local: string, peer: string) => ({
    type: 'udp',
    ifname,
    options: { family: 4, localAddress: local, localPort: 3780, peerAddress: peer, peerPort: 3780, interface: ifname, rcvBuf: 1 << 22 },
  });
  const start = (ns: string, side: 1 | 2) =>
    new PeerProcess(
      lab,
      ns,
      [
        process.execPath,
        PEER,
        built.dir,
        JSON.stringify({
          redundant: { pollMs: POLL_MS, failback: 'sticky' },
          links: [udp('sync0', `192.0.2.${side}`, `192.0.2.${3 - side}`), udp('sync1', `198.51.100.${side}`, `198.51.100.${3 - side}`)],
        }),
      ],
      built.env,
    );

  async function sendAndCount(tx: PeerProcess, rx: PeerProcess, from: number, count: number) {
    await tx.call({ cmd: 'send', from, count, size: 300 }, 'sent');
    await waitFor(async () => ((await rx.call({ cmd: 'report' }, 'report')).unique as number) >= from + count, 10_000, 20).catch(() => false);
    return rx.call({ cmd: 'report' }, 'report');
  }

  it('fails over when the active interface goes down, and stays (sticky) when it returns', async () => {
    const pa = start(a, 1);
    const pb = start(b, 2);
    await Promise.all([pa.ready(), pb.ready()]);
    expect(pa.messages.find((m) => m.ev === 'switch')).toMatchObject({ from: -1, to: 0, reason: 'open' });

    let r = await sendAndCount(pa, pb, 0, 1000);
    expect(r).toMatchObject({ received: 1000, unique: 1000, bad: 0 });
    expect(r.perFrom).toEqual({ '192.0.2.1': 1000 });

    const switched = pa.next((m) => m.ev === 'switch' && m.reason === 'failover');
    const t0 = Date.now();
    lab.exec(a, 'ip link set sync0 down');
    const sw = await switched;
    expect(sw).toMatchObject({ from: 0, to: 1 });
    expect((sw.at as number) - t0).toBeLessThan(FAILOVER_BOUND_MS);

    r = await sendAndCount(pa, pb, 1000, 1000);
    expect(r).toMatchObject({ received: 2000, unique: 2000, bad: 0 });
    expect(r.perFrom).toEqual({ '192.0.2.1': 1000, '198.51.100.1': 1000 });

    const ga = (await pa.call({ cmd: 'report' }, 'report')).group as GroupStats;
    expect(ga).toMatchObject({ active: 1, failovers: 1, failbacks: 0 });
    expect(ga.links.map((l) => [l.ifname, l.up, l.active, l.stats.sentDatagrams])).toEqual([
      ['sync0', false, false, 1000],
      ['sync1', true, true, 1000],
    ]);
    // The far end saw its carrier drop too, and counted its own failover.
    const gb = (await pb.call({ cmd: 'report' }, 'report')).group as GroupStats;
    expect(gb).toMatchObject({ active: 1, failovers: 1 });

    // Link returns: sticky policy keeps the second link.
    lab.exec(a, 'ip link set sync0 up');
    await waitFor(async () => ((await pa.call({ cmd: 'report' }, 'report')).group as GroupStats).links[0]?.up === true, 5000, 20);
    const after = (await pa.call({ cmd: 'report' }, 'report')).group as GroupStats;
    expect(after).toMatchObject({ active: 1, failovers: 1, failbacks: 0 });
  });
});

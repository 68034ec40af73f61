/**
 * The fault-injecting proxy CLI between two UDP transports in namespaces:
 * seeded 20% loss drops exactly the datagrams a replay of the seed predicts,
 * and nothing once loss is set to 0 at run time; duplication and corruption
 * reordering and delay are counted and seen by the receiver.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultPlanner } from '../../src/transport/faults';
import { isRoot, Lab, waitFor } from '../helpers/netns';
import { buildTransport, type BuiltTransport } from './helpers/build-transport';
import { PeerProcess, type Msg } from './helpers/peer-process';

const PEER = join(__dirname, 'helpers/transport-peer.js');
const SEED = 1;
const N = 2000;

interface Dir {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  corrupted: number;
}

describe.skipIf(!isRoot())('fault-injecting UDP proxy in namespaces', () => {
  const lab = new Lab('tp');
  let built: BuiltTransport;
  let a = '';
  let b = '';

  beforeAll(() => {
    built = buildTransport();
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'sync0', b, 'sync0', '192.0.2.1/24', '192.0.2.2/24');
  });
  afterAll(() => {
    lab.cleanup();
    built?.cleanup();
  });

  const udp = (local: string, localPort: number, peer: string, peerPort: number) => ({
    type: 'udp',
    options: { family: 4, localAddress: local, localPort, peerAddress: peer, peerPort, interface: 'sync0', rcvBuf: 1 << 22 },
  });

  it('drops the seeded 20%, then nothing at 0%; duplicates and corrupts on demand', async () => {
    const proxy = new PeerProcess(
      lab,
      b,
      [
        process.execPath,
        join(built.dir, 'transport/proxy-cli.js'),
        ...['--listen', '192.0.2.2:4000', '--forward', '192.0.2.2:3780', '--bind', '192.0.2.2:4001'],
        ...['--loss', '20', '--seed', String(SEED), '--rcvbuf', String(1 << 22)],
      ],
      built.env,
    );
    const rx = new PeerProcess(lab, b, [process.execPath, PEER, built.dir, JSON.stringify({ links: [udp('192.0.2.2', 3780, '192.0.2.2', 4001)], listSeqs: true })], built.env);
    const tx = new PeerProcess(lab, a, [process.execPath, PEER, built.dir, JSON.stringify({ links: [udp('192.0.2.1', 3780, '192.0.2.2', 4000)] })], built.env);
    const ready = await proxy.ready();
    expect(ready).toMatchObject({ faults: { loss: 0.2 }, addresses: { listen: { port: 4000 }, upstream: { port: 4001 } } });
    await Promise.all([rx.ready(), tx.ready()]);

    const proxyStats = async (): Promise<{ up: Dir; down: Dir }> => {
      const p = proxy.next((m: Msg) => m.event === 'stats');
      proxy.send({ cmd: 'stats' });
      return (await p).counters as { up: Dir; down: Dir };
    };
    /**
     * Send seqs [from, from+count) in windows; wait until the proxy saw them all
     * and the receiver got `expectAtRx`. Seqs run on without gaps across calls,
     * so from + count is also the proxy's total received count.
     */
    const pump = async (from: number, count: number, expectAtRx: number) => {
      for (let i = 0; i < count; i += 500) await tx.call({ cmd: 'send', from: from + i, count: Math.min(500, count - i), size: 200 }, 'sent');
      await waitFor(async () => (await proxyStats()).up.received >= from + count, 10_000, 20).catch(() => false);
      await waitFor(async () => ((await rx.call({ cmd: 'report' }, 'report')).received as number) >= expectAtRx, 10_000, 20).catch(() => false);
      return { proxy: await proxyStats(), rx: await rx.call({ cmd: 'report' }, 'report') };
    };

    // What a replay of the seed says: datagram i (arrival order) is dropped when its first draw < 0.2.
    const planner = new FaultPlanner(SEED);
    const survivors: number[] = [];
    for (let i = 0; i < N; i++) if (!planner.plan({ loss: 0.2 }, 200).drop) survivors.push(i);
    const drops = N - survivors.length;
    expect(drops).toBeGreaterThan(N * 0.17);
    expect(drops).toBeLessThan(N * 0.23);

    let r = await pump(0, N, survivors.length);
    expect(r.proxy.up).toMatchObject({ received: N, dropped: drops, forwarded: survivors.length, duplicated: 0, corrupted: 0 });
    expect(r.rx).toMatchObject({ received: survivors.length, bad: 0, dup: 0 });
    expect(r.rx.seqs).toEqual(survivors);

    // Stop loss at run time: the next 1000 all arrive.
    const f = proxy.next((m) => m.event === 'faults');
    proxy.send({ loss: 0 });
    expect((await f).faults).toEqual({ loss: 0 });
    r = await pump(N, 1000, survivors.length + 1000);
    expect(r.proxy.up).toMatchObject({ received: N + 1000, dropped: drops });
    expect(r.rx).toMatchObject({ received: survivors.length + 1000, unique: survivors.length + 1000, bad: 0 });

    // Every datagram duplicated, then every datagram corrupted (one bit flipped).
    await rx.call({ cmd: 'reset' }, 'reset');
    proxy.send({ duplicate: 100 });
    await proxy.next((m) => m.event === 'faults');
    r = await pump(N + 1000, 100, 200);
    expect(r.proxy.up).toMatchObject({ duplicated: 100, corrupted: 0 });
    expect(r.rx).toMatchObject({ received: 200, unique: 100, dup: 100, bad: 0 });

    await rx.call({ cmd: 'reset' }, 'reset');
    proxy.send({ duplicate: 0, corrupt: 100 });
    await proxy.next((m) => m.event === 'faults');
    r = await pump(N + 1100, 100, 100);
    expect(r.proxy.up).toMatchObject({ duplicated: 100, corrupted: 100 });
    expect(r.rx).toMatchObject({ received: 100, unique: 0, bad: 100 });

    // Every datagram reordered: each one is held and sent after its successor.
    await rx.call({ cmd: 'reset' }, 'reset');
    proxy.send({ corrupt: 0, reorder: 100 });
    await proxy.next((m) => m.event === 'faults');
    r = await pump(N + 1200, 10, 10);
    expect(r.proxy.up).toMatchObject({ reordered: 5 });
    const base = N + 1200;
    expect(r.rx.arrivals).toEqual([1, 0, 3, 2, 5, 4, 7, 6, 9, 8].map((i) => base + i));

    // Delay: datagrams are held on a timer, then all delivered.
    await rx.call({ cmd: 'reset' }, 'reset');
    proxy.send({ reorder: 0, delay: 30, jitter: 20 });
    await proxy.next((m) => m.event === 'faults');
    r = await pump(N + 1210, 50, 50);
    expect(r.proxy.up).toMatchObject({ delayed: 50, reordered: 5 });
    expect(r.rx).toMatchObject({ received: 50, unique: 50, bad: 0 });
    expect(r.proxy.down.received).toBe(0);
  });
});

/**
 * TCP transport between two namespaces: 10k datagrams each way on one
 * connection, reconnect after the server restarts, drop-oldest queueing while
 * disconnected, and refusal of connections from other addresses.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, Lab, waitFor } from '../helpers/netns';
import { buildTransport, type BuiltTransport } from './helpers/build-transport';
import { PeerProcess } from './helpers/peer-process';

const PEER = join(__dirname, 'helpers/transport-peer.js');
const BURST = 10_000;

interface TcpStats {
  connected: boolean;
  connects: number;
  disconnects: number;
  queueDrops: number;
  queued: number;
  unexpectedSource: number;
  sentDatagrams: number;
}

describe.skipIf(!isRoot())('TCP transport in namespaces', () => {
  const lab = new Lab('tt');
  let built: BuiltTransport;
  let a = '';
  let b = '';

  beforeAll(() => {
    built = buildTransport();
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'sync0', b, 'sync0', '192.0.2.1/24', '192.0.2.2/24');
    lab.exec(a, 'ip addr add 192.0.2.3/24 dev sync0');
  });
  afterAll(() => {
    lab.cleanup();
    built?.cleanup();
  });

  const tcp = (local: string, peer: string, maxQueue: number) => ({
    type: 'tcp',
    options: { localAddress: local, localPort: 3790, peerAddress: peer, peerPort: 3790, maxQueue, reconnectMinMs: 50, reconnectMaxMs: 400 },
  });
  const start = (ns: string, local: string, peer: string, maxQueue: number) =>
    new PeerProcess(lab, ns, [process.execPath, PEER, built.dir, JSON.stringify({ links: [tcp(local, peer, maxQueue)], listSeqs: true })], built.env);
  const stats = async (p: PeerProcess) => (await p.call({ cmd: 'report' }, 'report')).stats as TcpStats;
  const report = (p: PeerProcess) => p.call({ cmd: 'report' }, 'report');

  it('carries 10k datagrams each way on one connection, reconnects, queues drop-oldest', async () => {
    const pb = start(b, '192.0.2.2', '192.0.2.1', 50_000); // server (larger address)
    await pb.ready();
    const pa = start(a, '192.0.2.1', '192.0.2.2', 50); // client
    await pa.ready();
    await waitFor(async () => (await stats(pa)).connected, 5000, 20);

    // b (queue 50k) sends its 10k at once; a (queue 50) in windows of 2000 x 400 bytes,
    // below its 1 MiB socket budget, so its tiny queue never overflows.
    await pb.call({ cmd: 'send', from: 0, count: BURST, size: 1200 }, 'sent');
    for (let from = 0; from < BURST; from += 2000) {
      await pa.call({ cmd: 'send', from, count: 2000, size: 400 }, 'sent');
      await waitFor(async () => ((await report(pb)).unique as number) >= from + 2000, 10_000, 10);
    }
    await waitFor(async () => ((await report(pb)).received as number) >= BURST && ((await report(pa)).received as number) >= BURST, 15_000, 20).catch(() => false);
    for (const p of [pa, pb]) {
      expect(await report(p)).toMatchObject({ received: BURST, unique: BURST, bad: 0, dup: 0, maxSeq: BURST - 1 });
      expect(await stats(p)).toMatchObject({ connects: 1, disconnects: 0, queueDrops: 0, sentDatagrams: BURST });
    }

    // Server goes away: the client notices, queues (keeping the newest 50), and reconnects once it is back.
    await pb.call({ cmd: 'close' }, 'closed');
    await waitFor(async () => !(await stats(pa)).connected, 5000, 20);
    await pb.call({ cmd: 'reset' }, 'reset');
    const sent = await pa.call({ cmd: 'send', from: 0, count: 100, size: 100 }, 'sent');
    expect(sent.refused).toBe(0);
    expect(await stats(pa)).toMatchObject({ queued: 50, queueDrops: 50 });
    await pb.call({ cmd: 'open' }, 'opened');
    await waitFor(async () => ((await report(pb)).received as number) >= 50, 5000, 20);
    const rb = await report(pb);
    expect(rb).toMatchObject({ received: 50, unique: 50, bad: 0 });
    expect(rb.seqs).toEqual(Array.from({ length: 50 }, (_, i) => 50 + i));
    expect(await stats(pa)).toMatchObject({ connected: true, connects: 2, disconnects: 1, queued: 0, queueDrops: 50 });

    // A connection from another address is refused and counted by the server.
    lab.exec(
      a,
      `node -e "const s=require('net').connect({host:'192.0.2.2',port:3790,localAddress:'192.0.2.3'});s.on('error',()=>{});s.on('close',()=>process.exit(0));setTimeout(()=>process.exit(1),3000)"`,
    );
    await waitFor(async () => (await stats(pb)).unexpectedSource === 1, 5000, 20);
    expect(await stats(pa)).toMatchObject({ connected: true, connects: 2 });
  });
});

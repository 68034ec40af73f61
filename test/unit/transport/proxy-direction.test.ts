import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { UdpFaultProxy } from '../../../src/transport/proxy';
import { systemClock } from '../../../src/util/clock';
import { waitFor } from '../../helpers/netns';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

describe('fault proxy with a separate fault set for the reply direction', () => {
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const s of open.splice(0)) s.close();
  });

  it('drops every reply and forwards every request when only down has loss', async () => {
    const server = await bound();
    const client = await bound();
    open.push(server, client);
    const proxy = new UdpFaultProxy({
      family: 4,
      listen: { address: '127.0.0.1', port: 0 },
      forward: { address: '127.0.0.1', port: server.address().port },
      seed: 1,
      clock: systemClock(),
    });
    await proxy.start();
    open.push({ close: () => void proxy.stop() });
    expect(proxy.setFaults({}, { loss: 1 })).toBeNull();
    expect(proxy.getDownFaults()).toEqual({ loss: 1 });
    let atServer = 0;
    let atClient = 0;
    server.on('message', (m, r) => {
      atServer++;
      server.send(m, r.port, r.address);
    });
    client.on('message', () => atClient++);
    const port = proxy.addresses()?.listen.port ?? 0;
    for (let i = 0; i < 20; i++) client.send(Buffer.from([i]), port, '127.0.0.1');
    await waitFor(() => proxy.counters().down.received === 20, 5000);
    expect(atServer).toBe(20);
    expect(proxy.counters().up).toMatchObject({ received: 20, forwarded: 20, dropped: 0 });
    expect(proxy.counters().down).toMatchObject({ received: 20, forwarded: 0, dropped: 20 });
    expect(atClient).toBe(0);

    // Back to one set for both directions.
    expect(proxy.setFaults({ loss: 0 })).toBeNull();
    expect(proxy.getDownFaults()).toEqual({ loss: 0 });
    client.send(Buffer.from([99]), port, '127.0.0.1');
    await waitFor(() => atClient === 1, 5000);
    expect(proxy.setFaults({}, { loss: 2 })).toBe('loss must be within 0..1');
  });
});

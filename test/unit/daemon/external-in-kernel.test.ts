/**
 * DisableExternalCache on: the peers' entries go into the backup's kernel
 * table as they arrive (src/cache/write-through.ts) and are not mistaken for
 * local flows by the backup's own mirror. Two daemons in-process on
 * MemoryTable kernels, a memory link and a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { makeFlows } from '../../../src/bench/flows';
import { parseConntrackdConf } from '../../../src/config/conntrackd';
import { hasErrors } from '../../../src/config/diagnostics';
import { createDaemon, type Daemon } from '../../../src/daemon/daemon';
import { createTransitions } from '../../../src/daemon/transitions';
import { decodeConntrack } from '../../../src/netlink/ct/conntrack';
import { MemoryTable } from '../../../src/netlink/memory-table';
import { memoryLink } from '../../../src/transport/memory';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';

function conf(local: string, peer: string, inKernel: boolean): string {
  return `Sync {\n Mode FTFW {\n DisableExternalCache ${inKernel ? 'on' : 'off'}\n }\n UDP {\n IPv4_address ${local}\n IPv4_Destination_Address ${peer}\n Port 3780\n }\n}\nGeneral {\n HashLimit 100000\n LockFile /tmp/x.lock\n UNIX { Path /tmp/x.ctl }\n}\n`;
}

async function pair(): Promise<{ a: { daemon: Daemon; table: MemoryTable }; b: { daemon: Daemon; table: MemoryTable }; run(ms: number): Promise<void> }> {
  const clock = new FakeClock();
  let s = 7;
  const rnd = (): number => ((s = (s * 1664525 + 1013904223) >>> 0) / 0x1_0000_0000);
  const link = memoryLink(rnd);
  const mk = (local: string, peer: string, t: typeof link.a, inKernel: boolean) => {
    const parsed = parseConntrackdConf(conf(local, peer, inKernel), { file: 'test.conf' });
    expect(hasErrors(parsed.diagnostics)).toBe(false);
    const table = new MemoryTable({ delivery: 'sync' });
    return { daemon: createDaemon({ config: parsed.config, table, transport: t, clock, random: rnd, logger: silentLogger(), version: 'test' }), table };
  };
  const a = mk('203.0.113.1', '203.0.113.2', link.a, false);
  const b = mk('203.0.113.2', '203.0.113.1', link.b, true);
  await a.daemon.start();
  await b.daemon.start();
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      clock.advance(10);
      link.flush();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
  };
  return { a, b, run };
}

describe('DisableExternalCache on: the external cache is kept in the kernel too', () => {
  it('creates, updates and destroys reach the backup kernel; they do not come back as its own flows', async () => {
    const { a, b, run } = await pair();
    const flows = makeFlows(3000);
    expect((await a.table.create(flows)).ok).toBe(3000);
    await run(600);
    expect(b.daemon.caches.external.ct.size).toBe(3000);
    expect(b.table.size('ct')).toBe(3000);
    for (const f of flows.slice(0, 20)) expect(b.table.get(f)).toBeDefined();
    // The backup's mirror saw 3000 'new' events of its own writes: none is a local flow.
    expect(b.daemon.caches.internal.ct.size).toBe(0);
    expect(a.daemon.caches.external.ct.size).toBe(0);

    const marked = makeFlows(100, { mark: 42 });
    expect((await a.table.update(marked)).failed).toEqual([]);
    await a.table.delete(flows.slice(2000));
    await run(600);
    expect(b.table.size('ct')).toBe(2000);
    expect(b.table.get(flows[2500] as (typeof flows)[number])).toBeUndefined();
    const inKernel = b.table.get(marked[5] as (typeof marked)[number]);
    const d = inKernel === undefined ? null : decodeConntrack(inKernel);
    expect(d?.ok && d.value.mark).toBe(42);
    const st = (await b.daemon.api.status()).sync ?? {};
    expect(st['externalInKernel.pending']).toBe(0);
    expect(st['externalInKernel.failed']).toBe(0);
    expect(st['externalInKernel.deleted']).toBe(1000);
    await a.daemon.stop();
    await b.daemon.stop();
  });

  it('promotion: addresses wait only for pending writes; commit, flush, resync follow; the kernel flows become local', async () => {
    const { a, b, run } = await pair();
    const flows = makeFlows(1500, { first: 50_000 });
    await a.table.create(flows);
    await run(300);
    expect(b.table.size('ct')).toBe(1500);
    const order: string[] = [];
    const tr = createTransitions({
      api: b.daemon.api,
      clock: new FakeClock(),
      logger: silentLogger(),
      setState: (_s, steps) => {
        if (steps !== undefined) for (const x of steps) order.push(x.name);
      },
      externalInKernel: b.daemon.externalInKernel,
    });
    await tr.beforeMaster?.('VI_1');
    expect(order).toEqual(['external-in-kernel']);
    order.length = 0;
    const after = tr.afterMaster?.('VI_1');
    // The commit pauses the mirror and resubscribes 250 ms later on the daemon clock.
    await run(400);
    await after;
    expect(order).toEqual(['external-in-kernel', 'commit', 'flush-external', 'resync-kernel', 'bulk-send']);
    expect(b.daemon.caches.external.ct.size).toBe(0);
    expect(b.daemon.caches.internal.ct.size).toBe(1500);
    expect(b.table.size('ct')).toBe(1500);
    await a.daemon.stop();
    await b.daemon.stop();
  });
});

/**
 * Two whole daemons in-process: MemoryTable kernels, a lossy memory link and a
 * fake clock. Proves the wiring (mirror -> engine -> peer external cache ->
 * commit -> peer kernel) deterministically, in every mode.
 */
import { describe, expect, it } from 'vitest';
import { makeFlows } from '../../../src/bench/flows';
import { parseConntrackdConf } from '../../../src/config/conntrackd';
import { hasErrors } from '../../../src/config/diagnostics';
import { createDaemon, type Daemon } from '../../../src/daemon/daemon';
import { MemoryTable } from '../../../src/netlink/memory-table';
import { memoryLink, type MemoryLink } from '../../../src/transport/memory';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function conf(mode: string, local: string, peer: string): string {
  const extra = mode === 'ALARM' ? 'RefreshTime 2\n CacheTimeout 6\n' : '';
  return `Sync {\n Mode ${mode} {\n ${extra}}\n UDP {\n IPv4_address ${local}\n IPv4_Destination_Address ${peer}\n Port 3780\n }\n}\nGeneral {\n HashLimit 100000\n LockFile /tmp/x.lock\n UNIX { Path /tmp/x.ctl }\n}\n`;
}

interface Node {
  daemon: Daemon;
  table: MemoryTable;
}

async function pair(mode: string, seed = 1, delivery: 'sync' | 'microtask' = 'sync'): Promise<{ a: Node; b: Node; link: MemoryLink; clock: FakeClock; run(ms: number): Promise<void> }> {
  const clock = new FakeClock();
  const rnd = seeded(seed);
  const link = memoryLink(rnd);
  const mk = (local: string, peer: string, transport: MemoryLink['a']): Node => {
    const parsed = parseConntrackdConf(conf(mode, local, peer), { file: 'test.conf' });
    expect(hasErrors(parsed.diagnostics)).toBe(false);
    const table = new MemoryTable({ delivery });
    const daemon = createDaemon({ config: parsed.config, table, transport, clock, random: rnd, logger: silentLogger(), version: 'test' });
    return { daemon, table };
  };
  const a = mk('203.0.113.1', '203.0.113.2', link.a);
  const b = mk('203.0.113.2', '203.0.113.1', link.b);
  await a.daemon.start();
  await b.daemon.start();
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      clock.advance(10);
      link.flush();
      await Promise.resolve();
    }
  };
  return { a, b, link, clock, run };
}

describe.each(['FTFW', 'NOTRACK', 'ALARM'])('two daemons in %s mode', (mode) => {
  it('replicates creates and destroys, and commits into the peer kernel', async () => {
    const { a, b, run } = await pair(mode);
    const flows = makeFlows(2000);
    expect((await a.table.create(flows)).ok).toBe(2000);
    await run(500);
    expect(a.daemon.caches.internal.ct.size).toBe(2000);
    expect(b.daemon.caches.external.ct.size).toBe(2000);
    expect(b.table.size('ct')).toBe(0);

    await a.table.delete(flows.slice(0, 500));
    await run(mode === 'ALARM' ? 8000 : 500);
    expect(b.daemon.caches.external.ct.size).toBe(1500);

    const res = await b.daemon.api.commit('ct');
    expect(res).toMatchObject({ committed: 1500, failed: 0 });
    expect(b.table.size('ct')).toBe(1500);
    for (const f of flows.slice(500, 510)) expect(b.table.get(f)).toBeDefined();
    for (const f of flows.slice(0, 10)) expect(b.table.get(f)).toBeUndefined();
    await a.daemon.stop();
    await b.daemon.stop();
  });
});

describe('FT-FW through a lossy link', () => {
  it('converges exactly once loss stops, with NACKs and resends counted', async () => {
    const { a, b, link, run } = await pair('FTFW', 7);
    link.setFaults({ loss: 0.2, reorder: 0.05, duplicate: 0.05 });
    const flows = makeFlows(5000);
    await a.table.create(flows);
    await a.table.delete(flows.slice(0, 1000));
    await run(300);
    link.setFaults({});
    await run(3000);
    const internal = [...a.daemon.caches.internal.ct.keys()].sort();
    const external = [...b.daemon.caches.external.ct.keys()].sort();
    expect(external).toEqual(internal);
    expect(external.length).toBe(4000);
    const st = a.daemon.engine.stats().modeStats;
    expect((st['resends'] ?? 0) + (st['nacksReceived'] ?? 0)).toBeGreaterThan(0);
  });
});

describe('kernel overrun', () => {
  it('the mirror resyncs and the peer converges after lost events', async () => {
    const { a, b, run } = await pair('FTFW', 3, 'microtask');
    const flows = makeFlows(1000);
    await a.table.create(flows.slice(0, 500));
    await run(200);
    expect(b.daemon.caches.external.ct.size).toBe(500);
    // Events of these writes are queued for the next microtask; the overrun drops them.
    const created = a.table.create(flows.slice(500));
    const destroyed = a.table.delete(flows.slice(0, 100));
    a.table.overrun();
    await Promise.all([created, destroyed]);
    await run(1000);
    expect((await a.daemon.api.stats('runtime')) as { netlink: { overrun: number } }).toMatchObject({ netlink: { overrun: 1 } });
    expect(a.daemon.caches.internal.ct.size).toBe(900);
    expect(b.daemon.caches.external.ct.size).toBe(900);
  });
});

import { describe, expect, it } from 'vitest';
import type { CtRecord } from '../../../src/netlink/types';
import { createCache } from '../../../src/cache/packed-cache';
import { createSyncEngine } from '../../../src/sync/engine';
import { MODE_NAMES, modeFactory } from '../../../src/sync/modes/registry';
import { encodeDatagrams } from '../../../src/sync/wire/datagram';
import { memoryLink } from '../../../src/transport/memory';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { diffCaches, fakeKeyOf, fakeRecord, makeRig, seeded } from './helpers/fixtures';
import { mapCache } from './helpers/map-cache';

describe('mode registry', () => {
  it('knows the three conntrackd mode names, case-insensitively', () => {
    expect(MODE_NAMES).toEqual(['notrack', 'alarm', 'ftfw']);
    expect(modeFactory('FTFW')).toBeTypeOf('function');
    expect(modeFactory('bogus')).toBeUndefined();
  });

  it('the engine refuses an unknown mode name', () => {
    const link = memoryLink();
    const caches = { ct: mapCache('a'), expect: mapCache('b') };
    expect(() =>
      createSyncEngine({
        mode: 'bogus',
        transport: link.a,
        clock: new FakeClock(),
        random: seeded(1),
        internal: caches,
        external: caches,
        keyOf: fakeKeyOf,
        logger: silentLogger(),
      }),
    ).toThrow(/unknown sync mode/);
  });
});

describe('sync engine', () => {
  it('counts rejected datagrams by code and keeps running', () => {
    const rig = makeRig('ftfw', 71);
    rig.a.engine.start();
    rig.b.engine.start();
    const good = encodeDatagrams({ flags: 0, node: 9, epoch: 9 }, [{ type: 'alive', flags: 0, seq: 1 }], 1472).datagrams[0] as Buffer;
    const badCsum = Buffer.from(good);
    badCsum[badCsum.length - 1] = (badCsum[badCsum.length - 1] as number) ^ 1;
    const badVersion = Buffer.from(good);
    badVersion[4] = 7;
    rig.link.b.deliver(Buffer.from('garbage!garbage!garbage!'), '198.51.100.9');
    rig.link.b.deliver(badCsum, '198.51.100.9');
    rig.link.b.deliver(badVersion, '198.51.100.9');
    rig.link.b.deliver(Buffer.alloc(0), '198.51.100.9');
    const st = rig.b.engine.stats();
    expect(st.rejected.EBADMAGIC).toBe(1);
    expect(st.rejected.EBADCSUM).toBe(1);
    expect(st.rejected.EBADVERSION).toBe(1);
    expect(st.rejected.ETRUNCATED).toBe(1);
    rig.a.change('new', fakeRecord('ct', 1, 0));
    rig.run(100);
    expect(rig.b.external.ct.size).toBe(1);
  });

  it('ignores its own datagrams (multicast loopback) and reports new peers', () => {
    const rig = makeRig('notrack', 72);
    const events: string[] = [];
    rig.b.engine.onPeerEvent((ev) => events.push(`${ev.type}:${ev.peer}`));
    rig.a.engine.start();
    rig.b.engine.start();
    rig.a.change('new', fakeRecord('ct', 1, 0));
    rig.run(50);
    expect(events).toEqual(['new:198.51.100.1']);
    const own = encodeDatagrams({ flags: 0, node: rig.b.engine.nodeId, epoch: rig.b.engine.epoch }, [{ type: 'alive', flags: 0, seq: 1 }], 1472);
    rig.link.b.deliver(own.datagrams[0] as Buffer, '198.51.100.2');
    expect(rig.b.engine.stats().received.loopback).toBe(1);
    expect(rig.b.engine.stats().peers.map((p) => p.id)).toEqual(['198.51.100.1']);
  });

  it('leaves out the syncDrop attributes and never exceeds the MTU', () => {
    // A fake entry (12 bytes) followed by a 392-byte attribute of type 9 that is not to be sent.
    const withExtra = (i: number): CtRecord => {
      const base = fakeRecord('ct', i, 0, 0);
      const extra = Buffer.alloc(392, 0xab);
      extra.writeUInt16LE(392, 0);
      extra.writeUInt16LE(9, 2);
      return { ...base, attrs: Buffer.concat([base.attrs, extra]) };
    };
    const clock = new FakeClock();
    const link = memoryLink(seeded(1), 600);
    const mk = (t: typeof link.a, seed: number) => {
      const internal = { ct: mapCache('i'), expect: mapCache('ie') };
      const external = { ct: mapCache('e'), expect: mapCache('ee') };
      const engine = createSyncEngine({
        mode: 'ftfw',
        transport: t,
        clock,
        random: seeded(seed),
        internal,
        external,
        keyOf: fakeKeyOf,
        syncDrop: { ct: new Set([9]) },
        logger: silentLogger(),
      });
      return { engine, internal, external };
    };
    const a = mk(link.a, 1);
    const b = mk(link.b, 2);
    a.engine.start();
    b.engine.start();
    for (let i = 1; i <= 200; i++) {
      // The internal cache is the source of truth (a bulk resync sweeps what it lacks).
      a.internal.ct.upsert(`ct:${i}`, withExtra(i), clock.now());
      a.engine.local({ type: 'new', key: `ct:${i}`, record: withExtra(i) });
    }
    for (let t = 0; t < 500; t += 10) {
      clock.advance(10);
      link.flush();
    }
    expect(b.external.ct.size).toBe(200);
    expect(b.external.ct.get('ct:5')?.attrs.length).toBe(12);
    expect(link.a.stats().sendErrors).toBe(0);
    expect(a.engine.stats().sent.oversize).toBe(0);
  });

  it('works with the packed cache implementation (src/cache/packed-cache)', () => {
    const clock = new FakeClock();
    const link = memoryLink(seeded(3));
    const mk = (t: typeof link.a, seed: number) => {
      const internal = { ct: createCache({ name: 'i', limit: 100_000 }), expect: createCache({ name: 'ie', limit: 100_000 }) };
      const external = { ct: createCache({ name: 'e', limit: 100_000 }), expect: createCache({ name: 'ee', limit: 100_000 }) };
      const engine = createSyncEngine({ mode: 'ftfw', transport: t, clock, random: seeded(seed), internal, external, keyOf: fakeKeyOf, logger: silentLogger() });
      return { engine, internal, external };
    };
    const a = mk(link.a, 1);
    const b = mk(link.b, 2);
    a.engine.start();
    b.engine.start();
    link.setFaults({ loss: 0.1 });
    for (let i = 1; i <= 3000; i++) {
      const rec = fakeRecord('ct', i, i % 3);
      a.internal.ct.upsert(`ct:${i}`, rec, clock.now());
      a.engine.local({ type: 'new', key: `ct:${i}`, record: a.internal.ct.get(`ct:${i}`) ?? rec });
      if (i % 7 === 0) {
        a.internal.ct.remove(`ct:${i - 3}`);
        a.engine.local({ type: 'destroy', key: `ct:${i - 3}`, record: fakeRecord('ct', i - 3, 0) });
      }
      if (i % 100 === 0) {
        clock.advance(10);
        link.flush();
      }
    }
    link.setFaults({});
    for (let t = 0; t < 10_000; t += 10) {
      clock.advance(10);
      link.flush();
    }
    expect(diffCaches(a.internal.ct, b.external.ct)).toEqual([]);
  });

  it('StartupResync asks the peer for its table on start', () => {
    // NOTRACK has no HELLO exchange, so only the startup resync request can fill b.
    const rig = makeRig('notrack', 73, { startupResync: true });
    for (let i = 1; i <= 100; i++) rig.a.internal.ct.upsert(`ct:${i}`, fakeRecord('ct', i, 0), 0);
    rig.a.engine.start();
    rig.run(50);
    rig.b.engine.start();
    rig.run(500);
    expect(rig.b.external.ct.size).toBe(100);
    expect(diffCaches(rig.a.internal.ct, rig.b.external.ct)).toEqual([]);
  });
});

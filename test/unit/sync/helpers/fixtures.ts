/** Deterministic helpers for sync tests: seeded RNG, fake records and keys, a two-replica rig. */
import { createSyncEngine, type SyncEngine, type SyncEngineOptions } from '../../../../src/sync/engine';
import type { Cache } from '../../../../src/cache/types';
import type { CtKind, CtRecord } from '../../../../src/netlink/types';
import { memoryLink, type MemoryLink } from '../../../../src/transport/memory';
import { FakeClock } from '../../../../src/util/clock';
import { silentLogger } from '../../../../src/util/log';
import { mapCache } from './map-cache';

/** mulberry32: a small seeded PRNG returning [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A fake record: one netlink attribute (type 0x7f01) holding id u32 + version u32
 * + padding, so the key is the id and every version has distinct bytes.
 */
export function fakeRecord(kind: CtKind, id: number, version: number, pad = 40): CtRecord {
  const len = 4 + 8 + pad;
  const attrs = Buffer.alloc(len);
  attrs.writeUInt16LE(len, 0);
  attrs.writeUInt16LE(0x7f01, 2);
  attrs.writeUInt32BE(id, 4);
  attrs.writeUInt32BE(version, 8);
  for (let i = 12; i < len; i++) attrs[i] = (id * 31 + version * 7 + i) & 0xff;
  return { kind, family: id % 5 === 0 ? 10 : 2, attrs };
}

export function fakeKeyOf(rec: CtRecord): string | undefined {
  if (rec.attrs.length < 12 || rec.attrs.readUInt16LE(2) !== 0x7f01) return undefined;
  return `${rec.kind}:${rec.attrs.readUInt32BE(4)}`;
}

export interface Replica {
  engine: SyncEngine;
  internal: { ct: Cache; expect: Cache };
  external: { ct: Cache; expect: Cache };
  /** Apply a local change to the internal cache and tell the engine (what the mirror does). */
  change(type: 'new' | 'update' | 'destroy', rec: CtRecord): void;
}

export interface Rig {
  clock: FakeClock;
  link: MemoryLink;
  a: Replica;
  b: Replica;
  /** Advance the clock by ms in tick-sized steps, delivering datagrams after each step. */
  run(ms: number, step?: number): void;
  /** Replace replica b by a fresh engine with empty caches (a restart). */
  restartB(): Replica;
}

export function makeReplica(
  mode: string,
  transport: MemoryLink['a'],
  clock: FakeClock,
  seed: number,
  options: SyncEngineOptions,
  externalTimeoutMs = 0,
): Replica {
  const internal = { ct: mapCache('int-ct'), expect: mapCache('int-exp') };
  const external = { ct: mapCache('ext-ct', externalTimeoutMs), expect: mapCache('ext-exp', externalTimeoutMs) };
  const engine = createSyncEngine({
    mode,
    transport,
    clock,
    random: seeded(seed),
    internal,
    external,
    keyOf: fakeKeyOf,
    logger: silentLogger(),
    options,
  });
  return {
    engine,
    internal,
    external,
    change(type, rec) {
      const key = fakeKeyOf(rec) ?? '';
      const c = internal[rec.kind];
      if (type === 'destroy') c.delete(key);
      else c.upsert(key, rec, clock.now());
      engine.local({ type, key, record: rec });
    },
  };
}

export function makeRig(mode: string, seed: number, options: SyncEngineOptions = {}, externalTimeoutMs = 0): Rig {
  const clock = new FakeClock();
  const link = memoryLink(seeded(seed ^ 0x5eed), 1472);
  const a = makeReplica(mode, link.a, clock, seed + 1, options, externalTimeoutMs);
  let b = makeReplica(mode, link.b, clock, seed + 2, options, externalTimeoutMs);
  const tick = options.tickMs ?? 10;
  const rig: Rig = {
    clock,
    link,
    a,
    b,
    run(ms, step = tick) {
      for (let t = 0; t < ms; t += step) {
        clock.advance(step);
        link.flush();
      }
    },
    restartB() {
      b.engine.stop();
      b = makeReplica(mode, link.b, clock, seed + 99, options, externalTimeoutMs);
      rig.b = b;
      b.engine.start();
      return b;
    },
  };
  return rig;
}

/** Exact comparison: same key set and same bytes. Returns a list of differences (empty = equal). */
export function diffCaches(internal: Cache, external: Cache, max = 5): string[] {
  const out: string[] = [];
  for (const [k, rec] of internal.entries()) {
    const e = external.get(k);
    if (!e) out.push(`missing ${k}`);
    else if (e.family !== rec.family || !e.attrs.equals(rec.attrs)) out.push(`differs ${k}`);
    if (out.length >= max) return out;
  }
  for (const k of external.keys()) {
    if (!internal.has(k)) out.push(`extra ${k}`);
    if (out.length >= max) return out;
  }
  return out;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCache } from '../../../src/cache/packed-cache';
import { createMirror, type MirrorChange, type MirrorOptions } from '../../../src/cache/mirror';
import type { BatchResult, EventHandlers, EventOptions, EventSubscription, KernelTable } from '../../../src/netlink/table';
import type { CtEvent, CtKind, CtRecord } from '../../../src/netlink/types';
import { FakeClock } from '../../../src/util/clock';
import type { Cache } from '../../../src/cache/types';

/** Record whose bytes are "key|version"; "!" in the version means the filter rejects it. */
const rec = (key: string, version = '1'): CtRecord => ({ kind: 'ct', family: 2, attrs: Buffer.from(`${key}|${version}`) });
const keyOf = (r: CtRecord): string | null => {
  const s = r.attrs.toString();
  const i = s.indexOf('|');
  return i > 0 ? s.slice(0, i) : null;
};
const accept = (r: CtRecord): boolean => !r.attrs.toString().includes('!');
const ev = (type: CtEvent['type'], key: string, version = '1'): CtEvent => ({ type, record: rec(key, version) });

/** A kernel table in memory whose dumps can be held open and failed on demand. */
class FakeTable implements KernelTable {
  readonly rows = new Map<string, CtRecord>();
  handlers: EventHandlers | null = null;
  readonly calls: string[] = [];
  hold = false;
  failNext = 0;
  private waiting: Array<() => void> = [];
  closed = 0;

  set(...keys: Array<[string, string]>): void {
    this.rows.clear();
    for (const [k, v] of keys) this.rows.set(k, rec(k, v));
  }

  dump(kind: CtKind): Promise<CtRecord[]> {
    this.calls.push(`dump:${kind}`);
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error('EINTR'));
    }
    if (!this.hold) return Promise.resolve([...this.rows.values()]);
    // The snapshot is taken when the dump is released (the kernel walks the table then).
    return new Promise((resolve) => this.waiting.push(() => resolve([...this.rows.values()])));
  }

  /** Let held dumps complete; resolves after their continuations ran. */
  async release(): Promise<void> {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
    await new Promise((r) => setImmediate(r));
  }

  get held(): number {
    return this.waiting.length;
  }

  readonly rcvbufs: Array<number | undefined> = [];

  subscribe(opts: EventOptions, handlers: EventHandlers): EventSubscription {
    this.calls.push(`subscribe:${opts.kinds.join(',')}`);
    this.rcvbufs.push(opts.rcvbuf);
    this.handlers = handlers;
    return {
      close: () => {
        this.closed++;
      },
      overruns: 0,
    };
  }

  emit(...events: CtEvent[]): void {
    this.handlers?.onEvents(events);
  }

  create(): Promise<BatchResult> {
    return Promise.resolve({ ok: 0, failed: [] });
  }
  update(): Promise<BatchResult> {
    return Promise.resolve({ ok: 0, failed: [] });
  }
  delete(): Promise<BatchResult> {
    return Promise.resolve({ ok: 0, failed: [] });
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  count(): Promise<number> {
    return Promise.resolve(this.rows.size);
  }
  close(): void {}
}

/** The cache without its optional markSeen/unmarked (the mirror then reconciles with a Set of keys). */
function withoutMarks(cache: Cache): Cache {
  return new Proxy(cache, {
    get(t, p) {
      if (p === 'markSeen' || p === 'unmarked') return undefined;
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

function setup(extra: Partial<MirrorOptions> = {}, limit = 1000, marks = true) {
  const table = new FakeTable();
  const cache = createCache({ name: 'internal', limit });
  const clock = new FakeClock();
  const mirror = createMirror({ table, cache: marks ? cache : withoutMarks(cache), kind: 'ct', keyOf, accept, clock, ...extra });
  const changes: string[] = [];
  mirror.onChange((c: MirrorChange) => changes.push(`${c.type}:${c.key}:${c.record.attrs.toString().split('|')[1]}`));
  const contents = (): string[] => [...cache.entries()].map(([k, r]) => `${k}=${r.attrs.toString()}`).sort();
  return { table, cache, clock, mirror, changes, contents };
}

describe('kernel mirror', () => {
  it('subscribes before dumping, fills the cache and reports the fill', async () => {
    const { table, mirror, changes, contents } = setup();
    table.set(['a', '1'], ['b', '1'], ['c', '1!']);
    await mirror.start();
    expect(table.calls).toEqual(['subscribe:ct', 'dump:ct']);
    expect(contents()).toEqual(['a=a|1', 'b=b|1']);
    expect(changes).toEqual(['new:a:1', 'new:b:1']);
    expect(mirror.stats()).toMatchObject({ resyncs: 1, filtered: 1, added: 0, removed: 0 });
  });

  it('can fill silently (emitInitial: false)', async () => {
    const { table, mirror, changes, contents } = setup({ emitInitial: false });
    table.set(['a', '1']);
    await mirror.start();
    expect(contents()).toEqual(['a=a|1']);
    expect(changes).toEqual([]);
    table.emit(ev('new', 'b'));
    expect(changes).toEqual(['new:b:1']);
  });

  it('applies events and reports only effective changes', async () => {
    const { table, mirror, changes, contents } = setup();
    await mirror.start();
    table.emit(ev('new', 'a'), ev('new', 'b'), ev('update', 'a', '1'), ev('update', 'a', '2'));
    table.emit(ev('destroy', 'b'), ev('destroy', 'zz'), ev('update', 'a', '3!'), ev('new', 'c', '1!'));
    expect(changes).toEqual(['new:a:1', 'new:b:1', 'update:a:2', 'destroy:b:1']);
    expect(contents()).toEqual(['a=a|2']);
    // A filtered flow that is destroyed: the destroy still applies to what the cache holds.
    table.emit(ev('destroy', 'a', '9!'));
    expect(contents()).toEqual([]);
    expect(mirror.stats()).toMatchObject({ events: 9, filtered: 2 });
  });

  it('counts records it cannot key and cache refusals', async () => {
    const { table, mirror, contents } = setup({}, 1);
    await mirror.start();
    table.emit({ type: 'new', record: { kind: 'ct', family: 2, attrs: Buffer.from('nokey') } });
    table.emit({ type: 'new', record: { kind: 'expect', family: 2, attrs: Buffer.from('x|1') } });
    table.emit(ev('new', 'a'), ev('new', 'b'));
    expect(contents()).toEqual(['a=a|1']);
    expect(mirror.stats()).toMatchObject({ unkeyed: 1, refused: 1 });
  });

  it('buffers events during the dump and applies them after it, newest per key', async () => {
    const { table, mirror, changes, contents } = setup();
    table.hold = true;
    table.set(['y', '1'], ['w', '1'], ['x', '1']);
    const started = mirror.start();
    expect(mirror.syncing).toBe(true);
    table.emit(ev('new', 'x', '1'), ev('update', 'x', '2')); // x is in the dump with version 1
    table.emit(ev('destroy', 'y')); // y destroyed after the dump read it
    table.emit(ev('new', 'z'), ev('destroy', 'z')); // z came and went
    table.emit(ev('new', 'v', '1')); // v created after the dump snapshot
    expect(contents()).toEqual([]);
    await table.release();
    await started;
    expect(mirror.syncing).toBe(false);
    expect(contents()).toEqual(['v=v|1', 'w=w|1', 'x=x|2']);
    expect(changes).toEqual(['new:w:1', 'new:x:2', 'new:v:1']);
  });

  it('reconciles after an overrun so missed creates, updates and destroys converge', async () => {
    const { table, mirror, changes, contents } = setup();
    table.set(['a', '1'], ['b', '1'], ['c', '1'], ['d', '1']);
    await mirror.start();
    changes.length = 0;
    // Events lost: a destroyed, b updated, e and f created, d now filtered out (kept).
    table.set(['b', '2'], ['c', '1'], ['d', '2!'], ['e', '1'], ['f', '1']);
    table.handlers?.onOverrun();
    await new Promise((r) => setImmediate(r));
    expect(contents()).toEqual(['b=b|2', 'c=c|1', 'd=d|1', 'e=e|1', 'f=f|1']);
    expect(changes.sort()).toEqual(['destroy:a:1', 'new:e:1', 'new:f:1', 'update:b:2']);
    expect(mirror.stats()).toMatchObject({ overruns: 1, resyncs: 2, added: 2, removed: 1, changed: 1 });
  });

  it('NetlinkOverrunResync N: events go on on a fresh socket; the dump waits until the burst has passed, at most N', async () => {
    const { table, clock, mirror, contents } = setup({ overrunResync: { maxDelayMs: 5000, quietRate: 10_000, checkMs: 100 } }, 10_000);
    table.set(['a', '1']);
    await mirror.start();
    const dumps = (): number => table.calls.filter((c) => c.startsWith('dump')).length;
    const busy = (n: number, from: number): void => {
      for (let i = 0; i < n; i++) table.emit(ev('new', `k${from + i}`, '1'));
    };
    // Lost: b. The burst goes on (2,000 events per 100 ms = 20k/s) on the new socket.
    table.set(['a', '1'], ['b', '1']);
    table.handlers?.onOverrun();
    expect(table.calls.filter((c) => c.startsWith('subscribe'))).toHaveLength(2);
    expect(dumps()).toBe(1);
    busy(2000, 0);
    clock.advance(100);
    busy(2000, 2000);
    clock.advance(100);
    expect(dumps()).toBe(1);
    expect(contents()).toContain('k3999=k3999|1');
    // Quiet period: the dump runs.
    for (let i = 0; i < 4000; i++) table.rows.set(`k${i}`, rec(`k${i}`, '1'));
    busy(10, 4000);
    for (let i = 4000; i < 4010; i++) table.rows.set(`k${i}`, rec(`k${i}`, '1'));
    clock.advance(100);
    await new Promise((r) => setImmediate(r));
    expect(dumps()).toBe(2);
    expect(contents()).toContain('b=b|1');
    expect(mirror.stats()).toMatchObject({ overruns: 1, resyncs: 2 });
  });

  it('NetlinkOverrunResync N: a burst that does not pass is dumped after N; off: no dump at all', async () => {
    const s = setup({ overrunResync: { maxDelayMs: 1000, checkMs: 100 } }, 30_000);
    await s.mirror.start();
    s.table.handlers?.onOverrun();
    for (let t = 0; t < 900; t += 100) {
      for (let i = 0; i < 2000; i++) s.table.emit(ev('new', `k${t}-${i}`, '1'));
      s.clock.advance(100);
    }
    expect(s.table.calls.filter((c) => c.startsWith('dump'))).toHaveLength(1);
    for (let i = 0; i < 2000; i++) s.table.emit(ev('new', `z${i}`, '1'));
    s.clock.advance(100);
    await new Promise((r) => setImmediate(r));
    expect(s.table.calls.filter((c) => c.startsWith('dump'))).toHaveLength(2);

    const off = setup({ overrunResync: false });
    off.table.set(['a', '1']);
    await off.mirror.start();
    off.table.set(['a', '1'], ['b', '1']);
    off.table.handlers?.onOverrun();
    off.clock.advance(60_000);
    await new Promise((r) => setImmediate(r));
    expect(off.table.calls.filter((c) => c.startsWith('dump'))).toHaveLength(1);
    expect(off.table.calls.filter((c) => c.startsWith('subscribe'))).toHaveLength(2);
    expect(off.contents()).toEqual(['a=a|1']);
    await off.mirror.resync(); // -R
    expect(off.contents()).toEqual(['a=a|1', 'b=b|1']);
  });

  it('doubles the event buffer after each overrun up to rcvbufMax (NetlinkBufferSizeMaxGrowth)', async () => {
    const { table, mirror } = setup({ rcvbuf: 1 << 20, rcvbufMax: 3 << 20 });
    await mirror.start();
    for (let i = 0; i < 3; i++) {
      table.handlers?.onOverrun();
      await new Promise((r) => setImmediate(r));
    }
    expect(table.rcvbufs).toEqual([1 << 20, 2 << 20, 3 << 20, 3 << 20]);
    const plain = setup({ rcvbuf: 1 << 20 });
    await plain.mirror.start();
    plain.table.handlers?.onOverrun();
    await new Promise((r) => setImmediate(r));
    expect(plain.table.rcvbufs).toEqual([1 << 20, 1 << 20]);
  });

  it('does not delete entries whose fresh events arrived during the resync dump', async () => {
    const { table, mirror, changes, contents } = setup();
    table.set(['a', '1']);
    await mirror.start();
    table.hold = true;
    table.set();
    const p = mirror.resync();
    table.emit(ev('update', 'a', '2')); // newer than the snapshot that lacks it
    await table.release();
    await p;
    expect(contents()).toEqual(['a=a|2']);
    expect(changes).toEqual(['new:a:1', 'update:a:2']);
  });

  it('coalesces overruns during a resync into one more resync', async () => {
    const { table, mirror, contents } = setup();
    await mirror.start();
    table.hold = true;
    table.set(['a', '1']);
    table.handlers?.onOverrun();
    table.handlers?.onOverrun();
    const again = mirror.resync();
    table.handlers?.onOverrun();
    expect(table.held).toBe(1);
    table.set(['a', '1'], ['b', '1']);
    await table.release(); // first resync done, the coalesced one starts
    expect(table.held).toBe(1);
    await table.release();
    await again;
    expect(table.calls.filter((c) => c.startsWith('dump'))).toHaveLength(3);
    expect(contents()).toEqual(['a=a|1', 'b=b|1']);
    expect(mirror.stats()).toMatchObject({ overruns: 3, resyncs: 3, added: 2 });
  });

  it('retries a failed dump after retryMs and keeps applying events', async () => {
    const { table, clock, mirror, contents } = setup({ retryMs: 500 });
    table.failNext = 1;
    table.set(['a', '1']);
    await mirror.start();
    expect(mirror.stats()).toMatchObject({ dumpErrors: 1, resyncs: 0 });
    table.emit(ev('new', 'b'));
    expect(contents()).toEqual(['b=b|1']);
    clock.advance(499);
    expect(table.calls.filter((c) => c.startsWith('dump'))).toHaveLength(1);
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    // b is not in the kernel's dump: reconciliation of the first successful dump removes it.
    expect(contents()).toEqual(['a=a|1']);
    expect(mirror.stats()).toMatchObject({ dumpErrors: 1, resyncs: 1 });
  });

  it('isolates failing listeners and stops cleanly', async () => {
    const { table, clock, mirror, changes } = setup();
    mirror.onChange(() => {
      throw new Error('boom');
    });
    await mirror.start();
    table.emit(ev('new', 'a'));
    expect(changes).toEqual(['new:a:1']);
    expect(mirror.stats().listenerErrors).toBe(1);
    mirror.stop();
    expect(table.closed).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it('converges to the kernel table, and so does a peer fed only the changes, after lost events', async () => {
    const opArb = fc.record({
      type: fc.constantFrom('new' as const, 'update' as const, 'destroy' as const),
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      version: fc.constantFrom('1', '2', '3'),
      lost: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.boolean(), async (ops, marks) => {
        const { table, cache, mirror } = setup({}, 1000, marks);
        const peer = new Map<string, string>();
        mirror.onChange((c) => {
          if (c.type === 'destroy') peer.delete(c.key);
          else peer.set(c.key, c.record.attrs.toString());
        });
        await mirror.start();
        for (const o of ops) {
          if (o.type === 'destroy') {
            if (!table.rows.has(o.key)) continue;
            table.rows.delete(o.key);
          } else {
            table.rows.set(o.key, rec(o.key, o.version));
          }
          if (!o.lost) table.emit(ev(o.type, o.key, o.version));
        }
        table.handlers?.onOverrun();
        await new Promise((r) => setImmediate(r));
        const kernel = [...table.rows].map(([k, r]) => `${k}=${r.attrs.toString()}`).sort();
        const cached = [...cache.entries()].map(([k, r]) => `${k}=${r.attrs.toString()}`).sort();
        expect(cached).toEqual(kernel);
        expect([...peer].map(([k, v]) => `${k}=${v}`).sort()).toEqual(kernel);
      }),
      { numRuns: 200 },
    );
  });
});

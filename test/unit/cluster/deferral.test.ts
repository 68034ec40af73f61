/**
 * Deferral logic with fakes: a FakeClock, a fake engine whose delivered()
 * barriers the test resolves by hand, a recording queue, a real packed cache.
 */
import { describe, expect, it } from 'vitest';
import { createCache } from '../../../src/cache/packed-cache';
import { createDeferral, type DeferralOptions } from '../../../src/cluster/deferral';
import { recordFromPacket } from '../../../src/cluster/deferral-packet';
import { encodeConntrack } from '../../../src/netlink/ct/conntrack';
import { tupleKey } from '../../../src/netlink/ct/key';
import { IP_CT, NF_ACCEPT, type QueuedPacket } from '../../../src/netlink/nfqueue';
import type { LocalChange } from '../../../src/sync/engine';
import { FakeClock } from '../../../src/util/clock';
import { createLogger } from '../../../src/util/log';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function ctAttrs(sport: number, status = 0): Buffer {
  return encodeConntrack({
    family: 2,
    orig: { src: '192.0.2.100', dst: '198.51.100.10', proto: 6, sport, dport: 8080 },
    reply: { src: '198.51.100.10', dst: '192.0.2.100', proto: 6, sport: 8080, dport: sport },
    status,
    timeout: 120,
    protoinfo: { tcp: { state: 1 } },
  }).attrs;
}

function pkt(id: number, over: Partial<QueuedPacket> = {}): QueuedPacket {
  return { queue: 1, family: 2, id, hwProtocol: 0x0800, hook: 2, payloadLen: 0, unknown: [], ct: ctAttrs(40000 + (id & 0xfff)), ctInfo: IP_CT.NEW, ...over };
}

function setup(over: Partial<DeferralOptions> = {}) {
  const clock = new FakeClock();
  const verdicts: string[] = [];
  const changes: LocalChange[] = [];
  const barriers: Array<{ ms: number; resolve: (ok: boolean) => void; changesBefore: number }> = [];
  const internal = createCache({ name: 'internal', limit: 1000 });
  const d = createDeferral({
    queue: { verdict: (id, v) => verdicts.push(`one ${id} ${v}`), verdictBatch: (id, v) => verdicts.push(`upto ${id} ${v}`) },
    engine: {
      local: (c) => changes.push(c),
      delivered: (ms) =>
        new Promise<boolean>((resolve) => {
          barriers.push({ ms, resolve, changesBefore: changes.length });
          clock.setTimeout(() => resolve(false), ms); // the engine's own timeout
        }),
    },
    internal,
    keyOf: tupleKey,
    clock,
    logger: createLogger({ level: 'silent' }),
    timeoutMs: 50,
    ...over,
  });
  return { clock, verdicts, changes, barriers, internal, d };
}

describe('deferral', () => {
  it('holds NEW packets until the barrier resolves, then accepts them in one batch verdict', async () => {
    const t = setup();
    t.d.handle([pkt(1), pkt(2), pkt(3)]);
    expect(t.changes.map((c) => c.type)).toEqual(['new', 'new', 'new']);
    expect(t.changes.map((c) => c.key)).toEqual([1, 2, 3].map((i) => tupleKey({ kind: 'ct', family: 2, attrs: ctAttrs(40000 + i) })));
    expect(t.internal.size).toBe(3);
    expect(t.barriers).toHaveLength(1); // one barrier for the whole read
    expect(t.barriers[0]).toMatchObject({ ms: 50, changesBefore: 3 }); // asked after the changes were handed over
    expect(t.verdicts).toEqual([]);
    expect(t.d.stats()).toMatchObject({ deferred: 3, pending: 3, acceptedAfterAck: 0 });
    t.clock.advance(7);
    t.barriers[0]?.resolve(true);
    await flush();
    expect(t.verdicts).toEqual([`upto 3 ${NF_ACCEPT}`]);
    expect(t.d.stats()).toMatchObject({ deferred: 3, acceptedAfterAck: 3, acceptedOnTimeout: 0, pending: 0, delayMsMax: 7, delayMsTotal: 21 });
  });

  it('on timeout accepts anyway and counts it', async () => {
    const t = setup();
    t.d.handle([pkt(10)]);
    t.clock.advance(49);
    await flush();
    expect(t.verdicts).toEqual([]);
    t.clock.advance(1);
    await flush();
    expect(t.verdicts).toEqual([`upto 10 ${NF_ACCEPT}`]);
    expect(t.d.stats()).toMatchObject({ acceptedAfterAck: 0, acceptedOnTimeout: 1, pending: 0, delayMsMax: 50 });
  });

  it('a later read released first gets single verdicts (earlier ids still held)', async () => {
    const t = setup();
    t.d.handle([pkt(1), pkt(2)]);
    t.d.handle([pkt(3), pkt(4)]);
    expect(t.barriers).toHaveLength(2);
    t.barriers[1]?.resolve(true);
    await flush();
    expect(t.verdicts).toEqual(['one 3 1', 'one 4 1']);
    t.barriers[0]?.resolve(true);
    await flush();
    expect(t.verdicts).toEqual(['one 3 1', 'one 4 1', 'upto 2 1']);
    expect(t.d.stats()).toMatchObject({ acceptedAfterAck: 4, pending: 0 });
  });

  it('ids compare wrap-safe: a batch crosses 2^32', async () => {
    const t = setup();
    t.d.handle([pkt(0xffffffff), pkt(0), pkt(1)]);
    t.barriers[0]?.resolve(true);
    await flush();
    expect(t.verdicts).toEqual(['upto 1 1']);
  });

  it('not NEW, no conntrack, unkeyable or filtered packets are accepted at once and counted', async () => {
    let filtered = true;
    const t = setup({ accept: () => !filtered });
    t.d.handle([pkt(1)]); // filtered
    filtered = false;
    t.d.handle([pkt(2, { ctInfo: IP_CT.ESTABLISHED }), pkt(3, { ct: undefined }), pkt(4, { ct: Buffer.from([1, 2, 3]) }), pkt(5, { family: 7 })]);
    expect(t.verdicts).toEqual(['upto 1 1', 'upto 5 1']);
    expect(t.barriers).toHaveLength(0);
    expect(t.changes).toEqual([]);
    expect(t.d.stats()).toMatchObject({ filtered: 1, notNew: 2, errors: 2, deferred: 0, pending: 0 });
  });

  it('immediate packets behind held ones get single verdicts', async () => {
    const t = setup();
    t.d.handle([pkt(1), pkt(2, { ctInfo: IP_CT.RELATED })]);
    expect(t.verdicts).toEqual(['one 2 1']);
    t.barriers[0]?.resolve(true);
    await flush();
    expect(t.verdicts).toEqual(['one 2 1', 'upto 1 1']);
  });

  it('a retransmitted SYN of an announced flow is an update (or nothing) and still waits', async () => {
    const t = setup();
    t.d.handle([pkt(1)]);
    t.d.handle([pkt(2, { ct: ctAttrs(40001) })]); // same flow, same bytes
    expect(t.changes.map((c) => c.type)).toEqual(['new']);
    t.d.handle([pkt(3, { ct: ctAttrs(40001, 8) })]); // same flow, other bytes
    expect(t.changes.map((c) => c.type)).toEqual(['new', 'update']);
    expect(t.barriers).toHaveLength(3);
    expect(t.d.stats().deferred).toBe(3);
  });

  it('withdraws an announced entry the kernel never confirmed; keeps confirmed ones', async () => {
    const t = setup({ confirmCheckMs: 1000 });
    t.d.handle([pkt(1), pkt(2)]);
    t.barriers[0]?.resolve(true);
    await flush();
    // The kernel's event for flow 2 arrives (mirror upsert with other bytes: IPS_CONFIRMED).
    const k2 = tupleKey({ kind: 'ct', family: 2, attrs: ctAttrs(40002) }) ?? '';
    t.internal.upsert(k2, { kind: 'ct', family: 2, attrs: ctAttrs(40002, 8) }, t.clock.now());
    t.clock.advance(999);
    expect(t.d.stats().orphans).toBe(0);
    t.clock.advance(1);
    expect(t.d.stats().orphans).toBe(1);
    expect(t.changes.slice(2).map((c) => c.type)).toEqual(['destroy']);
    expect(t.internal.size).toBe(1);
    expect(t.internal.has(k2)).toBe(true);
  });

  it('stop accepts every held packet (and unread ones) with one sweeping batch; late barriers do nothing', async () => {
    const t = setup();
    t.d.handle([pkt(5), pkt(6)]);
    t.d.stop();
    expect(t.verdicts).toEqual([`upto ${5 + 0x40000000 + 1} 1`]);
    expect(t.d.stats()).toMatchObject({ acceptedOnStop: 2, pending: 0 });
    t.barriers[0]?.resolve(true);
    await flush();
    t.d.handle([pkt(7)]); // read after stop: already covered by the sweep
    expect(t.verdicts).toHaveLength(1);
    expect(t.d.stats()).toMatchObject({ acceptedAfterAck: 0, acceptedOnStop: 3 });
  });

  it('packet mode: the state is rebuilt from the headers', async () => {
    const t = setup({ source: 'packet' });
    const syn = Buffer.alloc(40);
    syn.writeUInt8(0x45, 0);
    syn.writeUInt16BE(40, 2);
    syn.writeUInt8(6, 9);
    Buffer.from([192, 0, 2, 100, 198, 51, 100, 10]).copy(syn, 12);
    syn.writeUInt16BE(40001, 20);
    syn.writeUInt16BE(8080, 22);
    syn.writeUInt8(0x50, 32);
    syn.writeUInt8(0x02, 33);
    t.d.handle([pkt(1, { ct: undefined, ctInfo: undefined, payload: syn, payloadLen: 40 })]);
    const want = recordFromPacket(2, syn);
    expect(want.ok).toBe(true);
    expect(t.changes).toHaveLength(1);
    expect(t.changes[0]?.key).toBe(tupleKey({ kind: 'ct', family: 2, attrs: ctAttrs(40001) }));
    t.d.handle([pkt(2, { ct: undefined, ctInfo: undefined, payload: Buffer.from([0x45]) })]);
    expect(t.d.stats()).toMatchObject({ deferred: 1, errors: 1 });
  });
});

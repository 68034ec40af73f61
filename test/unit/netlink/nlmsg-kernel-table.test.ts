/**
 * createKernelTable against a fake ctnetlink kernel behind a fake socket:
 * batching, error matching by sequence number, EEXIST retry, ENOENT on
 * delete, dump with NLM_F_DUMP_INTR, overruns, events.
 */
import { describe, expect, it } from 'vitest';
import { createKernelTable, type OpenNetlink } from '../../../src/netlink/kernel-table';
import type { AttrTransforms } from '../../../src/netlink/ct-batch-encode';
import {
  NLM_F_ACK,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_DUMP_INTR,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  encodeMessage,
  parseDatagram,
  type NlMessage,
} from '../../../src/netlink/nlmsg';
import { CT_GET_STATS_TYPE, encodeRequest, parseNfMessage } from '../../../src/netlink/nfnl';
import type { NetlinkSocket, NetlinkSocketOptions, SockError } from '../../../src/netlink/socket';
import type { CtEvent, CtRecord } from '../../../src/netlink/types';
import { silentLogger } from '../../../src/util/log';

const identity: AttrTransforms = {
  toCreateAttrs: (r) => r.attrs,
  toUpdateAttrs: (r) => r.attrs,
  toDeleteAttrs: (r) => r.attrs,
  toExpectCreateAttrs: (r) => r.attrs,
};

/** A record whose only attribute is a CTA_TUPLE_ORIG-typed blob holding n (the fake kernel's key). */
function rec(n: number, extra = 0): CtRecord {
  const a = Buffer.alloc(16);
  a.writeUInt16LE(8, 0);
  a.writeUInt16LE(1, 2); // CTA_TUPLE_ORIG (type only matters for the delete guard)
  a.writeUInt32BE(n, 4);
  a.writeUInt16LE(8, 8);
  a.writeUInt16LE(8, 10); // CTA_MARK
  a.writeUInt32BE(extra, 12);
  return { kind: 'ct', family: 2, attrs: a };
}

interface FakeKernelOpts {
  /** Split dump replies into datagrams of this many entries. */
  perDatagram?: number;
  /** Flag the first N dumps with NLM_F_DUMP_INTR. */
  interruptDumps?: number;
  /** Drop all replies of the next send and report ENOBUFS instead. */
  overrunNextSend?: boolean;
  /** Fail creates of this key with EINVAL. */
  invalidKey?: number;
}

class FakeKernel {
  readonly table = new Map<number, Buffer>();
  readonly sends: Buffer[] = [];
  readonly sockets: FakeSocket[] = [];
  constructor(readonly o: FakeKernelOpts = {}) {}
  open: OpenNetlink = (opts) => {
    const s = new FakeSocket(this, opts);
    this.sockets.push(s);
    return s;
  };
}

function key(attrs: Buffer): number {
  return attrs.readUInt32BE(4);
}

function errorMsg(req: NlMessage, errno: number): Buffer {
  const p = Buffer.alloc(20);
  p.writeInt32LE(-errno, 0);
  p.writeUInt32LE(16 + req.payload.length, 4);
  p.writeUInt16LE(req.type, 8);
  p.writeUInt16LE(req.flags, 10);
  p.writeUInt32LE(req.seq, 12);
  return encodeMessage(NLMSG_ERROR, NLM_F_CAPPED, req.seq, [p]);
}

class FakeSocket implements NetlinkSocket {
  readonly portId = 4242;
  onData: ((d: Buffer[]) => void) | null = null;
  onError: ((e: SockError) => void) | null = null;
  closed = false;
  constructor(
    private readonly k: FakeKernel,
    readonly opts: NetlinkSocketOptions,
  ) {}

  send(msgs: Buffer[]): SockError | null {
    const out: Buffer[] = [];
    for (const dg of msgs) {
      this.k.sends.push(dg);
      for (const m of parseDatagram(dg).messages) this.handle(m, out);
    }
    if (this.k.o.overrunNextSend) {
      this.k.o.overrunNextSend = false;
      setImmediate(() => this.onError?.({ code: 'ENOBUFS', errno: 105, op: 'recv' }));
      return null;
    }
    if (out.length > 0) setImmediate(() => this.onData?.(out));
    return null;
  }
  sendOne(parts: Buffer[]): SockError | null {
    return this.send([Buffer.concat(parts)]);
  }

  private handle(m: NlMessage, out: Buffer[]): void {
    const ack = (errno: number): void => {
      if (errno !== 0 || (m.flags & NLM_F_ACK) !== 0) out.push(errorMsg(m, errno));
    };
    if (m.type === NLMSG_NOOP) return ack(0);
    if (m.type === CT_GET_STATS_TYPE) {
      const a = Buffer.alloc(8);
      a.writeUInt16LE(8, 0);
      a.writeUInt16LE(1, 2);
      a.writeUInt32BE(this.k.table.size, 4);
      out.push(encodeRequest(CT_GET_STATS_TYPE, 0, m.seq, 0, a));
      return ack(0);
    }
    const nf = parseNfMessage(m);
    if (!nf.ok) return ack(22);
    const t = this.k.table;
    if (nf.value.msg === 1) {
      // dump
      const intr = (this.k.o.interruptDumps ?? 0) > 0;
      if (intr) this.k.o.interruptDumps = (this.k.o.interruptDumps ?? 0) - 1;
      const per = this.k.o.perDatagram ?? 3;
      let dg: Buffer[] = [];
      for (const attrs of t.values()) {
        dg.push(encodeRequest(m.type & 0xff00, NLM_F_MULTI | (intr ? NLM_F_DUMP_INTR : 0), m.seq, 2, attrs));
        if (dg.length === per) {
          out.push(Buffer.concat(dg));
          dg = [];
        }
      }
      dg.push(encodeMessage(NLMSG_DONE, NLM_F_MULTI, m.seq, [Buffer.alloc(4)]));
      out.push(Buffer.concat(dg));
      return;
    }
    if (nf.value.msg === 2) {
      if (nf.value.attrs.length === 0) {
        t.clear();
        return ack(0);
      }
      return ack(t.delete(key(nf.value.attrs)) ? 0 : 2);
    }
    const k = key(nf.value.attrs);
    if (k === this.k.o.invalidKey) return ack(22);
    const exists = t.has(k);
    if (exists && (m.flags & NLM_F_EXCL) !== 0) return ack(17);
    if (!exists && (m.flags & NLM_F_CREATE) === 0) return ack(2);
    t.set(k, Buffer.from(nf.value.attrs));
    return ack(0);
  }

  start(onData: (d: Buffer[]) => void, onError: (e: SockError) => void): void {
    this.onData = onData;
    this.onError = onError;
  }
  stop(): void {
    this.onData = null;
  }
  addMembership(): SockError | null {
    return null;
  }
  dropMembership(): SockError | null {
    return null;
  }
  setRcvbuf(): SockError | null {
    return null;
  }
  getRcvbuf(): number {
    return 0;
  }
  setOption(): SockError | null {
    return null;
  }
  getOption(): number {
    return 0;
  }
  stats() {
    return { wakeups: 0, datagrams: 0, bytes: 0, enobufs: 0, truncated: 0, foreign: 0, errors: 0 };
  }
  ref(): void {}
  unref(): void {}
  close(): void {
    this.closed = true;
  }
}

function table(k: FakeKernel, window = { maxMessages: 4, maxBytes: 1 << 20 }) {
  return createKernelTable({ logger: silentLogger(), openSocket: k.open, transforms: identity, window, netns: 'x1' });
}

describe('kernel table over a fake ctnetlink socket', () => {
  it('creates in windows of many messages per datagram, one ACK each', async () => {
    const k = new FakeKernel();
    const t = table(k);
    const recs = Array.from({ length: 10 }, (_, i) => rec(i));
    const r = await t.create(recs);
    expect(r).toEqual({ ok: 10, failed: [] });
    expect(k.table.size).toBe(10);
    expect(k.sends).toHaveLength(3); // 4 + 4 + 2
    const first = parseDatagram(k.sends[0] ?? Buffer.alloc(0)).messages;
    expect(first.map((m) => m.flags & NLM_F_ACK)).toEqual([0, 0, 0, 0, NLM_F_ACK]);
    expect(k.sockets[0]?.opts.netns).toBe('/var/run/netns/x1');
    t.close();
    expect(k.sockets[0]?.closed).toBe(true);
  });

  it('matches errors to the entry by sequence number and retries EEXIST as update', async () => {
    const k = new FakeKernel({ invalidKey: 6 });
    const t = table(k);
    await t.create([rec(2), rec(5)]);
    const r = await t.create([rec(1), rec(2, 7), rec(3), rec(5, 9), rec(6), rec(7)]);
    expect(r.failed).toEqual([{ index: 4, code: 'EINVAL', errno: 22 }]);
    expect(r.ok).toBe(5);
    expect(r.existed).toBe(2);
    expect(k.table.get(2)?.readUInt32BE(12)).toBe(7);
    expect(k.table.get(5)?.readUInt32BE(12)).toBe(9);
    t.close();
  });

  it('update of a missing entry fails with ENOENT; delete of a missing entry is ok-but-absent', async () => {
    const k = new FakeKernel();
    const t = table(k);
    await t.create([rec(1), rec(2)]);
    expect(await t.update([rec(1, 3), rec(9)])).toEqual({ ok: 1, failed: [{ index: 1, code: 'ENOENT', errno: 2 }] });
    expect(await t.delete([rec(1), rec(9), rec(2)])).toEqual({ ok: 3, failed: [], absent: 1 });
    expect(k.table.size).toBe(0);
    t.close();
  });

  it('refuses a delete that would flush the table', async () => {
    const k = new FakeKernel();
    const t = table(k);
    await t.create([rec(1)]);
    const noTuple: CtRecord = { kind: 'ct', family: 2, attrs: rec(1).attrs.subarray(8) };
    const r = await t.delete([noTuple]);
    expect(r.failed.map((f) => [f.index, f.code])).toEqual([[0, 'EINVAL']]);
    expect(k.table.size).toBe(1);
    t.close();
  });

  it('dumps across datagrams and dumps again after NLM_F_DUMP_INTR', async () => {
    const k = new FakeKernel({ interruptDumps: 2, perDatagram: 2 });
    const t = table(k);
    await t.create(Array.from({ length: 7 }, (_, i) => rec(i)));
    const recs = await t.dump('ct');
    expect(recs.map((r) => key(r.attrs))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(t.stats().dumpRestarts).toBe(2);
    expect(await t.count('ct')).toBe(7);
    await t.flush('ct');
    expect(await t.count('ct')).toBe(0);
    t.close();
  });

  it('runs concurrent operations one at a time', async () => {
    const k = new FakeKernel();
    const t = table(k);
    const [a, b, c] = await Promise.all([t.create([rec(1), rec(2)]), t.dump('ct'), t.count('ct')]);
    expect(a.ok).toBe(2);
    expect(b).toHaveLength(2);
    expect(c).toBe(2);
    t.close();
  });

  it('a window whose replies were lost in an overrun ends and reports its entries as unknown', async () => {
    const k = new FakeKernel({ overrunNextSend: true });
    const t = table(k);
    const r = await t.create([rec(1), rec(2), rec(3), rec(4), rec(5)]);
    expect(r.failed.map((f) => [f.index, f.code])).toEqual([
      [0, 'ENOBUFS'],
      [1, 'ENOBUFS'],
      [2, 'ENOBUFS'],
      [3, 'ENOBUFS'],
    ]);
    expect(r.ok).toBe(1);
    expect(t.stats().commandOverruns).toBe(1);
    t.close();
  });

  it('rejects operations with a typed error when the socket cannot be opened', async () => {
    const t = createKernelTable({
      logger: silentLogger(),
      transforms: identity,
      openSocket: () => ({ code: 'ENOENT', errno: 2, op: 'setns' }),
    });
    await expect(t.dump('ct')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(t.create([rec(1)])).rejects.toMatchObject({ code: 'ENOENT' });
    t.close();
  });

  it('delivers events in order, counts overruns and survives garbage', async () => {
    const k = new FakeKernel();
    const t = table(k);
    const got: CtEvent[] = [];
    let overrunCalls = 0;
    const sub = t.subscribe(
      { kinds: ['ct', 'expect'], types: ['new', 'destroy'], reliable: true },
      { onEvents: (e) => got.push(...e), onOverrun: () => overrunCalls++ },
    );
    const s = k.sockets[0];
    if (!s) throw new Error('no socket');
    expect(s.opts.groups).toEqual([1, 3, 4, 6]);
    expect(s.opts.broadcastError).toBe(true);
    expect(s.opts.noEnobufs).toBe(false);
    const ev = (msg: number, flags: number, n: number, subsys = 1) =>
      encodeRequest((subsys << 8) | msg, flags, 0, 2, rec(n).attrs);
    s.onData?.([
      Buffer.concat([ev(0, NLM_F_CREATE | NLM_F_EXCL, 1), ev(0, 0, 1)]),
      Buffer.from('garbage!'),
      ev(2, 0, 1),
      ev(0, NLM_F_CREATE | NLM_F_EXCL, 4, 2),
    ]);
    s.onError?.({ code: 'ENOBUFS', errno: 105, op: 'recv' });
    s.onData?.([ev(2, 0, 9)]);
    expect(got.map((e) => [e.type, e.record.kind, key(e.record.attrs)])).toEqual([
      ['new', 'ct', 1],
      ['update', 'ct', 1],
      ['destroy', 'ct', 1],
      ['new', 'expect', 4],
      ['destroy', 'ct', 9],
    ]);
    expect(sub.overruns).toBe(1);
    expect(overrunCalls).toBe(1);
    expect(t.stats().badMessages).toBe(1);
    t.close();
    expect(s.closed).toBe(true);
  });
});

/**
 * Wiring of the in-process pipeline benchmark (src/bench/pipeline.ts): the
 * same pieces the daemon uses (kernel table event path, mirror with the
 * daemon's filter, packed caches, sync engine in FT-FW), two fake clocks and
 * an in-memory link, plus synthetic kernel event datagrams.
 */
import { createCache } from '../cache/packed-cache';
import { compileFilter } from '../cache/filter';
import { createMirror } from '../cache/mirror';
import type { Cache } from '../cache/types';
import { createKernelTable } from '../netlink/kernel-table';
import { CTA } from '../netlink/ct/consts';
import { tupleKey } from '../netlink/ct/key';
import { peekFlow } from '../netlink/ct/peek';
import { sameFlow } from '../netlink/ct/same';
import { CT_SYNC_DROP } from '../netlink/ct/sync-attrs';
import type { NetlinkSocket } from '../netlink/socket';
import type { KernelTable } from '../netlink/table';
import type { CtKind, CtRecord } from '../netlink/types';
import { createSyncEngine, type SyncEngine } from '../sync/engine';
import { seededRandom } from '../transport/seeded-random';
import { emptyTransportStats, type Transport } from '../transport/types';
import { FakeClock } from '../util/clock';
import { silentLogger } from '../util/log';
import { makeFlows } from './flows';

/** nlmsghdr (16) + nfgenmsg (4); NLM_F_CREATE | NLM_F_EXCL (linux/netlink.h) marks a NEW event. */
const NLMSG_HDR = 16;
const NFGEN = 4;
const NLM_F_CREATE_EXCL = 0x400 | 0x200;
/** (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW (nfnetlink_conntrack.h). */
const CT_NEW = 0x100;
const PER_WAKEUP = 256;
const MTU = 1472;

/** A kernel NEW event for each flow: its attributes plus CTA_ID and CTA_USE (u32 BE), as the kernel adds them. */
export function eventWakeups(n: number): Buffer[][] {
  const flows = makeFlows(n);
  const out: Buffer[][] = [];
  for (let i = 0; i < flows.length; i += PER_WAKEUP) {
    const batch = flows.slice(i, i + PER_WAKEUP);
    const sizes = batch.map((f) => NLMSG_HDR + NFGEN + f.attrs.length + 16);
    const big = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
    const views: Buffer[] = [];
    let off = 0;
    batch.forEach((f, j) => {
      const len = sizes[j] as number;
      big.writeUInt32LE(len, off);
      big.writeUInt16LE(CT_NEW, off + 4);
      big.writeUInt16LE(NLM_F_CREATE_EXCL, off + 6);
      big[off + 16] = f.family;
      let p = off + NLMSG_HDR + NFGEN;
      f.attrs.copy(big, p);
      p += f.attrs.length;
      for (const [t, v] of [[CTA.ID, i + j + 1], [CTA.USE, 1]] as const) {
        big.writeUInt16LE(8, p);
        big.writeUInt16LE(t, p + 2);
        big.writeUInt32BE(v, p + 4);
        p += 8;
      }
      views.push(big.subarray(off, off + len));
      off += len;
    });
    out.push(views);
  }
  return out;
}

interface Side {
  clock: FakeClock;
  engine: SyncEngine;
  inbox: Buffer[];
  onDatagram: ((d: Buffer, from: string) => void) | null;
  internal: Record<CtKind, Cache>;
  external: Record<CtKind, Cache>;
  ms: number;
}

function memTransport(side: () => Side, peer: () => Side): Transport {
  return {
    name: 'mem',
    mtu: MTU,
    send(d) {
      peer().inbox.push(d);
      return true;
    },
    onDatagram(h) {
      side().onDatagram = h;
    },
    open: () => Promise.resolve(),
    close: () => Promise.resolve(),
    stats: emptyTransportStats,
  };
}

function makeSide(name: string, seed: number, transport: Transport): Side {
  const mk = (n: string): Cache => createCache({ name: n, limit: 4_000_000 });
  const clock = new FakeClock();
  const internal = { ct: mk(`${name}-internal`), expect: mk(`${name}-internal-expect`) };
  const external = { ct: mk(`${name}-external`), expect: mk(`${name}-external-expect`) };
  const engine = createSyncEngine({
    mode: 'ftfw',
    transport,
    clock,
    random: seededRandom(seed),
    internal,
    external,
    keyOf: (r: CtRecord) => tupleKey(r) ?? undefined,
    syncDrop: { ct: CT_SYNC_DROP },
    logger: silentLogger(),
    options: { ftfw: { resendQueueSize: 262_144 } },
  });
  return { clock, engine, inbox: [], onDatagram: null, internal, external, ms: 0 };
}

export interface Pipeline {
  wakeups: Buffer[][];
  feed(wakeup: Buffer[]): void;
  /** Deliver queued datagrams both ways, then advance both clocks by 1 ms. */
  round(): void;
  receiverSize(): number;
  /** The sender's internal and the receiver's external ct cache (for checks). */
  senderInternal(): Cache;
  receiverExternal(): Cache;
  clearReceiver(): void;
  bulkSend(): void;
  bulkDone(): boolean;
  sentDatagrams(): number;
  senderStats(): Record<string, number>;
  resetTimes(): void;
  times(): { senderMs: number; receiverMs: number };
  stop(): void;
}

export async function buildPipeline(n: number): Promise<Pipeline> {
  let a: Side | undefined;
  let b: Side | undefined;
  const A = (): Side => a as Side;
  const B = (): Side => b as Side;
  a = makeSide('fw1', 1, memTransport(A, B));
  b = makeSide('fw2', 2, memTransport(B, A));

  let onData: ((d: Buffer[]) => void) | null = null;
  const fakeSocket = { start: (d: (x: Buffer[]) => void) => (onData = d), stop() {}, close() {} } as unknown as NetlinkSocket;
  const kt = createKernelTable({ logger: silentLogger(), openSocket: () => fakeSocket });
  const table: KernelTable = { ...kt, dump: () => Promise.resolve([]) };
  const filter = compileFilter({ ignoreOwn: ['198.19.255.1', '198.19.255.2'] });
  const mirror = createMirror({
    table,
    cache: a.internal.ct,
    kind: 'ct',
    keyOf: tupleKey,
    accept: (rec) => {
      const s = peekFlow(rec);
      return s !== null && filter(s);
    },
    clock: a.clock,
    emitInitial: false,
    same: sameFlow,
  });
  const engA = a.engine;
  mirror.onChange((c) => engA.local(c));
  a.engine.start();
  b.engine.start();
  await mirror.start();
  let done = false;
  b.engine.onPeerEvent((ev) => {
    if (ev.type === 'bulk-done') done = true;
  });
  const wakeups = eventWakeups(n);

  // CPU time of this process (user + system), not wall time: the numbers hold on a loaded machine.
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const timed = (s: Side, fn: () => void): void => {
    const t0 = cpuMs();
    fn();
    s.ms += cpuMs() - t0;
  };
  const drain = (s: Side, from: string): void => {
    if (s.inbox.length === 0) return;
    const box = s.inbox.splice(0);
    timed(s, () => {
      const h = s.onDatagram;
      if (h !== null) for (const d of box) h(d, from);
    });
  };
  const pa = A();
  const pb = B();
  return {
    wakeups,
    feed: (w) => timed(pa, () => onData?.(w)),
    round() {
      drain(pb, 'fw1');
      drain(pa, 'fw2');
      timed(pa, () => pa.clock.advance(1));
      timed(pb, () => pb.clock.advance(1));
    },
    receiverSize: () => pb.external.ct.size,
    senderInternal: () => pa.internal.ct,
    receiverExternal: () => pb.external.ct,
    clearReceiver: () => pb.external.ct.clear(),
    bulkSend() {
      done = false;
      timed(pa, () => pa.engine.bulkSend());
    },
    bulkDone: () => done,
    sentDatagrams: () => pa.engine.stats().sent.datagrams,
    senderStats: () => pa.engine.stats().modeStats,
    resetTimes() {
      pa.ms = 0;
      pb.ms = 0;
    },
    times: () => ({ senderMs: pa.ms, receiverMs: pb.ms }),
    stop() {
      mirror.stop();
      pa.engine.stop();
      pb.engine.stop();
    },
  };
}

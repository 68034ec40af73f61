/** A scriptable DaemonApi for control-plane tests: records every call. */
import type { CommitProgress, DaemonApi, DaemonStatus, DumpEntry, StatsResult } from '../../../src/daemon/api';
import type { Conntrack, CtRecord, Decoded } from '../../../src/netlink/types';

export interface FakeDaemon extends DaemonApi {
  calls: Array<[string, ...unknown[]]>;
  /** Make the next call of `method` reject with this error. */
  failNext(method: string, err: Error & { code?: string }): void;
  /** Commit waits for this promise before resolving (to test EBUSY). */
  commitGate?: Promise<void>;
  commitTotal: number;
  dump: DumpEntry[];
  statsResult: StatsResult;
}

/** Test records carry a JSON-encoded Conntrack in attrs; fakeDecode reads it back. */
export function fakeRecord(ct: Conntrack): CtRecord {
  return { kind: 'ct', family: ct.family, attrs: Buffer.from(JSON.stringify(ct)) };
}

export function fakeDecode(rec: CtRecord): Decoded<Conntrack> {
  try {
    return { ok: true, value: JSON.parse(rec.attrs.toString()) as Conntrack, consumed: rec.attrs.length };
  } catch {
    return { ok: false, error: { code: 'EBADATTR', message: 'not json', offset: 0 } };
  }
}

export const sampleStatus: DaemonStatus = {
  pid: 4242,
  version: '0.1.0',
  state: 'MASTER',
  mode: 'ftfw',
  uptimeSeconds: 3725,
  peers: [{ address: '198.51.100.2', state: 'BACKUP', lastSeenSeconds: 1 }],
  cache: { internal: 6, external: 0 },
  lastTransition: {
    from: 'BACKUP',
    to: 'MASTER',
    atEpochMs: 1_700_000_000_000,
    steps: [
      { name: 'commit external cache', ms: 120, ok: true },
      { name: 'bulk send', ms: 3, ok: false, error: 'no peer' },
    ],
  },
};

export function createFakeDaemon(): FakeDaemon {
  const pending = new Map<string, Error>();
  const d: FakeDaemon = {
    calls: [],
    commitTotal: 3,
    dump: [],
    statsResult: {
      kind: 'general',
      internal: { current: 1, created: 1, createdFailed: 0, updated: 0, updatedFailed: 0, destroyed: 0, destroyedFailed: 0 },
      traffic: { bytes: 0, packets: 0 },
      messages: { malformed: 0, lost: 0 },
    },
    failNext(method, err) {
      pending.set(method, err);
    },
    async commit(kind, progress?: (p: CommitProgress) => void) {
      d.calls.push(['commit', kind]);
      check('commit');
      for (let i = 1; i <= d.commitTotal; i++) progress?.({ done: i, total: d.commitTotal });
      if (d.commitGate) await d.commitGate;
      return { committed: d.commitTotal, failed: 0, seconds: 0.5 };
    },
    async flushCache(which) {
      d.calls.push(['flushCache', which]);
      check('flushCache');
    },
    async flushKernel(kind) {
      d.calls.push(['flushKernel', kind]);
      check('flushKernel');
    },
    async dumpCache(which, kind) {
      d.calls.push(['dumpCache', which, kind]);
      check('dumpCache');
      return d.dump;
    },
    async stats(section) {
      d.calls.push(['stats', section]);
      check('stats');
      return d.statsResult;
    },
    async resyncKernel(kind) {
      d.calls.push(['resyncKernel', kind]);
      check('resyncKernel');
    },
    async requestResync() {
      d.calls.push(['requestResync']);
      check('requestResync');
    },
    async bulkSend() {
      d.calls.push(['bulkSend']);
      check('bulkSend');
    },
    async shortenTimers() {
      d.calls.push(['shortenTimers']);
      check('shortenTimers');
    },
    async kill() {
      d.calls.push(['kill']);
      check('kill');
    },
    async status() {
      d.calls.push(['status']);
      check('status');
      return sampleStatus;
    },
  };
  function check(m: string): void {
    const e = pending.get(m);
    if (e) {
      pending.delete(m);
      throw e;
    }
  }
  return d;
}

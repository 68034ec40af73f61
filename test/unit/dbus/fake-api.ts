/** A DaemonApi that records calls; state and failures are set by the test. */
import type { DaemonApi, DaemonStatus, HaState, StatsResult } from '../../../src/daemon/api';

export interface FakeApi extends DaemonApi {
  calls: string[];
  state: HaState;
  internal: number;
  /** Method name -> error thrown (with optional code). */
  failures: Map<string, { code?: string; message: string }>;
  /** Resolves pending commit calls when set. */
  commitGate?: Promise<void>;
  transition?: DaemonStatus['lastTransition'];
}

export function fakeApi(): FakeApi {
  const fail = (api: FakeApi, name: string): void => {
    const f = api.failures.get(name);
    if (f) throw Object.assign(new Error(f.message), f.code ? { code: f.code } : {});
  };
  const api: FakeApi = {
    calls: [],
    state: 'BACKUP',
    internal: 3,
    failures: new Map(),
    async commit(kind) {
      api.calls.push(`commit ${kind}`);
      if (api.commitGate) await api.commitGate;
      fail(api, 'commit');
      return { committed: 7, failed: 1, seconds: 0.25 };
    },
    async flushCache(which) {
      api.calls.push(`flushCache ${which}`);
      fail(api, 'flushCache');
    },
    async flushKernel(kind) {
      api.calls.push(`flushKernel ${kind}`);
    },
    async dumpCache() {
      return [];
    },
    async stats(section) {
      api.calls.push(`stats ${section}`);
      fail(api, 'stats');
      const s: StatsResult = {
        kind: 'general',
        internal: { current: api.internal, created: 10, createdFailed: 0, updated: 4, updatedFailed: 0, destroyed: 7, destroyedFailed: 0 },
        traffic: { bytes: 1234, packets: 12 },
        messages: { malformed: 0, lost: 2 },
      };
      return s;
    },
    async resyncKernel(kind) {
      api.calls.push(`resyncKernel ${kind}`);
    },
    async requestResync() {
      api.calls.push('requestResync');
    },
    async bulkSend() {
      api.calls.push('bulkSend');
      fail(api, 'bulkSend');
    },
    async shortenTimers() {
      api.calls.push('shortenTimers');
    },
    async kill() {
      api.calls.push('kill');
    },
    async status() {
      fail(api, 'status');
      return {
        pid: 4242,
        version: '0.1.0',
        state: api.state,
        mode: 'ftfw',
        uptimeSeconds: 5,
        peers: [],
        cache: { internal: api.internal, external: 2 },
        ...(api.transition ? { lastTransition: api.transition } : {}),
      };
    },
  };
  return api;
}

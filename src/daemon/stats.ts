/** Builds the `-s` statistics sections from the live components. Pure mapping. */
import type { CompiledFilter } from '../cache/filter';
import type { MirrorStats } from '../cache/mirror';
import type { Cache, CacheStats } from '../cache/types';
import type { SyncEngine } from '../sync/engine';
import type { Transport } from '../transport/types';
import type { CacheCounters, CacheDetail, CacheName, LinkStats, StatsResult, StatsSection } from './api';

export interface StatsSources {
  internal: { ct: Cache; expect: Cache };
  external: { ct: Cache; expect: Cache };
  engine: SyncEngine;
  transport: Transport;
  mirrors: () => MirrorStats[];
  filter: CompiledFilter;
  counters: { flushKernel: number; resyncKernel: number; commits: number };
  uptimeSeconds: () => number;
  netlinkBufferSize: number;
  externalDisabled: boolean;
  /** Active sync link as conntrackd names it: protocol ('UDP', 'TCP', 'multicast') and Interface. */
  linkName: { proto: string; device: string };
}

function counters(s: CacheStats): CacheCounters {
  return {
    current: s.current,
    created: s.created,
    createdFailed: s.failed,
    updated: s.updated,
    updatedFailed: 0,
    destroyed: s.destroyed + s.expired,
    destroyedFailed: 0,
  };
}

function detail(name: CacheName, s: CacheStats): CacheDetail {
  return {
    name,
    active: s.current,
    total: s.current,
    createdOk: s.created,
    createdFailed: s.failed,
    noMemory: 0,
    noSpace: s.failed,
    updatedOk: s.updated,
    updatedFailed: 0,
    updateNotFound: 0,
    deletedOk: s.destroyed + s.expired,
    deletedFailed: 0,
    deleteNotFound: 0,
  };
}

function link(t: Transport, name: { proto: string; device: string }): LinkStats {
  const s = t.stats();
  return {
    proto: name.proto,
    device: name.device,
    running: true,
    active: true,
    bytesSent: s.sentBytes,
    bytesRecv: s.recvBytes,
    pktsSent: s.sentDatagrams,
    pktsRecv: s.recvDatagrams,
    errorSend: s.sendErrors,
    errorRecv: s.recvErrors,
  };
}

/** Messages detected missing: the mode's own count when it has one, else what FT-FW NACKed. */
function lostMessages(m: Record<string, number>): number {
  return m['lost'] ?? m['nackedMessages'] ?? m['nacksSent'] ?? 0;
}

function sum(obj: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(obj)) n += v;
  return n;
}

export function buildStats(section: StatsSection, src: StatsSources): StatsResult {
  const e = src.engine.stats();
  const rej = e.rejected;
  switch (section) {
    case 'general':
    case 'ct': {
      const ts = src.transport.stats();
      return {
        kind: 'general',
        internal: counters(src.internal.ct.stats()),
        ...(src.externalDisabled ? {} : { external: counters(src.external.ct.stats()) }),
        traffic: { bytes: ts.sentBytes + ts.recvBytes, packets: ts.sentDatagrams + ts.recvDatagrams },
        link: link(src.transport, src.linkName),
        messages: { malformed: sum(rej), lost: lostMessages(e.modeStats) },
      };
    }
    case 'network':
      return {
        kind: 'network',
        recv: {
          malformed: sum(rej),
          wrongVersion: rej['EBADVERSION'] ?? 0,
          malformedHeader: (rej['EBADMAGIC'] ?? 0) + (rej['EBADHEADER'] ?? 0),
          malformedPayload: rej['EBADPAYLOAD'] ?? 0,
          badType: rej['EBADTYPE'] ?? 0,
          truncated: rej['ETRUNCATED'] ?? 0,
          badSize: rej['EBADLEN'] ?? 0,
        },
        send: { malformed: e.sent.oversize },
        seq: { lost: lostMessages(e.modeStats), before: e.modeStats['duplicates'] ?? 0 },
        link: link(src.transport, src.linkName),
      };
    case 'cache':
      return {
        kind: 'cache',
        caches: [
          detail('internal', src.internal.ct.stats()),
          ...(src.externalDisabled ? [] : [detail('external', src.external.ct.stats())]),
        ],
      };
    case 'runtime': {
      const ms = src.mirrors();
      const add = (f: keyof MirrorStats): number => ms.reduce((n, m) => n + m[f], 0);
      return {
        kind: 'runtime',
        uptimeSeconds: Math.floor(src.uptimeSeconds()),
        netlink: {
          eventsReceived: add('events'),
          eventsFiltered: add('filtered'),
          eventsUnknown: add('unkeyed'),
          catchFailed: add('refused'),
          dumpUnknown: add('dumpErrors'),
          overrun: add('overruns'),
          flushKernel: src.counters.flushKernel,
          resyncKernel: src.counters.resyncKernel,
          bufferSize: src.netlinkBufferSize,
        },
        runtime: {
          childFailed: 0,
          childSegfault: 0,
          childTermsig: 0,
          selectFailed: 0,
          waitFailed: 0,
          localReadFailed: 0,
          localUnknown: 0,
        },
      };
    }
    case 'link':
      return { kind: 'link', links: [link(src.transport, src.linkName)] };
    case 'rsqueue':
      return { kind: 'rsqueue', entries: [] };
    case 'queue':
      return {
        kind: 'queue',
        allocatedNodes: e.queue.outgoing + e.queue.resend,
        queues: [
          { name: 'txqueue', current: e.queue.outgoing, max: 0, noSpace: 0 },
          { name: 'errorq', current: 0, max: 0, noSpace: 0 },
          { name: 'rsqueue', current: e.queue.resend, max: 0, noSpace: e.modeStats['overflows'] ?? 0 },
        ],
      };
    case 'process':
      return { kind: 'process', children: [] };
    case 'expect':
      return {
        kind: 'expect',
        internal: counters(src.internal.expect.stats()),
        external: counters(src.external.expect.stats()),
      };
  }
}

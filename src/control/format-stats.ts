/**
 * `-s` statistics layouts, as conntrackd 1.4.7 prints them (tabs and
 * right-aligned %12u / %20llu columns; see test/fixtures/control/stats*.txt),
 * plus the ctsync-only `status` report.
 */
import type {
  CacheCounters,
  DaemonStatus,
  GeneralStats,
  LinkStats,
  StatsResult,
} from '../daemon/api';

/** printf("%Nu"). */
function n(v: number, width: number): string {
  return String(Math.max(0, Math.trunc(v))).padStart(width);
}
const u12 = (v: number): string => n(v, 12);
const u20 = (v: number): string => n(v, 20);

function cacheBlock(name: string, c: CacheCounters): string {
  return (
    `cache ${name}:\n` +
    `current active connections:\t${u12(c.current)}\n` +
    `connections created:\t\t${u12(c.created)}\tfailed:\t${u12(c.createdFailed)}\n` +
    `connections updated:\t\t${u12(c.updated)}\tfailed:\t${u12(c.updatedFailed)}\n` +
    `connections destroyed:\t\t${u12(c.destroyed)}\tfailed:\t${u12(c.destroyedFailed)}\n\n`
  );
}

function linkCounters(l: LinkStats): string {
  return (
    `${u20(l.bytesSent)} Bytes sent ${u20(l.bytesRecv)} Bytes recv\n` +
    `${u20(l.pktsSent)} Pckts sent ${u20(l.pktsRecv)} Pckts recv\n` +
    `${u20(l.errorSend)} Error send ${u20(l.errorRecv)} Error recv\n\n`
  );
}

function activeLink(l: LinkStats | undefined): string {
  return l ? `${l.proto} traffic (active device=${l.device}):\n${linkCounters(l)}` : '';
}

function general(s: GeneralStats): string {
  return (
    cacheBlock('internal', s.internal) +
    (s.external ? cacheBlock('external', s.external) : '') +
    `traffic processed:\n${u20(s.traffic.bytes)} Bytes ${n(s.traffic.packets, 25)} Pckts\n\n` +
    activeLink(s.link) +
    `message tracking:\n${u20(s.messages.malformed)} Malformed msgs ${u20(s.messages.lost)} Lost msgs\n\n`
  );
}

/** conntrackd's uptime(): "[D day(s) ]H h M min" or "[D day(s) ]M min". */
export function formatUptime(seconds: number): string {
  const t = Math.max(0, Math.trunc(seconds));
  const days = Math.trunc(t / 86400);
  let s = days ? `${days} day${days !== 1 ? 's' : ''} ` : '';
  const minutes = Math.trunc(t / 60);
  const hours = Math.trunc(minutes / 60) % 24;
  s += hours ? `${hours} h ${minutes % 60} min` : `${minutes % 60} min`;
  return s;
}

export function formatStats(s: StatsResult): string {
  switch (s.kind) {
    case 'general':
      return general(s);
    case 'network':
      return (
        'network statistics:\n\trecv:\n' +
        `\t\tMalformed messages:\t${u20(s.recv.malformed)}\n` +
        `\t\tWrong protocol version:\t${u20(s.recv.wrongVersion)}\n` +
        `\t\tMalformed header:\t${u20(s.recv.malformedHeader)}\n` +
        `\t\tMalformed payload:\t${u20(s.recv.malformedPayload)}\n` +
        `\t\tBad message type:\t${u20(s.recv.badType)}\n` +
        `\t\tTruncated message:\t${u20(s.recv.truncated)}\n` +
        `\t\tBad message size:\t${u20(s.recv.badSize)}\n` +
        `\tsend:\n\t\tMalformed messages:\t${u20(s.send.malformed)}\n\n` +
        'sequence tracking statistics:\n\trecv:\n' +
        `\t\tPackets lost:\t\t${u20(s.seq.lost)}\n` +
        `\t\tPackets before:\t\t${u20(s.seq.before)}\n\n` +
        activeLink(s.link)
      );
    case 'cache':
      return s.caches
        .map(
          (c) =>
            `cache:${c.name}\tactive objects:\t\t${u12(c.active)}\n` +
            `\tactive/total entries:\t\t${u12(c.active)}/${u12(c.total)}\n` +
            `\tcreation OK/failed:\t\t${u12(c.createdOk)}/${u12(c.createdFailed)}\n` +
            `\t\tno memory available:\t${u12(c.noMemory)}\n` +
            `\t\tno space left in cache:\t${u12(c.noSpace)}\n` +
            `\tupdate OK/failed:\t\t${u12(c.updatedOk)}/${u12(c.updatedFailed)}\n` +
            `\t\tentry not found:\t${u12(c.updateNotFound)}\n` +
            `\tdeletion created/failed:\t${u12(c.deletedOk)}/${u12(c.deletedFailed)}\n` +
            `\t\tentry not found:\t${u12(c.deleteNotFound)}\n\n`,
        )
        .join('');
    case 'runtime': {
      const nl = s.netlink;
      const r = s.runtime;
      return (
        `daemon uptime: ${formatUptime(s.uptimeSeconds)}\n\n` +
        'netlink stats:\n' +
        `\tevents received:\t${u20(nl.eventsReceived)}\n` +
        `\tevents filtered:\t${u20(nl.eventsFiltered)}\n` +
        `\tevents unknown type:\t\t${u12(nl.eventsUnknown)}\n` +
        `\tcatch event failed:\t\t${u12(nl.catchFailed)}\n` +
        `\tdump unknown type:\t\t${u12(nl.dumpUnknown)}\n` +
        `\tnetlink overrun:\t\t${u12(nl.overrun)}\n` +
        `\tflush kernel table:\t\t${u12(nl.flushKernel)}\n` +
        `\tresync with kernel table:\t${u12(nl.resyncKernel)}\n` +
        `\tcurrent buffer size (in bytes):\t${u12(nl.bufferSize)}\n\n` +
        'runtime stats:\n' +
        `\tchild process failed:\t\t${u12(r.childFailed)}\n` +
        `\t\tchild process segfault:\t${u12(r.childSegfault)}\n` +
        `\t\tchild process termsig:\t${u12(r.childTermsig)}\n` +
        `\tselect failed:\t\t\t${u12(r.selectFailed)}\n` +
        `\twait failed:\t\t\t${u12(r.waitFailed)}\n` +
        `\tlocal read failed:\t\t${u12(r.localReadFailed)}\n` +
        `\tlocal unknown request:\t\t${u12(r.localUnknown)}\n\n`
      );
    }
    case 'link':
      return s.links
        .map(
          (l) =>
            `${l.proto} traffic device=${l.device} status=${l.running ? 'RUNNING' : 'SUSPENDED'} ` +
            `role=${l.active ? 'ACTIVE' : 'BACKUP'}:\n${linkCounters(l)}`,
        )
        .join('');
    case 'rsqueue':
      return (
        `resent queue (len=${s.entries.length})\n` +
        s.entries
          .map((e) => (e.type === 'object' ? `object -> seq:${e.seq >>> 0}\n` : `control -> seq:${e.seq >>> 0} flags:${e.flags}\n`))
          .join('')
      );
    case 'queue':
      return (
        `allocated queue nodes:\t\t${u12(s.allocatedNodes)}\n\n` +
        s.queues
          .map(
            (q) =>
              `queue ${q.name}:\n` +
              `current elements:\t\t${u12(q.current)}\n` +
              `maximum elements:\t\t${u12(q.max)}\n` +
              `not enough space errors:\t${u12(q.noSpace)}\n\n`,
          )
          .join('')
      );
    case 'process':
      return s.children.map((c) => `PID=${c.pid} type=${c.type}\n`).join('');
    case 'expect':
      // conntrackd 1.4.7 prints nothing for `-s expect` in sync mode.
      return '';
  }
}

function ago(epochMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - epochMs) / 1000));
  return `${new Date(epochMs).toISOString()} (${s}s ago)`;
}

/** "0-9,12" from an ascending bucket list. */
function bucketRanges(list: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === (list[j] ?? 0) + 1) j++;
    out.push(i === j ? `${list[i]}` : `${list[i]}-${list[j]}`);
    i = j + 1;
  }
  return out.length === 0 ? 'none' : out.join(',');
}

/** Active-active lines of `status` (only when the daemon runs a Cluster section). */
function clusterLines(c: NonNullable<DaemonStatus['cluster']>): string[] {
  const lines = [
    `cluster:  node ${c.nodeId} ${c.phase}, holds ${bucketRanges(c.held)} of ${c.buckets} buckets (aim ${bucketRanges(c.aim)})`,
    `          members ${c.members.join(',')}; takeovers ${c.takeovers.runs} (${c.takeovers.committed} flows, ${c.takeovers.failed} failed), releases ${c.releases.runs} (${c.releases.deleted} flows)`,
  ];
  const d = c.deferral;
  if (d !== undefined) {
    lines.push(
      `          deferral queue ${d.queue} (${d.backend}, ${d.attach}), up to ${d.timeoutMs} ms: ${d.deferred} held, ` +
        `${d.acceptedAfterAck} released by ack, ${d.acceptedOnTimeout} by timeout, ${d.notNew} not new, ${d.errors} errors, ${d.orphans} withdrawn`,
    );
  }
  return lines;
}

/** `ctsyncd status`: a readable summary (ctsync only, no conntrackd equivalent). */
export function formatStatus(st: DaemonStatus, nowMs: number): string {
  const lines = [
    `ctsyncd ${st.version} (pid ${st.pid}), up ${formatUptime(st.uptimeSeconds)}`,
    `state:    ${st.state}`,
    `mode:     ${st.mode.toUpperCase()}`,
    `caches:   internal ${st.cache.internal} entries, external ${st.cache.external} entries` +
      (st.cache.internalExpect !== undefined || st.cache.externalExpect !== undefined
        ? `; expectations ${st.cache.internalExpect ?? 0}/${st.cache.externalExpect ?? 0}`
        : ''),
  ];
  if (st.sync !== undefined) {
    const keys = Object.keys(st.sync).filter((k) => (st.sync?.[k] ?? 0) !== 0).sort();
    lines.push(`sync:     ${keys.length === 0 ? 'no events yet' : keys.map((k) => `${k}=${st.sync?.[k]}`).join(' ')}`);
  }
  if (st.peers.length === 0) lines.push('peers:    none seen');
  for (const [i, p] of st.peers.entries()) {
    const seen = p.lastSeenSeconds !== undefined ? `, last seen ${p.lastSeenSeconds}s ago` : '';
    lines.push(`${i === 0 ? 'peers:   ' : '         '} ${p.address} ${p.state}${seen}`);
  }
  if (st.cluster !== undefined) lines.push(...clusterLines(st.cluster));
  const ff = st.fastFailover;
  if (ff !== undefined) {
    const since = ff.sinceEpochMs !== undefined ? ` since ${ago(ff.sinceEpochMs, nowMs)}` : '';
    lines.push(`fast failover: peer ${ff.peer} ${ff.state === 'unknown' ? 'not heard yet' : ff.state}${since}`);
  }
  const t = st.lastTransition;
  if (!t) {
    lines.push('last transition: none');
  } else {
    const total = t.steps.reduce((a, s) => a + s.ms, 0);
    lines.push(`last transition: ${t.from} -> ${t.to} at ${ago(t.atEpochMs, nowMs)}, ${total} ms`);
    for (const s of t.steps) {
      lines.push(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(24)} ${String(s.ms).padStart(6)} ms${s.error ? `  ${s.error}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

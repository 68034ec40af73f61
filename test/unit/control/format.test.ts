/**
 * Golden-file tests: test/fixtures/control/* were captured from Debian's
 * conntrackd 1.4.7 by capture.sh with the entries listed in entries.txt.
 * Kernel ids and resend sequence numbers are random per capture, so they are
 * read from the golden files; ages are normalised.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConntrackText, formatConntrackXml } from '../../../src/control/format';
import { formatStats, formatStatus, formatUptime } from '../../../src/control/format-stats';
import type { CacheCounters, CacheDetail, LinkStats } from '../../../src/daemon/api';
import type { Conntrack, Tuple } from '../../../src/netlink/types';
import { sampleStatus } from './fake-daemon';

const dir = join(__dirname, '../../fixtures/control');
const golden = (f: string): string => readFileSync(join(dir, f), 'utf8');
const ages = (s: string): string => s.replace(/\[active since \d+s\]/g, '[active since Ns]');

const SEEN_REPLY = 2;
const ASSURED = 4;
const CONFIRMED = 8;

function t(src: string, dst: string, proto: number, a: number, b: number): Tuple {
  return proto === 1 ? { src, dst, proto, icmpType: a, icmpCode: 0, icmpId: b } : { src, dst, proto, sport: a, dport: b };
}
function rev(x: Tuple): Tuple {
  return x.proto === 1
    ? { src: x.dst, dst: x.src, proto: 1, icmpType: 0, icmpCode: 0, icmpId: x.icmpId ?? 0 }
    : { src: x.dst, dst: x.src, proto: x.proto, sport: x.dport ?? 0, dport: x.sport ?? 0 };
}
const NONE: Tuple = { src: '', dst: '', proto: 0 };

/** The six entries of entries.txt, as the internal cache holds them. */
function entries(): Conntrack[] {
  const mk = (family: 2 | 10, orig: Tuple, status: number, mark: number, extra: Partial<Conntrack> = {}): Conntrack => ({
    family, orig, reply: rev(orig), status, mark, ...extra,
  });
  return [
    mk(2, t('192.0.2.10', '203.0.113.20', 6, 40000, 80), ASSURED | CONFIRMED, 0, { protoinfo: { tcp: { state: 3 } } }),
    mk(2, t('192.0.2.11', '203.0.113.53', 17, 5353, 53), CONFIRMED, 42),
    mk(2, t('192.0.2.12', '203.0.113.1', 1, 8, 4242), CONFIRMED, 0),
    mk(2, t('192.0.2.13', '203.0.113.21', 6, 40001, 22), CONFIRMED, 0, { protoinfo: { tcp: { state: 1 } } }),
    mk(2, t('192.0.2.14', '203.0.113.54', 17, 1000, 2000), SEEN_REPLY | CONFIRMED, 0, { zone: 5 }),
    mk(10, t('2001:db8::1', '2001:db8::2', 6, 50000, 443), ASSURED | CONFIRMED, 7, { protoinfo: { tcp: { state: 3 } } }),
  ];
}

describe('cache dumps match conntrackd 1.4.7', () => {
  it('-i text', () => {
    const out = entries().map((c) => `${formatConntrackText(c, 0)}\n`).join('');
    expect(ages(out)).toBe(ages(golden('internal.txt')));
  });

  it('-i -x', () => {
    const ids = [...golden('internal.xml').matchAll(/<id>(\d+)<\/id>/g)].map((m) => Number(m[1]));
    expect(ids).toHaveLength(6);
    const out = entries().map((c, i) => `${formatConntrackXml({ ...c, id: ids[i] })}\n`).join('');
    expect(out).toBe(golden('internal.xml'));
  });

  it('-e text and -e -x (no reply tuple, no id in the external cache)', () => {
    const ext = entries().map((c) => ({ ...c, reply: NONE, id: 1234 }));
    expect(ages(ext.map((c) => `${formatConntrackText(c, 3)}\n`).join(''))).toBe(ages(golden('external.txt')));
    expect(ext.map((c) => `${formatConntrackXml(c, { omitId: true })}\n`).join('')).toBe(golden('external.xml'));
  });

  it('age suffix, counters, offload and helper', () => {
    const c: Conntrack = {
      ...entries()[0]!,
      status: SEEN_REPLY | ASSURED | (1 << 14),
      countersOrig: { packets: 3n, bytes: 180n },
      countersReply: { packets: 2n, bytes: 120n },
      helper: { name: 'ftp' },
      timeout: 99,
      use: 2,
    };
    expect(formatConntrackText(c, 125.7)).toBe(
      'tcp      6 ESTABLISHED src=192.0.2.10 dst=203.0.113.20 sport=40000 dport=80 packets=3 bytes=180 ' +
        'src=203.0.113.20 dst=192.0.2.10 sport=80 dport=40000 packets=2 bytes=120 [OFFLOAD] mark=0 helper=ftp [active since 125s]',
    );
    expect(formatConntrackXml(c)).toContain('<counters><packets>3</packets><bytes>180</bytes></counters></meta>');
  });

  it('SCTP: text uses SCTP state names, XML the TCP table (as libnetfilter_conntrack does)', () => {
    const c: Conntrack = {
      family: 2,
      orig: t('192.0.2.15', '203.0.113.55', 132, 3000, 3001),
      reply: rev(t('192.0.2.15', '203.0.113.55', 132, 3000, 3001)),
      status: CONFIRMED,
      mark: 0,
      protoinfo: { sctp: { state: 4 } },
    };
    expect(formatConntrackText(c, 1)).toBe(
      'sctp     132 ESTABLISHED src=192.0.2.15 dst=203.0.113.55 sport=3000 dport=3001 [UNREPLIED] src=203.0.113.55 dst=192.0.2.15 sport=3001 dport=3000 mark=0 [active since 1s]',
    );
    expect(formatConntrackXml(c)).toContain('<state>FIN_WAIT</state>');
  });

  it('escapes nothing unusual and names unknown protocols', () => {
    const c: Conntrack = { family: 2, orig: { src: '192.0.2.1', dst: '192.0.2.2', proto: 99 }, reply: { src: '192.0.2.2', dst: '192.0.2.1', proto: 99 } };
    expect(formatConntrackText(c, 0)).toBe('unknown  99 src=192.0.2.1 dst=192.0.2.2 src=192.0.2.2 dst=192.0.2.1 [active since 0s]');
    expect(formatConntrackXml(c)).not.toContain('independent');
  });
});

const zero: CacheCounters = { current: 0, created: 0, createdFailed: 0, updated: 0, updatedFailed: 0, destroyed: 0, destroyedFailed: 0 };
const six: CacheCounters = { ...zero, current: 6, created: 6 };
const linkA: LinkStats = { proto: 'UDP', device: 'sync0', running: true, active: true, bytesSent: 528, bytesRecv: 0, pktsSent: 6, pktsRecv: 0, errorSend: 0, errorRecv: 0 };
const linkB: LinkStats = { ...linkA, bytesSent: 0, bytesRecv: 528, pktsSent: 0, pktsRecv: 6 };
function detail(name: 'internal' | 'external', k: number): CacheDetail {
  return { name, active: k, total: k, createdOk: k, createdFailed: 0, noMemory: 0, noSpace: 0, updatedOk: 0, updatedFailed: 0, updateNotFound: 0, deletedOk: 0, deletedFailed: 0, deleteNotFound: 0 };
}
const network = (link: LinkStats) => ({
  kind: 'network' as const,
  recv: { malformed: 0, wrongVersion: 0, malformedHeader: 0, malformedPayload: 0, badType: 0, truncated: 0, badSize: 0 },
  send: { malformed: 0 },
  seq: { lost: 0, before: 0 },
  link,
});

describe('-s layouts match conntrackd 1.4.7', () => {
  it('-s (general), both replicas', () => {
    const base = { kind: 'general' as const, traffic: { bytes: 0, packets: 0 }, messages: { malformed: 0, lost: 0 } };
    expect(formatStats({ ...base, internal: six, external: zero, link: linkA })).toBe(golden('stats.txt'));
    expect(formatStats({ ...base, internal: zero, external: six, link: linkB })).toBe(golden('stats-b.txt'));
  });

  it('-s network', () => {
    expect(formatStats(network(linkA))).toBe(golden('stats-network.txt'));
    expect(formatStats(network(linkB))).toBe(golden('stats-b-network.txt'));
  });

  it('-s cache', () => {
    expect(formatStats({ kind: 'cache', caches: [detail('internal', 6), detail('external', 0)] })).toBe(golden('stats-cache.txt'));
    expect(formatStats({ kind: 'cache', caches: [detail('internal', 0), detail('external', 6)] })).toBe(golden('stats-b-cache.txt'));
  });

  it('-s runtime', () => {
    expect(
      formatStats({
        kind: 'runtime',
        uptimeSeconds: 12,
        netlink: { eventsReceived: 6, eventsFiltered: 0, eventsUnknown: 0, catchFailed: 0, dumpUnknown: 0, overrun: 0, flushKernel: 0, resyncKernel: 0, bufferSize: 2097152 },
        runtime: { childFailed: 0, childSegfault: 0, childTermsig: 0, selectFailed: 0, waitFailed: 0, localReadFailed: 0, localUnknown: 0 },
      }),
    ).toBe(golden('stats-runtime.txt'));
  });

  it('-s link, queue, rsqueue, process, expect', () => {
    expect(formatStats({ kind: 'link', links: [linkA] })).toBe(golden('stats-link.txt'));
    expect(
      formatStats({
        kind: 'queue',
        allocatedNodes: 0,
        queues: [
          { name: 'txqueue', current: 0, max: 2147483647, noSpace: 0 },
          { name: 'errorq', current: 0, max: 128, noSpace: 0 },
          { name: 'rsqueue', current: 6, max: 131072, noSpace: 0 },
        ],
      }),
    ).toBe(golden('stats-queue.txt'));
    const seqs = [...golden('stats-rsqueue.txt').matchAll(/seq:(\d+)/g)].map((m) => Number(m[1]));
    expect(formatStats({ kind: 'rsqueue', entries: seqs.map((seq) => ({ type: 'object' as const, seq })) })).toBe(golden('stats-rsqueue.txt'));
    expect(formatStats({ kind: 'process', children: [] })).toBe(golden('stats-process.txt'));
    expect(formatStats({ kind: 'process', children: [{ pid: 12, type: 'commit' }] })).toBe('PID=12 type=commit\n');
    expect(formatStats({ kind: 'expect' })).toBe(golden('stats-expect.txt'));
    expect(formatStats({ kind: 'link', links: [{ ...linkA, running: false, active: false }] })).toMatch(/^UDP traffic device=sync0 status=SUSPENDED role=BACKUP:\n/);
  });

  it('uptime like conntrackd', () => {
    expect(formatUptime(59)).toBe('0 min');
    expect(formatUptime(3725)).toBe('1 h 2 min');
    expect(formatUptime(86400 + 60)).toBe('1 day 1 min');
    expect(formatUptime(2 * 86400 + 7200)).toBe('2 days 2 h 0 min');
  });

  it('status report', () => {
    expect(formatStatus(sampleStatus, 1_700_000_010_000)).toBe(
      [
        'ctsyncd 0.1.0 (pid 4242), up 1 h 2 min',
        'state:    MASTER',
        'mode:     FTFW',
        'caches:   internal 6 entries, external 0 entries',
        'peers:    198.51.100.2 BACKUP, last seen 1s ago',
        'last transition: BACKUP -> MASTER at 2023-11-14T22:13:20.000Z (10s ago), 123 ms',
        '  ok   commit external cache       120 ms',
        '  FAIL bulk send                     3 ms  no peer',
        '',
      ].join('\n'),
    );
  });
});

/**
 * Round trip against the conntrack tool, on the real kernel:
 *  - entries `conntrack -I` made in namespace A are dumped by our table and
 *    decode to exactly what `conntrack -L -o extended` shows;
 *  - the same records created by ctsync in namespace B list identically in B.
 * IPv6 entries use the documentation prefix 2001:db8::/32; no packet is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, isRoot, have } from '../helpers/netns';
import { comparable, entryKey, fromConntrack, listEntries, type ToolEntry } from '../helpers/conntrack-tool';
import { createKernelTable, type KernelTableHandle } from '../../src/netlink/kernel-table';
import { decodeConntrack } from '../../src/netlink/ct/conntrack';
import { silentLogger } from '../../src/util/log';
import type { CtRecord } from '../../src/netlink/types';

const enabled = isRoot() && have('conntrack');

const INSERTS = [
  // TCP ESTABLISHED + ASSURED
  '-p tcp -s 192.0.2.1 -d 198.51.100.2 --sport 1025 --dport 80 --state ESTABLISHED -u SEEN_REPLY,ASSURED',
  // TCP half-open
  '-p tcp -s 192.0.2.1 -d 198.51.100.2 --sport 1026 --dport 443 --state SYN_SENT',
  // UDP, unreplied
  '-p udp -s 192.0.2.1 -d 198.51.100.2 --sport 5353 --dport 53',
  // ICMP echo
  '-p icmp -s 192.0.2.1 -d 198.51.100.2 --icmp-type 8 --icmp-code 0 --icmp-id 77',
  // IPv6 TCP and UDP, ICMPv6 echo
  '-p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 1000 --dport 22 --state ESTABLISHED -u SEEN_REPLY,ASSURED',
  '-p udp -s 2001:db8::1 -d 2001:db8::2 --sport 1000 --dport 53',
  '-p icmpv6 -s 2001:db8::1 -d 2001:db8::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 5',
  // SNAT and DNAT
  '-p tcp -s 192.0.2.10 -d 198.51.100.20 --sport 1000 --dport 80 --state ESTABLISHED -u SEEN_REPLY,ASSURED --src-nat 203.0.113.1',
  '-p tcp -s 192.0.2.11 -d 203.0.113.5 --sport 1001 --dport 80 --state ESTABLISHED -u SEEN_REPLY --dst-nat 198.51.100.30:8080',
  // mark and zone
  '-p udp -s 192.0.2.12 -d 198.51.100.2 --sport 7 --dport 7 -m 42',
  '-p udp -s 192.0.2.12 -d 198.51.100.2 --sport 7 --dport 7 -w 7',
];

function sorted(list: ToolEntry[]): ToolEntry[] {
  return [...list].sort((a, b) => entryKey(a).localeCompare(entryKey(b)));
}

function withoutTimers(list: ToolEntry[]) {
  return sorted(list).map(comparable);
}

describe.skipIf(!enabled)('kernel table round trip with the conntrack tool', () => {
  const lab = new Lab('ktr');
  let a = '';
  let b = '';
  let ta: KernelTableHandle;
  let tb: KernelTableHandle;
  let dumped: CtRecord[] = [];

  beforeAll(() => {
    a = lab.netns('a');
    b = lab.netns('b');
    for (const args of INSERTS) lab.exec(a, `conntrack -I ${args} -t 1000`);
    ta = createKernelTable({ logger: silentLogger(), netns: a });
    tb = createKernelTable({ logger: silentLogger(), netns: b });
  });
  afterAll(() => {
    ta?.close();
    tb?.close();
    lab.cleanup();
  });

  it('dumps exactly what conntrack -L shows, decoded field by field', async () => {
    const shown = listEntries(lab, a);
    expect(shown).toHaveLength(INSERTS.length);
    dumped = await ta.dump('ct');
    expect(dumped).toHaveLength(INSERTS.length);
    const decoded = dumped.map((r) => {
      const d = decodeConntrack(r);
      if (!d.ok) throw new Error(`decode failed: ${d.error.code} ${d.error.message}`);
      return fromConntrack(d.value);
    });
    expect(withoutTimers(decoded)).toEqual(withoutTimers(shown));
    // Timeouts count down: equal within the time between the two reads.
    const byKey = new Map(shown.map((e) => [entryKey(e), e.timeout]));
    for (const d of decoded) expect(Math.abs(d.timeout - (byKey.get(entryKey(d)) ?? -100))).toBeLessThanOrEqual(2);
  });

  it('records created by ctsync in a second namespace list identically there', async () => {
    const r = await tb.create(dumped);
    expect(r.failed).toEqual([]);
    expect(r.ok).toBe(INSERTS.length);
    const inA = listEntries(lab, a);
    const inB = listEntries(lab, b);
    expect(withoutTimers(inB)).toEqual(withoutTimers(inA));
    expect(inB.every((e) => e.timeout > 990 && e.timeout <= 1000)).toBe(true);
  });

  it('creating again updates instead (EEXIST retried), delete removes, count agrees', async () => {
    const again = await tb.create(dumped);
    expect(again).toMatchObject({ ok: INSERTS.length, failed: [], existed: INSERTS.length });
    expect(await tb.count('ct')).toBe(INSERTS.length);
    const first = dumped.slice(0, 3);
    expect(await tb.delete(first)).toEqual({ ok: 3, failed: [] });
    expect(await tb.delete(first)).toEqual({ ok: 3, failed: [], absent: 3 });
    expect(listEntries(lab, b)).toHaveLength(INSERTS.length - 3);
    await tb.flush('ct');
    expect(listEntries(lab, b)).toHaveLength(0);
    expect(listEntries(lab, a)).toHaveLength(INSERTS.length);
  });
});

/**
 * End to end against the real kernel: entries made with `conntrack -I` in a
 * namespace are dumped over ctnetlink, decoded (decodeConntrack) and printed
 * by src/control/format.ts; the result must equal what conntrackd 1.4.7 prints
 * with `-i` and `-i -x` for the same entries in the same namespace.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatConntrackText, formatConntrackXml } from '../../src/control/format';
import { decodeConntrack } from '../../src/netlink/ct/conntrack';
import { createKernelTable } from '../../src/netlink/kernel-table';
import { silentLogger } from '../../src/util/log';
import { Lab, have, isRoot, waitFor } from '../helpers/netns';

const ready = isRoot() && have('conntrackd') && have('conntrack');

describe.skipIf(!ready)('format.ts against conntrackd 1.4.7 on live kernel entries', () => {
  const lab = new Lab('cf');
  const tmp = mkdtempSync(join(tmpdir(), 'ctsync-cf-'));
  afterAll(() => {
    lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('-i and -i -x', async () => {
    const a = lab.netns('a');
    const b = lab.netns('b');
    lab.veth(a, 'sync0', b, 'sync0', '198.51.100.1/24', '198.51.100.2/24');
    const conf = join(tmp, 'a.conf');
    writeFileSync(
      conf,
      `Sync {\n Mode FTFW { }\n UDP {\n  IPv4_address 198.51.100.1\n  IPv4_Destination_Address 198.51.100.2\n  Port 3780\n  Interface sync0\n }\n}\n` +
        `General {\n HashSize 1024\n HashLimit 4096\n LogFile ${join(tmp, 'a.log')}\n Syslog off\n LockFile ${join(tmp, 'a.lock')}\n UNIX { Path ${join(tmp, 'a.sock')} }\n}\n`,
    );
    lab.spawn(a, ['conntrackd', '-C', conf]);
    lab.onCleanup(() => lab.exec(a, `conntrackd -C ${conf} -k`, { allowFail: true }));
    await waitFor(() => lab.exec(a, `conntrackd -C ${conf} -s`, { allowFail: true }) !== '');
    const inserts = [
      '-p tcp -s 192.0.2.10 -d 203.0.113.20 --sport 40000 --dport 80 --state ESTABLISHED -u ASSURED -t 3600',
      '-p udp -s 192.0.2.11 -d 203.0.113.53 --sport 5353 --dport 53 -t 120 --mark 42',
      '-p icmp -s 192.0.2.12 -d 203.0.113.1 -t 30 --icmp-type 8 --icmp-code 0 --icmp-id 4242',
      '-p tcp -s 2001:db8::1 -d 2001:db8::2 --sport 50000 --dport 443 --state ESTABLISHED -u ASSURED -t 3600 --mark 7',
      '-p udp -s 192.0.2.14 -d 203.0.113.54 --sport 1000 --dport 2000 -t 60 --zone 5 -u SEEN_REPLY',
      '-p sctp -s 192.0.2.15 -d 203.0.113.55 --sport 3000 --dport 3001 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -t 60',
    ];
    for (const i of inserts) lab.exec(a, `conntrack -I ${i}`);
    const want = await waitFor(() => {
      const out = lab.exec(a, `conntrackd -C ${conf} -i`, { allowFail: true });
      return out.trim().split('\n').length === inserts.length ? out : '';
    });
    const wantXml = lab.exec(a, `conntrackd -C ${conf} -i -x`);

    const table = createKernelTable({ netns: a, logger: silentLogger() });
    try {
      const recs = await table.dump('ct');
      expect(recs).toHaveLength(inserts.length);
      const cts = recs.map((r) => {
        const d = decodeConntrack(r);
        if (!d.ok) throw new Error(d.error.message);
        return d.value;
      });
      const sort = (s: string): string[] => s.trim().split('\n').map((l) => l.replace(/\[active since \d+s\]/, '[active since Ns]')).sort();
      expect(sort(cts.map((c) => formatConntrackText(c, 0)).join('\n'))).toEqual(sort(want));
      expect(sort(cts.map((c) => formatConntrackXml(c)).join('\n'))).toEqual(sort(wantXml));
    } finally {
      table.close();
    }
  });
});

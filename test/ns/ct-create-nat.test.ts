/**
 * toCreateAttrs against the real kernel: NAT entries made by conntrack(8) in
 * namespace A are dumped, turned into create attributes and written into
 * namespace B; B must then hold the same flows with the same NAT binding.
 * Uses a tiny python ctnetlink client (test/unit/netlink/ct/fixtures/capture.py)
 * so that it does not depend on the kernel-table layer. No packet is sent.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeConntrack, encodeConntrack } from '../../src/netlink/ct/conntrack';
import { toCreateAttrs, toExpectCreateAttrs, toUpdateAttrs } from '../../src/netlink/ct/create';
import { IPS } from '../../src/netlink/ct/consts';
import { syncAttrs } from '../../src/netlink/ct/sync-attrs';
import type { Conntrack, CtRecord, Family } from '../../src/netlink/types';
import { Lab, have, isRoot } from '../helpers/netns';

const enabled = isRoot() && have('conntrack') && have('python3') && have('nft');
const PY = join(__dirname, '../unit/netlink/ct/fixtures/capture.py');

const INSERTS = [
  '-p tcp -s 192.0.2.10 -d 198.51.100.20 --sport 40000 --dport 80 --state ESTABLISHED -t 300 -u SEEN_REPLY,ASSURED --src-nat 203.0.113.1',
  '-p tcp -s 192.0.2.11 -d 203.0.113.80 --sport 40001 --dport 80 --state ESTABLISHED -t 300 --dst-nat 198.51.100.30',
  '-p udp -s 192.0.2.12 -d 198.51.100.20 --sport 5000 --dport 53 -t 300 --src-nat 203.0.113.2',
  '-p tcp -s 192.0.2.13 -d 198.51.100.21 --sport 1000 --dport 22 --state ESTABLISHED -t 300 -m 7 -u SEEN_REPLY,ASSURED',
];

function listSorted(lab: Lab, ns: string): string[] {
  return lab
    .exec(ns, 'conntrack -L 2>/dev/null')
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^(\S+\s+\d+\s+)\d+\s+/, '$1')) // drop the remaining timeout
    .map((l) => l.replace(/ use=\d+/, ''))
    .sort();
}

function dump(lab: Lab, ns: string): CtRecord[] {
  return lab
    .exec(ns, `python3 ${PY}`)
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('ct '))
    .map((l) => {
      const [, fam, h] = l.split(' ');
      return { kind: 'ct' as const, family: Number(fam) as Family, attrs: Buffer.from(h ?? '', 'hex') };
    });
}

function dumpExpect(lab: Lab, ns: string): CtRecord[] {
  return lab
    .exec(ns, `python3 ${PY}`)
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('expect '))
    .map((l) => {
      const [, fam, h] = l.split(' ');
      return { kind: 'expect' as const, family: Number(fam) as Family, attrs: Buffer.from(h ?? '', 'hex') };
    });
}

function send(lab: Lab, ns: string, rec: CtRecord, attrs: Buffer): number {
  return Number(lab.exec(ns, `python3 ${PY} create ${rec.kind} ${rec.family} ${attrs.toString('hex')}`).trim());
}

describe.skipIf(!enabled)('toCreateAttrs on the kernel (NAT)', () => {
  const lab = new Lab('ctc');
  let a = '';
  let b = '';
  afterAll(() => lab.cleanup());
  beforeAll(() => {
    a = lab.netns('a');
    b = lab.netns('b');
    for (const ns of [a, b]) {
      // a nat chain makes the NAT core available for conntrack entries of this netns
      lab.exec(ns, 'nft add table ip nat && nft add chain ip nat post "{ type nat hook postrouting priority 100; }"');
    }
    for (const args of INSERTS) lab.exec(a, `conntrack -I ${args}`);
  });

  it('entries created in B from A list identically, NAT bindings included', () => {
    const recs = dump(lab, a);
    expect(recs.length).toBe(INSERTS.length);
    for (const rec of recs) {
      expect(send(lab, b, rec, toCreateAttrs(syncAttrs(rec)))).toBe(0);
    }
    expect(listSorted(lab, b)).toEqual(listSorted(lab, a));
    // the kernel set the NAT status bits itself from CTA_NAT_SRC / CTA_NAT_DST
    const statusOf = (ns: string): number[] =>
      dump(lab, ns)
        .map((r) => decodeConntrack(r))
        .map((d) => (d.ok ? (d.value.status ?? 0) & 0x1f0 : -1))
        .sort();
    expect(statusOf(b)).toEqual(statusOf(a));
  });

  it('update of an existing entry is accepted and changes the mark', () => {
    const rec = dump(lab, a).find((r) => {
      const d = decodeConntrack(r);
      return d.ok && d.value.orig.src === '192.0.2.13';
    });
    expect(rec).toBeDefined();
    if (!rec) return;
    lab.exec(a, 'conntrack -U -p tcp -s 192.0.2.13 -d 198.51.100.21 --sport 1000 --dport 22 -m 9');
    const changed = dump(lab, a).find((r) => {
      const d = decodeConntrack(r);
      return d.ok && d.value.orig.src === '192.0.2.13';
    });
    if (!changed) throw new Error('entry vanished');
    // NLM_F_CREATE|EXCL would fail with EEXIST: send without EXCL via conntrack-compatible path
    const attrs = toUpdateAttrs(changed);
    const out = lab.exec(b, `python3 -c "
import socket,struct,sys
s=socket.socket(socket.AF_NETLINK,socket.SOCK_RAW,12);s.bind((0,0))
body=struct.pack('=BBH',2,0,0)+bytes.fromhex('${attrs.toString('hex')}')
s.send(struct.pack('=IHHII',16+len(body),1<<8,0x1|0x4,1,0)+body)
d=s.recv(65536);print(-struct.unpack_from('=i',d,16)[0])"`);
    expect(Number(out.trim())).toBe(0);
    expect(lab.exec(b, 'conntrack -L -p tcp --orig-src 192.0.2.13 2>/dev/null')).toContain('mark=9');
  });

  it('master with helper and its expectation are recreated in B', () => {
    const master: Conntrack = {
      family: 2,
      orig: { src: '192.0.2.60', dst: '198.51.100.60', proto: 6, sport: 3333, dport: 21 },
      reply: { src: '198.51.100.60', dst: '192.0.2.60', proto: 6, sport: 21, dport: 3333 },
      status: IPS.SEEN_REPLY | IPS.ASSURED | IPS.CONFIRMED,
      timeout: 300,
      protoinfo: { tcp: { state: 3 } },
      helper: { name: 'ftp' },
    };
    const mrec = encodeConntrack(master);
    expect(send(lab, a, mrec, toCreateAttrs(mrec))).toBe(0);
    expect(lab.exec(a, 'conntrack -L -p tcp --orig-src 192.0.2.60 2>/dev/null')).toContain('helper=ftp');
    lab.exec(
      a,
      'conntrack -I expect -s 192.0.2.60 -d 198.51.100.60 -p tcp --sport 3333 --dport 21 --tuple-src 198.51.100.60 --tuple-dst 192.0.2.60 ' +
        '--mask-src 255.255.255.255 --mask-dst 255.255.255.255 --tuple-port-src 0 --tuple-port-dst 4000 --mask-port-src 0 --mask-port-dst 65535 -t 200',
    );
    const exps = dumpExpect(lab, a);
    expect(exps.length).toBe(1);
    const exp = exps[0] as CtRecord;
    // the master first, from A's dump, then the expectation
    const fromA = dump(lab, a).find((r) => {
      const d = decodeConntrack(r);
      return d.ok && d.value.orig.src === '192.0.2.60';
    });
    if (!fromA) throw new Error('master not dumped');
    expect(send(lab, b, fromA, toCreateAttrs(syncAttrs(fromA)))).toBe(0);
    expect(send(lab, b, exp, toExpectCreateAttrs(syncAttrs(exp)))).toBe(0);
    const norm = (ns: string): string => lab.exec(ns, 'conntrack -L expect 2>/dev/null').replace(/^\d+ /gm, '').trim();
    expect(norm(b)).toBe(norm(a));
    expect(norm(b)).toContain('helper=ftp');
  });
});

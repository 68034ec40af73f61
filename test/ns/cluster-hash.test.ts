/**
 * Our flow -> bucket function against the kernel's, packet by packet: one
 * rule per bucket counts the packets the kernel hashes there, for IPv4 and
 * IPv6 with nft `jhash ct original ip/ip6 saddr`, and for IPv4 with iptables
 * `-m cluster` (xt_cluster syntax). iptables 1.8.9 refuses
 * --cluster-local-nodemask values above 32 (its option range is 1-32), so
 * that test uses --cluster-local-node, one rule per bucket. Every source must land in the bucket
 * src/cluster/hash.ts computes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot } from '../helpers/netns';
import { bucketOfText } from '../../src/cluster/hash';

const ok = isRoot() && have('nft');
const N = 32;

describe.skipIf(!ok)('cluster hash = kernel hash (real packets)', () => {
  const lab = new Lab('ch');
  let a = '';
  let b = '';
  afterAll(() => lab.cleanup());

  const v4 = Array.from({ length: 48 }, (_, i) => `192.0.2.${10 + i}`);
  const v6 = Array.from({ length: 48 }, (_, i) => `2001:db8::${(0x100 + i * 37).toString(16)}`);

  beforeAll(() => {
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'e0', b, 'e0', '192.0.2.1/24', '192.0.2.2/24');
    lab.exec(a, v4.map((x) => `ip addr add ${x}/24 dev e0`).join(' && '));
    lab.exec(b, 'ip -6 addr add 2001:db8::2/64 dev e0 nodad');
    lab.exec(a, v6.map((x) => `ip -6 addr add ${x}/64 dev e0 nodad`).join(' && '));
  });

  /** One UDP datagram from each source (a single node process). */
  function sendFrom(fam: 'ip' | 'ip6', sources: string[]): void {
    const dst = fam === 'ip' ? '192.0.2.2' : '2001:db8::2';
    const type = fam === 'ip' ? 'udp4' : 'udp6';
    const js = `const d=require("dgram");const srcs=${JSON.stringify(sources)};let n=srcs.length;for(const a of srcs){const s=d.createSocket("${type}");s.bind({address:a},()=>s.send("x",9,"${dst}",()=>{s.close();if(--n===0)process.exit(0)}))}`;
    lab.exec(a, `${process.execPath} -e '${js}'`);
  }

  /** Rules counting, per source and bucket, what the kernel hashed where. */
  function counters(fam: 'ip' | 'ip6', seed: number, sources: string[]): string {
    const rules = [`    meta mark set jhash ct original ${fam} saddr mod ${N} seed 0x${seed.toString(16)}`];
    for (const src of sources) {
      for (let k = 0; k < N; k++) rules.push(`    ${fam} saddr ${src} udp dport 9 meta mark ${k} counter comment "${src} ${k}"`);
    }
    return `table ${fam} h\ndelete table ${fam} h\ntable ${fam} h {\n  chain in {\n    type filter hook prerouting priority -150;\n${rules.join('\n')}\n  }\n}\n`;
  }

  /** source -> buckets whose counter moved. */
  function hits(out: string, re: RegExp): Map<string, number[]> {
    const got = new Map<string, number[]>();
    for (const line of out.split('\n')) {
      const m = re.exec(line);
      if (!m) continue;
      const [, src = '', k = ''] = m;
      got.set(src, [...(got.get(src) ?? []), Number(k)]);
    }
    return got;
  }

  function measure(fam: 'ip' | 'ip6', seed: number, sources: string[]): Map<string, number[]> {
    lab.exec(b, 'nft -f -', { input: counters(fam, seed, sources) });
    sendFrom(fam, sources);
    return hits(lab.exec(b, `nft list chain ${fam} h in`), /counter packets [1-9]\d* bytes \d+ comment "(\S+) (\d+)"/);
  }

  it('IPv4, nft jhash, two seeds', () => {
    for (const seed of [0x5eed, 0xdeadbeef]) {
      const got = measure('ip', seed, v4);
      for (const src of v4) expect({ src, b: got.get(src) }).toEqual({ src, b: [bucketOfText(src, N, seed)] });
    }
  });

  it('IPv6, nft jhash over the 16-byte source', () => {
    const seed = 0x12345678;
    const got = measure('ip6', seed, v6);
    for (const src of v6) expect({ src, b: got.get(src) }).toEqual({ src, b: [bucketOfText(src, N, seed)] });
  });

  it.skipIf(!have('iptables'))('IPv4, iptables -m cluster (one --cluster-local-node rule per bucket)', () => {
    const seed = 0xc0ffee;
    const lines = ['*mangle', ':PREROUTING ACCEPT [0:0]'];
    for (const src of v4) {
      for (let k = 0; k < N; k++) {
        lines.push(`-A PREROUTING -s ${src}/32 -m cluster --cluster-total-nodes ${N} --cluster-local-node ${k + 1} --cluster-hash-seed ${seed} -m comment --comment "${src} ${k}"`);
      }
    }
    lines.push('COMMIT', '');
    lab.exec(b, 'iptables-restore', { input: lines.join('\n') });
    sendFrom('ip', v4);
    const got = hits(lab.exec(b, 'iptables -t mangle -L PREROUTING -v -n -x'), /^\s*[1-9]\d*\s.*\/\* (\S+) (\d+) \*\//);
    for (const src of v4) expect({ src, b: got.get(src) }).toEqual({ src, b: [bucketOfText(src, N, seed)] });
  });
});

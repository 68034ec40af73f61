/**
 * Every conntrackd command-line flag against a running ctsyncd pair, checked
 * by its effect (kernel table, cache contents, processes, files), and where
 * the output is meant to be identical, compared with conntrackd 1.4.7 running
 * the same flows on a second pair of namespaces.
 *
 * The steps share one pair and run in order (each `it` leaves a known state).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot, sh } from '../helpers/netns';
import { ctsyncdBuilt, FLOWS, PURGE_TIMEOUT, createPair, run, type CompatPair } from './helpers/compat-pair';

const ready = isRoot() && have('conntrackd') && have('conntrack') && have('xmllint') && ctsyncdBuilt();
const N = FLOWS.length;

/** Drop what differs between runs: ages, kernel ids. Sorted lines. */
function normLines(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/\[active since \d+s\]/g, '[active since Ns]').replace(/<id>\d+<\/id>/g, '<id>N</id>'))
    .sort();
}

/**
 * Statistics layout without the numbers (counters and uptimes differ between
 * daemons); `noChannel` blanks the channel header line (see the bug below).
 */
function skeleton(out: string, noChannel = false): string[] {
  return out
    .split('\n')
    .map((l) => (noChannel && /^\w+ traffic (\(active )?device=/.test(l) ? 'CHANNEL' : l))
    .map((l) => l.replace(/\d+/g, 'N').replace(/[ \t]+/g, ' ').trimEnd());
}

/** A `-e` text line without its reply tuple (the second src=/dst=/sport=/dport= group). */
function withoutReplyText(out: string): string {
  return out.replace(/(src=\S+ dst=\S+(?: sport=\d+ dport=\d+)?(?: \[UNREPLIED\])?) src=\S+ dst=\S+(?: sport=\d+ dport=\d+)?/g, '$1');
}

/** `-e -x` with the reply meta as conntrackd prints it when it has no reply tuple. */
function withoutReplyXml(out: string): string {
  return out.replace(
    /<meta direction="reply">.*?<\/meta>/g,
    '<meta direction="reply"><layer3 protonum="0" protoname="unknown"><src></src><dst></dst></layer3><layer4 protonum="0" protoname="unknown"></layer4></meta>',
  );
}

/** Well-formed XML? (xmllint --noout on the dump wrapped in one root element.) */
function xmlWellFormed(dir: string, body: string): { code: number; stderr: string } {
  const f = join(dir, 'dump.xml');
  writeFileSync(f, `<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n${body}</conntrack>\n`);
  const r = run(['xmllint', '--noout', f]);
  return { code: r.code, stderr: r.stderr };
}

/** Orig tuples of `-i`/`-e` text lines ("src=.. dst=.. sport=.. dport=.."), sorted. */
function origTuples(lines: string[]): string[] {
  return lines
    .map((l) => {
      const m = /src=(\S+) dst=(\S+)(?: sport=(\d+) dport=(\d+))?/.exec(l);
      return m ? `${m[1]} ${m[2]} ${m[3] ?? ''} ${m[4] ?? ''}` : `unparsed: ${l}`;
    })
    .sort();
}

describe.skipIf(!ready)('conntrackd command-line flags on a running ctsyncd pair', () => {
  const labs = { ref: new Lab('ccc'), ours: new Lab('ccs') };
  let ref: CompatPair;
  let ours: CompatPair;
  afterAll(() => {
    labs.ref.cleanup();
    labs.ours.cleanup();
  });

  beforeAll(async () => {
    ref = createPair(labs.ref, 'conntrackd');
    ours = createPair(labs.ours, 'ctsyncd');
    for (const p of [ref, ours]) {
      p.start(p.a);
      p.start(p.b);
      p.insert(p.a, FLOWS);
    }
    for (const p of [ref, ours]) {
      await p.waitCounts(p.a, { internal: N, external: 0 });
      await p.waitCounts(p.b, { internal: 0, external: N });
    }
  }, 120_000);

  const kernelTuples = (p: CompatPair, n: 'a' | 'b'): string[] =>
    p
      .kernelRaw(p[n])
      .map((e) => `${e.orig.src} ${e.orig.dst} ${e.orig.sport ?? ''} ${e.orig.dport ?? ''}`)
      .sort();

  it('-i / -e: one line per cache entry, the same lines conntrackd prints', () => {
    const i = ours.ctl(ours.a, ['-i']);
    expect(i.code).toBe(0);
    const lines = i.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(N);
    expect(origTuples(lines)).toEqual(kernelTuples(ours, 'a'));
    expect(normLines(i.stdout)).toEqual(normLines(ref.ctl(ref.a, ['-i']).stdout));
    const e = ours.ctl(ours.b, ['-e']);
    expect(e.code).toBe(0);
    expect(origTuples(e.stdout.split('\n').filter((l) => l !== ''))).toEqual(kernelTuples(ours, 'a'));
    // ctsyncd's external cache keeps the reply tuple (same text as a's -i);
    // conntrackd's has none for non-NAT flows. Without it, the lines are the same.
    expect(normLines(e.stdout)).toEqual(normLines(i.stdout));
    expect(normLines(withoutReplyText(e.stdout))).toEqual(normLines(ref.ctl(ref.b, ['-e']).stdout));
    // Nothing learned on a, nothing local on b.
    expect(ours.ctl(ours.a, ['-e']).stdout).toBe('');
    expect(ours.ctl(ours.b, ['-i']).stdout).toBe('');
  });

  it('-x: well-formed XML, the same flows conntrackd prints (ids, order and external reply tuples aside)', () => {
    for (const [node, flag] of [['a', '-i'], ['b', '-e']] as const) {
      const x = ours.ctl(ours[node], [flag, '-x']);
      expect(x.code).toBe(0);
      expect(x.stdout.match(/<flow>/g)?.length).toBe(N);
      expect(xmlWellFormed(ours.dir, x.stdout)).toEqual({ code: 0, stderr: '' });
      const r = ref.ctl(ref[node], [flag, '-x']);
      expect(xmlWellFormed(ref.dir, r.stdout).code).toBe(0);
      const mine = flag === '-e' ? withoutReplyXml(x.stdout) : x.stdout;
      expect(normLines(mine)).toEqual(normLines(r.stdout));
    }
  });

  it('-s: general statistics show the cache sizes, laid out like conntrackd (channel line aside)', () => {
    const s = ours.ctl(ours.a, ['-s']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`cache internal:\\ncurrent active connections:\\s+${N}\\n`));
    expect(s.stdout).toMatch(/cache external:\ncurrent active connections:\s+0\n/);
    const sb = ours.ctl(ours.b, ['-s']);
    expect(sb.stdout).toMatch(new RegExp(`cache external:\\ncurrent active connections:\\s+${N}\\n`));
    expect(skeleton(s.stdout, true)).toEqual(skeleton(ref.ctl(ref.a, ['-s']).stdout, true));
  });

  it('-s cache: active objects per cache', () => {
    const s = ours.ctl(ours.a, ['-s', 'cache']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(new RegExp(`cache:internal\\s+active objects:\\s+${N}\\n`));
    expect(s.stdout).toMatch(/cache:external\s+active objects:\s+0\n/);
    expect(skeleton(s.stdout)).toEqual(skeleton(ref.ctl(ref.a, ['-s', 'cache']).stdout));
  });

  for (const section of ['network', 'runtime', 'link', 'rsqueue', 'process', 'ct', 'expect']) {
    it(`-s ${section}: exit 0, same layout as conntrackd (channel line aside)`, () => {
      const s = ours.ctl(ours.a, ['-s', section]);
      expect(s.code, s.stderr).toBe(0);
      const r = ref.ctl(ref.a, ['-s', section]);
      if (section === 'rsqueue') {
        // The entries waiting for an ack come and go: compare the header only.
        expect(s.stdout).toMatch(/^resent queue \(len=\d+\)\n/);
        expect(skeleton(s.stdout)[0]).toEqual(skeleton(r.stdout)[0]);
        return;
      }
      expect(skeleton(s.stdout, true)).toEqual(skeleton(r.stdout, true));
    });
  }

  // BUG (src/daemon/stats.ts, link()): the channel line uses the transport's
  // registry name for both fields: "udp traffic (active device=udp):" where
  // conntrackd prints "UDP traffic (active device=sync0):" (protocol in upper
  // case, the Interface of the UDP block). Same in -s network, -s ct and -s link
  // ("udp traffic device=udp status=RUNNING role=ACTIVE:").
  it('-s / -s link: the channel line names UDP and the sync interface like conntrackd', () => {
    expect(ours.ctl(ours.a, ['-s']).stdout).toContain('UDP traffic (active device=sync0):');
    expect(ours.ctl(ours.a, ['-s', 'link']).stdout).toContain('UDP traffic device=sync0 status=RUNNING role=ACTIVE:');
  });

  // FTFW: conntrackd lists three
  // queues (txqueue, errorq, rsqueue); ctsyncd prints no "queue errorq:" block.
  it('-s queue: same queues as conntrackd (txqueue, errorq, rsqueue)', () => {
    const s = ours.ctl(ours.a, ['-s', 'queue']);
    expect(s.code).toBe(0);
    expect(skeleton(s.stdout)).toEqual(skeleton(ref.ctl(ref.a, ['-s', 'queue']).stdout));
  });

  it('status: mode, peer and cache sizes', () => {
    const s = ours.ctl(ours.b, ['status']);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/mode:\s+FTFW/);
    expect(s.stdout).toContain('198.19.255.1');
    expect(s.stdout).toMatch(new RegExp(`internal 0 entries, external ${N} entries`));
  });

  it('-c: the external cache goes into the kernel table, like conntrackd -c', () => {
    expect(ours.kernelRaw(ours.b)).toHaveLength(0);
    const c = ours.ctl(ours.b, ['-c']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(new RegExp(`^commit: ${N} entries committed, 0 failed`));
    expect(kernelTuples(ours, 'b')).toEqual(kernelTuples(ours, 'a'));
    expect(ours.kernel(ours.b)).toEqual(ours.kernel(ours.a));
    expect(ref.ctl(ref.b, ['-c']).code).toBe(0);
    expect(ours.kernel(ours.b)).toEqual(ref.kernel(ref.b));
  });

  it('-F: the kernel table is flushed', () => {
    expect(ours.kernelRaw(ours.b).length).toBe(N);
    const f = ours.ctl(ours.b, ['-F']);
    expect(f.code, f.stderr).toBe(0);
    expect(ours.kernelRaw(ours.b)).toHaveLength(0);
    expect(ref.ctl(ref.b, ['-F']).code).toBe(0);
    expect(ref.kernelRaw(ref.b)).toHaveLength(0);
  });

  it('-f internal / -R: the internal cache is emptied, then re-read from the kernel', async () => {
    expect(ours.ctl(ours.a, ['-f', 'internal']).code).toBe(0);
    expect(ours.counts(ours.a)).toEqual({ internal: 0, external: 0 });
    expect(ours.counts(ours.b).external).toBe(N); // a flush is local: peers keep their copy
    expect(ours.ctl(ours.a, ['-R']).code).toBe(0);
    await ours.waitCounts(ours.a, { internal: N });
    expect(origTuples(ours.cacheLines(ours.a, 'internal'))).toEqual(kernelTuples(ours, 'a'));
  });

  it('-f external / -n: the external cache is emptied, then refilled by the peer on request', async () => {
    // b committed and flushed its kernel; its internal cache follows its kernel.
    await ours.waitCounts(ours.b, { internal: 0 });
    expect(ours.ctl(ours.b, ['-f', 'external']).code).toBe(0);
    expect(ours.counts(ours.b)).toEqual({ internal: 0, external: 0 });
    expect(ours.ctl(ours.b, ['-n']).code).toBe(0);
    await ours.waitCounts(ours.b, { external: N });
  });

  it('-f (both) / -B: the peer sends its whole internal cache', async () => {
    expect(ours.ctl(ours.b, ['-f']).code).toBe(0);
    expect(ours.counts(ours.b)).toEqual({ internal: 0, external: 0 });
    expect(ours.ctl(ours.a, ['-B']).code).toBe(0);
    await ours.waitCounts(ours.b, { external: N });
    expect(origTuples(ours.cacheLines(ours.b, 'external'))).toEqual(kernelTuples(ours, 'a'));
  });

  it('-t: every kernel timer is at most PurgeTimeout afterwards', () => {
    expect(Math.max(...ours.kernelRaw(ours.a).map((e) => e.timeout))).toBeGreaterThan(PURGE_TIMEOUT);
    const t = ours.ctl(ours.a, ['-t']);
    expect(t.code, t.stderr).toBe(0);
    const after = ours.kernelRaw(ours.a);
    expect(after).toHaveLength(N);
    for (const e of after) expect(e.timeout).toBeLessThanOrEqual(PURGE_TIMEOUT);
  });

  it('-v / -h: version and usage on stdout, exit 0', () => {
    const v = ours.ctl(ours.a, ['-v']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ctsyncd v\d+\.\d+\.\d+/);
    const h = ours.ctl(ours.a, ['-h']);
    expect(h.code).toBe(0);
    for (const f of ['-d', '-C', '-c', '-f', '-F', '-i', '-e', '-k', '-s', '-R', '-n', '-B', '-x', '-t', '-v', '-h']) {
      expect(h.stdout).toContain(`  ${f}`);
    }
  });

  it('unknown flag: exit 1 naming the flag (conntrackd exits 0)', () => {
    const z = ours.ctl(ours.a, ['-z']);
    expect(z.code).toBe(1);
    expect(z.stderr).toContain('unknown option: -z');
    expect(ref.ctl(ref.a, ['-z']).code).toBe(0);
  });

  it('daemon not running: exit 1 with a clear message, like conntrackd', () => {
    const conf = join(ours.dir, 'idle.conf');
    writeFileSync(conf, sh(`cat ${ours.a.conf}`).replace(ours.a.sock, join(ours.dir, 'nobody.sock')));
    const r = run(['ip', 'netns', 'exec', ours.a.ns, ours.bin, '-C', conf, '-s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ctsyncd is not running (no control socket at ${join(ours.dir, 'nobody.sock')})`);
    expect(run(['ip', 'netns', 'exec', ref.a.ns, ref.bin, '-C', conf, '-s']).code).toBe(1);
  });

  it('invalid config: exit 1 with file:line', () => {
    const conf = join(ours.dir, 'bad.conf');
    const lines = sh(`cat ${ours.a.conf}`).split('\n');
    const at = lines.findIndex((l) => l.includes('HashLimit'));
    lines.splice(at + 1, 0, '\tNoSuchClause 12');
    writeFileSync(conf, lines.join('\n'));
    const r = run(['ip', 'netns', 'exec', ours.a.ns, ours.bin, '-C', conf, '-d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${conf}:${at + 2}`);
    const missing = run(['ip', 'netns', 'exec', ours.a.ns, ours.bin, '-C', join(ours.dir, 'missing.conf'), '-d']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing.conf');
  });

  it('-k: the process is gone, socket and lock removed', async () => {
    const k = ours.ctl(ours.b, ['-k']);
    expect(k.code).toBe(0);
    const deadline = Date.now() + 10_000;
    while (sh(`ip netns pids ${ours.b.ns}`).trim() !== '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(sh(`ip netns pids ${ours.b.ns}`).trim()).toBe('');
    expect(run(['test', '-e', ours.b.sock]).code).toBe(1);
    expect(run(['test', '-e', ours.b.lock]).code).toBe(1);
    const s = ours.ctl(ours.b, ['-s']);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('not running');
  });
});

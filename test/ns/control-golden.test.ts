/**
 * Re-captures conntrackd 1.4.7 output on this kernel (capture.sh: two
 * namespaces, FTFW over UDP on a veth pair) and checks it still matches the
 * committed golden files that test/unit/control/format.test.ts reproduces.
 * Random parts (kernel ids, resend sequence numbers, ages) are normalised.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { have, isRoot, sh } from '../helpers/netns';

const fixtures = join(__dirname, '../fixtures/control');
const out = mkdtempSync(join(tmpdir(), 'ctsync-golden-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const norm = (s: string): string =>
  s
    .replace(/\[active since \d+s\]/g, '[active since Ns]')
    .replace(/<id>\d+<\/id>/g, '<id>N</id>')
    .replace(/seq:\d+/g, 'seq:N')
    .replace(/^\[.*\] \(pid=\d+\) /gm, '')
    .replace(/daemon uptime: .*/, 'daemon uptime: N')
    // Traffic counters depend on how many ACK/ALIVE messages the timing allowed.
    .replace(/^( *)\d+ (Bytes|Pckts) (sent|recv)( *)\d+ (Bytes|Pckts) (sent|recv)$/gm, '$1N $2 $3$4N $5 $6')
    .replace(/^( *)\d+ (Bytes|Pckts)( *)\d+ (Pckts)$/gm, '$1N $2$3N $4');

describe.skipIf(!isRoot() || !have('conntrackd') || !have('conntrack'))('conntrackd 1.4.7 reference output', () => {
  it('fresh capture matches the golden files', () => {
    sh(`bash ${join(fixtures, 'capture.sh')} ${out}`);
    for (const f of ['internal.txt', 'internal.xml', 'external.txt', 'external.xml', 'stats.txt', 'stats-b.txt', 'stats-cache.txt', 'stats-network.txt', 'stats-link.txt', 'stats-queue.txt', 'stats-rsqueue.txt', 'stats-runtime.txt']) {
      expect(norm(readFileSync(join(out, f), 'utf8')), f).toBe(norm(readFileSync(join(fixtures, f), 'utf8')));
    }
  });
});

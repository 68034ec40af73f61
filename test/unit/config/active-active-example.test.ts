/** examples/active-active: the three nodes' conntrackd.conf parse cleanly and form one cluster. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConntrackdConf } from '../../../src/config/conntrackd';

const DIR = join(__dirname, '..', '..', '..', 'examples', 'active-active');

describe('examples/active-active', () => {
  const confs = [1, 2, 3].map((i) => loadConntrackdConf(join(DIR, `fw${i}`, 'conntrackd.conf')));

  it('every node parses without a diagnostic', () => {
    for (const c of confs) expect(c.diagnostics.map(formatDiagnostic)).toEqual([]);
  });

  it('ids, addresses and peers are consistent; buckets and seed agree; FT-FW over Multicast', () => {
    const cl = confs.map((c) => c.config.cluster);
    expect(cl.map((c) => c?.nodeId)).toEqual([1, 2, 3]);
    const addrs = cl.map((c) => c?.address ?? '');
    cl.forEach((c, i) => expect([...(c?.peers ?? [])].sort()).toEqual(addrs.filter((_, j) => j !== i).sort()));
    expect(new Set(cl.map((c) => `${c?.buckets}/${c?.hashSeed}/${c?.interfaces.join(',')}`)).size).toBe(1);
    for (const c of confs) {
      expect(c.config.sync?.mode.mode).toBe('ftfw');
      expect(c.config.sync?.links[0]?.kind).toBe('multicast');
      expect(c.config.cluster?.initialSyncWaitMs).toBe(3000);
    }
  });
});

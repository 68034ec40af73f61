import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../../src/control/format-stats';
import type { DaemonStatus } from '../../../src/daemon/api';

const base: DaemonStatus = {
  pid: 42,
  version: '1.0.0',
  state: 'INIT',
  mode: 'ftfw',
  uptimeSeconds: 5,
  peers: [],
  cache: { internal: 3, external: 7 },
};

describe('formatStatus: cluster lines', () => {
  it('absent cluster: output has no cluster line', () => {
    expect(formatStatus(base, 0)).not.toContain('cluster:');
  });

  it('prints held/aim ranges, members and takeover counters before the transition line', () => {
    const out = formatStatus(
      {
        ...base,
        cluster: {
          nodeId: 2,
          phase: 'active',
          buckets: 32,
          held: [10, 11, 12, 14, 20],
          aim: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
          members: [1, 2, 3],
          takeovers: { runs: 2, committed: 51, failed: 1 },
          releases: { runs: 1, deleted: 9 },
        },
      },
      0,
    );
    const lines = out.split('\n');
    const i = lines.indexOf('cluster:  node 2 active, holds 10-12,14,20 of 32 buckets (aim 10-20)');
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toBe('          members 1,2,3; takeovers 2 (51 flows, 1 failed), releases 1 (9 flows)');
    expect(lines[i + 2]).toBe('last transition: none');
  });

  it('no bucket held: "none"', () => {
    const out = formatStatus({ ...base, cluster: { nodeId: 1, phase: 'joining', buckets: 8, held: [], aim: [], members: [1], takeovers: { runs: 0, committed: 0, failed: 0 }, releases: { runs: 0, deleted: 0 } } }, 0);
    expect(out).toContain('cluster:  node 1 joining, holds none of 8 buckets (aim none)');
  });
});

describe('status: deferral line (Cluster with Defer on)', () => {
  it('shows the queue, backend and counters', () => {
    const st = {
      pid: 1, version: 't', state: 'INIT', mode: 'ftfw', uptimeSeconds: 5, peers: [], cache: { internal: 0, external: 0 },
      cluster: {
        nodeId: 2, phase: 'active', buckets: 8, held: [0, 1, 2, 3], aim: [0, 1, 2, 3], members: [1, 2],
        takeovers: { runs: 0, committed: 0, failed: 0 }, releases: { runs: 0, deleted: 0 },
        deferral: { queue: 4242, timeoutMs: 50, backend: 'iptables', attach: 'packet', deferred: 40, acceptedAfterAck: 39, acceptedOnTimeout: 1, notNew: 0, errors: 0, orphans: 0 },
      },
    } as unknown as DaemonStatus;
    expect(formatStatus(st, 0)).toContain('deferral queue 4242 (iptables, packet), up to 50 ms: 40 held, 39 released by ack, 1 by timeout, 0 not new, 0 errors, 0 withdrawn');
  });
});

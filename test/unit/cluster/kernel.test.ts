import { describe, expect, it } from 'vitest';
import { clusterRuleset, clusterRulesetRemove, createClusterRules } from '../../../src/cluster/kernel';

const o = { buckets: 32, seed: 0x5eed, interfaces: ['lan', 'wan'] };

describe('cluster kernel rules (nft)', () => {
  it('renders the bucket set with the xt_cluster-equivalent jhash expression', () => {
    expect(clusterRuleset(o, 0b1011)).toBe(
      [
        'table ip ctsync_cluster',
        'delete table ip ctsync_cluster',
        'table ip ctsync_cluster {',
        '  chain prerouting {',
        '    type filter hook prerouting priority -150; policy accept;',
        '    iifname != { "lan", "wan" } accept',
        '    jhash ct original ip saddr mod 32 seed 0x5eed { 0, 1, 3 } accept',
        '    drop',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('no buckets: drops all cluster traffic; multicast MAC and IPv6 variants', () => {
    expect(clusterRuleset(o, 0)).not.toContain('jhash');
    const s = clusterRuleset({ ...o, ipv6: true, multicastMac: true, table: 'aa' }, 0x80000000);
    expect(s).toContain('table ip6 aa {');
    expect(s).toContain('ip daddr != 224.0.0.0/4 meta pkttype multicast meta pkttype set host');
    expect(s).toContain('ip6 daddr != ff00::/8 meta pkttype multicast meta pkttype set host');
    expect(s).toContain('nd-neighbor-solicit');
    expect(s).toContain('jhash ct original ip saddr mod 32 seed 0x5eed { 31 } accept');
    expect(s).toContain('jhash ct original ip6 saddr mod 32 seed 0x5eed { 31 } accept');
    expect(clusterRulesetRemove({ ipv6: true })).toBe('table ip ctsync_cluster\ndelete table ip ctsync_cluster\ntable ip6 ctsync_cluster\ndelete table ip6 ctsync_cluster\n');
  });

  it('refuses names that could inject nft syntax', () => {
    expect(() => clusterRuleset({ ...o, interfaces: ['lan" } accept'] }, 1)).toThrow(RangeError);
    expect(() => clusterRuleset({ ...o, interfaces: [] }, 1)).toThrow(RangeError);
    expect(() => clusterRuleset({ ...o, table: 'x y' }, 1)).toThrow(RangeError);
    expect(() => clusterRuleset({ ...o, buckets: 33 }, 1)).toThrow(RangeError);
  });

  it('apply skips an unchanged mask; a failed run leaves the old mask in force', async () => {
    const runs: string[] = [];
    let fail = false;
    const rules = createClusterRules({ ...o, buckets: 8 }, async (s) => {
      if (fail) throw new Error('nft failed');
      runs.push(s);
    });
    expect(rules.current).toBeNull();
    await rules.apply(0x3);
    await rules.apply(0x103); // bits past the bucket count are ignored
    expect(runs.length).toBe(1);
    fail = true;
    await expect(rules.apply(0x7)).rejects.toThrow('nft failed');
    expect(rules.current).toBe(0x3);
    fail = false;
    await rules.remove();
    expect(rules.current).toBeNull();
  });
});

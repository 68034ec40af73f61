/**
 * The stateful firewall ruleset of the failover lab, as nftables text (pure).
 * It is the example scenario of seed 000 (Neira, "Fault tolerant stateful
 * firewalling"): FORWARD policy DROP, NEW only for a TCP SYN (and UDP/ICMP)
 * from the LAN, ESTABLISHED/RELATED accepted, SNAT to the WAN virtual IP.
 * The FTP variant (seed 004) assigns the kernel "ftp" helper on port 21 so
 * that the data connection is RELATED through an expectation.
 * The named counter `invalid_fwd` counts forwarded packets conntrack found
 * INVALID (e.g. mid-stream TCP of a flow this firewall does not know).
 */

/** nft command that prints the invalid_fwd counter ("packets N bytes M"). */
export const INVALID_COUNTER_CMD = 'nft list counter ip ctlab invalid_fwd';

export function parseCounterPackets(text: string): number | null {
  const m = /packets (\d+)/.exec(text);
  return m && m[1] !== undefined ? Number(m[1]) : null;
}
export interface RulesetOptions {
  lanIf: string;
  wanIf: string;
  syncIf: string;
  lanNet: string;
  /** Address the LAN is SNATed to (the WAN virtual IP). */
  snatTo: string;
  ftpHelper?: boolean;
}

export function firewallRuleset(o: RulesetOptions): string {
  const helper = o.ftpHelper
    ? [
        '  ct helper ftp-standard {',
        '    type "ftp" protocol tcp',
        '    l3proto ip',
        '  }',
        '  chain helpers {',
        '    type filter hook prerouting priority filter; policy accept;',
        `    iifname "${o.lanIf}" tcp dport 21 ct helper set "ftp-standard"`,
        '  }',
      ]
    : [];
  return [
    'table ip ctlab {',
    '  counter invalid_fwd {',
    '  }',
    ...helper,
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iif "lo" accept',
    '    ct state established,related accept',
    `    iifname "${o.syncIf}" accept`,
    '    ip protocol vrrp accept',
    '    ip protocol icmp accept',
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    '    ct state invalid counter name "invalid_fwd" drop',
    `    iifname "${o.lanIf}" oifname "${o.wanIf}" tcp flags & (fin|syn|rst|ack) == syn ct state new accept`,
    `    iifname "${o.lanIf}" oifname "${o.wanIf}" meta l4proto { udp, icmp } ct state new accept`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${o.wanIf}" ip saddr ${o.lanNet} snat to ${o.snatTo}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

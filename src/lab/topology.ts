/**
 * The failover lab: a stateful firewall pair between a client and a server,
 * built from network namespaces. Every name carries a tag made of a prefix,
 * the creating process id and a sequence number, so runs never collide and
 * sweepLabs() can remove what a dead run left behind.
 *
 *   client 192.0.2.10 ── [sw: brlan] ── fw1 lan0 192.0.2.2  / fw2 lan0 192.0.2.3   (LAN VIP 192.0.2.1)
 *   server 203.0.113.10 ─ [sw: brwan] ── fw1 wan0 203.0.113.2 / fw2 wan0 203.0.113.3 (WAN VIP 203.0.113.1)
 *   fw1 sync0 198.19.254.1/24 ──────── fw2 sync0 198.19.254.2/24  (dedicated sync link)
 *
 * The client routes via the LAN VIP, the server only knows the WAN VIP (the
 * SNAT address), so traffic follows whichever firewall owns the VIPs.
 */
import { firewallRuleset } from './ruleset';
import { nsExec, sh, quote } from './shell';

export const LAB_NET = {
  lanNet: '192.0.2.0/24',
  wanNet: '203.0.113.0/24',
  syncNet: '198.19.254.0/24',
  lanVip: '192.0.2.1',
  wanVip: '203.0.113.1',
  client: '192.0.2.10',
  server: '203.0.113.10',
  fw: [
    { lan: '192.0.2.2', wan: '203.0.113.2', sync: '198.19.254.1' },
    { lan: '192.0.2.3', wan: '203.0.113.3', sync: '198.19.254.2' },
  ],
} as const;

/** Interface names inside the firewall namespaces. */
export const FW_IF = { lan: 'lan0', wan: 'wan0', sync: 'sync0' } as const;

export interface LabOptions {
  /** 1..4 lowercase letters/digits; names are `<prefix><pid36>_<seq36><role>`. */
  prefix: string;
  /** Distinguishes several labs of one process; default 0. */
  seq?: number;
  /** Load nf_conntrack_ftp and assign the ftp helper on TCP port 21. */
  ftpHelper?: boolean;
}

export interface LabNamespaces {
  client: string;
  server: string;
  sw: string;
  fw1: string;
  fw2: string;
}

export interface Lab {
  readonly tag: string;
  readonly ns: LabNamespaces;
  /** The two firewalls, index 0 = fw1. */
  readonly fws: readonly [string, string];
  exec(ns: string, cmd: string, allowFail?: boolean): string;
  /** Take every link of a firewall down (a crash as the network sees it). */
  isolate(fw: string): void;
  /** Remove every namespace of this lab (kills what runs inside); safe to call twice. */
  destroy(): void;
}

const PREFIX_RE = /^[a-z0-9]{1,4}$/;

export function labTag(prefix: string, pid: number, seq: number): string {
  if (!PREFIX_RE.test(prefix)) throw new Error(`lab prefix must be 1-4 of [a-z0-9]: ${prefix}`);
  return `${prefix}${pid.toString(36)}_${seq.toString(36)}`;
}

function removeNamespace(ns: string): void {
  sh(`ip netns pids ${ns} 2>/dev/null | xargs -r kill -9`, { allowFail: true });
  sh(`ip netns del ${ns} 2>/dev/null`, { allowFail: true });
}

export function listNamespaces(): string[] {
  return sh('ip netns list', { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.length > 0);
}

/**
 * Remove namespaces left by labs with this prefix. By default only those of
 * processes that are no longer alive; `all` also removes live runs' labs.
 */
export function sweepLabs(prefix: string, all = false, onlyPid?: number): string[] {
  const re = new RegExp(`^${prefix}([0-9a-z]+)_[0-9a-z]+(client|server|sw|fw1|fw2)$`);
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = re.exec(ns);
    if (!m || m[1] === undefined) continue;
    const pid = Number.parseInt(m[1], 36);
    if (onlyPid !== undefined && pid !== onlyPid) continue;
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (alive && !all && onlyPid === undefined) continue;
    removeNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

function vethBetween(nsA: string, ifA: string, nsB: string, ifB: string): void {
  sh(`ip link add ${ifA} netns ${nsA} type veth peer name ${ifB} netns ${nsB}`);
  sh(`ip -n ${nsA} link set ${ifA} up && ip -n ${nsB} link set ${ifB} up`);
}

function buildFirewall(ns: string, i: 0 | 1, ftpHelper: boolean): void {
  const a = LAB_NET.fw[i];
  sh(`ip -n ${ns} addr add ${a.lan}/24 dev ${FW_IF.lan}`);
  sh(`ip -n ${ns} addr add ${a.wan}/24 dev ${FW_IF.wan}`);
  sh(`ip -n ${ns} addr add ${a.sync}/24 dev ${FW_IF.sync}`);
  nsExec(ns, 'sysctl -qw net.ipv4.ip_forward=1');
  // Strict TCP pickup: a mid-stream packet of an unknown flow is INVALID, not
  // ESTABLISHED. Without this a failover "works" with no replication at all.
  nsExec(ns, 'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0');
  const rules = firewallRuleset({
    lanIf: FW_IF.lan,
    wanIf: FW_IF.wan,
    syncIf: FW_IF.sync,
    lanNet: LAB_NET.lanNet,
    snatTo: LAB_NET.wanVip,
    ftpHelper,
  });
  nsExec(ns, 'nft -f -', { input: rules });
}

export function createLab(opts: LabOptions): Lab {
  const tag = labTag(opts.prefix, process.pid, opts.seq ?? 0);
  const ns: LabNamespaces = {
    client: `${tag}client`,
    server: `${tag}server`,
    sw: `${tag}sw`,
    fw1: `${tag}fw1`,
    fw2: `${tag}fw2`,
  };
  const made: string[] = [];
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const n of made.splice(0).reverse()) removeNamespace(n);
  };
  try {
    // Modules may be built in (no modprobe); nft fails loudly below if the ftp helper is missing.
    sh('modprobe nf_conntrack 2>/dev/null', { allowFail: true });
    if (opts.ftpHelper) sh('modprobe nf_conntrack_ftp 2>/dev/null', { allowFail: true });
    for (const n of [ns.sw, ns.client, ns.server, ns.fw1, ns.fw2]) {
      sh(`ip netns add ${n}`);
      made.push(n);
      sh(`ip -n ${n} link set lo up`);
    }
    for (const br of ['brlan', 'brwan']) {
      sh(`ip -n ${ns.sw} link add ${br} type bridge mcast_snooping 0`);
      sh(`ip -n ${ns.sw} link set ${br} up`);
    }
    const ports: Array<[string, string, string, string]> = [
      [ns.client, 'eth0', 'cl', 'brlan'],
      [ns.fw1, FW_IF.lan, 'f1lan', 'brlan'],
      [ns.fw2, FW_IF.lan, 'f2lan', 'brlan'],
      [ns.server, 'eth0', 'sv', 'brwan'],
      [ns.fw1, FW_IF.wan, 'f1wan', 'brwan'],
      [ns.fw2, FW_IF.wan, 'f2wan', 'brwan'],
    ];
    for (const [n, ifn, port, br] of ports) {
      vethBetween(n, ifn, ns.sw, port);
      sh(`ip -n ${ns.sw} link set ${port} master ${br}`);
    }
    vethBetween(ns.fw1, FW_IF.sync, ns.fw2, FW_IF.sync);
    sh(`ip -n ${ns.client} addr add ${LAB_NET.client}/24 dev eth0`);
    sh(`ip -n ${ns.client} route add default via ${LAB_NET.lanVip}`);
    sh(`ip -n ${ns.server} addr add ${LAB_NET.server}/24 dev eth0`);
    sh(`ip -n ${ns.server} route add default via ${LAB_NET.wanVip}`);
    buildFirewall(ns.fw1, 0, opts.ftpHelper === true);
    buildFirewall(ns.fw2, 1, opts.ftpHelper === true);
  } catch (e) {
    destroy();
    throw e;
  }
  return {
    tag,
    ns,
    fws: [ns.fw1, ns.fw2],
    exec: (n, cmd, allowFail = false) => nsExec(n, cmd, { allowFail }),
    isolate: (fw) => {
      for (const ifn of [FW_IF.lan, FW_IF.wan, FW_IF.sync]) sh(`ip -n ${quote(fw)} link set ${ifn} down`, { allowFail: true });
    },
    destroy,
  };
}

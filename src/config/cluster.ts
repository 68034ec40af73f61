/**
 * Cluster description for `ctsyncd init` (INI, read with the `ini` package):
 *
 *   [cluster]
 *   name = edge
 *   vrid = 51
 *   advert_int = 1            ; seconds (VRRPv3 allows 0.01 steps)
 *   vrrp_version = 2
 *   vip_lan = 192.0.2.1/24    ; comma-separated list
 *   vip_wan = 198.51.100.1/24
 *   sync_mode = ftfw          ; ftfw | alarm | notrack
 *   sync_transport = udp      ; udp | multicast | tcp
 *   sync_port = 3780
 *   fast_failover = 20        ; optional: liveness probe interval, ms (embedded VRRP, two nodes, udp/tcp)
 *
 *   [node.fw1]
 *   sync_address = 203.0.113.1
 *   sync_interface = eth2
 *   lan_interface = eth0
 *   wan_interface = eth1
 *   priority = 150
 *
 * The `ini` package gives no line numbers, so a light line scan locates
 * sections and keys for diagnostics.
 */
import { readFileSync } from 'node:fs';
import * as ini from 'ini';
import { DiagnosticSink, Diagnostic } from './diagnostics';
import { SyncModeName } from './conntrackd-types';
import { Cidr, parseCidr, parseFixed, parseIfName, parseIp, parseUint } from './values';

export interface ClusterNode {
  name: string;
  syncAddress: string;
  syncInterface: string;
  lanInterface: string;
  wanInterface: string;
  /** 1..254 (255 is reserved for an address owner). */
  priority: number;
  line: number;
}

export interface ClusterConfig {
  name: string;
  vrid: number;
  vrrpVersion: 2 | 3;
  /** Centiseconds. Default 100. */
  advertIntCs: number;
  vips: { lan: Cidr[]; wan: Cidr[] };
  sync: {
    mode: SyncModeName;
    transport: 'udp' | 'multicast' | 'tcp';
    /** Default 3780. */
    port: number;
    /** Multicast only. Default 225.0.0.50. */
    multicastGroup?: string;
    authKeyFile?: string;
    /** fast_failover: probe interval in ms (Sync/FastFailover); undefined = off. */
    fastFailoverMs?: number;
  };
  nodes: ClusterNode[];
}

export interface ClusterParseResult {
  /** Undefined when required values are missing or invalid. */
  config?: ClusterConfig;
  diagnostics: Diagnostic[];
}

const CLUSTER_KEYS = [
  'name', 'vrid', 'advert_int', 'vrrp_version', 'vip_lan', 'vip_wan', 'sync_mode', 'sync_transport', 'sync_port',
  'sync_group_address', 'auth_key_file', 'fast_failover',
];
const NODE_KEYS = ['sync_address', 'sync_interface', 'lan_interface', 'wan_interface', 'priority'];
const MAX_NODES = 32;

type Lines = Map<string, number>;

/** section -> line, and "section\0key" -> line. Reports malformed lines (and remembers them in `bad`). */
function scanLines(text: string, file: string, sink: DiagnosticSink, bad: Set<string>): Lines {
  const at: Lines = new Map();
  let section = '';
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      const m = /^\[([^\]]*)\]\s*(?:[;#].*)?$/.exec(line);
      if (!m) {
        sink.error({ file, line: i + 1 }, `malformed section header '${line}'`);
        bad.add(line);
      }
      section = (m?.[1] ?? '').trim();
      if (at.has(section)) sink.error({ file, line: i + 1 }, `repeated section [${section}] (first at line ${at.get(section) ?? 0})`);
      else at.set(section, i + 1);
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) {
      sink.error({ file, line: i + 1 }, `expected 'key = value', got '${line}'`);
      bad.add(line);
      return;
    }
    const key = line.slice(0, eq).trim();
    const k = `${section}\0${key}`;
    if (at.has(k)) sink.error({ file, line: i + 1 }, `repeated key '${key}' in [${section}] (first at line ${at.get(k) ?? 0})`);
    else at.set(k, i + 1);
  });
  return at;
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseClusterIni(text: string, opts: { file?: string } = {}): ClusterParseResult {
  const file = opts.file ?? 'cluster.ini';
  const sink = new DiagnosticSink();
  const badLines = new Set<string>();
  const lines = scanLines(text, file, sink, badLines);
  let data: Raw = {};
  try {
    data = ini.parse(text) as Raw;
  } catch (e) {
    sink.error({ file, line: 0 }, `cannot parse INI: ${(e as Error).message}`);
    return { diagnostics: sink.items };
  }
  const nested = (section: string): number | undefined => [...lines].find(([k]) => k.startsWith(`${section}.`) && !k.includes('\0'))?.[1];
  const lineOf = (section: string, key?: string): number =>
    lines.get(key === undefined ? section : `${section}\0${key}`) ?? lines.get(section) ?? nested(section) ?? 0;
  const err = (section: string, key: string | undefined, msg: string): void => sink.error({ file, line: lineOf(section, key) }, msg);
  const warn = (section: string, key: string | undefined, msg: string): void => sink.warning({ file, line: lineOf(section, key) }, msg);

  for (const k of Object.keys(data)) {
    if (k !== 'cluster' && k !== 'node') {
      if (isObj(data[k])) warn(k, undefined, `unknown section [${k}] ignored`);
      else warn('', k, `key '${k}' outside any section ignored`);
    }
  }
  const c = isObj(data.cluster) ? data.cluster : undefined;
  if (!c) {
    sink.error({ file, line: 0 }, 'missing [cluster] section');
    return { diagnostics: sink.items };
  }
  const get = (sec: Raw, section: string, key: string, required: boolean): string | undefined => {
    const v = sec[key];
    if (v === undefined || v === '') {
      if (required) err(section, undefined, `missing '${key}' in [${section}]`);
      return undefined;
    }
    if (isObj(v) || Array.isArray(v)) {
      err(section, key, `'${key}' in [${section}] must be a single value`);
      return undefined;
    }
    return String(v).trim();
  };
  for (const k of Object.keys(c)) if (!CLUSTER_KEYS.includes(k) && !badLines.has(k)) warn('cluster', k, `unknown key '${k}' in [cluster] ignored`);

  let okay = true;
  const need = <T>(v: T | undefined): T | undefined => {
    if (v === undefined) okay = false;
    return v;
  };
  const num = (key: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const r = parseUint(text, min, max);
    if (!r.ok) err('cluster', key, `invalid '${key}' in [cluster]: ${r.reason}`);
    return r.ok ? r.value : undefined;
  };
  const name = need(get(c, 'cluster', 'name', true));
  if (name !== undefined && !/^[A-Za-z0-9_.-]{1,32}$/.test(name)) {
    err('cluster', 'name', `invalid 'name' in [cluster]: use 1-32 letters, digits, '.', '_' or '-'`);
    okay = false;
  }
  const vrid = need(num('vrid', get(c, 'cluster', 'vrid', true), 1, 255));
  const version = num('vrrp_version', get(c, 'cluster', 'vrrp_version', false), 2, 3) ?? 2;
  const advText = get(c, 'cluster', 'advert_int', false) ?? '1';
  const adv = parseFixed(advText, 2);
  let advertIntCs = 100;
  if (!adv.ok || adv.value < 1 || adv.value > 4095 || (version === 2 && (adv.value % 100 !== 0 || adv.value > 25500))) {
    err('cluster', 'advert_int', `invalid 'advert_int' in [cluster]: ${version === 2 ? 'VRRPv2 needs whole seconds 1..255' : '0.01..40.95 seconds'}, got '${advText}'`);
    okay = false;
  } else advertIntCs = adv.value;

  const vipList = (key: string): Cidr[] => {
    const text = get(c, 'cluster', key, false);
    if (text === undefined) return [];
    const out: Cidr[] = [];
    for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
      const r = parseCidr(part);
      if (!r.ok) {
        err('cluster', key, `invalid '${key}' in [cluster]: ${r.reason}`);
        okay = false;
      } else out.push(r.value);
    }
    if (new Set(out.map((v) => v.family)).size > 1) {
      err('cluster', key, `'${key}' in [cluster] mixes IPv4 and IPv6 addresses`);
      okay = false;
    }
    return out;
  };
  const vips = { lan: vipList('vip_lan'), wan: vipList('vip_wan') };
  if (vips.lan.length + vips.wan.length === 0) {
    err('cluster', undefined, "[cluster] needs at least one of 'vip_lan' or 'vip_wan'");
    okay = false;
  }
  const mode = get(c, 'cluster', 'sync_mode', false) ?? 'ftfw';
  if (mode !== 'ftfw' && mode !== 'alarm' && mode !== 'notrack') {
    err('cluster', 'sync_mode', `invalid 'sync_mode' in [cluster]: expected ftfw, alarm or notrack, got '${mode}'`);
    okay = false;
  }
  const transport = get(c, 'cluster', 'sync_transport', false) ?? 'udp';
  if (transport !== 'udp' && transport !== 'multicast' && transport !== 'tcp') {
    err('cluster', 'sync_transport', `invalid 'sync_transport' in [cluster]: expected udp, multicast or tcp, got '${transport}'`);
    okay = false;
  }
  const port = num('sync_port', get(c, 'cluster', 'sync_port', false), 1, 65535) ?? 3780;
  const groupText = get(c, 'cluster', 'sync_group_address', false);
  const group = groupText === undefined ? undefined : parseIp(groupText, 4);
  if (group && !group.ok) {
    err('cluster', 'sync_group_address', `invalid 'sync_group_address' in [cluster]: ${group.reason}`);
    okay = false;
  }
  const authKeyFile = get(c, 'cluster', 'auth_key_file', false);
  if (authKeyFile !== undefined && !authKeyFile.startsWith('/')) {
    err('cluster', 'auth_key_file', "invalid 'auth_key_file' in [cluster]: expected an absolute path");
    okay = false;
  }

  const ffText = get(c, 'cluster', 'fast_failover', false);
  const fastFailoverMs = ffText === undefined ? undefined : num('fast_failover', ffText, 5, 1000);
  if (ffText !== undefined && fastFailoverMs === undefined) okay = false;
  if (fastFailoverMs !== undefined && transport === 'multicast') {
    err('cluster', 'fast_failover', "'fast_failover' in [cluster] needs sync_transport udp or tcp (its probes go to the one peer)");
    okay = false;
  }

  const nodes = readNodes(data.node, get, err, warn, lineOf);
  if (nodes === undefined) okay = false;
  if (!okay || name === undefined || vrid === undefined || nodes === undefined) return { diagnostics: sink.items };
  const sync: ClusterConfig['sync'] = { mode: mode as SyncModeName, transport: transport as ClusterConfig['sync']['transport'], port };
  if (transport === 'multicast') sync.multicastGroup = group?.ok ? group.value.address : '225.0.0.50';
  if (authKeyFile !== undefined) sync.authKeyFile = authKeyFile;
  if (fastFailoverMs !== undefined) sync.fastFailoverMs = fastFailoverMs;
  return { config: { name, vrid, vrrpVersion: version === 3 ? 3 : 2, advertIntCs, vips, sync, nodes }, diagnostics: sink.items };
}

type Getter = (sec: Raw, section: string, key: string, required: boolean) => string | undefined;
type Report = (section: string, key: string | undefined, msg: string) => void;

function readNodes(raw: unknown, get: Getter, err: Report, warn: Report, lineOf: (s: string, k?: string) => number): ClusterNode[] | undefined {
  const nodes: ClusterNode[] = [];
  let okay = true;
  const entries = isObj(raw) ? Object.entries(raw) : [];
  for (const [nodeName, sec] of entries) {
    const section = `node.${nodeName}`;
    if (!isObj(sec) || Object.values(sec).some(isObj)) {
      err(section, undefined, `invalid node section [${section}]: use [node.NAME] with NAME free of dots`);
      okay = false;
      continue;
    }
    for (const k of Object.keys(sec)) if (!NODE_KEYS.includes(k)) warn(section, k, `unknown key '${k}' in [${section}] ignored`);
    const ifName = (key: string): string | undefined => {
      const v = get(sec, section, key, true);
      if (v === undefined) return undefined;
      const r = parseIfName(v);
      if (!r.ok) err(section, key, `invalid '${key}' in [${section}]: ${r.reason}`);
      return r.ok ? r.value : undefined;
    };
    const addrText = get(sec, section, 'sync_address', true);
    const addr = addrText === undefined ? undefined : parseIp(addrText);
    if (addr && !addr.ok) err(section, 'sync_address', `invalid 'sync_address' in [${section}]: ${addr.reason}`);
    const prioText = get(sec, section, 'priority', true);
    const prio = prioText === undefined ? undefined : parseUint(prioText, 1, 254);
    if (prio && !prio.ok) err(section, 'priority', `invalid 'priority' in [${section}]: ${prio.reason}`);
    const syncIf = ifName('sync_interface');
    const lanIf = ifName('lan_interface');
    const wanIf = ifName('wan_interface');
    if (!addr?.ok || !prio?.ok || !syncIf || !lanIf || !wanIf) {
      okay = false;
      continue;
    }
    nodes.push({
      name: nodeName, syncAddress: addr.value.address, syncInterface: syncIf, lanInterface: lanIf, wanInterface: wanIf,
      priority: prio.value, line: lineOf(section),
    });
  }
  if (entries.length === 0) {
    err('cluster', undefined, 'no [node.NAME] sections: a cluster needs at least two nodes');
    return undefined;
  }
  if (entries.length === 1) warn(`node.${entries[0]?.[0] ?? ''}`, undefined, 'only one node: a cluster needs at least two nodes to fail over');
  if (entries.length > MAX_NODES) {
    err('cluster', undefined, `more than ${MAX_NODES} nodes`);
    okay = false;
  }
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as ClusterNode;
    const prev = nodes.slice(0, i);
    const sameAddr = prev.find((p) => p.syncAddress === n.syncAddress);
    if (sameAddr) {
      err(`node.${n.name}`, 'sync_address', `sync_address ${n.syncAddress} of node '${n.name}' is also used by node '${sameAddr.name}'`);
      okay = false;
    }
    const samePrio = prev.find((p) => p.priority === n.priority);
    if (samePrio) warn(`node.${n.name}`, 'priority', `nodes '${samePrio.name}' and '${n.name}' have the same priority ${n.priority}; the election then depends on addresses`);
    const first = nodes[0] as ClusterNode;
    if (n.syncAddress.includes(':') !== first.syncAddress.includes(':')) {
      err(`node.${n.name}`, 'sync_address', `sync_address of node '${n.name}' is not the same address family as node '${first.name}'`);
      okay = false;
    }
  }
  return okay ? nodes : undefined;
}

export function loadClusterIni(path: string): ClusterParseResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { diagnostics: [{ file: path, line: 0, severity: 'error', message: `cannot read file (${(e as NodeJS.ErrnoException).code ?? 'EIO'})` }] };
  }
  return parseClusterIni(text, { file: path });
}

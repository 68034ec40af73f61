/**
 * `ctsyncd init` arguments. The cluster comes from --cluster FILE (INI, see
 * src/config/cluster.ts) or from flags, which are turned into the same INI
 * text so both go through one parser and one set of diagnostics.
 */
import { DEFAULT_KEY_FILE } from './key';
import { DEFAULT_PATHS, type InitPaths } from './types';

export const OUTPUTS = ['conntrackd', 'keepalived', 'nftables', 'systemd', 'pacemaker', 'dbus'] as const;
export type OutputName = (typeof OUTPUTS)[number];

export interface InitArgs {
  clusterFile?: string;
  /** INI text built from flags (when no --cluster). */
  clusterText?: string;
  node?: string;
  outDir?: string;
  force: boolean;
  only: OutputName[];
  paths: InitPaths;
  group?: string;
  /** Sync key path (default /etc/ctsync/sync.key); undefined with --no-auth. */
  keyFile?: string;
  /** --new-key: generate a key even if the file exists (with --force). */
  newKey: boolean;
  help: boolean;
}

export type ParsedInitArgs = { ok: true; args: InitArgs } | { ok: false; error: string };

const CLUSTER_FLAGS: Record<string, string> = {
  '--name': 'name', '--vrid': 'vrid', '--advert-int': 'advert_int', '--vrrp-version': 'vrrp_version',
  '--vip-lan': 'vip_lan', '--vip-wan': 'vip_wan', '--sync-mode': 'sync_mode', '--sync-transport': 'sync_transport',
  '--sync-port': 'sync_port', '--sync-group-address': 'sync_group_address', '--fast-failover': 'fast_failover',
};
const PATH_FLAGS: Record<string, keyof InitPaths> = {
  '--binary': 'binary', '--config': 'config', '--notify-hook': 'notifyHook', '--socket': 'controlSocket', '--lock-file': 'lockFile',
};
const NODE_FIELDS = ['sync_address', 'sync_interface', 'lan_interface', 'wan_interface', 'priority'];

export const INIT_USAGE = `usage: ctsyncd init (--cluster FILE | CLUSTER FLAGS) [--node NAME] [--out DIR] [--force]
                    [--only conntrackd,keepalived,nftables,systemd,pacemaker,dbus] [--group NAME]
                    [--key-file PATH | --no-auth] [--new-key]
                    [--binary PATH] [--config PATH] [--notify-hook PATH] [--socket PATH] [--lock-file PATH]
cluster flags: --name N --vrid N [--advert-int S] [--vrrp-version 2|3] [--vip-lan CIDR,..] [--vip-wan CIDR,..]
               [--sync-mode ftfw|alarm|notrack] [--sync-transport udp|multicast|tcp] [--sync-port P]
               [--fast-failover MS] (liveness probes for the embedded VRRP, two nodes)
               --node-def NAME,SYNC_ADDR,SYNC_IF,LAN_IF,WAN_IF,PRIORITY (once per node)
writes into DIR (default ./ctsync-NODE): conntrackd.conf keepalived.conf nftables.conf ctsyncd.service cib.xml org.ctsync.Daemon1.conf
sync authentication: conntrackd.conf gets Sync { Auth { KeyFile PATH } } (default ${DEFAULT_KEY_FILE});
  an existing key file is checked and kept, a missing one is generated (32 random bytes, hex, mode 0600):
  copy it to every other node before running init there. --new-key --force replaces an existing key.
`;

const SAFE_VALUE = /^[A-Za-z0-9_.:/,\- ]*$/;
const GROUP = /^[a-z_][a-z0-9_-]{0,31}$/;

export function parseInitArgs(argv: readonly string[]): ParsedInitArgs {
  const paths: InitPaths = { ...DEFAULT_PATHS };
  const cluster: string[] = [];
  const nodes: string[] = [];
  const out: InitArgs = { force: false, only: [...OUTPUTS], paths, keyFile: DEFAULT_KEY_FILE, newKey: false, help: false };
  let noAuth = false;
  let keyFlag = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '-h' || flag === '--help') {
      out.help = true;
      continue;
    }
    if (flag === '--force') {
      out.force = true;
      continue;
    }
    if (flag === '--no-auth' || flag === '--new-key') {
      if (flag === '--no-auth') noAuth = true;
      else out.newKey = true;
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) return { ok: false, error: `${flag}: missing value` };
    i++;
    if (!SAFE_VALUE.test(value)) return { ok: false, error: `${flag}: unsupported characters in '${value}'` };
    const key = CLUSTER_FLAGS[flag];
    const pathKey = PATH_FLAGS[flag];
    if (key !== undefined) cluster.push(`${key} = ${value}`);
    else if (pathKey !== undefined) {
      if (!value.startsWith('/')) return { ok: false, error: `${flag}: '${value}' must be an absolute path` };
      paths[pathKey] = value;
    } else if (flag === '--key-file') {
      if (!value.startsWith('/')) return { ok: false, error: `--key-file: '${value}' must be an absolute path (the daemon reads it from there)` };
      if (/[ ,]/.test(value)) return { ok: false, error: `--key-file: '${value}' must not contain spaces or commas` };
      out.keyFile = value;
      keyFlag = true;
    } else if (flag === '--cluster') out.clusterFile = value;
    else if (flag === '--node') out.node = value;
    else if (flag === '--out') out.outDir = value;
    else if (flag === '--group') {
      if (!GROUP.test(value)) return { ok: false, error: `--group: '${value}' is not a valid group name` };
      out.group = value;
    } else if (flag === '--only') {
      const list = value.split(',').map((s) => s.trim());
      const bad = list.find((s) => !(OUTPUTS as readonly string[]).includes(s));
      if (bad !== undefined) return { ok: false, error: `--only: unknown output '${bad}' (known: ${OUTPUTS.join(', ')})` };
      out.only = list as OutputName[];
    } else if (flag === '--node-def') {
      const f = value.split(',').map((s) => s.trim());
      if (f.length !== 6 || f.some((x) => x === '')) return { ok: false, error: `--node-def: expected NAME,SYNC_ADDR,SYNC_IF,LAN_IF,WAN_IF,PRIORITY, got '${value}'` };
      nodes.push(`[node.${f[0]}]`, ...NODE_FIELDS.map((k, j) => `${k} = ${f[j + 1]}`), '');
    } else return { ok: false, error: `unknown option ${flag}` };
  }
  if (out.help) return { ok: true, args: out };
  if (noAuth && (keyFlag || out.newKey)) return { ok: false, error: '--no-auth excludes --key-file and --new-key' };
  if (noAuth) delete out.keyFile;
  if (out.clusterFile !== undefined && (cluster.length > 0 || nodes.length > 0)) {
    return { ok: false, error: '--cluster and cluster flags (--name, --node-def, ...) exclude each other' };
  }
  if (out.clusterFile === undefined) {
    if (cluster.length === 0 && nodes.length === 0) return { ok: false, error: 'give --cluster FILE or the cluster flags' };
    out.clusterText = ['[cluster]', ...cluster, '', ...nodes].join('\n');
  }
  return { ok: true, args: out };
}

/**
 * `ctsyncd init`: render the files a node needs from a cluster description
 * and write them into one directory. Every rendered file is checked with our
 * own parsers before anything is written; existing files are kept unless
 * --force. Exit status 0 on success, 1 on any error (usage, invalid
 * cluster, write failure).
 */
import { join } from 'node:path';
import { parseClusterIni, type ClusterConfig } from '../config/cluster';
import { parseConntrackdConf } from '../config/conntrackd';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../config/diagnostics';
import { parseKeepalivedConf } from '../config/keepalived';
import { INIT_USAGE, parseInitArgs, type OutputName } from './args';
import { renderCib } from './cib';
import { renderConntrackdConf } from './conntrackd-conf';
import { renderDbusPolicy, renderSystemdUnit } from './files';
import { ensureSyncKey, keyAdvice, type KeyDeps, type KeyOutcome } from './key';
import { renderKeepalivedConf } from './keepalived-conf';
import { renderNftRuleset } from './nftables-conf';
import type { InitContext } from './types';

export interface InitDeps extends KeyDeps {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  readFile(path: string): string;
  hostname(): string;
  /** Root of the installed package (holds hooks/). */
  packageDir: string;
}

export interface RenderedFile {
  output: OutputName;
  name: string;
  text: string;
  mode: number;
}

export const FILE_NAMES: Record<OutputName, string> = {
  conntrackd: 'conntrackd.conf',
  keepalived: 'keepalived.conf',
  nftables: 'nftables.conf',
  systemd: 'ctsyncd.service',
  pacemaker: 'cib.xml',
  dbus: 'org.ctsync.Daemon1.conf',
};

function pickNode(cluster: ClusterConfig, wanted: string | undefined, host: string): InitContext['node'] | string {
  const name = wanted ?? host;
  const node = cluster.nodes.find((n) => n.name === name);
  if (node) return node;
  const names = cluster.nodes.map((n) => n.name).join(', ');
  return wanted === undefined
    ? `this host (${host}) is not a node of the cluster; pick one with --node (${names})`
    : `no node '${wanted}' in the cluster (nodes: ${names})`;
}

/** Render the selected outputs; errors name the output that failed its own parser. */
export function renderAll(ctx: InitContext, only: readonly OutputName[], deps: Pick<InitDeps, 'readFile' | 'packageDir'>): RenderedFile[] | string {
  const files: RenderedFile[] = [];
  const bad = (what: string, diags: Diagnostic[]): string =>
    `internal error: generated ${what} does not parse:\n${diags.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n')}`;
  for (const output of only) {
    let text: string;
    switch (output) {
      case 'conntrackd': {
        const r = renderConntrackdConf(ctx);
        if (!r.ok) return r.error;
        const check = parseConntrackdConf(r.text, { file: FILE_NAMES.conntrackd });
        if (hasErrors(check.diagnostics)) return bad(FILE_NAMES.conntrackd, check.diagnostics);
        text = r.text;
        break;
      }
      case 'keepalived': {
        text = renderKeepalivedConf(ctx);
        const check = parseKeepalivedConf(text, { file: FILE_NAMES.keepalived });
        if (hasErrors(check.diagnostics)) return bad(FILE_NAMES.keepalived, check.diagnostics);
        break;
      }
      case 'nftables':
        text = renderNftRuleset(ctx);
        break;
      case 'systemd':
        text = renderSystemdUnit(deps.readFile(join(deps.packageDir, 'hooks', 'systemd', 'ctsyncd.service')), ctx);
        break;
      case 'pacemaker':
        text = renderCib(ctx);
        break;
      case 'dbus':
        text = renderDbusPolicy(deps.readFile(join(deps.packageDir, 'hooks', 'dbus', 'org.ctsync.Daemon1.conf')), ctx);
        break;
    }
    files.push({ output, name: FILE_NAMES[output], text, mode: output === 'nftables' ? 0o755 : 0o644 });
  }
  return files;
}

export async function runInit(argv: readonly string[], deps: InitDeps): Promise<number> {
  const parsed = parseInitArgs(argv);
  if (!parsed.ok) {
    deps.stderr.write(`ctsyncd init: ${parsed.error}\n${INIT_USAGE}`);
    return 1;
  }
  const args = parsed.args;
  if (args.help) {
    deps.stdout.write(INIT_USAGE);
    return 0;
  }
  let text = args.clusterText ?? '';
  const file = args.clusterFile ?? 'command line';
  if (args.clusterFile !== undefined) {
    try {
      text = deps.readFile(args.clusterFile);
    } catch (e) {
      deps.stderr.write(`ctsyncd init: cannot read ${args.clusterFile} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})\n`);
      return 1;
    }
  }
  const { config, diagnostics } = parseClusterIni(text, { file });
  for (const d of diagnostics) deps.stderr.write(`${formatDiagnostic(d)}\n`);
  if (!config || hasErrors(diagnostics)) {
    deps.stderr.write('ctsyncd init: invalid cluster description, nothing written\n');
    return 1;
  }
  const node = pickNode(config, args.node, deps.hostname());
  if (typeof node === 'string') {
    deps.stderr.write(`ctsyncd init: ${node}\n`);
    return 1;
  }
  const ctx: InitContext = {
    cluster: config, node, peers: config.nodes.filter((n) => n !== node), paths: args.paths, group: args.group, keyFile: args.keyFile,
  };
  const files = renderAll(ctx, args.only, deps);
  if (typeof files === 'string') {
    deps.stderr.write(`ctsyncd init: ${files}\n`);
    return 1;
  }
  const dir = args.outDir ?? `ctsync-${node.name}`;
  const existing = files.filter((f) => deps.exists(join(dir, f.name)));
  if (existing.length > 0 && !args.force) {
    deps.stderr.write(`ctsyncd init: ${existing.map((f) => join(dir, f.name)).join(', ')} already exist; use --force to overwrite\n`);
    return 1;
  }
  // the key first: a config naming a key that could not be made is not written
  let key: KeyOutcome | undefined;
  if (args.keyFile !== undefined && args.only.includes('conntrackd')) {
    key = ensureSyncKey({ path: args.keyFile, newKey: args.newKey, force: args.force }, deps);
    if (!key.ok) {
      deps.stderr.write(`ctsyncd init: ${key.error}; nothing written (or give --key-file PATH, or --no-auth)\n`);
      return 1;
    }
  }
  try {
    deps.mkdir(dir);
    for (const f of files) deps.writeFile(join(dir, f.name), f.text, f.mode);
  } catch (e) {
    deps.stderr.write(`ctsyncd init: cannot write into ${dir} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})\n`);
    return 1;
  }
  for (const f of files) deps.stdout.write(`wrote ${join(dir, f.name)}\n`);
  if (key?.ok) deps.stdout.write(keyAdvice(key));
  else if (args.keyFile === undefined && args.only.includes('conntrackd')) {
    deps.stdout.write('sync authentication is off (--no-auth): anyone who can reach the sync port can change the peer\'s flows\n');
  }
  return 0;
}

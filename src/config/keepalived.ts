/**
 * keepalived.conf reader for the VRRP subset ctsync implements.
 *
 *   parseKeepalivedConf(text, { file, resolveInclude })  -> { config, diagnostics }  (pure)
 *   loadKeepalivedConf(path)                             -> same, reading the file and its includes
 *
 * Syntax (keepalived.conf(5), lib/parser.c model): "keyword args" lines and
 * "keyword args {" blocks; comments start with '#' or '!' anywhere; '"' or "'"
 * quote; keywords are case-sensitive. Blocks ctsync does not handle
 * (vrrp_script, virtual_server, static_* ...) are skipped whole with a warning;
 * '@' conditional lines and '$' definitions are reported unsupported.
 */
import { Stmt, TreeLimits, posOf, readBlockTree, IncludeResult } from './blocktree';
import { DiagnosticSink, Position } from './diagnostics';
import { readGlobalDefs, readSyncGroup } from './keepalived-global';
import { RawInstance, finishInstance, readInstance } from './keepalived-instance';
import { fsIncludeResolver } from './keepalived-include';
import { KeepalivedConfig, KeepalivedParseResult, SyncGroup, VrrpInstance, defaultGlobalDefs } from './keepalived-types';
import { KCtx } from './keepalived-values';

export interface KeepalivedParseOptions {
  /** Name used in diagnostics. Default 'keepalived.conf'. */
  file?: string;
  /** How 'include PATTERN' is read; without it includes are reported and skipped. */
  resolveInclude?: (pattern: string, from: Position) => IncludeResult;
  limits?: Partial<TreeLimits>;
}

const INCLUDE_KEYWORDS = ['include', 'includer', 'includem', 'includew', 'includeb', 'includea'];

export function parseKeepalivedConf(text: string, opts: KeepalivedParseOptions = {}): KeepalivedParseResult {
  const file = opts.file ?? 'keepalived.conf';
  const sink = new DiagnosticSink();
  const ctx: KCtx = { sink };
  const tree = readBlockTree(
    text,
    {
      file, commentChars: '#!', commentAnywhere: true, quoteChars: '"\'', richEscapes: true, includeKeywords: INCLUDE_KEYWORDS,
      ...(opts.resolveInclude ? { resolveInclude: opts.resolveInclude } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    },
    sink,
  );
  const config: KeepalivedConfig = { globalDefs: defaultGlobalDefs(), syncGroups: [], instances: [] };
  // global_defs first: instance defaults (version, garp) come from it wherever it is written.
  for (const s of tree) if (s.name.text === 'global_defs') readGlobalDefs(ctx, s, config.globalDefs);
  const raws: RawInstance[] = [];
  for (const s of tree) {
    const key = s.name.text;
    if (key === 'global_defs') continue;
    if (key === 'vrrp_instance') {
      const r = readInstance(ctx, s, config.globalDefs);
      if (r) raws.push(r);
    } else if (key === 'vrrp_sync_group') {
      const g = readSyncGroup(ctx, s);
      if (g) config.syncGroups.push(g);
    } else {
      skipTopLevel(ctx, s);
    }
  }
  const byName = new Map<string, Stmt>();
  for (const r of raws) {
    const prev = byName.get(r.inst.name);
    if (prev) {
      ctx.sink.error(posOf(r.stmt), `duplicate vrrp_instance '${r.inst.name}' (first at line ${prev.line})`);
      continue;
    }
    byName.set(r.inst.name, r.stmt);
    const inst = finishInstance(ctx, r);
    if (inst) config.instances.push(inst);
  }
  checkDuplicates(ctx, config.instances);
  linkSyncGroups(ctx, config.syncGroups, config.instances, byName);
  return { config, diagnostics: sink.items };
}

/** Known keepalived sections ctsync does not implement; anything else top-level is unknown. */
const UNSUPPORTED_TOP = [
  'vrrp_script', 'virtual_server', 'virtual_server_group', 'real_server', 'static_ipaddress', 'static_routes',
  'static_rules', 'linkbeat_interfaces', 'track_file', 'vrrp_track_file', 'vrrp_track_process', 'garp_group',
  'bfd_instance', 'net_namespace', 'net_namespace_ipvs', 'namespace_with_ipsets', 'instance', 'use_pid_dir',
  'child_wait_time', 'track_group', 'vrrp_garp_group',
];

function skipTopLevel(ctx: KCtx, s: Stmt): void {
  const key = s.name.text;
  const what = s.block ? 'block' : 'line';
  if (key.startsWith('@')) {
    ctx.sink.warning(posOf(s), `conditional configuration '${key}' is not supported by ctsync; ${what} skipped`);
  } else if (key.startsWith('$') || key.startsWith('~')) {
    ctx.sink.warning(posOf(s), `parameter substitution and sequences ('${key}') are not supported by ctsync; ${what} skipped`);
  } else if (UNSUPPORTED_TOP.includes(key)) {
    ctx.sink.warning(posOf(s), `'${key}' is not supported by ctsync; ${what} skipped`);
  } else {
    ctx.sink.warning(posOf(s), `unknown keyword '${key}'; ${what} skipped`);
  }
}

function checkDuplicates(ctx: KCtx, list: VrrpInstance[]): void {
  const seen = new Map<string, VrrpInstance>();
  const vips = new Map<string, VrrpInstance>();
  for (const i of list) {
    // VRID scope: interface + family (+ multicast vs. each unicast peer set).
    const key = `${i.interface}|${i.family}|${i.vrid}|${i.unicastPeers.map((p) => p.address).sort().join(',')}`;
    const prev = seen.get(key);
    if (prev) {
      ctx.sink.error({ file: i.file, line: i.line }, `vrrp_instance '${i.name}' reuses virtual_router_id ${i.vrid} on ${i.interface} (IPv${i.family}) of '${prev.name}' at line ${prev.line}`);
    } else seen.set(key, i);
    for (const v of i.virtualIpaddresses) {
      const vk = `${v.address}/${v.prefix}`;
      const other = vips.get(vk);
      if (other && other !== i) {
        ctx.sink.warning({ file: i.file, line: v.line }, `address ${vk} of '${i.name}' is also a virtual address of '${other.name}'`);
      } else vips.set(vk, i);
    }
  }
}

function linkSyncGroups(ctx: KCtx, groups: SyncGroup[], list: VrrpInstance[], declared: Map<string, Stmt>): void {
  const names = new Map<string, SyncGroup>();
  for (const g of groups) {
    const pos = { file: g.file, line: g.line };
    if (names.has(g.name)) ctx.sink.error(pos, `duplicate vrrp_sync_group '${g.name}'`);
    names.set(g.name, g);
    for (const m of g.members) {
      const inst = list.find((i) => i.name === m);
      if (!declared.has(m)) {
        ctx.sink.error(pos, `vrrp_sync_group '${g.name}' names unknown vrrp_instance '${m}'`);
      } else if (inst?.syncGroup) {
        ctx.sink.error(pos, `vrrp_instance '${m}' is in both vrrp_sync_group '${inst.syncGroup}' and '${g.name}'`);
      } else if (inst) {
        inst.syncGroup = g.name;
      }
    }
    if (g.members.length === 1) ctx.sink.warning(pos, `vrrp_sync_group '${g.name}' has only one instance`);
  }
}

/** Read a keepalived.conf and its includes (globs relative to the including file). */
export function loadKeepalivedConf(path: string, opts: Omit<KeepalivedParseOptions, 'file' | 'resolveInclude'> = {}): KeepalivedParseResult {
  const resolver = fsIncludeResolver();
  const top = resolver.readOne(path);
  if ('error' in top) {
    return {
      config: { globalDefs: defaultGlobalDefs(), syncGroups: [], instances: [] },
      diagnostics: [{ file: path, line: 0, severity: 'error', message: top.error }],
    };
  }
  return parseKeepalivedConf(top.text, { ...opts, file: path, resolveInclude: resolver.resolve });
}

export * from './keepalived-types';
export { formatDiagnostic, hasErrors } from './diagnostics';
export type { Diagnostic, Severity } from './diagnostics';

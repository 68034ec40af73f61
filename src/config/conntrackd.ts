/**
 * conntrackd.conf reader (conntrack-tools 1.4 syntax, conntrackd.conf(5)).
 *
 *   parseConntrackdConf(text, { file })  -> { config, diagnostics }   (pure)
 *   loadConntrackdConf(path)             -> same, reading the file
 *
 * Syntax facts taken from conntrack-tools (src/read_config_lex.l, read_config_yy.y):
 * keywords are case-sensitive; on/off/yes/no and mode names are not; '#' starts a
 * comment; values are single words. Unlike conntrackd, ctsync reads one statement
 * per line and also accepts double-quoted values.
 */
import { readFileSync } from 'node:fs';
import { Stmt, TreeLimits, posOf, readBlockTree } from './blocktree';
import { Ctx, unknownOption, warnIfUnimplemented } from './conntrackd-common';
import { readGeneral, readStats } from './conntrackd-general';
import { readSync } from './conntrackd-sync';
import { checkClusterSync, readCluster } from './conntrackd-cluster';
import { ConntrackdConfig, ConntrackdParseResult, defaultGeneral } from './conntrackd-types';
import { DiagnosticSink } from './diagnostics';

export interface ConntrackdParseOptions {
  /** Name used in diagnostics. Default 'conntrackd.conf'. */
  file?: string;
  limits?: Partial<TreeLimits>;
}

const TOP_KEYS = ['General', 'Sync', 'Stats', 'Helper', 'Cluster'];

export function parseConntrackdConf(text: string, opts: ConntrackdParseOptions = {}): ConntrackdParseResult {
  const file = opts.file ?? 'conntrackd.conf';
  const sink = new DiagnosticSink();
  const ctx: Ctx = { sink };
  const tree = readBlockTree(
    text,
    { file, commentChars: '#', commentAnywhere: false, quoteChars: '"', richEscapes: false, ...(opts.limits ? { limits: opts.limits } : {}) },
    sink,
  );
  const config: ConntrackdConfig = { general: defaultGeneral() };
  const firstAt = new Map<string, Stmt>();
  for (const s of tree) {
    const key = s.name.quoted ? '' : s.name.text;
    const prev = firstAt.get(key);
    switch (key) {
      case 'General':
        if (!s.block || s.args.length > 0) {
          ctx.sink.error(posOf(s), "'General' must be followed by '{'");
          break;
        }
        readGeneral(ctx, s.block, config.general);
        break;
      case 'Sync': {
        if (prev) {
          ctx.sink.error(posOf(s), `repeated 'Sync' section (first at line ${prev.line})`);
          break;
        }
        const sync = readSync(ctx, s);
        if (sync) config.sync = sync;
        break;
      }
      case 'Stats':
        if (prev) {
          ctx.sink.error(posOf(s), `repeated 'Stats' section (first at line ${prev.line})`);
          break;
        }
        config.stats = readStats(ctx, s);
        break;
      case 'Cluster': {
        // ctsync extension: active-active cluster (conntrackd-cluster.ts).
        if (prev) {
          ctx.sink.error(posOf(s), `repeated 'Cluster' section (first at line ${prev.line})`);
          break;
        }
        const cluster = readCluster(ctx, s);
        if (cluster) config.cluster = cluster;
        break;
      }
      case 'Helper':
        if (!s.block) ctx.sink.error(posOf(s), "'Helper' must be followed by '{'");
        warnIfUnimplemented(ctx, s, 'Helper', 'Helper');
        break;
      default:
        unknownOption(ctx, s, 'the top level', TOP_KEYS);
    }
    if (!prev && key) firstAt.set(key, s);
  }
  const sync = firstAt.get('Sync');
  const stats = firstAt.get('Stats');
  if (sync && stats) {
    ctx.sink.error(posOf(stats), `cannot use both 'Stats' and 'Sync' sections (Sync at line ${sync.line})`);
  }
  const cluster = firstAt.get('Cluster');
  if (cluster) checkClusterSync(ctx, cluster, config.sync, config.cluster);
  if (!sync && !stats && !firstAt.has('Helper')) {
    ctx.sink.error({ file, line: 0 }, "missing 'Sync' section");
  }
  return { config, diagnostics: sink.items };
}

/** Read and parse a file; I/O failures become an error diagnostic. */
export function loadConntrackdConf(path: string, opts: Omit<ConntrackdParseOptions, 'file'> = {}): ConntrackdParseResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    return {
      config: { general: defaultGeneral() },
      diagnostics: [{ file: path, line: 0, severity: 'error', message: `cannot read file (${code})` }],
    };
  }
  return parseConntrackdConf(text, { ...opts, file: path });
}

export * from './conntrackd-types';
export { CONNTRACKD_UNIMPLEMENTED } from './conntrackd-unimplemented';
export { formatDiagnostic, hasErrors } from './diagnostics';
export type { Diagnostic, Severity } from './diagnostics';

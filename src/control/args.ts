/**
 * Command line of ctsyncd, compatible with conntrackd 1.4.7 (src/main.c):
 *  - an optional argument is the next word when there is one that does not
 *    start with '-'; it may be abbreviated (a prefix: "-c e" = "-c expect");
 *  - -C always takes the next word;
 *  - -v / -h act as soon as they are seen.
 * Where conntrackd is silently lax, ctsyncd is strict (exit 1 with a message):
 * unknown options (conntrackd exits 0), a word after -c/-i/-e/-F/-R that is
 * neither ct nor expect, two different commands at once (conntrackd keeps the
 * last one), -x without -i/-e, -C without a file. Long options are extra.
 */
import type { CacheName, CommitKind, StatsSection } from '../daemon/api';
import type { CtKind } from '../netlink/types';

export type Action =
  | { cmd: 'commit'; kind: CommitKind }
  | { cmd: 'flushCache'; which: CacheName | 'all' }
  | { cmd: 'flushKernel'; kind: CommitKind }
  | { cmd: 'dump'; which: CacheName; kind: CtKind; xml: boolean }
  | { cmd: 'kill' }
  | { cmd: 'stats'; section: StatsSection }
  | { cmd: 'resyncKernel'; kind: CommitKind }
  | { cmd: 'requestResync' }
  | { cmd: 'bulkSend' }
  | { cmd: 'shortenTimers' }
  | { cmd: 'status' };

export type Mode = 'help' | 'version' | 'daemon' | 'foreground' | 'request';

export type ParsedArgs =
  | { ok: true; mode: Mode; config?: string; action?: Action; warnings: string[] }
  | { ok: false; message: string; usage: boolean };

export const DEFAULT_CONFIG = '/etc/conntrackd/conntrackd.conf';

/** Long option -> short flag. */
const LONG: Record<string, string> = {
  '--config': '-C',
  '--daemon': '-d',
  '--commit': '-c',
  '--flush-cache': '-f',
  '--flush-kernel': '-F',
  '--dump-internal': '-i',
  '--dump-external': '-e',
  '--xml': '-x',
  '--kill': '-k',
  '--stats': '-s',
  '--resync-kernel': '-R',
  '--request-resync': '-n',
  '--bulk-send': '-B',
  '--shorten-timers': '-t',
  '--reset-timers': '-t',
  '--version': '-v',
  '--help': '-h',
  '--status': 'status',
};

const STATS_WORDS: Array<[string, StatsSection]> = [
  ['network', 'network'],
  ['cache', 'cache'],
  ['runtime', 'runtime'],
  ['multicast', 'link'],
  ['link', 'link'],
  ['rsqueue', 'rsqueue'],
  ['process', 'process'],
  ['queue', 'queue'],
  ['ct', 'ct'],
  ['expect', 'expect'],
];

/** conntrackd matches a word as a prefix of the keyword, in table order. */
function matchWord<T>(word: string, table: Array<[string, T]>): T | undefined {
  for (const [k, v] of table) if (k.startsWith(word)) return v;
  return undefined;
}

function sameAction(a: Action, b: Action): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const warnings: string[] = [];
  let config: string | undefined;
  let daemon = false;
  let action: Action | undefined;
  let xml = false;
  let flagOf = '';

  const err = (message: string, usage = true): ParsedArgs => ({ ok: false, message, usage });
  const optional = (i: number): string | undefined => {
    const next = argv[i + 1];
    return next !== undefined && !next.startsWith('-') ? next : undefined;
  };

  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] ?? '';
    let arg = raw;
    let attached: string | undefined;
    if (raw.startsWith('--')) {
      const eq = raw.indexOf('=');
      const name = eq >= 0 ? raw.slice(0, eq) : raw;
      if (eq >= 0) attached = raw.slice(eq + 1);
      const short = LONG[name];
      if (!short) return err(`unknown option: ${raw}`);
      arg = short;
    }
    // With an attached value (--commit=ct) the value is taken from there, never from the next word.
    const takeOpt = (): string | undefined => {
      if (attached !== undefined) return attached;
      const v = optional(i);
      if (v !== undefined) i++;
      return v;
    };
    let next: Action | undefined;
    switch (arg) {
      case '-C': {
        const file = attached ?? argv[i + 1];
        if (attached === undefined) i++;
        if (file === undefined || file === '') return err('missing config filename after -C');
        config = file;
        continue;
      }
      case '-d':
        daemon = true;
        continue;
      case '-x':
        xml = true;
        continue;
      case '-v':
        return { ok: true, mode: 'version', warnings };
      case '-h':
        return { ok: true, mode: 'help', warnings };
      case '-S':
        warnings.push('WARNING: -S option is obsolete. Ignoring.');
        continue;
      case '-c':
      case '-F':
      case '-R':
      case '-i':
      case '-e': {
        const word = takeOpt();
        let kind: CommitKind = arg === '-i' || arg === '-e' ? 'ct' : 'all';
        if (word !== undefined) {
          const k = matchWord<CtKind>(word, [['ct', 'ct'], ['expect', 'expect']]);
          if (!k) return err(`unknown parameter \`${word}' for option \`${arg}' (ct or expect)`);
          kind = k;
        }
        if (arg === '-c') next = { cmd: 'commit', kind };
        else if (arg === '-F') next = { cmd: 'flushKernel', kind };
        else if (arg === '-R') next = { cmd: 'resyncKernel', kind };
        else next = { cmd: 'dump', which: arg === '-i' ? 'internal' : 'external', kind: kind as CtKind, xml: false };
        break;
      }
      case '-f': {
        const word = takeOpt();
        let which: CacheName | 'all' = 'all';
        if (word !== undefined) {
          const w = matchWord<CacheName>(word, [['internal', 'internal'], ['external', 'external']]);
          if (!w) return err(`unknown parameter \`${word}' for option \`-f' (internal or external)`);
          which = w;
        }
        next = { cmd: 'flushCache', which };
        break;
      }
      case '-s': {
        const word = takeOpt();
        let section: StatsSection = 'general';
        if (word !== undefined) {
          const s = matchWord(word, STATS_WORDS);
          if (!s) return err(`unknown parameter \`${word}' for option \`-s'`);
          if (word !== '' && 'multicast'.startsWith(word) && !'link'.startsWith(word)) {
            warnings.push("WARNING: use `link' instead of `multicast' as parameter.");
          }
          section = s;
        }
        next = { cmd: 'stats', section };
        break;
      }
      case '-k':
        next = { cmd: 'kill' };
        break;
      case '-n':
        next = { cmd: 'requestResync' };
        break;
      case '-B':
        next = { cmd: 'bulkSend' };
        break;
      case '-t':
        next = { cmd: 'shortenTimers' };
        break;
      case 'status':
        next = { cmd: 'status' };
        break;
      default:
        return err(`unknown option: ${raw}`);
    }
    if (action && !sameAction(action, next)) {
      return err(`only one command at a time (${flagOf} and ${raw})`);
    }
    action = next;
    flagOf = raw;
  }

  if (daemon && action) return err(`-d cannot be combined with ${flagOf}`);
  if (xml) {
    if (!action || action.cmd !== 'dump') return err('-x requires -i or -e');
    action = { ...action, xml: true };
  }
  const mode: Mode = daemon ? 'daemon' : action ? 'request' : 'foreground';
  const base = { ok: true as const, mode, warnings };
  return {
    ...base,
    ...(config !== undefined ? { config } : {}),
    ...(action ? { action } : {}),
  };
}

export function usage(progname = 'ctsyncd'): string {
  return [
    'Connection tracking userspace daemon (ctsyncd, conntrackd-compatible)',
    `Usage: ${progname} [commands] [options]`,
    '',
    'General commands:',
    '  -d, run in daemon mode',
    '  -C [configfile], configuration file path',
    '  -v, display version',
    '  -h, display this help information',
    '',
    'Client mode commands:',
    '  -c [ct|expect], commit external cache to conntrack table',
    '  -f [internal|external], flush internal and external cache',
    '  -F [ct|expect], flush kernel conntrack table',
    '  -i [ct|expect], display content of the internal cache',
    '  -e [ct|expect], display the content of the external cache',
    '  -k, kill conntrack daemon',
    '  -s  [network|cache|runtime|link|rsqueue|queue|ct|expect|process], dump statistics',
    '  -R [ct|expect], resync with kernel conntrack table',
    '  -n, request resync with other node (only FT-FW and NOTRACK modes)',
    '  -B, force a bulk send to other replica firewalls',
    '  -x, dump cache in XML format (requires -i or -e)',
    '  -t, reset the kernel timeout (see PurgeTimeout clause)',
    '  status, show HA state, sync mode, peers, cache sizes and the last transition',
    '',
    'Long options: --config FILE, --daemon, --commit, --flush-cache, --flush-kernel,',
    '  --dump-internal, --dump-external, --xml, --kill, --stats, --resync-kernel,',
    '  --request-resync, --bulk-send, --shorten-timers, --status, --version, --help',
    '',
  ].join('\n');
}

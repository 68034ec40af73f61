/**
 * conntrackd.conf "Sync { Mode ... { } <links> Options { } }" plus the ctsync
 * extensions "Auth { }" and "FastFailover { }".
 */
import { Stmt, describe, posOf, wordPos } from './blocktree';
import { Ctx, boolOpt, noteRepeat, pathOpt, plainBlock, single, uintOpt, unknownOption, warnIfUnimplemented } from './conntrackd-common';
import { LINK_BLOCKS, checkLinks, readLink } from './conntrackd-links';
import { AuthConfig, CONNTRACKD_DEFAULTS, FastFailoverConfig, LinkConfig, SyncConfig, SyncModeConfig, SyncModeName } from './conntrackd-types';
import { parseBool } from './values';

const MODE_KEYS: Readonly<Record<SyncModeName, readonly string[]>> = {
  ftfw: ['ResendQueueSize', 'CommitTimeout', 'PurgeTimeout', 'ACKWindowSize', 'DisableExternalCache', 'StartupResync'],
  alarm: ['RefreshTime', 'CacheTimeout', 'CommitTimeout', 'PurgeTimeout'],
  notrack: ['DisableInternalCache', 'DisableExternalCache', 'CommitTimeout', 'PurgeTimeout', 'StartupResync'],
};
/** Timers conntrackd also accepts directly inside Sync (old syntax). */
const SYNC_LEVEL_TIMERS = ['RefreshTime', 'CacheTimeout', 'CommitTimeout', 'PurgeTimeout'];
const SYNC_KEYS = ['Mode', 'Multicast', 'UDP', 'TCP', 'Options', 'Auth', 'FastFailover', ...SYNC_LEVEL_TIMERS];
const ALL_MODE_KEYS = [...new Set(Object.values(MODE_KEYS).flat())];

/** Mode names are case-insensitive in conntrackd's lexer; 'persistent' and 'nack' are old names. */
function modeName(ctx: Ctx, s: Stmt): SyncModeName | undefined {
  const w = s.args[0];
  if (!w || s.args.length !== 1) {
    ctx.sink.error(posOf(s), "'Mode' in Sync expects one of FTFW, ALARM or NOTRACK followed by '{'");
    return undefined;
  }
  const t = w.text.toLowerCase();
  if (t === 'ftfw' || t === 'alarm' || t === 'notrack') return t;
  if (t === 'persistent' || t === 'nack') {
    const now = t === 'nack' ? 'FTFW' : 'ALARM';
    ctx.sink.warning(wordPos(s.file, w), `mode '${w.text}' is now called '${now}'; please update the file`);
    return t === 'nack' ? 'ftfw' : 'alarm';
  }
  ctx.sink.error(wordPos(s.file, w), `unknown sync mode '${w.text}' (FTFW, ALARM or NOTRACK)`);
  return undefined;
}

type Values = Map<string, number | boolean>;

function readModeOption(ctx: Ctx, o: Stmt, where: string, vals: Values): void {
  const key = o.name.text;
  const v = key.startsWith('Disable') || key === 'StartupResync' ? boolOpt(ctx, o, where) : uintOpt(ctx, o, where);
  if (v !== undefined) vals.set(key, v);
  if (key === 'DisableInternalCache' && v === true) warnIfUnimplemented(ctx, o, 'Sync/Mode/DisableInternalCache');
}

function buildMode(name: SyncModeName, vals: Values): SyncModeConfig {
  const num = (k: string, d: number): number => {
    const v = vals.get(k);
    return typeof v === 'number' && v > 0 ? v : d; // conntrackd: 0 means "use the default"
  };
  const flag = (k: string): boolean => vals.get(k) === true;
  const commit = vals.get('CommitTimeout');
  const commitTimeout = typeof commit === 'number' && commit > 0 ? { commitTimeout: commit } : {};
  const purgeTimeout = num('PurgeTimeout', CONNTRACKD_DEFAULTS.purgeTimeout);
  if (name === 'ftfw') {
    return {
      mode: 'ftfw',
      resendQueueSize: num('ResendQueueSize', CONNTRACKD_DEFAULTS.resendQueueSize),
      ...commitTimeout,
      purgeTimeout,
      ackWindowSize: num('ACKWindowSize', CONNTRACKD_DEFAULTS.ackWindowSize),
      disableExternalCache: flag('DisableExternalCache'),
      startupResync: flag('StartupResync'),
    };
  }
  if (name === 'alarm') {
    return {
      mode: 'alarm',
      refreshTime: num('RefreshTime', CONNTRACKD_DEFAULTS.refreshTime),
      cacheTimeout: num('CacheTimeout', CONNTRACKD_DEFAULTS.cacheTimeout),
      ...commitTimeout,
      purgeTimeout,
    };
  }
  return {
    mode: 'notrack',
    disableInternalCache: flag('DisableInternalCache'),
    disableExternalCache: flag('DisableExternalCache'),
    ...commitTimeout,
    purgeTimeout,
    startupResync: flag('StartupResync'),
  };
}

export function readSync(ctx: Ctx, s: Stmt): SyncConfig | undefined {
  const block = plainBlock(ctx, s, 'the top level');
  if (!block) return undefined;
  const vals: Values = new Map();
  const seen = new Map<string, number>();
  let mode: { name: SyncModeName; stmt: Stmt } | undefined;
  const links: { link: LinkConfig; stmt: Stmt }[] = [];
  let linkBlocks = 0;
  const out: Omit<SyncConfig, 'mode' | 'links' | 'defaultLink'> = { tcpWindowTracking: false, expectationSync: false };
  for (const o of block) {
    const key = o.name.quoted ? '' : o.name.text;
    if (key === 'Mode') {
      const name = modeName(ctx, o);
      if (!o.block) {
        ctx.sink.error(posOf(o), "'Mode' in Sync must open a block with '{'");
        continue;
      }
      if (!name) continue;
      if (mode && mode.name !== name) {
        ctx.sink.error(posOf(o), `conflicting sync modes: '${describe(o)}' and '${describe(mode.stmt)}' at line ${mode.stmt.line}`);
        continue;
      }
      mode = { name, stmt: o };
      const where = `Sync/${describe(o)}`;
      for (const m of o.block) {
        const mk = m.name.quoted ? '' : m.name.text;
        if (MODE_KEYS[name].includes(mk)) {
          noteRepeat(ctx, seen, m, where);
          readModeOption(ctx, m, where, vals);
        } else if (ALL_MODE_KEYS.includes(mk)) {
          const owners = (Object.keys(MODE_KEYS) as SyncModeName[]).filter((k) => MODE_KEYS[k].includes(mk));
          ctx.sink.error(posOf(m), `unknown option '${mk}' in ${where} (it belongs to Mode ${owners.map((x) => x.toUpperCase()).join('/')})`);
        } else {
          unknownOption(ctx, m, where, MODE_KEYS[name]);
        }
      }
    } else if (SYNC_LEVEL_TIMERS.includes(key)) {
      noteRepeat(ctx, seen, o, 'Sync');
      readModeOption(ctx, o, 'Sync', vals);
    } else if (key in LINK_BLOCKS) {
      linkBlocks++;
      const link = readLink(ctx, o, LINK_BLOCKS[key] as LinkConfig['kind']);
      if (link) links.push({ link, stmt: o });
    } else if (key === 'Options') {
      readOptions(ctx, o, out);
    } else if (key === 'Auth') {
      const a = readAuth(ctx, o);
      if (a) out.auth = a;
    } else if (key === 'FastFailover') {
      const f = readFastFailover(ctx, o);
      if (f) out.fastFailover = f;
    } else {
      unknownOption(ctx, o, 'Sync', SYNC_KEYS);
    }
  }
  if (!mode) ctx.sink.warning(posOf(s), 'no synchronization mode in Sync; defaulting to FTFW (as conntrackd)');
  if (linkBlocks === 0) ctx.sink.error(posOf(s), 'missing dedicated link in Sync: add a Multicast, UDP or TCP block');
  const defaultLink = checkLinks(ctx, s.file, links);
  const ff = out.fastFailover;
  const peerLink = links[defaultLink]?.link;
  if (ff !== undefined && peerLink !== undefined && (peerLink.kind === 'multicast' || peerLink.address === undefined)) {
    ctx.sink.error({ file: s.file, line: ff.line, col: 1 }, `'FastFailover' in Sync needs a UDP or TCP sync link with both IPv${peerLink.family}_address and IPv${peerLink.family}_Destination_Address (the probes go to one peer)`);
  }
  return { mode: buildMode(mode?.name ?? 'ftfw', vals), links: links.map((l) => l.link), defaultLink, ...out };
}

function readOptions(ctx: Ctx, s: Stmt, out: Omit<SyncConfig, 'mode' | 'links' | 'defaultLink'>): void {
  const block = plainBlock(ctx, s, 'Sync');
  if (!block) return;
  const where = 'Sync/Options';
  for (const o of block) {
    const key = o.name.quoted ? '' : o.name.text;
    if (key === 'TCPWindowTracking') {
      const v = boolOpt(ctx, o, where);
      if (v !== undefined) out.tcpWindowTracking = v;
    } else if (key === 'ExpectationSync' && o.block) {
      if (o.args.length > 0) ctx.sink.error(posOf(o), "'ExpectationSync' takes on, off or a '{ helper ... }' list");
      const names = o.block.flatMap((l) => [l.name, ...l.args]);
      const bad = names.find((w) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(w.text));
      if (bad) ctx.sink.error(wordPos(o.file, bad), `invalid helper name '${bad.text}' in ExpectationSync`);
      else out.expectationSync = [...new Set(names.map((w) => w.text))];
    } else if (key === 'ExpectationSync') {
      const w = single(ctx, o, where);
      const b = w ? parseBool(w.text) : undefined;
      if (b?.ok) out.expectationSync = b.value ? 'all' : false;
      else if (w) ctx.sink.error(wordPos(o.file, w), `invalid value for 'ExpectationSync': expected on, off or a '{ helper ... }' list, got '${w.text}'`);
    } else {
      unknownOption(ctx, o, where, ['TCPWindowTracking', 'ExpectationSync']);
    }
  }
}

/** ctsync extension: Auth { KeyFile PATH  PreviousKeyFile PATH  Encrypt on|off }. */
function readAuth(ctx: Ctx, s: Stmt): AuthConfig | undefined {
  const block = plainBlock(ctx, s, 'Sync');
  if (!block) return undefined;
  const where = 'Sync/Auth';
  let keyFile: string | undefined;
  let previousKeyFile: string | undefined;
  let encrypt = false;
  for (const o of block) {
    const key = o.name.quoted ? '' : o.name.text;
    if (key === 'KeyFile') keyFile = pathOpt(ctx, o, where) ?? keyFile;
    else if (key === 'PreviousKeyFile') previousKeyFile = pathOpt(ctx, o, where) ?? previousKeyFile;
    else if (key === 'Encrypt') encrypt = boolOpt(ctx, o, where) ?? encrypt;
    else unknownOption(ctx, o, where, ['KeyFile', 'PreviousKeyFile', 'Encrypt']);
  }
  if (keyFile === undefined) {
    ctx.sink.error(posOf(s), "missing 'KeyFile' in Sync/Auth");
    return undefined;
  }
  return { keyFile, encrypt, ...(previousKeyFile !== undefined ? { previousKeyFile } : {}) };
}

/** ctsync extension: FastFailover { Interval MS  Misses N  Port P } (docs/ha.md). */
function readFastFailover(ctx: Ctx, s: Stmt): FastFailoverConfig | undefined {
  const block = plainBlock(ctx, s, 'Sync');
  if (!block) return undefined;
  const where = 'Sync/FastFailover';
  const out: FastFailoverConfig = { intervalMs: 20, misses: 5, port: 3782, line: s.line };
  for (const o of block) {
    const key = o.name.quoted ? '' : o.name.text;
    if (key === 'Interval') out.intervalMs = uintOpt(ctx, o, where, 5, 1000) ?? out.intervalMs;
    else if (key === 'Misses') out.misses = uintOpt(ctx, o, where, 2, 50) ?? out.misses;
    else if (key === 'Port') out.port = uintOpt(ctx, o, where, 1, 65535) ?? out.port;
    else unknownOption(ctx, o, where, ['Interval', 'Misses', 'Port']);
  }
  return out;
}

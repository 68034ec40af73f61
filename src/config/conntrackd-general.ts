/**
 * conntrackd.conf "General { ... }" and "Stats { ... }" sections.
 */
import { Stmt, describe, posOf, wordPos } from './blocktree';
import {
  Ctx,
  boolOpt,
  checked,
  noteRepeat,
  pathOpt,
  plainBlock,
  single,
  uintOpt,
  unknownOption,
  warnIfUnimplemented,
} from './conntrackd-common';
import { CONNTRACKD_DEFAULTS, GeneralConfig, StatsConfig, defaultGeneral } from './conntrackd-types';
import { readFilter } from './conntrackd-filter';
import { parseBool, parseInt32, parseUint } from './values';

const GENERAL_KEYS = [
  'Systemd', 'Nice', 'HashSize', 'HashLimit', 'LogFile', 'Syslog', 'LockFile', 'UNIX',
  'NetlinkBufferSize', 'SocketBufferSize', 'NetlinkBufferSizeMaxGrowth', 'SocketBufferSizeMaxGrown',
  'SocketBufferSizeMaxGrowth', 'NetlinkOverrunResync', 'NetlinkEventsReliable', 'PollSecs',
  'EventIterationLimit', 'Scheduler', 'Filter', 'ControlGroup',
] as const;

const SYSLOG_FACILITIES = ['daemon', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];

/** LogFile on|off|/path -> path or null; undefined on error. */
function logFileValue(ctx: Ctx, s: Stmt, where: string, onPath: string): string | null | undefined {
  const w = single(ctx, s, where);
  if (!w) return undefined;
  const b = parseBool(w.text);
  if (b.ok) return b.value ? onPath : null;
  return pathOpt(ctx, s, where);
}

/** Syslog on|off|facility -> facility or null; undefined on error. */
function syslogValue(ctx: Ctx, s: Stmt, where: string): string | null | undefined {
  const w = single(ctx, s, where);
  if (!w) return undefined;
  const b = parseBool(w.text);
  if (b.ok) return b.value ? CONNTRACKD_DEFAULTS.syslogFacility : null;
  if (SYSLOG_FACILITIES.includes(w.text)) return w.text;
  ctx.sink.error(wordPos(s.file, w), `invalid value for 'Syslog': '${w.text}' is not on, off or a facility (daemon, local0..local7)`);
  return undefined;
}

export function readGeneral(ctx: Ctx, block: Stmt[], into: GeneralConfig = defaultGeneral()): GeneralConfig {
  const g = into;
  const where = 'General';
  const seen = new Map<string, number>();
  for (const s of block) {
    const key = s.name.text;
    if (!s.name.quoted && (GENERAL_KEYS as readonly string[]).includes(key) && key !== 'Filter' && key !== 'UNIX') {
      noteRepeat(ctx, seen, s, where);
    }
    switch (s.name.quoted ? '' : key) {
      case 'Systemd': {
        const v = boolOpt(ctx, s, where);
        if (v !== undefined) g.systemd = v;
        break;
      }
      case 'Nice': {
        const w = single(ctx, s, where);
        if (w) checked(ctx, s, w, parseInt32(w.text, -20, 19));
        warnIfUnimplemented(ctx, s, 'General/Nice');
        break;
      }
      case 'HashSize': {
        const v = uintOpt(ctx, s, where, 1);
        if (v !== undefined) g.hashSize = v;
        warnIfUnimplemented(ctx, s, 'General/HashSize');
        break;
      }
      case 'HashLimit': {
        const v = uintOpt(ctx, s, where, 1);
        if (v !== undefined) g.hashLimit = v;
        break;
      }
      case 'LogFile': {
        const v = logFileValue(ctx, s, where, CONNTRACKD_DEFAULTS.logFile);
        if (v !== undefined) g.logFile = v;
        break;
      }
      case 'Syslog': {
        const v = syslogValue(ctx, s, where);
        if (v !== undefined) g.syslog = v;
        if (v) warnIfUnimplemented(ctx, s, 'General/Syslog');
        break;
      }
      case 'LockFile': {
        const v = pathOpt(ctx, s, where);
        if (v !== undefined) g.lockFile = v;
        break;
      }
      case 'UNIX':
        readUnix(ctx, s, g);
        break;
      case 'NetlinkBufferSize':
      case 'SocketBufferSize': {
        const v = uintOpt(ctx, s, where, 1);
        if (v !== undefined) g.netlinkBufferSize = v;
        break;
      }
      case 'NetlinkBufferSizeMaxGrowth':
      case 'SocketBufferSizeMaxGrown':
      case 'SocketBufferSizeMaxGrowth': {
        const v = uintOpt(ctx, s, where, 1);
        if (v !== undefined) g.netlinkBufferSizeMaxGrowth = v;
        break;
      }
      case 'NetlinkOverrunResync': {
        const w = single(ctx, s, where);
        if (!w) break;
        const b = parseBool(w.text);
        if (b.ok) {
          g.netlinkOverrunResync = b.value ? CONNTRACKD_DEFAULTS.netlinkOverrunResync : false;
        } else {
          const n = checked(ctx, s, w, parseUint(w.text, 0, 2147483647));
          // conntrackd treats 0 as "not set": the 30 s default.
          if (n !== undefined) g.netlinkOverrunResync = n === 0 ? CONNTRACKD_DEFAULTS.netlinkOverrunResync : n;
        }
        break;
      }
      case 'NetlinkEventsReliable': {
        const v = boolOpt(ctx, s, where);
        if (v !== undefined) g.netlinkEventsReliable = v;
        break;
      }
      case 'PollSecs': {
        const v = uintOpt(ctx, s, where, 1);
        if (v !== undefined) g.pollSecs = v;
        warnIfUnimplemented(ctx, s, 'General/PollSecs');
        break;
      }
      case 'EventIterationLimit': {
        const v = uintOpt(ctx, s, where);
        if (v !== undefined) g.eventIterationLimit = v === 0 ? CONNTRACKD_DEFAULTS.eventIterationLimit : v;
        warnIfUnimplemented(ctx, s, 'General/EventIterationLimit');
        break;
      }
      case 'Scheduler':
        readScheduler(ctx, s, g);
        break;
      case 'Filter':
        if (g.filter) ctx.sink.warning(posOf(s), "second 'Filter' block in General; its rules are merged with the first");
        g.filter = readFilter(ctx, s, g.filter);
        break;
      case 'ControlGroup': {
        const w = single(ctx, s, where);
        if (w && !/^[a-z_][a-z0-9_.-]{0,31}\$?$/i.test(w.text)) {
          ctx.sink.error(wordPos(s.file, w), `invalid value for 'ControlGroup': '${w.text}' is not a group name`);
        } else if (w) g.controlGroup = w.text;
        break;
      }
      default:
        unknownOption(ctx, s, where, GENERAL_KEYS);
    }
  }
  return g;
}

function readUnix(ctx: Ctx, s: Stmt, g: GeneralConfig): void {
  const where = 'General/UNIX';
  const block = plainBlock(ctx, s, 'General');
  if (!block) return;
  for (const o of block) {
    if (o.name.text === 'Path' && !o.name.quoted) {
      const v = pathOpt(ctx, o, where);
      if (v !== undefined && v.length > 107) {
        ctx.sink.error(posOf(o), `'Path' in ${where} is longer than 107 characters (sun_path limit)`);
      } else if (v !== undefined) g.unixPath = v;
    } else if (o.name.text === 'Backlog' && !o.name.quoted) {
      uintOpt(ctx, o, where);
      warnIfUnimplemented(ctx, o, 'General/UNIX/Backlog');
    } else {
      unknownOption(ctx, o, where, ['Path', 'Backlog']);
    }
  }
}

function readScheduler(ctx: Ctx, s: Stmt, g: GeneralConfig): void {
  const where = 'General/Scheduler';
  const block = plainBlock(ctx, s, 'General');
  if (!block) return;
  warnIfUnimplemented(ctx, s, 'General/Scheduler', 'Scheduler');
  for (const o of block) {
    if (o.name.text === 'Type' && !o.name.quoted) {
      const w = single(ctx, o, where);
      const t = w?.text.toLowerCase();
      if (t === 'rr' || t === 'fifo') g.scheduler.type = t;
      else if (w) ctx.sink.error(wordPos(o.file, w), `invalid value for 'Type': unknown scheduler '${w.text}' (RR or FIFO)`);
    } else if (o.name.text === 'Priority' && !o.name.quoted) {
      const v = uintOpt(ctx, o, where, 0, 99);
      if (v !== undefined) g.scheduler.priority = v;
    } else {
      unknownOption(ctx, o, where, ['Type', 'Priority']);
    }
  }
}

export function readStats(ctx: Ctx, s: Stmt): StatsConfig {
  const st: StatsConfig = { logFile: null, syslog: null, netlinkEventsReliable: false };
  const block = plainBlock(ctx, s, 'the top level');
  warnIfUnimplemented(ctx, s, 'Stats', describe(s));
  if (!block) return st;
  const where = 'Stats';
  for (const o of block) {
    switch (o.name.quoted ? '' : o.name.text) {
      case 'LogFile': {
        const v = logFileValue(ctx, o, where, CONNTRACKD_DEFAULTS.statsLogFile);
        if (v !== undefined) st.logFile = v;
        break;
      }
      case 'Syslog': {
        const v = syslogValue(ctx, o, where);
        if (v !== undefined) st.syslog = v;
        break;
      }
      case 'NetlinkEventsReliable': {
        const v = boolOpt(ctx, o, where);
        if (v !== undefined) st.netlinkEventsReliable = v;
        break;
      }
      default:
        unknownOption(ctx, o, where, ['LogFile', 'Syslog', 'NetlinkEventsReliable']);
    }
  }
  return st;
}

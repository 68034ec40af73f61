/**
 * keepalived.conf "global_defs { ... }" and "vrrp_sync_group NAME { ... }".
 */
import { Stmt, posOf, wordPos } from './blocktree';
import { GlobalDefs, SyncGroup } from './keepalived-types';
import { KCtx, flag, one, readNotify, readTrackInterface, secondsArg, uintArg } from './keepalived-values';
import { parseIp } from './values';

const GARP_GLOBALS: Readonly<Record<string, keyof GlobalDefs['garp']>> = {
  vrrp_garp_master_delay: 'masterDelay',
  vrrp_garp_master_repeat: 'masterRepeat',
  vrrp_garp_lower_prio_delay: 'lowerPrioDelay',
  vrrp_garp_lower_prio_repeat: 'lowerPrioRepeat',
  vrrp_garp_master_refresh: 'masterRefresh',
  vrrp_garp_master_refresh_repeat: 'masterRefreshRepeat',
};

export function readGlobalDefs(ctx: KCtx, s: Stmt, g: GlobalDefs): void {
  const where = 'global_defs';
  if (!s.block) {
    ctx.sink.error(posOf(s), "'global_defs' must be followed by '{'");
    return;
  }
  const explicit = new Set<string>();
  for (const o of s.block) {
    const key = o.name.text;
    if (key.startsWith('@')) {
      ctx.sink.warning(posOf(o), `conditional configuration '${key}' is not supported by ctsync; line skipped`);
      continue;
    }
    const garpKey = GARP_GLOBALS[key];
    if (garpKey) {
      const v = uintArg(ctx, o, where, garpKey === 'masterRefreshRepeat' ? 1 : 0, 86400);
      if (v !== undefined) {
        g.garp[garpKey] = v;
        explicit.add(garpKey);
      }
      continue;
    }
    switch (key) {
      case 'router_id': {
        const w = one(ctx, o, where);
        if (w) g.routerId = w.text;
        break;
      }
      case 'vrrp_version': {
        const v = uintArg(ctx, o, where, 2, 3);
        if (v === 2 || v === 3) g.vrrpVersion = v;
        break;
      }
      case 'vrrp_garp_interval':
      case 'vrrp_gna_interval': {
        const v = secondsArg(ctx, o, where, 1);
        if (v !== undefined && key === 'vrrp_garp_interval') g.garpInterval = v;
        else if (v !== undefined) g.gnaInterval = v;
        break;
      }
      case 'script_user': {
        const [user, group] = o.args;
        if (!user || o.args.length > 2 || o.block) ctx.sink.error(posOf(o), `'script_user' in ${where} expects a user and optionally a group`);
        else g.scriptUser = { user: user.text, ...(group ? { group: group.text } : {}) };
        break;
      }
      case 'enable_script_security':
        if (flag(ctx, o, where)) g.enableScriptSecurity = true;
        break;
      case 'vrrp_strict':
        if (flag(ctx, o, where)) g.vrrpStrict = true;
        break;
      case 'vrrp_mcast_group4':
      case 'vrrp_mcast_group6': {
        const w = one(ctx, o, where);
        const fam = key.endsWith('4') ? 4 : 6;
        const r = w ? parseIp(w.text, fam) : undefined;
        if (w && r && !r.ok) ctx.sink.error(wordPos(o.file, w), `invalid value for '${key}': ${r.reason}`);
        else if (r?.ok && fam === 4) g.mcastGroup4 = r.value.address;
        else if (r?.ok) g.mcastGroup6 = r.value.address;
        break;
      }
      case 'vrrp_priority': {
        const w = one(ctx, o, where);
        const v = w && /^-?\d+$/.test(w.text) ? Number(w.text) : NaN;
        if (w && !(v >= -20 && v <= 19)) ctx.sink.error(wordPos(o.file, w), `invalid value for 'vrrp_priority': expected a nice value -20..19, got '${w.text}'`);
        else if (w) g.vrrpNice = v;
        break;
      }
      default:
        ctx.sink.warning(posOf(o), `'${key}' in ${where} is accepted but ignored by ctsync`);
    }
  }
  // Lower-priority GARP settings default to the master ones (keepalived.conf(5)).
  if (!explicit.has('lowerPrioDelay')) g.garp.lowerPrioDelay = g.garp.masterDelay;
  if (!explicit.has('lowerPrioRepeat')) g.garp.lowerPrioRepeat = g.garp.masterRepeat;
}

const GROUP_NOTIFY: Readonly<Record<string, keyof SyncGroup['notify']>> = {
  notify_master: 'master', notify_backup: 'backup', notify_fault: 'fault', notify_stop: 'stop', notify: 'any',
};
const GROUP_IGNORED = [
  'smtp_alert', 'track_script', 'track_file', 'track_process', 'track_bfd', 'global_tracking',
  'sync_group_tracking_weight', 'notify_priority_changes', 'notify_deleted',
];

export function readSyncGroup(ctx: KCtx, s: Stmt): SyncGroup | undefined {
  const nameW = s.args[0];
  if (!nameW || s.args.length !== 1 || !s.block) {
    ctx.sink.error(posOf(s), "'vrrp_sync_group' expects a name followed by '{'");
    return undefined;
  }
  const where = `vrrp_sync_group ${nameW.text}`;
  const g: SyncGroup = { name: nameW.text, file: s.file, line: s.line, members: [], notify: {}, trackInterfaces: [] };
  for (const o of s.block) {
    const key = o.name.text;
    const nk = GROUP_NOTIFY[key];
    if (nk) {
      const n = readNotify(ctx, o, where);
      if (n) g.notify[nk] = n;
    } else if (key === 'group' || key === 'track_interface') {
      if (!o.block || o.args.length > 0) {
        ctx.sink.error(posOf(o), `'${key}' in ${where} must be followed by '{'`);
        continue;
      }
      for (const e of o.block) {
        if (key === 'track_interface') {
          const t = readTrackInterface(ctx, e, `${where}/track_interface`);
          if (t) g.trackInterfaces.push(t);
          continue;
        }
        for (const w of [e.name, ...e.args]) {
          if (g.members.includes(w.text)) ctx.sink.warning(wordPos(e.file, w), `instance '${w.text}' listed twice in ${where}`);
          else g.members.push(w.text);
        }
      }
    } else if (GROUP_IGNORED.includes(key)) {
      ctx.sink.warning(posOf(o), `'${key}' in ${where} is accepted but ignored by ctsync`);
    } else {
      ctx.sink.warning(posOf(o), `unknown keyword '${key}' in ${where}; ignored`);
    }
  }
  if (g.members.length === 0) {
    ctx.sink.warning(posOf(s), `${where} has no 'group { ... }' of instances; group ignored (as keepalived)`);
    return undefined;
  }
  return g;
}

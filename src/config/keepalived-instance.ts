/**
 * keepalived.conf "vrrp_instance NAME { ... }".
 */
import { Stmt, Word, posOf, wordPos } from './blocktree';
import { GlobalDefs, KEEPALIVED_DEFAULTS, VirtualAddress, VrrpInstance } from './keepalived-types';
import {
  KCtx, entries, flag, one, optBool, readNotify, readTrackInterface, readUnicastPeer, readVip, secondsArg, take, uintArg,
} from './keepalived-values';
import { parseFixed, parseIfName, parseIp } from './values';

/** vrrp_instance keywords ctsync accepts but does not act on (warning each time). */
export const INSTANCE_IGNORED: readonly string[] = [
  'use_vmac', 'use_vmac_addr', 'vmac_xmit_base', 'use_ipvlan', 'vrf', 'track_script', 'track_file', 'track_process',
  'track_bfd', 'mcast_dst_ip', 'track_src_ip', 'check_unicast_src', 'unicast_fault_no_peer', 'unicast_ttl',
  'old_unicast_checksum', 'garp_extra_if', 'down_timer_adverts', 'lower_prio_no_advert', 'higher_prio_send_advert',
  'promote_secondaries', 'virtual_routes', 'virtual_rules', 'accept', 'no_accept', 'skip_check_adv_addr', 'strict_mode',
  'debug', 'notify_master_rx_lower_pri', 'notify_priority_changes', 'notify_deleted', 'kernel_rx_buf_size',
  'linkbeat_use_polling', 'smtp_alert',
];

const NOTIFY_KEYS: Readonly<Record<string, 'master' | 'backup' | 'fault' | 'stop' | 'any'>> = {
  notify_master: 'master', notify_backup: 'backup', notify_fault: 'fault', notify_stop: 'stop', notify: 'any',
};

/** What is read before cross-checks: raw advert_int and explicit version are resolved later. */
export interface RawInstance {
  inst: VrrpInstance;
  stmt: Stmt;
  advert?: Word;
  version?: 2 | 3;
  nativeIpv6: boolean;
  hasVrid: boolean;
  hasInterface: boolean;
}

function newInstance(s: Stmt, name: string, g: GlobalDefs): VrrpInstance {
  return {
    name, file: s.file, line: s.line, state: 'BACKUP', interface: '', vrid: 0,
    priority: KEEPALIVED_DEFAULTS.priority, advertIntCs: KEEPALIVED_DEFAULTS.advertIntCs, version: g.vrrpVersion,
    family: 4, preempt: true, preemptDelay: 0, trackInterfaces: [], virtualIpaddresses: [],
    virtualIpaddressesExcluded: [], unicastPeers: [], garp: { ...g.garp }, notify: {}, dontTrackPrimary: false,
  };
}

export function readInstance(ctx: KCtx, s: Stmt, g: GlobalDefs): RawInstance | undefined {
  const nameW = s.args[0];
  if (!nameW || s.args.length !== 1 || !s.block) {
    ctx.sink.error(posOf(s), "'vrrp_instance' expects a name followed by '{'");
    return undefined;
  }
  const where = `vrrp_instance ${nameW.text}`;
  const raw: RawInstance = {
    inst: newInstance(s, nameW.text, g), stmt: s, nativeIpv6: false, hasVrid: false, hasInterface: false,
  };
  const inst = raw.inst;
  for (const o of s.block) {
    const key = o.name.text;
    if (key.startsWith('@')) {
      ctx.sink.warning(posOf(o), `conditional configuration '${key}' is not supported by ctsync; line skipped`);
      continue;
    }
    const notifyKind = NOTIFY_KEYS[key];
    if (notifyKind) {
      const n = readNotify(ctx, o, where);
      if (n) inst.notify[notifyKind] = n;
      continue;
    }
    if (INSTANCE_IGNORED.includes(key)) {
      ctx.sink.warning(posOf(o), `'${key}' in ${where} is accepted but ignored by ctsync`);
      continue;
    }
    readKey(ctx, o, key, where, raw);
  }
  return raw;
}

function readKey(ctx: KCtx, o: Stmt, key: string, where: string, raw: RawInstance): void {
  const inst = raw.inst;
  switch (key) {
    case 'state': {
      const w = one(ctx, o, where);
      if (!w) return;
      if (w.text === 'MASTER' || w.text === 'BACKUP') inst.state = w.text;
      else ctx.sink.warning(wordPos(o.file, w), `unknown state '${w.text}' in ${where}, defaulting to BACKUP (as keepalived)`);
      return;
    }
    case 'interface': {
      const w = one(ctx, o, where);
      const v = w ? take(ctx, o, w, parseIfName(w.text)) : undefined;
      if (v !== undefined) {
        inst.interface = v;
        raw.hasInterface = true;
      }
      return;
    }
    case 'virtual_router_id': {
      const v = uintArg(ctx, o, where, 1, 255);
      if (v !== undefined) inst.vrid = v;
      raw.hasVrid = true;
      return;
    }
    case 'priority': {
      const v = uintArg(ctx, o, where, 1, 255);
      if (v !== undefined) inst.priority = v;
      return;
    }
    case 'advert_int':
      raw.advert = one(ctx, o, where) ?? raw.advert;
      return;
    case 'version': {
      const v = uintArg(ctx, o, where, 2, 3);
      if (v === 2 || v === 3) raw.version = v;
      return;
    }
    case 'nopreempt':
      if (flag(ctx, o, where)) inst.preempt = false;
      return;
    case 'preempt':
      flag(ctx, o, where);
      return;
    case 'preempt_delay': {
      const v = secondsArg(ctx, o, where, KEEPALIVED_DEFAULTS.preemptDelayMax);
      if (v !== undefined) inst.preemptDelay = v;
      return;
    }
    case 'dont_track_primary':
      if (flag(ctx, o, where)) inst.dontTrackPrimary = true;
      return;
    case 'native_ipv6':
      if (flag(ctx, o, where)) raw.nativeIpv6 = true;
      return;
    case 'mcast_src_ip':
    case 'unicast_src_ip': {
      const w = one(ctx, o, where);
      const ip = w ? take(ctx, o, w, parseIp(w.text)) : undefined;
      if (ip && key === 'mcast_src_ip') inst.mcastSrcIp = ip.address;
      else if (ip) inst.unicastSrcIp = ip.address;
      return;
    }
    case 'track_interface':
      for (const e of listBlock(ctx, o, where)) {
        const t = readTrackInterface(ctx, e, `${where}/track_interface`);
        if (t) inst.trackInterfaces.push(t);
      }
      return;
    case 'unicast_peer':
      for (const e of listBlock(ctx, o, where)) {
        const p = readUnicastPeer(ctx, e, `${where}/unicast_peer`);
        if (p) inst.unicastPeers.push(p);
      }
      return;
    case 'virtual_ipaddress':
    case 'virtual_ipaddress_excluded': {
      const list = key === 'virtual_ipaddress' ? inst.virtualIpaddresses : inst.virtualIpaddressesExcluded;
      for (const e of listBlock(ctx, o, where)) addVip(ctx, e, `${where}/${key}`, list);
      return;
    }
    case 'authentication':
      readAuth(ctx, o, where, raw);
      return;
    case 'garp_master_delay':
    case 'garp_lower_prio_delay': {
      const v = uintArg(ctx, o, where, 0, 86400);
      if (v !== undefined && key === 'garp_master_delay') inst.garp.masterDelay = v;
      else if (v !== undefined) inst.garp.lowerPrioDelay = v;
      return;
    }
    case 'garp_master_repeat':
    case 'garp_lower_prio_repeat':
    case 'garp_master_refresh_repeat': {
      const v = uintArg(ctx, o, where, key === 'garp_master_refresh_repeat' ? 1 : 0, 65535);
      if (v === undefined) return;
      if (key === 'garp_master_repeat') inst.garp.masterRepeat = v;
      else if (key === 'garp_lower_prio_repeat') inst.garp.lowerPrioRepeat = v;
      else inst.garp.masterRefreshRepeat = v;
      return;
    }
    case 'garp_master_refresh': {
      const v = uintArg(ctx, o, where, 0, 86400);
      if (v !== undefined) inst.garp.masterRefresh = v;
      return;
    }
    default:
      ctx.sink.warning(posOf(o), `unknown keyword '${key}' in ${where}; ignored`);
  }
}

function listBlock(ctx: KCtx, o: Stmt, where: string): Stmt[] {
  if (!o.block || o.args.length > 0) {
    ctx.sink.error(posOf(o), `'${o.name.text}' in ${where} must be followed by '{'`);
    return [];
  }
  return entries(o).filter((e) => {
    if (!e.name.text.startsWith('@')) return true;
    ctx.sink.warning(posOf(e), `conditional configuration '${e.name.text}' is not supported by ctsync; line skipped`);
    return false;
  });
}

function addVip(ctx: KCtx, e: Stmt, where: string, list: VirtualAddress[]): void {
  const v = readVip(ctx, e, where);
  if (!v) return;
  const dup = list.find((x) => x.address === v.address && x.prefix === v.prefix && x.dev === v.dev);
  if (dup) ctx.sink.warning(posOf(e), `address ${e.name.text} repeated in ${where} (first at line ${dup.line})`);
  else list.push(v);
}

function readAuth(ctx: KCtx, o: Stmt, where: string, raw: RawInstance): void {
  const sub = `${where}/authentication`;
  let type: string | undefined;
  let pass: string | undefined;
  for (const e of listBlock(ctx, o, where)) {
    if (e.name.text === 'auth_type') {
      const w = one(ctx, e, sub);
      if (w && w.text !== 'PASS' && w.text !== 'AH') ctx.sink.error(wordPos(e.file, w), `unknown auth_type '${w.text}' (PASS or AH)`);
      else if (w) type = w.text;
    } else if (e.name.text === 'auth_pass') {
      const w = one(ctx, e, sub);
      if (w && w.text.length > 8) ctx.sink.warning(wordPos(e.file, w), 'auth_pass is longer than 8 characters; only the first 8 are used');
      if (w) pass = w.text.slice(0, 8);
    } else {
      ctx.sink.warning(posOf(e), `unknown keyword '${e.name.text}' in ${sub}; ignored`);
    }
  }
  if (type === 'AH') ctx.sink.error(posOf(o), `auth_type AH in ${where} is not supported by ctsync (use PASS or none)`);
  else if (type === 'PASS' && pass !== undefined) raw.inst.authentication = { type: 'PASS', pass };
  else if (type === 'PASS') ctx.sink.error(posOf(o), `missing 'auth_pass' in ${sub}`);
  else if (pass !== undefined) ctx.sink.error(posOf(o), `missing 'auth_type' in ${sub}`);
}

/** Resolve family, version and advert_int once the whole block is read. */
export function finishInstance(ctx: KCtx, raw: RawInstance): VrrpInstance | undefined {
  const { inst, stmt } = raw;
  const where = `vrrp_instance ${inst.name}`;
  let okay = true;
  if (!raw.hasVrid) {
    ctx.sink.error(posOf(stmt), `missing 'virtual_router_id' in ${where}`);
    okay = false;
  } else if (inst.vrid === 0) okay = false;
  if (!raw.hasInterface) {
    ctx.sink.error(posOf(stmt), `missing 'interface' in ${where}`);
    okay = false;
  }
  const fams = new Set(inst.virtualIpaddresses.map((v) => v.family));
  if (fams.size > 1) {
    ctx.sink.error(posOf(stmt), `virtual_ipaddress in ${where} mixes IPv4 and IPv6 (use virtual_ipaddress_excluded for the other family)`);
    okay = false;
  }
  const first = inst.virtualIpaddresses[0];
  inst.family = first ? first.family : raw.nativeIpv6 ? 6 : (inst.unicastPeers[0]?.family ?? 4);
  if (!first) ctx.sink.warning(posOf(stmt), `no 'virtual_ipaddress' in ${where}`);
  if (inst.family === 6 && raw.version === 2) {
    ctx.sink.error(posOf(stmt), `${where} is IPv6 but 'version 2' is set: VRRPv2 has no IPv6`);
    okay = false;
  }
  inst.version = inst.family === 6 ? 3 : (raw.version ?? inst.version);
  if (raw.advert) {
    const cs = advertCs(ctx, stmt.file, raw.advert, inst.version);
    if (cs === undefined) okay = false;
    else inst.advertIntCs = cs;
  }
  if (inst.authentication && inst.version === 3) {
    ctx.sink.error(posOf(stmt), `authentication in ${where} is only allowed with VRRP version 2 (RFC 5798 removed it)`);
    okay = false;
  }
  for (const p of inst.unicastPeers) {
    if (p.family !== inst.family) {
      ctx.sink.error(posOf(stmt), `unicast_peer ${p.address} in ${where} is not IPv${inst.family}`);
      okay = false;
    }
  }
  if (!inst.preempt && inst.state === 'MASTER') {
    ctx.sink.warning(posOf(stmt), `'nopreempt' in ${where} has no effect with 'state MASTER'`);
  }
  return okay ? inst : undefined;
}

/** advert_int: v2 whole seconds 1..255 (RFC 3768 5.3.7); v3 0.01..40.95 s (RFC 5798 5.2.7). */
function advertCs(ctx: KCtx, file: string, w: Word, version: 2 | 3): number | undefined {
  const r = parseFixed(w.text, 2);
  const bad = (why: string): undefined => {
    ctx.sink.error(wordPos(file, w), `invalid value for 'advert_int': ${why}`);
    return undefined;
  };
  if (!r.ok) return bad(r.reason);
  if (version === 2) {
    if (r.value % 100 !== 0) return bad(`VRRPv2 needs whole seconds, got '${w.text}'`);
    if (r.value < 100 || r.value > KEEPALIVED_DEFAULTS.v2AdvertMaxS * 100) return bad(`${w.text} is out of range 1..255 seconds for VRRPv2`);
    return r.value;
  }
  if (r.value < 1 || r.value > KEEPALIVED_DEFAULTS.v3AdvertMaxCs) return bad(`${w.text} is out of range 0.01..40.95 seconds for VRRPv3`);
  return r.value;
}

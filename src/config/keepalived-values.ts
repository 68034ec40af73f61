/**
 * keepalived.conf value readers: arity checks, notify scripts, virtual
 * addresses, track_interface and unicast_peer entries.
 */
import { Stmt, Word, describe, posOf, wordPos } from './blocktree';
import { DiagnosticSink } from './diagnostics';
import { NotifyScript, TrackInterface, UnicastPeer, VirtualAddress } from './keepalived-types';
import { Result, parseBool, parseCidr, parseFixed, parseIfName, parseInt32, parseIp, parseUint } from './values';

export interface KCtx {
  sink: DiagnosticSink;
}

/** Exactly one argument and no block; undefined (error given) otherwise. */
export function one(ctx: KCtx, s: Stmt, where: string): Word | undefined {
  if (s.block) ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} does not take a block`);
  else if (s.args.length === 1) return s.args[0];
  else ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} expects one value, got ${s.args.length}`);
  return undefined;
}

export function take<T>(ctx: KCtx, s: Stmt, w: Word, r: Result<T>): T | undefined {
  if (r.ok) return r.value;
  ctx.sink.error(wordPos(s.file, w), `invalid value for '${s.name.text}': ${r.reason}`);
  return undefined;
}

export function uintArg(ctx: KCtx, s: Stmt, where: string, min: number, max: number): number | undefined {
  const w = one(ctx, s, where);
  return w ? take(ctx, s, w, parseUint(w.text, min, max)) : undefined;
}

/** keepalived <TIMER>/<DECIMAL>: seconds with up to 6 decimals, returned in seconds. */
export function secondsArg(ctx: KCtx, s: Stmt, where: string, max: number): number | undefined {
  const w = one(ctx, s, where);
  if (!w) return undefined;
  const r = parseFixed(w.text, 6);
  if (!r.ok) return take(ctx, s, w, r);
  const v = r.value / 1e6;
  if (v > max) {
    ctx.sink.error(wordPos(s.file, w), `invalid value for '${s.name.text}': ${w.text} is out of range 0..${max}`);
    return undefined;
  }
  return v;
}

/** Flag keywords with an optional <BOOL> ("smtp_alert", "smtp_alert yes"). */
export function optBool(ctx: KCtx, s: Stmt, where: string): boolean | undefined {
  if (s.args.length === 0 && !s.block) return true;
  const w = one(ctx, s, where);
  return w ? take(ctx, s, w, parseBool(w.text, true)) : undefined;
}

/** Keywords without arguments ("nopreempt"). Extra words are reported. */
export function flag(ctx: KCtx, s: Stmt, where: string): boolean {
  if (s.args.length > 0 || s.block) {
    ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} takes no value`);
    return false;
  }
  return true;
}

/** Split a command like keepalived: unquoted spaces separate, single quotes group. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote = false;
  for (const c of text) {
    if (c === "'") {
      quote = !quote;
      has = true;
    } else if (!quote && (c === ' ' || c === '\t')) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** notify_* SCRIPT [username [groupname]]. */
export function readNotify(ctx: KCtx, s: Stmt, where: string): NotifyScript | undefined {
  const [script, user, group, ...extra] = s.args;
  if (!script || extra.length > 0 || s.block) {
    ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} expects a script (quoted if it has arguments) and optionally a user and group`);
    return undefined;
  }
  const argv = splitCommand(script.text);
  if (argv.length === 0) {
    ctx.sink.error(wordPos(s.file, script), `'${s.name.text}' in ${where} has an empty script`);
    return undefined;
  }
  return { text: script.text, argv, line: s.line, ...(user ? { user: user.text } : {}), ...(group ? { group: group.text } : {}) };
}

/** Entries of a list block, one per line ("eth0", "eth2 weight 20 reverse"). */
export function entries(s: Stmt): Stmt[] {
  return s.block ?? [];
}

export function readTrackInterface(ctx: KCtx, e: Stmt, where: string): TrackInterface | undefined {
  const name = take(ctx, e, e.name, parseIfName(e.name.text));
  if (name === undefined) return undefined;
  const t: TrackInterface = { name, weight: 0, reverse: false };
  const a = e.args;
  for (let i = 0; i < a.length; i++) {
    const w = a[i] as Word;
    if (w.text === 'weight' && a[i + 1]) {
      const v = parseInt32((a[i + 1] as Word).text, -253, 253);
      if (!v.ok) ctx.sink.error(wordPos(e.file, a[i + 1] as Word), `invalid weight in ${where}: ${v.reason}`);
      else t.weight = v.value;
      i++;
    } else if (w.text === 'reverse' || w.text === 'noreverse' || w.text === 'no_reverse') {
      t.reverse = w.text === 'reverse';
    } else {
      ctx.sink.error(wordPos(e.file, w), `unexpected '${w.text}' in ${where} entry '${describe(e)}'`);
      return undefined;
    }
  }
  return t;
}

export function readUnicastPeer(ctx: KCtx, e: Stmt, where: string): UnicastPeer | undefined {
  const ip = take(ctx, e, e.name, parseIp(e.name.text));
  if (!ip) return undefined;
  const p: UnicastPeer = { address: ip.address, family: ip.family };
  const a = e.args;
  for (let i = 0; i < a.length; i += 2) {
    const k = a[i] as Word;
    const v = a[i + 1];
    if ((k.text !== 'min_ttl' && k.text !== 'max_ttl') || !v) {
      ctx.sink.error(wordPos(e.file, k), `unexpected '${k.text}' in ${where} entry '${describe(e)}'`);
      return undefined;
    }
    const n = parseUint(v.text, 0, 255);
    if (!n.ok) ctx.sink.error(wordPos(e.file, v), `invalid ${k.text} in ${where}: ${n.reason}`);
    else if (k.text === 'min_ttl') p.minTtl = n.value;
    else p.maxTtl = n.value;
  }
  return p;
}

const SCOPES = ['site', 'link', 'host', 'nowhere', 'global'];
/** VIP options ctsync accepts without acting on them (with the number of values each takes). */
const VIP_IGNORED: Readonly<Record<string, number>> = {
  use_vmac: 0, home: 0, '-nodad': 0, mngtmpaddr: 0, noprefixroute: 0, autojoin: 0, peer: 1, preferred_lft: 1,
};

/** "<IPADDR>[/<MASK>] [brd IP] [dev IF] [scope S] [label L] [no_track] ...". */
export function readVip(ctx: KCtx, e: Stmt, where: string): VirtualAddress | undefined {
  const c = take(ctx, e, e.name, parseCidr(e.name.text));
  if (!c) return undefined;
  const v: VirtualAddress = { ...c, noTrack: false, line: e.line };
  const a = e.args;
  for (let i = 0; i < a.length; i++) {
    const k = a[i] as Word;
    const val = a[i + 1];
    const key = k.text;
    if (key === 'no_track') {
      v.noTrack = true;
    } else if (key in VIP_IGNORED) {
      const n = VIP_IGNORED[key] ?? 0;
      if (n > 0 && !val) return needsValue(ctx, e, k, where);
      ctx.sink.warning(wordPos(e.file, k), `address option '${key}' in ${where} is accepted but ignored by ctsync`);
      i += n;
    } else if (key === 'dev' || key === 'label' || key === 'brd' || key === 'scope' || key === 'broadcast') {
      if (!val) return needsValue(ctx, e, k, where);
      i++;
      if (key === 'dev') {
        const n = take(ctx, e, val, parseIfName(val.text));
        if (n === undefined) return undefined;
        v.dev = n;
      } else if (key === 'label') {
        if (val.text.length > 15) ctx.sink.error(wordPos(e.file, val), `label '${val.text}' is longer than 15 characters`);
        else v.label = val.text;
      } else if (key === 'scope') {
        if (!SCOPES.includes(val.text) && !/^[0-9]{1,3}$/.test(val.text)) {
          ctx.sink.error(wordPos(e.file, val), `unknown scope '${val.text}' (${SCOPES.join(', ')} or a number)`);
          return undefined;
        }
        v.scope = val.text;
      } else {
        const b = parseIp(val.text, c.family);
        if (!b.ok) {
          ctx.sink.error(wordPos(e.file, val), `invalid broadcast address: ${b.reason}`);
          return undefined;
        }
        v.brd = b.value.address;
      }
      continue;
    } else {
      ctx.sink.error(wordPos(e.file, k), `unexpected '${key}' in ${where} entry '${describe(e)}'`);
      return undefined;
    }
  }
  return v;
}

function needsValue(ctx: KCtx, e: Stmt, k: Word, where: string): undefined {
  ctx.sink.error(wordPos(e.file, k), `'${k.text}' needs a value in ${where} entry '${describe(e)}'`);
  return undefined;
}

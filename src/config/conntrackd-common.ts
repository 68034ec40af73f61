/**
 * Helpers shared by the conntrackd.conf section readers: arity checks,
 * typed values with diagnostics, unknown/unimplemented keyword reporting.
 */
import { Stmt, Word, describe, posOf, wordPos } from './blocktree';
import { DiagnosticSink } from './diagnostics';
import { unimplementedReason } from './conntrackd-unimplemented';
import { Result, parseBool, parseUint } from './values';

export interface Ctx {
  sink: DiagnosticSink;
}

/** conntrackd's lexer reads numbers with atoi() into an int. */
export const INT_MAX = 2147483647;

/** The one value of a "Keyword value" line, or undefined (diagnostic given). */
export function single(ctx: Ctx, s: Stmt, where: string): Word | undefined {
  if (s.block) {
    ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} does not take a block`);
    return undefined;
  }
  if (s.args.length !== 1) {
    const what = s.args.length === 0 ? 'is missing its value' : `expects one value, got ${s.args.length}`;
    ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} ${what}`);
    return undefined;
  }
  return s.args[0];
}

/** The block of "Keyword {" with no qualifiers, or undefined (diagnostic given). */
export function plainBlock(ctx: Ctx, s: Stmt, where: string): Stmt[] | undefined {
  if (!s.block) {
    ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} must open a block with '{'`);
    return undefined;
  }
  if (s.args.length > 0) {
    ctx.sink.error(posOf(s), `unexpected '${s.args.map((a) => a.text).join(' ')}' after '${s.name.text}' in ${where}`);
    return undefined;
  }
  return s.block;
}

export function checked<T>(ctx: Ctx, s: Stmt, w: Word, r: Result<T>): T | undefined {
  if (r.ok) return r.value;
  ctx.sink.error(wordPos(s.file, w), `invalid value for '${s.name.text}': ${r.reason}`);
  return undefined;
}

export function boolOpt(ctx: Ctx, s: Stmt, where: string): boolean | undefined {
  const w = single(ctx, s, where);
  return w ? checked(ctx, s, w, parseBool(w.text)) : undefined;
}

export function uintOpt(ctx: Ctx, s: Stmt, where: string, min = 0, max = INT_MAX): number | undefined {
  const w = single(ctx, s, where);
  return w ? checked(ctx, s, w, parseUint(w.text, min, max)) : undefined;
}

/** Absolute path values (conntrackd's lexer only reads paths that start with '/'). */
export function pathOpt(ctx: Ctx, s: Stmt, where: string): string | undefined {
  const w = single(ctx, s, where);
  if (!w) return undefined;
  if (!w.text.startsWith('/') || w.text.length > 256) {
    ctx.sink.error(wordPos(s.file, w), `invalid value for '${s.name.text}': expected an absolute path, got '${w.text}'`);
    return undefined;
  }
  return w.text;
}

export function unknownOption(ctx: Ctx, s: Stmt, where: string, known: readonly string[]): void {
  const lower = s.name.text.toLowerCase();
  const near = known.find((k) => k.toLowerCase() === lower);
  const hint = near ? ` (keywords are case-sensitive: did you mean '${near}'?)` : '';
  ctx.sink.error(posOf(s), `unknown option '${s.name.text}' in ${where}${hint}`);
}

/** Warn when `key` is in the central unimplemented list; returns true if it was. */
export function warnIfUnimplemented(ctx: Ctx, s: Stmt, key: string, shown?: string): boolean {
  const reason = unimplementedReason(key);
  if (reason === undefined) return false;
  ctx.sink.warning(posOf(s), `'${shown ?? describe(s)}' is accepted but ignored: ${reason}`);
  return true;
}

/** Warn about a second occurrence of a single-valued option ("last one wins", as conntrackd). */
export function noteRepeat(ctx: Ctx, seen: Map<string, number>, s: Stmt, where: string): void {
  const prev = seen.get(s.name.text);
  if (prev !== undefined) {
    ctx.sink.warning(posOf(s), `'${s.name.text}' in ${where} repeated (first at line ${prev}); the last one wins`);
  } else {
    seen.set(s.name.text, s.line);
  }
}

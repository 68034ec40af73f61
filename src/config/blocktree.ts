/**
 * Line-oriented "keyword args... { block }" reader shared by the conntrackd.conf
 * and keepalived.conf parsers.
 *
 * Model: a statement is a keyword followed by arguments on one line, optionally
 * opening a block with '{'; '}' closes the innermost block (it may end a line
 * that also holds a statement). A '{' alone on a line opens the block of the
 * statement just before it. Comments run from a comment character at the start
 * of a word (or anywhere, when `commentAnywhere`) to the end of the line.
 *
 * Pure: string in, tree + diagnostics out; never throws on bad input. Limits
 * bound the input size, the statement count and the nesting depth.
 */
import { DiagnosticSink, Position } from './diagnostics';

export interface Word {
  text: string;
  /** True when any part of the word was quoted (so it is never a keyword or brace). */
  quoted: boolean;
  line: number;
  col: number;
}

export interface Stmt {
  name: Word;
  args: Word[];
  /** Present when the statement opened a '{' block. */
  block?: Stmt[];
  file: string;
  line: number;
  col: number;
}

export interface TreeLimits {
  /** Maximum input size in bytes (UTF-16 code units); larger input is rejected whole. */
  maxBytes: number;
  /** Maximum number of statements over all included files. */
  maxStatements: number;
  /** Maximum block nesting depth. */
  maxDepth: number;
  /** Maximum include nesting. */
  maxIncludeDepth: number;
}

export const DEFAULT_TREE_LIMITS: TreeLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxStatements: 200_000,
  maxDepth: 32,
  maxIncludeDepth: 8,
};

export interface IncludeResult {
  files: { file: string; text: string }[];
  /** Reported as an error at the include line. */
  error?: string;
}

export interface TreeOptions {
  file: string;
  commentChars: string;
  /** A comment char ends the line even in the middle of a word (keepalived). */
  commentAnywhere: boolean;
  /** Characters that quote (conntrackd: '"'; keepalived: '"' and "'"). */
  quoteChars: string;
  /** Backslash escapes inside quotes (keepalived style) instead of only \" and \\. */
  richEscapes: boolean;
  /** Keywords whose remaining line is taken raw (no brace splitting), e.g. keepalived "include". */
  includeKeywords?: readonly string[];
  resolveInclude?: (pattern: string, from: Position) => IncludeResult;
  limits?: Partial<TreeLimits>;
}

type Tok = { kind: 'word'; word: Word } | { kind: 'open'; line: number; col: number } | { kind: 'close'; line: number; col: number };

interface BuildState {
  sink: DiagnosticSink;
  limits: TreeLimits;
  statements: number;
  stopped: boolean;
}

/** Parse `text` into a statement tree. */
export function readBlockTree(text: string, opts: TreeOptions, sink: DiagnosticSink): Stmt[] {
  const limits: TreeLimits = { ...DEFAULT_TREE_LIMITS, ...opts.limits };
  const state: BuildState = { sink, limits, statements: 0, stopped: false };
  const root: Stmt[] = [];
  buildInto(root, text, opts, state, 0);
  return root;
}

function buildInto(root: Stmt[], text: string, opts: TreeOptions, st: BuildState, includeDepth: number): void {
  const file = opts.file;
  if (text.length > st.limits.maxBytes) {
    st.sink.error({ file, line: 0 }, `file is larger than ${st.limits.maxBytes} bytes`);
    return;
  }
  const stack: { block: Stmt[]; owner?: Stmt }[] = [{ block: root }];
  const lines = text.split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length && !st.stopped; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? '';
    let toks = lexLine(raw, lineNo, opts, true, st.sink);
    const first = toks[0];
    if (first?.kind === 'word' && !first.word.quoted && opts.includeKeywords?.includes(first.word.text)) {
      toks = lexLine(raw, lineNo, opts, false, st.sink);
      handleInclude(toks, stack[stack.length - 1]?.block ?? root, opts, st, includeDepth, lineNo);
      continue;
    }
    let cur: Stmt | undefined;
    for (const t of toks) {
      const top = stack[stack.length - 1];
      if (!top) break;
      if (t.kind === 'word') {
        if (cur) {
          cur.args.push(t.word);
          continue;
        }
        if (++st.statements > st.limits.maxStatements) {
          st.sink.error({ file, line: lineNo }, `more than ${st.limits.maxStatements} statements`);
          st.stopped = true;
          break;
        }
        cur = { name: t.word, args: [], file, line: lineNo, col: t.word.col };
        top.block.push(cur);
      } else if (t.kind === 'open') {
        let owner = cur;
        if (!owner) {
          const prev = top.block[top.block.length - 1];
          if (prev && !prev.block) owner = prev;
        }
        if (!owner || owner.block) {
          st.sink.error({ file, line: t.line, col: t.col }, "'{' without a keyword before it");
          owner = { name: { text: '{', quoted: false, line: t.line, col: t.col }, args: [], file, line: t.line, col: t.col };
          top.block.push(owner);
        }
        if (stack.length > st.limits.maxDepth) {
          st.sink.error({ file, line: t.line, col: t.col }, `blocks nested deeper than ${st.limits.maxDepth}`);
          st.stopped = true;
          break;
        }
        owner.block = [];
        stack.push({ block: owner.block, owner });
        cur = undefined;
      } else {
        cur = undefined;
        if (stack.length <= 1) {
          st.sink.error({ file, line: t.line, col: t.col }, "unexpected '}' without a matching '{'");
        } else {
          stack.pop();
        }
      }
    }
  }
  for (let k = stack.length - 1; k >= 1; k--) {
    const owner = stack[k]?.owner;
    if (owner && !st.stopped) {
      st.sink.error({ file, line: owner.line }, `missing '}' for '${describe(owner)}' opened at line ${owner.line}`);
    }
  }
}

function handleInclude(toks: Tok[], block: Stmt[], opts: TreeOptions, st: BuildState, depth: number, lineNo: number): void {
  const file = opts.file;
  const words = toks.filter((t): t is Extract<Tok, { kind: 'word' }> => t.kind === 'word').map((t) => t.word);
  const kw = words[0]?.text ?? 'include';
  const pattern = words.slice(1).map((w) => w.text).join(' ');
  if (!pattern) {
    st.sink.error({ file, line: lineNo }, `'${kw}' needs a file name`);
    return;
  }
  if (!opts.resolveInclude) {
    st.sink.warning({ file, line: lineNo }, `'${kw} ${pattern}' ignored: includes are only read by the file loader`);
    return;
  }
  if (depth >= st.limits.maxIncludeDepth) {
    st.sink.error({ file, line: lineNo }, `includes nested deeper than ${st.limits.maxIncludeDepth}`);
    return;
  }
  const res = opts.resolveInclude(pattern, { file, line: lineNo });
  if (res.error) st.sink.error({ file, line: lineNo }, res.error);
  for (const inc of res.files) {
    buildInto(block, inc.text, { ...opts, file: inc.file }, st, depth + 1);
  }
}

/** "Mode FTFW", "Filter From Userspace", "vrrp_instance VI_1". */
export function describe(s: Stmt): string {
  return [s.name.text, ...s.args.map((a) => a.text)].join(' ');
}

export function posOf(s: Stmt): Position {
  return { file: s.file, line: s.line, col: s.col };
}

export function wordPos(file: string, w: Word): Position {
  return { file, line: w.line, col: w.col };
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function lexLine(raw: string, line: number, opts: TreeOptions, braces: boolean, sink: DiagnosticSink): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = raw.length;
  while (i < n) {
    const c = raw[i] as string;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (opts.commentChars.includes(c)) break;
    if (braces && (c === '{' || c === '}')) {
      out.push({ kind: c === '{' ? 'open' : 'close', line, col: i + 1 });
      i++;
      continue;
    }
    const start = i;
    let text = '';
    let quoted = false;
    let comment = false;
    while (i < n) {
      const ch = raw[i] as string;
      if (ch === ' ' || ch === '\t' || ch === '\f' || ch === '\v') break;
      if (braces && (ch === '{' || ch === '}')) break;
      if (opts.commentAnywhere && opts.commentChars.includes(ch)) {
        comment = true;
        break;
      }
      if (opts.quoteChars.includes(ch)) {
        quoted = true;
        const q = ch;
        i++;
        let closed = false;
        while (i < n) {
          const qc = raw[i] as string;
          if (qc === q) {
            closed = true;
            i++;
            break;
          }
          if (qc === '\\' && i + 1 < n) {
            const [s, len] = unescape(raw, i + 1, opts.richEscapes);
            text += s;
            i += 1 + len;
            continue;
          }
          text += qc;
          i++;
        }
        if (!closed) sink.error({ file: opts.file, line, col: start + 1 }, 'unterminated quoted string');
        continue;
      }
      text += ch;
      i++;
    }
    if (text.length > 0 || quoted) out.push({ kind: 'word', word: { text, quoted, line, col: start + 1 } });
    if (comment) break;
  }
  return out;
}

/** Decode the escape after a backslash at raw[at]; returns the text and chars consumed. */
function unescape(raw: string, at: number, rich: boolean): [string, number] {
  const c = raw[at] as string;
  if (!rich) return c === '"' || c === '\\' ? [c, 1] : ['\\' + c, 1];
  const simple = ESCAPES[c];
  if (simple !== undefined) return [simple, 1];
  if (c >= '0' && c <= '7') {
    const m = /^[0-7]{1,3}/.exec(raw.slice(at)) as RegExpExecArray;
    return [String.fromCharCode(parseInt(m[0], 8) & 0xff), m[0].length];
  }
  if (c === 'x') {
    const m = /^[0-9a-fA-F]{1,2}/.exec(raw.slice(at + 1));
    if (m) return [String.fromCharCode(parseInt(m[0], 16)), 1 + m[0].length];
  }
  return [c, 1];
}

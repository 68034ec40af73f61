/**
 * File access for keepalived "include PATTERN": brace expansion ({a,b}),
 * glob wildcards (*, ?, [...]) per path segment, paths relative to the
 * including file's directory. The only I/O of the config layer besides the
 * top-level file reads.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { IncludeResult } from './blocktree';
import { Position } from './diagnostics';

const MAX_FILES = 256;
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** "{a,b}c" -> ["ac", "bc"] (nested braces supported, limited to 256 results). */
export function expandBraces(p: string): string[] {
  const open = p.indexOf('{');
  if (open < 0) return [p];
  let depth = 0;
  const parts: string[] = [];
  let start = open + 1;
  for (let i = open; i < p.length; i++) {
    const c = p[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      parts.push(p.slice(start, i));
      const pre = p.slice(0, open);
      const rest = expandBraces(p.slice(i + 1));
      const out: string[] = [];
      for (const part of parts) for (const x of expandBraces(part)) for (const r of rest) if (out.length < MAX_FILES) out.push(pre + x + r);
      return out;
    } else if (c === ',' && depth === 1) {
      parts.push(p.slice(start, i));
      start = i + 1;
    }
  }
  return [p]; // unbalanced: taken literally
}

function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

const hasMagic = (s: string): boolean => /[*?[]/.test(s);

/** Sorted matches of an absolute glob pattern (like glob(3) without GLOB_NOCHECK). */
export function globFiles(pattern: string): string[] {
  const segs = pattern.split('/').filter((s) => s.length > 0);
  let cur = ['/'];
  for (const seg of segs) {
    const next: string[] = [];
    for (const dir of cur) {
      if (!hasMagic(seg)) {
        next.push(join(dir, seg));
        continue;
      }
      let names: string[] = [];
      try {
        names = readdirSync(dir).sort();
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const n of names) if (re.test(n) && (seg.startsWith('.') || !n.startsWith('.'))) next.push(join(dir, n));
    }
    cur = next.slice(0, MAX_FILES);
  }
  return cur.filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return !hasMagic(pattern); // plain paths are reported by the reader
    }
  });
}

export interface FsIncludeResolver {
  readOne(path: string): { text: string } | { error: string };
  resolve(pattern: string, from: Position): IncludeResult;
}

export function fsIncludeResolver(): FsIncludeResolver {
  let count = 0;
  const readOne = (path: string): { text: string } | { error: string } => {
    try {
      if (++count > MAX_FILES) return { error: `more than ${MAX_FILES} configuration files` };
      const st = statSync(path);
      if (st.size > MAX_FILE_BYTES) return { error: `file ${path} is larger than ${MAX_FILE_BYTES} bytes` };
      return { text: readFileSync(path, 'utf8') };
    } catch (e) {
      return { error: `cannot read file ${path} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})` };
    }
  };
  const resolveInclude = (pattern: string, from: Position): IncludeResult => {
    const base = dirname(resolve(from.file));
    const files: { file: string; text: string }[] = [];
    const errors: string[] = [];
    for (const p of expandBraces(pattern)) {
      const abs = isAbsolute(p) ? p : join(base, p);
      const matches = globFiles(abs);
      for (const f of matches) {
        const r = readOne(f);
        if ('error' in r) errors.push(r.error);
        else files.push({ file: f, text: r.text });
      }
    }
    return errors.length > 0 ? { files, error: errors.join('; ') } : { files };
  };
  return { readOne, resolve: resolveInclude };
}

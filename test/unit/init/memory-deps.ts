/** In-memory InitDeps: files in a Map, output captured. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InitDeps } from '../../../src/init/run';

export interface MemoryDeps extends InitDeps {
  files: Map<string, { text: string; mode: number }>;
  out: string[];
  err: string[];
}

export function memoryDeps(inputs: Record<string, string> = {}, host = 'fw1'): MemoryDeps {
  const files = new Map<string, { text: string; mode: number }>();
  const out: string[] = [];
  const err: string[] = [];
  const root = join(__dirname, '..', '..', '..');
  return {
    files,
    out,
    err,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    readFile(p) {
      const f = inputs[p] ?? files.get(p)?.text;
      if (f !== undefined) return f;
      if (p.startsWith(join(root, 'hooks'))) return readFileSync(p, 'utf8');
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    },
    writeFile(p, text, mode) {
      files.set(p, { text, mode });
    },
    exists: (p) => files.has(p),
    mkdir() {},
    hostname: () => host,
    packageDir: root,
  };
}

/** In-memory InitDeps: files in a Map, output captured, random bytes counted up (deterministic). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InitDeps } from '../../../src/init/run';

export interface MemoryDeps extends InitDeps {
  files: Map<string, { text: string; mode: number }>;
  out: string[];
  err: string[];
  dirs: Map<string, number | undefined>;
}

export function memoryDeps(inputs: Record<string, string> = {}, host = 'fw1'): MemoryDeps {
  const files = new Map<string, { text: string; mode: number }>();
  const out: string[] = [];
  const err: string[] = [];
  const dirs = new Map<string, number | undefined>();
  let next = 0;
  const root = join(__dirname, '..', '..', '..');
  return {
    files,
    out,
    err,
    dirs,
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
    mkdir(p, mode) {
      dirs.set(p, mode);
    },
    stat(p) {
      const f = files.get(p);
      if (!f) throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${p}'`), { code: 'ENOENT' });
      return { mode: 0o100000 | f.mode, size: Buffer.byteLength(f.text), isFile: () => true };
    },
    read(p) {
      const f = files.get(p);
      if (!f) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return Buffer.from(f.text, 'latin1');
    },
    randomBytes(n) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = (next++ * 37 + 11) & 0xff;
      return b;
    },
    hostname: () => host,
    packageDir: root,
  };
}

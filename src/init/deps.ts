/** Real file-system dependencies for runInit (the entry point passes these). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { InitDeps } from './run';

export function defaultInitDeps(): InitDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readFile: (p) => readFileSync(p, 'utf8'),
    writeFile: (p, text, mode) => {
      // mode is applied on creation only (and masked by umask): chmod before
      // the text goes in, so a key is never readable by others, not even briefly
      writeFileSync(p, '', { mode });
      chmodSync(p, mode);
      writeFileSync(p, text);
    },
    exists: (p) => existsSync(p),
    mkdir: (p, mode) => {
      mkdirSync(p, { recursive: true, ...(mode === undefined ? {} : { mode }) });
    },
    stat: (p) => statSync(p),
    read: (p) => readFileSync(p),
    randomBytes: (n) => randomBytes(n),
    hostname: () => hostname(),
    // src/init or dist/init -> package root
    packageDir: join(__dirname, '..', '..'),
  };
}

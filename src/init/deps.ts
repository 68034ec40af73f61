/** Real file-system dependencies for runInit (the entry point passes these). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { InitDeps } from './run';

export function defaultInitDeps(): InitDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readFile: (p) => readFileSync(p, 'utf8'),
    writeFile: (p, text, mode) => writeFileSync(p, text, { mode }),
    exists: (p) => existsSync(p),
    mkdir: (p) => mkdirSync(p, { recursive: true }),
    hostname: () => hostname(),
    // src/init or dist/init -> package root
    packageDir: join(__dirname, '..', '..'),
  };
}

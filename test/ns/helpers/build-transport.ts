/**
 * Transpiles src/transport and src/util (what transport imports) into a
 * private temp directory for namespace tests, so they neither depend on other
 * layers' build state nor pay for a full type-checking build (the project's
 * `tsc --noEmit` does the checking). Spawned helper scripts get the directory
 * as argv and NODE_PATH for npm dependencies.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';

export const REPO = resolve(__dirname, '../../..');
const DIRS = ['transport', 'util'];

export interface BuiltTransport {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function buildTransport(): BuiltTransport {
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-tr-'));
  try {
    for (const sub of DIRS) {
      const src = join(REPO, 'src', sub);
      mkdirSync(join(dir, sub), { recursive: true });
      for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
        const out = ts.transpileModule(readFileSync(join(src, f), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
          fileName: f,
        });
        writeFileSync(join(dir, sub, f.replace(/\.ts$/, '.js')), out.outputText);
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    env: { NODE_PATH: join(REPO, 'node_modules') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

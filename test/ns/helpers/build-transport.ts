/**
 * Compiles src/transport (and what it imports) into a private temp directory
 * for namespace tests, so they do not depend on other layers' build state.
 * Spawned helper scripts get the directory as argv and NODE_PATH for deps.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../..');

export interface BuiltTransport {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function buildTransport(): BuiltTransport {
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-tr-'));
  const srcDir = join(REPO, 'src/transport');
  const files = readdirSync(srcDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(srcDir, f));
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
  // prettier-ignore
  const args = [tsc, '--outDir', dir, '--rootDir', join(REPO, 'src'), '--module', 'commonjs', '--target', 'ES2022',
    '--moduleResolution', 'node', '--strict', '--noUncheckedIndexedAccess', '--esModuleInterop', '--skipLibCheck',
    '--types', 'node', ...files];
  try {
    execFileSync(process.execPath, args, { cwd: REPO, stdio: 'pipe' });
  } catch (e) {
    // tsc emits even with type errors elsewhere; fail only if our output is missing.
    if (!existsSync(join(dir, 'transport/udp.js'))) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`transport build failed: ${String((e as { stdout?: Buffer }).stdout ?? e)}`);
    }
  }
  return {
    dir,
    env: { NODE_PATH: join(REPO, 'node_modules') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

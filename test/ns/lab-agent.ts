/** Compiles src/lab/stream-agent.ts to a temporary directory for the lab tests (the build may be stale). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function compileAgent(): { path: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctlab-agent-'));
  const root = path.resolve(__dirname, '..', '..');
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'tsc'),
    ['--outDir', dir, '--target', 'ES2022', '--module', 'commonjs', '--strict', '--types', 'node', '--skipLibCheck',
      path.join(root, 'src', 'lab', 'stream-agent.ts')],
    { cwd: root, stdio: 'pipe' },
  );
  return { path: path.join(dir, 'stream-agent.js'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

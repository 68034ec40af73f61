/** Entry point of bin/ctsyncd. Wiring only: every dependency is created here and passed down. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === '-v' || argv[0] === '--version') {
    process.stdout.write(`ctsyncd v${version()}\n`);
    return 0;
  }
  process.stderr.write('ctsyncd: not implemented yet\n');
  return 1;
}

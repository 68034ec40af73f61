import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version (package.json at the repository / package root). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The sync key of `ctsyncd init`: every node of a cluster must hold the same
 * key file at the path its conntrackd.conf names in `Sync { Auth { KeyFile } }`
 * (docs/auth.md). An existing key is checked (the daemon's own loader: mode,
 * size, format) and reused; a missing one is generated (32 random bytes,
 * written as 64 hex digits and a newline, mode 0600). An existing key is
 * replaced only with --new-key --force.
 */
import { dirname } from 'node:path';
import { loadKeyFile, MIN_KEY_BYTES, type KeyFileDeps } from '../sync/auth/keys';

export const DEFAULT_KEY_FILE = '/etc/ctsync/sync.key';

export interface KeyDeps extends KeyFileDeps {
  exists(path: string): boolean;
  /** Creates missing parents too; `mode` applies to directories it creates. */
  mkdir(path: string, mode?: number): void;
  /** Must leave the file with exactly `mode`, also when it existed. */
  writeFile(path: string, text: string, mode: number): void;
  randomBytes(n: number): Buffer;
}

export interface KeyRequest {
  path: string;
  /** Generate a fresh key even when one exists (needs `force` then). */
  newKey: boolean;
  force: boolean;
}

/** What happened to the key; `generated` keys must be copied to the other nodes. */
export type KeyOutcome =
  | { ok: true; action: 'kept' | 'generated' | 'replaced'; path: string }
  | { ok: false; error: string };

/** Check an existing key or generate one; never throws. */
export function ensureSyncKey(req: KeyRequest, deps: KeyDeps): KeyOutcome {
  const present = deps.exists(req.path);
  if (present && !(req.newKey && req.force)) {
    if (req.newKey) return { ok: false, error: `${req.path} already exists; --new-key replaces it only with --force (every node needs the new key then)` };
    const r = loadKeyFile(req.path, deps);
    if (!r.ok) return { ok: false, error: `existing ${r.message}` };
    return { ok: true, action: 'kept', path: req.path };
  }
  try {
    deps.mkdir(dirname(req.path), 0o700);
    deps.writeFile(req.path, `${deps.randomBytes(MIN_KEY_BYTES).toString('hex')}\n`, 0o600);
  } catch (e) {
    return { ok: false, error: `cannot write key file ${req.path} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})` };
  }
  return { ok: true, action: present ? 'replaced' : 'generated', path: req.path };
}

/** The lines printed after the files were written. */
export function keyAdvice(k: { action: 'kept' | 'generated' | 'replaced'; path: string }): string {
  if (k.action === 'kept') return `using the existing sync key ${k.path} (all nodes must have this same file)\n`;
  return (
    `${k.action === 'generated' ? 'generated' : 'replaced'} the sync key ${k.path} (mode 0600)\n` +
    `copy it to ${k.path} on every other node (keep mode 0600) BEFORE running init there (init then keeps it);\n` +
    'nodes with different keys reject each other\'s sync traffic\n'
  );
}

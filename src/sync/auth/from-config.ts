/**
 * The daemon's one call: wrap the sync transport as Sync/Auth asks.
 * No Auth section: the transport is returned unchanged.
 */
import type { AuthConfig } from '../../config/conntrackd-types';
import type { Transport } from '../../transport/types';
import type { Clock } from '../../util/clock';
import type { Logger } from '../../util/log';
import { createDatagramAuth, type DatagramAuthOptions } from './auth';
import { loadKeyRing, type KeyFileDeps } from './keys';
import { authTransport } from './transport';

export interface AuthFromConfigDeps {
  clock: Clock;
  logger: Logger;
  /** Test seams; defaults: the real file system, Date.now, node:crypto. */
  fs?: KeyFileDeps;
  wallClock?: DatagramAuthOptions['wallClock'];
  randomU32?: DatagramAuthOptions['randomU32'];
}

export type AuthFromConfigResult = { ok: true; transport: Transport } | { ok: false; message: string };

export function authFromConfig(cfg: AuthConfig | undefined, inner: Transport, deps: AuthFromConfigDeps): AuthFromConfigResult {
  if (cfg === undefined) return { ok: true, transport: inner };
  const ring = loadKeyRing(cfg.keyFile, cfg.previousKeyFile, deps.fs);
  if (!ring.ok) return { ok: false, message: `Sync/Auth: ${ring.message}` };
  const auth = createDatagramAuth({
    keys: ring.ring,
    encrypt: cfg.encrypt,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.wallClock ? { wallClock: deps.wallClock } : {}),
    ...(deps.randomU32 ? { randomU32: deps.randomU32 } : {}),
  });
  deps.logger.info(
    { keyId: ring.ring.current.id.toString(16), previousKeyId: ring.ring.previous?.id.toString(16), encrypt: cfg.encrypt },
    'sync auth: datagrams are sealed',
  );
  return { ok: true, transport: authTransport(inner, auth) };
}

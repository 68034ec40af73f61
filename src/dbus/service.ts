/**
 * startDbusService: put a running daemon's DaemonApi on the system bus as
 * org.ctsync.Daemon1 (object /org/ctsync/Daemon1). The bus address is
 * opts.busAddress, else DBUS_SYSTEM_BUS_ADDRESS, else the standard system
 * socket. Who may own the name and call state-changing methods is decided
 * by the bus policy (hooks/dbus/org.ctsync.Daemon1.conf), not here.
 *
 * Failure to reach the bus or to own the name rejects; the daemon decides
 * whether that is fatal (it should not be: log and run without D-Bus).
 */
import * as dbus from 'dbus-next';
import type { DaemonApi } from '../daemon/api';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { createDbusCore } from './core';
import { BUS_NAME, Daemon1Interface, OBJECT_PATH } from './interface';

export interface DbusServiceOptions {
  clock: Clock;
  logger: Logger;
  /** D-Bus address; default DBUS_SYSTEM_BUS_ADDRESS or unix:path=/var/run/dbus/system_bus_socket. */
  busAddress?: string;
  env?: NodeJS.ProcessEnv;
  /** Status poll period for properties and signals; default 1000 ms. */
  pollMs?: number;
  /** Well-known name; default org.ctsync.Daemon1 (tests may use another). */
  busName?: string;
}

export interface DbusService {
  readonly busName: string;
  /** Re-read the daemon status now (e.g. right after an HA transition) and emit what changed. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

export function systemBusAddress(opts: Pick<DbusServiceOptions, 'busAddress' | 'env'>): string {
  return opts.busAddress ?? (opts.env ?? process.env).DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
}

export async function startDbusService(api: DaemonApi, opts: DbusServiceOptions): Promise<DbusService> {
  const address = systemBusAddress(opts);
  const busName = opts.busName ?? BUS_NAME;
  const log = opts.logger;
  const bus = dbus.sessionBus({ busAddress: address });
  const connected = new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
  });
  bus.on('error', (e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'dbus: bus error'));
  const iface = new Daemon1Interface();
  const core = createDbusCore({ api, clock: opts.clock, logger: log, pollMs: opts.pollMs }, iface.events());
  iface.attach(core);
  try {
    await connected;
    const reply = await bus.requestName(busName, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      throw new Error(`bus name ${busName} is owned by another process`);
    }
    bus.export(OBJECT_PATH, iface);
    await core.start();
  } catch (e) {
    core.stop();
    bus.disconnect();
    throw new Error(`D-Bus service on ${address}: ${e instanceof Error ? e.message : String(e)}`);
  }
  log.info({ busName, address }, 'dbus: service ready');
  return {
    busName,
    refresh: () => core.refresh(),
    async stop() {
      core.stop();
      try {
        bus.unexport(OBJECT_PATH, iface);
        await bus.releaseName(busName);
      } catch {
        /* bus already gone */
      }
      bus.disconnect();
    },
  };
}

/**
 * startVrrpDbus: keepalived's D-Bus service (org.keepalived.Vrrp1) for the
 * embedded VRRP speakers, so tools written for keepalived's D-Bus API keep
 * working when ctsyncd runs VRRP itself (--vrrp-config). One object per
 * speaker at /org/keepalived/Vrrp1/Instance/<ifname>/<vrid>/<IPv4|IPv6>, plus
 * /org/keepalived/Vrrp1/Vrrp (see vrrp-interface.ts for the members).
 *
 * Own bus connection, separate from org.ctsync.Daemon1. The bus address is
 * opts.busAddress, else DBUS_SYSTEM_BUS_ADDRESS, else the system socket.
 * State and VrrpStatusChange follow the speakers' onTransition callbacks;
 * after start every instance announces its current state once (keepalived
 * does the same right after it acquires the bus). Who may own the name or
 * call SendGarp is the bus policy's business (hooks/dbus/org.keepalived.Vrrp1.conf).
 *
 * Failure to reach the bus or to own the name rejects; the daemon logs it and
 * runs on without this service. A keepalived on the same host owning
 * org.keepalived.Vrrp1 makes this fail (DO_NOT_QUEUE), by design.
 */
import * as dbus from 'dbus-next';
import type { VrrpState } from '../ha/vrrp/machine';
import type { Logger } from '../util/log';
import { systemBusAddress } from './service';
import {
  instancePath, VRRP_BUS_NAME, VRRP_OBJECT_PATH, VrrpInstanceInterface, VrrpProcessInterface,
} from './vrrp-interface';

/** The part of a VrrpSpeaker this service uses (src/ha/vrrp/speaker.ts). */
export interface VrrpDbusSpeaker {
  readonly name: string;
  state(): VrrpState;
  onTransition(fn: (from: VrrpState, to: VrrpState) => void): void;
  /** Optional: SendGarp answers NotSupported without it. */
  sendGarp?(): void;
}

/** Where an instance lives: taken from the keepalived config (VrrpInstance has these fields). */
export interface VrrpDbusInstanceInfo {
  name: string;
  interface: string;
  vrid: number;
  family: 4 | 6;
}

export interface VrrpDbusOptions {
  logger: Logger;
  /** The config's vrrp_instance entries (KeepalivedConfig.instances); speakers are matched by name. */
  instances: readonly VrrpDbusInstanceInfo[];
  busAddress?: string;
  env?: NodeJS.ProcessEnv;
  /** Default org.keepalived.Vrrp1 (tests may use another). */
  busName?: string;
}

export interface VrrpDbus {
  readonly busName: string;
  /** Object path of every exported instance, by instance name. */
  readonly paths: ReadonlyMap<string, string>;
  /** Emits VrrpStopped, releases the name, disconnects. Transitions after stop are ignored. */
  stop(): Promise<void>;
}

export async function startVrrpDbus(manager: { speakers(): readonly VrrpDbusSpeaker[] }, opts: VrrpDbusOptions): Promise<VrrpDbus> {
  const address = systemBusAddress(opts);
  const busName = opts.busName ?? VRRP_BUS_NAME;
  const log = opts.logger;
  const byName = new Map(opts.instances.map((i) => [i.name, i]));
  const objects: Array<{ path: string; iface: VrrpInstanceInterface; sp: VrrpDbusSpeaker }> = [];
  const paths = new Map<string, string>();
  for (const sp of manager.speakers()) {
    const info = byName.get(sp.name);
    if (info === undefined) {
      log.warn({ instance: sp.name }, 'dbus vrrp: speaker without a config instance; not exported');
      continue;
    }
    const path = instancePath(info.interface, info.vrid, info.family);
    if ([...paths.values()].includes(path)) {
      log.warn({ instance: sp.name, path }, 'dbus vrrp: two instances map to the same object path; second not exported');
      continue;
    }
    paths.set(sp.name, path);
    objects.push({ path, iface: new VrrpInstanceInterface(sp), sp });
  }
  const proc = new VrrpProcessInterface();

  const bus = dbus.sessionBus({ busAddress: address });
  const connected = new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
  });
  bus.on('error', (e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, 'dbus vrrp: bus error'));
  let live = false;
  const announce = (o: (typeof objects)[number], s: VrrpState): void => {
    if (!live) return;
    try {
      o.iface.announce(s);
    } catch (e) {
      log.warn({ instance: o.sp.name, err: e instanceof Error ? e.message : String(e) }, 'dbus vrrp: signal not sent');
    }
  };
  try {
    await connected;
    const reply = await bus.requestName(busName, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      throw new Error(`bus name ${busName} is owned by another process (a keepalived with D-Bus enabled?)`);
    }
    bus.export(VRRP_OBJECT_PATH, proc);
    for (const o of objects) bus.export(o.path, o.iface);
  } catch (e) {
    bus.disconnect();
    throw new Error(`VRRP D-Bus service on ${address}: ${e instanceof Error ? e.message : String(e)}`);
  }
  live = true;
  for (const o of objects) o.sp.onTransition((_from, to) => announce(o, to));
  proc.VrrpStarted();
  for (const o of objects) announce(o, o.sp.state());
  log.info({ busName, address, instances: objects.length }, 'dbus vrrp: service ready');

  return {
    busName,
    paths,
    async stop() {
      if (!live) return;
      live = false;
      try {
        proc.VrrpStopped();
        for (const o of objects) bus.unexport(o.path, o.iface);
        bus.unexport(VRRP_OBJECT_PATH, proc);
        await bus.releaseName(busName);
      } catch {
        /* bus already gone */
      }
      bus.disconnect();
    },
  };
}

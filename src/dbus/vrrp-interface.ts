/**
 * keepalived's D-Bus objects for VRRP instances, on dbus-next. Names, paths
 * and signatures follow keepalived 2.2 (keepalived/dbus/org.keepalived.Vrrp1.
 * Instance.xml, org.keepalived.Vrrp1.Vrrp.xml_template, vrrp/vrrp_dbus.c) so
 * existing consumers of keepalived keep working against ctsyncd:
 *
 *   bus name   org.keepalived.Vrrp1
 *   /org/keepalived/Vrrp1/Vrrp                              org.keepalived.Vrrp1.Vrrp
 *     methods  PrintData() PrintStats() PrintStatsClear() ReloadConfig()   (answered NotSupported)
 *     signals  VrrpStarted() VrrpReloaded() VrrpStopped()
 *   /org/keepalived/Vrrp1/Instance/<ifname>/<vrid>/<IPv4|IPv6>   org.keepalived.Vrrp1.Instance
 *     methods  SendGarp()
 *     props    Name (s)  State (us)   read-only
 *     signals  VrrpStatusChange(u status)
 *
 * <ifname> has every character outside [A-Za-z0-9] replaced by '_' (a D-Bus
 * path element allows only [A-Za-z0-9_]), as keepalived does.
 */
import * as dbus from 'dbus-next';
import type { VrrpState } from '../ha/vrrp/machine';

export const VRRP_BUS_NAME = 'org.keepalived.Vrrp1';
export const VRRP_OBJECT_ROOT = '/org/keepalived/Vrrp1';
export const VRRP_OBJECT_PATH = `${VRRP_OBJECT_ROOT}/Vrrp`;
export const VRRP_INTERFACE = 'org.keepalived.Vrrp1.Vrrp';
export const VRRP_INSTANCE_INTERFACE = 'org.keepalived.Vrrp1.Instance';

/**
 * keepalived's state numbers (keepalived/include/vrrp.h VRRP_STATE_INIT 0,
 * VRRP_STATE_BACK 1, VRRP_STATE_MAST 2, VRRP_STATE_FAULT 3) and the names
 * vrrp_dbus.c state_str() gives them.
 */
export const VRRP_STATE_CODES: Readonly<Record<VrrpState, readonly [number, string]>> = {
  INIT: [0, 'Init'],
  BACKUP: [1, 'Backup'],
  MASTER: [2, 'Master'],
  FAULT: [3, 'Fault'],
};

export function stateCode(s: VrrpState): [number, string] {
  const c = VRRP_STATE_CODES[s] ?? ([0, 'Unknown'] as const);
  return [c[0], c[1]];
}

/** D-Bus path element from an interface name: [A-Za-z0-9] kept, anything else '_'. */
export function pathElement(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '_');
}

/** /org/keepalived/Vrrp1/Instance/<ifname>/<vrid>/<IPv4|IPv6>. */
export function instancePath(ifname: string, vrid: number, family: 4 | 6): string {
  return `${VRRP_OBJECT_ROOT}/Instance/${pathElement(ifname)}/${Math.trunc(vrid)}/${family === 6 ? 'IPv6' : 'IPv4'}`;
}

type DBusErrorCtor = new (type: string, text: string) => Error;
const DBusError = dbus.DBusError as unknown as DBusErrorCtor;
export const NOT_SUPPORTED = 'org.freedesktop.DBus.Error.NotSupported';
export const FAILED = 'org.freedesktop.DBus.Error.Failed';

/** What one instance object reads and calls. */
export interface InstanceBackend {
  name: string;
  state(): VrrpState;
  /** Send gratuitous ARP / unsolicited NA for the VIPs now; absent: SendGarp answers NotSupported. */
  sendGarp?(): void;
}

export class VrrpInstanceInterface extends dbus.interface.Interface {
  constructor(private readonly backend: InstanceBackend) {
    super(VRRP_INSTANCE_INTERFACE);
  }

  get Name(): [string] {
    return [this.backend.name];
  }
  get State(): [number, string] {
    return stateCode(this.backend.state());
  }

  SendGarp(): void {
    const send = this.backend.sendGarp;
    if (send === undefined) throw new DBusError(NOT_SUPPORTED, 'SendGarp is not supported by this VRRP speaker');
    try {
      send.call(this.backend);
    } catch (e) {
      // typed error, first line only: no stack trace on the bus
      throw new DBusError(FAILED, String(e instanceof Error ? e.message : e).split('\n')[0] ?? 'failed');
    }
  }

  /** Signal emitter: calling it emits VrrpStatusChange(u). */
  VrrpStatusChange(status: number): number {
    return status;
  }

  /** Emit VrrpStatusChange and PropertiesChanged(State) for a new state. */
  announce(s: VrrpState): void {
    const code = stateCode(s);
    this.VrrpStatusChange(code[0]);
    dbus.interface.Interface.emitPropertiesChanged(this, { State: code }, []);
  }
}

const READ = dbus.interface.ACCESS_READ;
VrrpInstanceInterface.configureMembers({
  properties: {
    Name: { signature: '(s)', access: READ },
    State: { signature: '(us)', access: READ },
  },
  methods: { SendGarp: {} },
  signals: { VrrpStatusChange: { signature: 'u' } },
});

const notSupported = (what: string): Error => new DBusError(NOT_SUPPORTED, `${what} is not supported by ctsyncd (use ctsyncd -s / the control socket)`);

export class VrrpProcessInterface extends dbus.interface.Interface {
  constructor() {
    super(VRRP_INTERFACE);
  }
  PrintData(): void {
    throw notSupported('PrintData');
  }
  PrintStats(): void {
    throw notSupported('PrintStats');
  }
  PrintStatsClear(): void {
    throw notSupported('PrintStatsClear');
  }
  ReloadConfig(): void {
    throw notSupported('ReloadConfig');
  }
  VrrpStarted(): void {
    /* signal without arguments */
  }
  VrrpReloaded(): void {
    /* signal without arguments */
  }
  VrrpStopped(): void {
    /* signal without arguments */
  }
}

VrrpProcessInterface.configureMembers({
  methods: { PrintData: {}, PrintStats: {}, PrintStatsClear: {}, ReloadConfig: {} },
  signals: { VrrpStarted: { signature: '' }, VrrpReloaded: { signature: '' }, VrrpStopped: { signature: '' } },
});

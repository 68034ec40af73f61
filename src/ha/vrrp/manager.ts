/**
 * Runs every vrrp_instance of a KeepalivedConfig: finds each interface's MAC
 * and primary address, opens the transports, creates the speakers, follows
 * link state (own interface and track_interface) and ties sync groups
 * together. stop() is graceful: masters send priority 0 so backups take over
 * after their skew time.
 */
import type { Clock } from '../../util/clock';
import type { Logger } from '../../util/log';
import type { RtnlClient, LinkState, AddressEntry } from '../../netlink/rtnl-client';
import { isSockError, type SockError } from '../../netlink/socket';
import type { KeepalivedConfig, VrrpInstance } from '../../config/keepalived-types';
import { createVipManager } from '../addresses';
import type { Notifier, NotifyState } from '../notify';
import { openHeartbeat, HEARTBEAT_DEFAULT_PORT } from '../heartbeat';
import type { LivenessMonitor } from '../liveness';
import { groupState, syncGroupMoves } from './group';
import type { VrrpState } from './machine';
import { createVrrpSpeaker, instanceVips, type InterfaceInfo, type SpeakerStats, type VrrpHooks, type VrrpSpeaker } from './speaker';
import { openFrameLink, openRawTransport, type FrameLink, type VrrpTransport } from './transport';

const IFA_F_SECONDARY = 0x01; // include/uapi/linux/if_addr.h

export type ManagerRtnl = Pick<RtnlClient, 'listLinks' | 'listAddresses' | 'addAddress' | 'delAddress' | 'onLinkChange'>;

export interface ManagerDeps {
  config: KeepalivedConfig;
  clock: Clock;
  random: () => number;
  logger: Logger;
  rtnl: ManagerRtnl;
  /** Namespace path for the sockets (tests); default: the current one. */
  netns?: string;
  /** 'vrrp' (default): IP protocol 112; 'heartbeat': UDP to unicast_peer addresses. */
  transport?: 'vrrp' | 'heartbeat';
  heartbeatPort?: number;
  openTransport?: (inst: VrrpInstance, iface: InterfaceInfo) => VrrpTransport | SockError;
  /** null disables GARP/NA. */
  openLink?: (inst: VrrpInstance) => FrameLink | SockError | null;
  notifier?: Notifier;
  hooks?: VrrpHooks;
  /** Fast failover: the peer's probes on the sync link; started and closed with the manager. */
  liveness?: LivenessMonitor;
}

export interface VrrpManager {
  /** Start every instance; returns the instances that could not start. */
  start(): Promise<Array<{ instance: string; error: SockError }>>;
  stop(): Promise<void>;
  speakers(): VrrpSpeaker[];
  stats(): SpeakerStats[];
  groupStates(): Record<string, VrrpState>;
}

/** MAC, source address and own addresses of the instance's interface. */
export function interfaceInfo(inst: VrrpInstance, links: LinkState[], addrs: AddressEntry[]): InterfaceInfo | SockError {
  const link = links.find((l) => l.name === inst.interface);
  if (link === undefined) return { code: 'ENODEV', errno: 19, op: 'interface', message: inst.interface };
  const vipSet = new Set(instanceVips(inst).map((v) => v.address));
  const mine = addrs.filter((a) => a.index === link.index && !vipSet.has(a.address));
  const fam = inst.family === 6 ? 10 : 2;
  const forced = inst.unicastSrcIp ?? inst.mcastSrcIp;
  let primary = forced;
  if (primary === undefined) {
    const cands = mine.filter((a) => a.family === fam && (fam === 2 ? (a.flags & IFA_F_SECONDARY) === 0 : a.address.startsWith('fe80:')));
    primary = cands[0]?.address;
  }
  if (primary === undefined) return { code: 'EADDRNOTAVAIL', errno: 99, op: 'interface', message: `no ${fam === 10 ? 'link-local IPv6' : 'IPv4'} address on ${inst.interface}` };
  return { mac: link.address ?? '00:00:00:00:00:00', primaryAddress: primary, selfAddresses: mine.map((a) => a.address) };
}

/** Priority after track_interface weights, and whether a weight-0 tracked link is down. */
export function trackedPriority(inst: VrrpInstance, up: (name: string) => boolean): { priority: number; fault: boolean } {
  let prio = inst.priority;
  let fault = false;
  for (const t of inst.trackInterfaces) {
    const isUp = up(t.name) !== t.reverse;
    if (t.weight === 0) fault ||= !isUp;
    else if (t.weight > 0 && isUp) prio += t.weight;
    else if (t.weight < 0 && !isUp) prio += t.weight;
  }
  return { priority: Math.max(1, Math.min(254, prio)), fault };
}

export function createVrrpManager(deps: ManagerDeps): VrrpManager {
  const log = deps.logger;
  const speakers = new Map<string, { sp: VrrpSpeaker; inst: VrrpInstance }>();
  const linkUp = new Map<string, boolean>();
  const groupLast = new Map<string, VrrpState>();
  let unsubscribe: (() => void) | null = null;
  const addresses = createVipManager(deps.rtnl, { clock: deps.clock });

  const openT = (inst: VrrpInstance, iface: InterfaceInfo): VrrpTransport | SockError => {
    if (deps.openTransport) return deps.openTransport(inst, iface);
    const peers = inst.unicastPeers.map((p) => p.address);
    if (deps.transport === 'heartbeat') {
      return openHeartbeat({ family: inst.family, bindAddress: iface.primaryAddress, port: deps.heartbeatPort ?? HEARTBEAT_DEFAULT_PORT, peers });
    }
    const group = inst.family === 6 ? deps.config.globalDefs.mcastGroup6 : deps.config.globalDefs.mcastGroup4;
    const o = { family: inst.family, ifname: inst.interface, source: iface.primaryAddress, group, peers };
    return openRawTransport(deps.netns !== undefined ? { ...o, netns: deps.netns } : o);
  };
  const openL = (inst: VrrpInstance): FrameLink | SockError | null =>
    deps.openLink ? deps.openLink(inst) : openFrameLink(inst.interface, inst.family, deps.netns);

  const refreshLinks = (): void => {
    for (const { sp, inst } of speakers.values()) {
      const t = trackedPriority(inst, (n) => linkUp.get(n) ?? false);
      const up = (linkUp.get(inst.interface) ?? false) && !t.fault;
      if (up === sp.ownFault()) sp.interfaceState(up);
      if (sp.stats().priority !== t.priority && inst.priority !== 255) sp.setPriority(t.priority);
    }
  };

  const onMemberTransition = (instName: string, from: VrrpState, to: VrrpState): void => {
    const inst = speakers.get(instName)?.inst;
    const gname = inst?.syncGroup;
    const group = deps.config.syncGroups.find((g) => g.name === gname);
    if (group === undefined) return;
    const members = group.members.flatMap((n) => {
      const s = speakers.get(n);
      return s === undefined ? [] : [{ name: n, state: s.sp.state(), ownFault: s.sp.ownFault() }];
    });
    for (const mv of syncGroupMoves(members, instName, from, to)) speakers.get(mv.member)?.sp.force(mv.to);
    const after = groupState(group.members.flatMap((n) => { const s = speakers.get(n); return s ? [{ name: n, state: s.sp.state(), ownFault: s.sp.ownFault() }] : []; }));
    if (groupLast.get(group.name) !== after && after !== 'INIT') {
      groupLast.set(group.name, after);
      log.info({ group: group.name, state: after }, 'sync group state');
      deps.notifier?.notify('GROUP', group.name, after as NotifyState, 0, group.notify);
    }
  };

  return {
    async start() {
      const failed: Array<{ instance: string; error: SockError }> = [];
      const links = await deps.rtnl.listLinks();
      const addrs = await deps.rtnl.listAddresses(0);
      if (isSockError(links) || isSockError(addrs)) {
        const error = isSockError(links) ? links : (addrs as SockError);
        return deps.config.instances.map((i) => ({ instance: i.name, error }));
      }
      for (const l of links) linkUp.set(l.name, l.up && l.running);
      for (const inst of deps.config.instances) {
        const iface = interfaceInfo(inst, links, addrs);
        if (isSockError(iface)) {
          failed.push({ instance: inst.name, error: iface });
          continue;
        }
        const transport = openT(inst, iface);
        if (isSockError(transport)) {
          failed.push({ instance: inst.name, error: transport });
          continue;
        }
        const link = openL(inst);
        if (link !== null && isSockError(link)) log.warn({ instance: inst.name, err: link }, 'no GARP/NA link; continuing without');
        const sp = createVrrpSpeaker({
          instance: inst, globals: deps.config.globalDefs, clock: deps.clock, random: deps.random, iface, transport,
          link: link === null || isSockError(link) ? null : link, addresses, logger: log,
          ...(deps.notifier ? { notifier: deps.notifier } : {}), ...(deps.hooks ? { hooks: deps.hooks } : {}),
        });
        sp.onTransition((from, to) => onMemberTransition(inst.name, from, to));
        speakers.set(inst.name, { sp, inst });
      }
      const live = deps.liveness;
      if (live !== undefined) {
        live.onChange((st) => {
          for (const { sp } of speakers.values()) sp.peerLiveness(st);
        });
        live.start();
      }
      unsubscribe = deps.rtnl.onLinkChange((ev) => {
        linkUp.set(ev.name, ev.type !== 'del' && ev.up && ev.running);
        refreshLinks();
      });
      for (const { sp, inst } of speakers.values()) {
        const t = trackedPriority(inst, (n) => linkUp.get(n) ?? false);
        if (t.priority !== inst.priority && inst.priority !== 255) sp.setPriority(t.priority);
        if (!(linkUp.get(inst.interface) ?? false) || t.fault) sp.interfaceState(false);
        sp.start();
      }
      return failed;
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = null;
      deps.liveness?.close();
      await Promise.all([...speakers.values()].map(({ sp }) => sp.stop()));
    },
    speakers: () => [...speakers.values()].map((s) => s.sp),
    stats: () => [...speakers.values()].map((s) => s.sp.stats()),
    groupStates: () => Object.fromEntries(groupLast),
  };
}

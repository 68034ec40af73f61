/**
 * One VRRP instance: wires the pure machine to a transport, timers, the VIP
 * manager, GARP/NA and hooks. Event handling is synchronous (packets and
 * timers go through the machine at once, adverts go out at once); the slow
 * side of a transition (daemon hooks, addresses, GARP, notify) runs on a
 * serial queue so steps never interleave:
 *
 *   -> MASTER: await hooks.beforeMaster() (the daemon commits its external
 *              cache here), add VIPs, start GARP/NA bursts, hooks.afterMaster(),
 *              notify MASTER. Skipped from the first step that finds the
 *              instance already left MASTER.
 *   -> other:  stop GARP, remove VIPs (if we were MASTER), after-hook, notify.
 *
 * Every step is timed; stats count adverts, drops by reason and transitions.
 */
import type { Clock, TimerHandle } from '../../util/clock';
import type { Logger } from '../../util/log';
import type { SockError } from '../../netlink/socket';
import type { GlobalDefs, VrrpInstance } from '../../config/keepalived-types';
import { buildGarp, buildUnsolicitedNa, createGarpScheduler, type GarpScheduler } from '../garp';
import type { Vip, VipManager } from '../addresses';
import type { Notifier, NotifyState } from '../notify';
import type { LivenessState } from '../liveness';
import { earlyTakeoverAt } from './early';
import { createMachine, step, type Machine, type MachineAction, type MachineEvent, type TimerName, type VrrpState } from './machine';
import { VRRP_AUTH_NONE, VRRP_AUTH_PASS } from './packet';
import { validateAdvert, type DropReason, type VrrpExpect, type WarnReason } from './validate';
import type { FrameLink, VrrpTransport } from './transport';

export interface VrrpHooks {
  beforeMaster?(name: string): Promise<void>;
  afterMaster?(name: string): void | Promise<void>;
  afterBackup?(name: string): void | Promise<void>;
  afterFault?(name: string): void | Promise<void>;
}

export interface InterfaceInfo {
  mac: string;
  /** Source of adverts and tie-break address (IPv4 primary / IPv6 link-local). */
  primaryAddress: string;
  /** Every address of ours on the link (packets from them are our own). */
  selfAddresses: string[];
}

export interface SpeakerDeps {
  instance: VrrpInstance;
  globals: Pick<GlobalDefs, 'vrrpStrict' | 'garpInterval' | 'gnaInterval'>;
  clock: Clock;
  /** Injected randomness (unused by the RFC timers; kept for transports that need nonces). */
  random: () => number;
  iface: InterfaceInfo;
  transport: VrrpTransport;
  /** null: no GARP/NA (e.g. tests, or an interface without L2). */
  link: FrameLink | null;
  addresses: VipManager;
  notifier?: Notifier;
  logger: Logger;
  hooks?: VrrpHooks;
  /**
   * Runs a timer's decision after the I/O already pending is read (default setImmediate:
   * after libuv's poll phase). Tests may run it inline.
   */
  defer?: (fn: () => void) => void;
}

export interface TransitionRecord {
  from: VrrpState;
  to: VrrpState;
  reason: string;
  at: number;
  /** Duration of each step in ms (beforeMaster, addVips, afterMaster, removeVips, ...). */
  steps: Record<string, number>;
}

export interface SpeakerStats {
  name: string;
  state: VrrpState;
  priority: number;
  advertsSent: number;
  advertsReceived: number;
  sendErrors: number;
  drops: Partial<Record<DropReason, number>>;
  warnings: Partial<Record<WarnReason, number>>;
  transitions: number;
  becameMaster: number;
  garpFrames: number;
  vipErrors: number;
  hookErrors: number;
  /** Takeovers before the master down timer (fast failover). */
  earlyTakeovers: number;
  last?: TransitionRecord;
}

export interface VrrpSpeaker {
  readonly name: string;
  start(): void;
  /** Graceful stop: priority-0 advert when MASTER, VIPs removed, notify STOP. */
  stop(): Promise<void>;
  state(): VrrpState;
  stats(): SpeakerStats;
  setPriority(priority: number): void;
  interfaceState(up: boolean): void;
  /** Sync group: move with the group. */
  force(to: 'MASTER' | 'BACKUP' | 'FAULT'): void;
  /** Called synchronously on every state change (before the queued steps). */
  onTransition(fn: (from: VrrpState, to: VrrpState) => void): void;
  /** Resolves when queued transition steps are done. */
  idle(): Promise<void>;
  /** Whether the interface itself is down (not just a forced FAULT). */
  ownFault(): boolean;
  /** Send one burst of gratuitous ARP / unsolicited NA for the VIPs now (D-Bus SendGarp); only as MASTER. */
  sendGarp(): void;
  /** Fast failover: the peer's state on the sync link changed (src/ha/liveness.ts). */
  peerLiveness(s: LivenessState): void;
}

export function instanceVips(inst: VrrpInstance): Vip[] {
  return inst.virtualIpaddresses.map((v) => {
    const vip: Vip = { address: v.address, prefix: v.prefix, family: v.family, dev: v.dev ?? inst.interface };
    if (v.label !== undefined) vip.label = v.label;
    if (v.scope !== undefined) vip.scope = v.scope;
    return vip;
  });
}

export function createVrrpSpeaker(deps: SpeakerDeps): VrrpSpeaker {
  const inst = deps.instance;
  const log = deps.logger.child({ vrrp: inst.name, vrid: inst.vrid });
  const vips = instanceVips(inst);
  const advertAddrs = vips.filter((v) => v.family === inst.family).map((v) => v.address);
  const v2pass = inst.version === 2 && inst.authentication !== undefined;
  const expect: VrrpExpect = {
    version: inst.version,
    family: inst.family,
    vrid: inst.vrid,
    advertIntCs: inst.advertIntCs,
    authType: v2pass ? VRRP_AUTH_PASS : VRRP_AUTH_NONE,
    vips: advertAddrs,
    selfAddresses: deps.iface.selfAddresses,
    unicastPeers: inst.unicastPeers,
    strict: deps.globals.vrrpStrict,
  };
  if (v2pass && inst.authentication !== undefined) expect.authPass = inst.authentication.pass;
  let m: Machine = createMachine({
    version: inst.version,
    priority: inst.priority,
    advertIntCs: inst.advertIntCs,
    preempt: inst.preempt,
    preemptDelayMs: inst.preemptDelay * 1000,
    initialState: inst.state,
    primaryAddress: deps.iface.primaryAddress,
  });
  const stats: SpeakerStats = {
    name: inst.name, state: 'INIT', priority: inst.priority, advertsSent: 0, advertsReceived: 0, sendErrors: 0,
    drops: {}, warnings: {}, transitions: 0, becameMaster: 0, garpFrames: 0, vipErrors: 0, hookErrors: 0, earlyTakeovers: 0,
  };
  const timers = new Map<TimerName, TimerHandle>();
  /** Bumped on every set/clear: a deferred expiry acts only if its timer was not re-armed or cleared since. */
  const timerTokens = new Map<TimerName, number>();
  const defer = deps.defer ?? ((fn: () => void): void => void setImmediate(fn));
  const listeners: Array<(from: VrrpState, to: VrrpState) => void> = [];
  let queue: Promise<void> = Promise.resolve();
  let gen = 0;
  let started = false;
  let ifDown = false;
  // Fast failover: the peer's sync-link state, the last advert that kept us BACKUP, the armed check.
  let live: LivenessState | null = null;
  let lastAdvertAt: number | null = null;
  let advertsInBackup = 0;
  let earlyTimer: TimerHandle | null = null;

  const frames: Buffer[] = [];
  for (const v of vips) {
    const f = v.family === 6 ? buildUnsolicitedNa(deps.iface.mac, v.address) : buildGarp(deps.iface.mac, v.address);
    if (f.ok) frames.push(f.frame);
    else log.warn({ vip: v.address, err: f.error }, 'cannot build GARP/NA frame');
  }
  const announce = (): void => {
    if (deps.link === null) return;
    for (const f of frames) {
      const err = deps.link.send(f);
      if (err === null) stats.garpFrames += 1;
      else log.warn({ err }, 'GARP/NA send failed');
    }
  };
  const interval = inst.family === 6 ? deps.globals.gnaInterval : deps.globals.garpInterval;
  const garp: GarpScheduler = createGarpScheduler(
    deps.clock,
    { repeat: inst.garp.masterRepeat, delayS: inst.garp.masterDelay, refreshS: inst.garp.masterRefresh, refreshRepeat: inst.garp.masterRefreshRepeat, intervalMs: interval * 1000 },
    announce,
  );

  const enqueue = (task: () => Promise<void>): void => {
    queue = queue.then(task).catch((e: unknown) => {
      stats.hookErrors += 1;
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'transition step failed');
    });
  };
  const timed = async (rec: TransitionRecord, name: string, fn: () => unknown): Promise<void> => {
    const t0 = deps.clock.now();
    try {
      await fn();
    } catch (e) {
      stats.hookErrors += 1;
      log.error({ step: name, err: e instanceof Error ? e.message : String(e) }, 'transition step threw');
    }
    rec.steps[name] = deps.clock.now() - t0;
  };
  const applyVips = async (add: boolean): Promise<void> => {
    const res = add ? await deps.addresses.add(vips) : await deps.addresses.remove(vips);
    for (const r of res) {
      if (!r.ok) {
        stats.vipErrors += 1;
        log.error({ vip: r.vip.address, err: r.error }, add ? 'adding VIP failed' : 'removing VIP failed');
      }
    }
  };
  const notifyState = (to: VrrpState): NotifyState => (to === 'INIT' ? 'STOP' : to === 'MASTER' ? 'MASTER' : to === 'FAULT' ? 'FAULT' : 'BACKUP');

  const runTransition = (from: VrrpState, to: VrrpState, reason: string, removeVips: boolean): void => {
    gen += 1;
    const myGen = gen;
    const rec: TransitionRecord = { from, to, reason, at: deps.clock.now(), steps: {} };
    stats.transitions += 1;
    stats.state = to;
    stats.last = rec;
    log.info({ from, to, reason, priority: m.priority }, `${inst.name}: ${from} -> ${to}`);
    if (to !== 'MASTER') garp.stop();
    for (const fn of listeners) fn(from, to);
    const hooks = deps.hooks ?? {};
    enqueue(async () => {
      if (to === 'MASTER') {
        stats.becameMaster += 1;
        await timed(rec, 'beforeMaster', () => hooks.beforeMaster?.(inst.name));
        if (myGen !== gen) return;
        await timed(rec, 'addVips', () => applyVips(true));
        if (myGen !== gen) return;
        garp.start();
        await timed(rec, 'afterMaster', () => hooks.afterMaster?.(inst.name));
      } else {
        if (removeVips) await timed(rec, 'removeVips', () => applyVips(false));
        if (to === 'BACKUP') await timed(rec, 'afterBackup', () => hooks.afterBackup?.(inst.name));
        if (to === 'FAULT') await timed(rec, 'afterFault', () => hooks.afterFault?.(inst.name));
      }
      deps.notifier?.notify('INSTANCE', inst.name, notifyState(to), m.priority, inst.notify);
      log.info({ to, steps: rec.steps }, 'transition steps done');
    });
  };

  const perform = (actions: MachineAction[]): void => {
    let transition: { from: VrrpState; to: VrrpState; reason: string } | null = null;
    let remove = false;
    for (const a of actions) {
      switch (a.type) {
        case 'send-advert': {
          const err = deps.transport.sendAdvert({
            version: inst.version, vrid: inst.vrid, priority: a.priority, advertIntCs: inst.advertIntCs, addresses: advertAddrs,
            authType: expect.authType, ...(expect.authPass !== undefined ? { authPass: expect.authPass } : {}),
          });
          if (err === null) stats.advertsSent += 1;
          else {
            stats.sendErrors += 1;
            log.warn({ err }, 'advert send failed');
          }
          break;
        }
        case 'set-timer': {
          const old = timers.get(a.timer);
          if (old !== undefined) deps.clock.clear(old);
          const ev: MachineEvent = a.timer === 'advert' ? { type: 'advert-timer' } : { type: 'master-down-timer' };
          const token = (timerTokens.get(a.timer) ?? 0) + 1;
          timerTokens.set(a.timer, token);
          timers.set(a.timer, deps.clock.setTimeout(() => {
            timers.delete(a.timer);
            if (a.timer === 'advert') return dispatch(ev);
            // A master down timer that expired while this thread was busy: read the adverts
            // already queued in the socket first (Node runs timers before polling I/O); one
            // of them re-arms the timer and this expiry is void.
            defer(() => {
              if (timerTokens.get(a.timer) === token) dispatch(ev);
            });
          }, a.ms));
          break;
        }
        case 'clear-timer': {
          const old = timers.get(a.timer);
          if (old !== undefined) deps.clock.clear(old);
          timers.delete(a.timer);
          timerTokens.set(a.timer, (timerTokens.get(a.timer) ?? 0) + 1);
          break;
        }
        case 'transition':
          transition = a;
          break;
        case 'remove-vips':
          remove = true;
          break;
        case 'add-vips':
        case 'send-garp':
          break; // part of the MASTER steps in runTransition
      }
    }
    if (transition !== null) runTransition(transition.from, transition.to, transition.reason, remove);
  };

  const dispatch = (e: MachineEvent): void => {
    const now = deps.clock.now();
    const r = step(m, e, now);
    m = r.machine;
    stats.priority = m.priority;
    if (m.state !== 'BACKUP') {
      lastAdvertAt = null;
      advertsInBackup = 0;
    } else if (e.type === 'advert' && e.priority > 0 && r.actions.some((a) => a.type === 'set-timer' && a.timer === 'master-down')) {
      lastAdvertAt = now;
      advertsInBackup += 1;
    }
    perform(r.actions);
    if (live !== null) checkEarly();
  };

  const checkEarly = (): void => {
    if (earlyTimer !== null) deps.clock.clear(earlyTimer);
    earlyTimer = null;
    const at = earlyTakeoverAt({ state: m.state, liveness: live, lastAdvertAt, adverts: advertsInBackup, masterAdvIntMs: m.masterAdvIntCs * 10 });
    if (at === null) return;
    const now = deps.clock.now();
    if (at > now) {
      earlyTimer = deps.clock.setTimeout(() => {
        earlyTimer = null;
        // As for the master down timer: adverts queued while this thread was busy go first.
        defer(() => {
          if (earlyTimer === null) checkEarly();
        });
      }, at - now);
      return;
    }
    stats.earlyTakeovers += 1;
    const since = lastAdvertAt === null ? 0 : now - lastAdvertAt;
    dispatch({ type: 'master-down-early', reason: `master silent on the sync link and no advert for ${Math.round(since)} ms (fast failover)` });
  };

  const onAdvert = (rx: Parameters<Parameters<VrrpTransport['start']>[0]>[0]): void => {
    const v = validateAdvert(rx, expect);
    if (v.verdict === 'drop') {
      const n = (stats.drops[v.reason] ?? 0) + 1;
      stats.drops[v.reason] = n;
      // Loud on the first of a kind (and every 1000th), quiet otherwise: a misconfigured peer sends every second.
      const quiet = v.reason === 'vrid' || v.reason === 'from-self' || (n > 1 && n % 1000 !== 0);
      log[quiet ? 'debug' : 'warn']({ from: rx.from, reason: v.reason, detail: v.detail, count: n }, 'VRRP advert dropped');
      return;
    }
    stats.advertsReceived += 1;
    for (const w of v.warnings) {
      const n = (stats.warnings[w] ?? 0) + 1;
      stats.warnings[w] = n;
      log[n === 1 || n % 1000 === 0 ? 'warn' : 'debug']({ from: rx.from, warning: w, addresses: v.advert.addresses, advertIntCs: v.advert.advertIntCs, count: n }, 'VRRP advert accepted with a warning');
    }
    dispatch({ type: 'advert', priority: v.advert.priority, from: rx.from, maxAdvIntCs: v.advert.advertIntCs });
  };

  return {
    name: inst.name,
    sendGarp() {
      if (m.state === 'MASTER') announce();
    },
    peerLiveness(st) {
      live = st;
      checkEarly();
    },
    start() {
      if (started) return;
      started = true;
      deps.transport.start(onAdvert, (err: SockError) => log.warn({ err }, 'VRRP transport error'));
      dispatch({ type: 'startup' });
    },
    async stop() {
      if (started) dispatch({ type: 'shutdown' });
      started = false;
      garp.stop();
      if (earlyTimer !== null) deps.clock.clear(earlyTimer);
      earlyTimer = null;
      live = null;
      for (const h of timers.values()) deps.clock.clear(h);
      timers.clear();
      await queue;
      deps.transport.close();
      deps.link?.close();
    },
    state: () => m.state,
    stats: () => ({ ...stats, drops: { ...stats.drops }, warnings: { ...stats.warnings } }),
    setPriority: (p) => dispatch({ type: 'priority', priority: p }),
    interfaceState(up) {
      ifDown = !up;
      dispatch({ type: 'interface', up });
    },
    force: (to) => dispatch({ type: 'force', to }),
    onTransition: (fn) => {
      listeners.push(fn);
    },
    idle: () => queue,
    ownFault: () => ifDown,
  };
}

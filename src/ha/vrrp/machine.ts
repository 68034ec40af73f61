/**
 * The VRRP state machine (RFC 5798 section 6.4, RFC 3768 section 6.4) as a
 * pure function: step(machine, event, now) -> { machine, actions }. No I/O and
 * no timers: the caller (speaker) performs the actions in order and feeds
 * timer expiries back as events. Transport-agnostic: multicast VRRP and the
 * UDP heartbeat feed the same events.
 *
 * Timers (milliseconds):
 *   advert interval          = advertIntCs * 10
 *   skew time                v3: ((256 - priority) * masterAdvIntCs / 256) cs
 *                            v2: (256 - priority) / 256 s (RFC 3768 section 6.1)
 *   master down interval     = 3 * masterAdvInt + skew
 *
 * Choices where the RFC leaves room, following keepalived:
 *   - initial state MASTER without priority 255 starts as BACKUP with a short
 *     master-down timer (one advert interval), so it takes over quickly unless
 *     a better master is heard;
 *   - preempt_delay starts at the first lower-priority advert seen as BACKUP;
 *     until it has passed such adverts keep refreshing the master-down timer;
 *   - interface down => FAULT (timers stopped, addresses removed); up => BACKUP.
 */
import { parseIP } from '../../netlink/ct/ip';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface MachineConfig {
  version: 2 | 3;
  /** Configured priority 1..255 (255 = address owner). */
  priority: number;
  advertIntCs: number;
  preempt: boolean;
  /** ms; 0 = none. */
  preemptDelayMs: number;
  initialState: 'MASTER' | 'BACKUP';
  /** Our primary address on the interface: tie-break when priorities are equal. */
  primaryAddress: string;
}

export interface Machine {
  config: MachineConfig;
  state: VrrpState;
  /** Effective priority (configured, or changed by tracking). */
  priority: number;
  /** Master's advert interval (v3: learned from adverts); cs. */
  masterAdvIntCs: number;
  /** preempt_delay deadline (ms, clock time), or null when not running. */
  preemptAt: number | null;
  /** Interface state as last reported. */
  ifUp: boolean;
}

export type TimerName = 'advert' | 'master-down';

export type MachineEvent =
  | { type: 'startup' }
  | { type: 'advert'; priority: number; from: string; maxAdvIntCs: number }
  | { type: 'master-down-timer' }
  /** Fast failover (src/ha/vrrp/early.ts): the master is gone before the master down timer says so. */
  | { type: 'master-down-early'; reason: string }
  | { type: 'advert-timer' }
  | { type: 'shutdown' }
  | { type: 'interface'; up: boolean }
  | { type: 'priority'; priority: number }
  /** Sync group: move with the group. */
  | { type: 'force'; to: 'MASTER' | 'BACKUP' | 'FAULT' };

export type MachineAction =
  | { type: 'send-advert'; priority: number }
  | { type: 'set-timer'; timer: TimerName; ms: number }
  | { type: 'clear-timer'; timer: TimerName }
  | { type: 'transition'; from: VrrpState; to: VrrpState; reason: string }
  | { type: 'add-vips' }
  | { type: 'remove-vips' }
  | { type: 'send-garp' };

export interface StepResult {
  machine: Machine;
  actions: MachineAction[];
}

export function createMachine(config: MachineConfig): Machine {
  return { config, state: 'INIT', priority: config.priority, masterAdvIntCs: config.advertIntCs, preemptAt: null, ifUp: true };
}

/** Skew time in ms for a priority and the master's advert interval. */
export function skewMs(version: 2 | 3, priority: number, masterAdvIntCs: number): number {
  if (version === 2) return ((256 - priority) * 1000) / 256;
  return ((256 - priority) * masterAdvIntCs * 10) / 256;
}

/** Master down interval in ms. */
export function masterDownMs(version: 2 | 3, priority: number, masterAdvIntCs: number): number {
  return 3 * masterAdvIntCs * 10 + skewMs(version, priority, masterAdvIntCs);
}

/** Numeric comparison of two addresses of one family (-1, 0, 1); unparsable sort first. */
export function compareIp(a: string, b: string): number {
  const x = parseIP(a);
  const y = parseIP(b);
  if (x === null || y === null) return x === null ? (y === null ? 0 : -1) : 1;
  return Buffer.compare(x, y);
}

function toMaster(m: Machine, reason: string): StepResult {
  const next: Machine = { ...m, state: 'MASTER', preemptAt: null };
  return {
    machine: next,
    actions: [
      { type: 'clear-timer', timer: 'master-down' },
      { type: 'transition', from: m.state, to: 'MASTER', reason },
      { type: 'send-advert', priority: m.priority },
      { type: 'set-timer', timer: 'advert', ms: m.config.advertIntCs * 10 },
      { type: 'add-vips' },
      { type: 'send-garp' },
    ],
  };
}

function toBackup(m: Machine, reason: string, masterAdvIntCs: number, downMs?: number): StepResult {
  const next: Machine = { ...m, state: 'BACKUP', masterAdvIntCs, preemptAt: null };
  const actions: MachineAction[] = [];
  if (m.state === 'MASTER') actions.push({ type: 'clear-timer', timer: 'advert' });
  actions.push({ type: 'transition', from: m.state, to: 'BACKUP', reason });
  if (m.state === 'MASTER') actions.push({ type: 'remove-vips' });
  actions.push({ type: 'set-timer', timer: 'master-down', ms: downMs ?? masterDownMs(m.config.version, m.priority, masterAdvIntCs) });
  return { machine: next, actions };
}

function toFault(m: Machine, reason: string, ifUp: boolean): StepResult {
  const actions: MachineAction[] = [
    { type: 'clear-timer', timer: 'advert' },
    { type: 'clear-timer', timer: 'master-down' },
    { type: 'transition', from: m.state, to: 'FAULT', reason },
  ];
  if (m.state === 'MASTER') actions.push({ type: 'remove-vips' });
  return { machine: { ...m, state: 'FAULT', ifUp, preemptAt: null }, actions };
}

function startup(m: Machine, reason: string): StepResult {
  if (m.priority === 255) return toMaster(m, `${reason}: priority 255 (address owner)`);
  const fast = m.config.initialState === 'MASTER' ? m.config.advertIntCs * 10 : undefined;
  return toBackup(m, reason, m.config.advertIntCs, fast);
}

function onAdvert(m: Machine, e: { priority: number; from: string; maxAdvIntCs: number }, now: number): StepResult {
  const learned = m.config.version === 3 && e.maxAdvIntCs > 0 ? e.maxAdvIntCs : m.masterAdvIntCs;
  if (m.state === 'BACKUP') {
    if (e.priority === 0) {
      return { machine: m, actions: [{ type: 'set-timer', timer: 'master-down', ms: skewMs(m.config.version, m.priority, m.masterAdvIntCs) }] };
    }
    let preemptAt = m.preemptAt;
    let accept = !m.config.preempt || e.priority >= m.priority;
    if (!accept && m.config.preemptDelayMs > 0) {
      if (preemptAt === null) preemptAt = now + m.config.preemptDelayMs;
      if (now < preemptAt) accept = true;
    }
    if (!accept) return { machine: { ...m, preemptAt }, actions: [] };
    const next: Machine = { ...m, masterAdvIntCs: learned, preemptAt };
    return { machine: next, actions: [{ type: 'set-timer', timer: 'master-down', ms: masterDownMs(m.config.version, m.priority, learned) }] };
  }
  if (m.state === 'MASTER') {
    if (e.priority === 0) {
      return {
        machine: m,
        actions: [
          { type: 'send-advert', priority: m.priority },
          { type: 'set-timer', timer: 'advert', ms: m.config.advertIntCs * 10 },
        ],
      };
    }
    const higher = e.priority > m.priority || (e.priority === m.priority && compareIp(e.from, m.config.primaryAddress) > 0);
    if (higher) return toBackup(m, `higher priority advert from ${e.from} (${e.priority})`, learned);
    return { machine: m, actions: [] };
  }
  return { machine: m, actions: [] };
}

/** One step of the machine. `now` is clock time in ms. */
export function step(m: Machine, e: MachineEvent, now: number): StepResult {
  const none: StepResult = { machine: m, actions: [] };
  switch (e.type) {
    case 'startup':
      if (m.state !== 'INIT') return none;
      if (!m.ifUp) return toFault(m, 'interface down at startup', false);
      return startup(m, 'startup');
    case 'advert':
      return onAdvert(m, e, now);
    case 'master-down-timer':
      if (m.state !== 'BACKUP') return none;
      return toMaster(m, 'master down timer expired');
    case 'master-down-early':
      if (m.state !== 'BACKUP') return none;
      return toMaster(m, e.reason);
    case 'advert-timer':
      if (m.state !== 'MASTER') return none;
      return {
        machine: m,
        actions: [
          { type: 'send-advert', priority: m.priority },
          { type: 'set-timer', timer: 'advert', ms: m.config.advertIntCs * 10 },
        ],
      };
    case 'shutdown': {
      if (m.state === 'INIT') return none;
      const actions: MachineAction[] = [
        { type: 'clear-timer', timer: 'advert' },
        { type: 'clear-timer', timer: 'master-down' },
      ];
      if (m.state === 'MASTER') actions.push({ type: 'send-advert', priority: 0 });
      actions.push({ type: 'transition', from: m.state, to: 'INIT', reason: 'shutdown' });
      if (m.state === 'MASTER') actions.push({ type: 'remove-vips' });
      return { machine: { ...m, state: 'INIT', preemptAt: null }, actions };
    }
    case 'interface':
      if (!e.up) {
        if (m.state === 'FAULT' || m.state === 'INIT') return { machine: { ...m, ifUp: false }, actions: [] };
        return toFault(m, 'interface down', false);
      }
      if (m.state === 'FAULT') return startup({ ...m, ifUp: true, state: 'FAULT' }, 'interface up');
      return { machine: { ...m, ifUp: true }, actions: [] };
    case 'priority': {
      const p = Math.max(1, Math.min(255, e.priority));
      return { machine: { ...m, priority: p }, actions: [] };
    }
    case 'force':
      if (m.state === e.to || m.state === 'INIT') return none;
      if (e.to === 'FAULT') return toFault(m, 'sync group fault', m.ifUp);
      if (!m.ifUp) return none;
      if (e.to === 'MASTER') return toMaster(m, 'sync group master');
      return toBackup(m, 'sync group backup', m.masterAdvIntCs);
  }
}

/**
 * Link state for redundant sync links. A LinkMonitor tells whether a network
 * interface can carry traffic and reports changes. Implementations: polling
 * sysfs (this file), rtnetlink link events (rtnl-link-monitor.ts), and a
 * manual one for tests.
 */
import { readFileSync } from 'node:fs';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';

export type LinkChangeHandler = (ifname: string, up: boolean) => void;

export interface LinkMonitor {
  /** Start tracking an interface (idempotent). Its state is known after start(). */
  watch(ifname: string): void;
  /** Last known state; undefined if the interface is not watched or not read yet. */
  isUp(ifname: string): boolean | undefined;
  /** Called on every state change of a watched interface. Returns an unsubscribe function. */
  onChange(handler: LinkChangeHandler): () => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Shared bookkeeping: watched names, last states, handlers. */
export class LinkStateTable {
  private readonly states = new Map<string, boolean | undefined>();
  private readonly handlers = new Set<LinkChangeHandler>();

  watch(ifname: string): void {
    if (!this.states.has(ifname)) this.states.set(ifname, undefined);
  }
  names(): string[] {
    return [...this.states.keys()];
  }
  isUp(ifname: string): boolean | undefined {
    return this.states.get(ifname);
  }
  onChange(handler: LinkChangeHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  /** Record a state; notifies handlers when it differs from the last one (not on the first reading). */
  set(ifname: string, up: boolean): void {
    if (!this.states.has(ifname)) return;
    const prev = this.states.get(ifname);
    this.states.set(ifname, up);
    if (prev === undefined || prev === up) return;
    for (const h of [...this.handlers]) h(ifname, up);
  }
}

/** A monitor driven by hand (tests, or links without an interface). */
export class ManualLinkMonitor implements LinkMonitor {
  private readonly table = new LinkStateTable();
  watch(ifname: string): void {
    this.table.watch(ifname);
    if (this.table.isUp(ifname) === undefined) this.table.set(ifname, true);
  }
  isUp(ifname: string): boolean | undefined {
    return this.table.isUp(ifname);
  }
  onChange(handler: LinkChangeHandler): () => void {
    return this.table.onChange(handler);
  }
  set(ifname: string, up: boolean): void {
    this.table.set(ifname, up);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** Reads a small sysfs file; returns null when it cannot be read. */
export type SysfsReader = (path: string) => string | null;

export function readSysfs(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * Interface state from /sys/class/net/IF/{operstate,carrier} (see the kernel's
 * Documentation/ABI/testing/sysfs-class-net). Up means operstate "up" (or
 * "unknown", which drivers without operstate support such as lo/tun report)
 * and carrier "1". Reading carrier fails with EINVAL while the link is
 * administratively down; a missing interface is down.
 */
export function sysfsLinkUp(ifname: string, read: SysfsReader = readSysfs, root = '/sys/class/net'): boolean {
  const oper = read(`${root}/${ifname}/operstate`);
  if (oper !== 'up' && oper !== 'unknown') return false;
  return read(`${root}/${ifname}/carrier`) === '1';
}

export interface PollingLinkMonitorOptions {
  clock: Clock;
  /** Poll period in ms (default 200). */
  intervalMs?: number;
  read?: SysfsReader;
  /** sysfs net class directory (default /sys/class/net; note it shows the namespace sysfs was mounted in). */
  root?: string;
  logger?: Logger;
}

/** Fallback monitor: polls sysfs every intervalMs on the injected clock. */
export class PollingLinkMonitor implements LinkMonitor {
  private readonly table = new LinkStateTable();
  private timer: TimerHandle | null = null;
  private readonly intervalMs: number;
  private readonly read: SysfsReader;
  private readonly root: string;

  constructor(private readonly opts: PollingLinkMonitorOptions) {
    this.intervalMs = opts.intervalMs ?? 200;
    this.read = opts.read ?? readSysfs;
    this.root = opts.root ?? '/sys/class/net';
  }

  watch(ifname: string): void {
    this.table.watch(ifname);
    if (this.timer !== null) this.pollOne(ifname);
  }
  isUp(ifname: string): boolean | undefined {
    return this.table.isUp(ifname);
  }
  onChange(handler: LinkChangeHandler): () => void {
    return this.table.onChange(handler);
  }

  /** Read every watched interface now (also called by the timer). */
  poll(): void {
    for (const n of this.table.names()) this.pollOne(n);
  }

  async start(): Promise<void> {
    if (this.timer !== null) return;
    this.timer = this.opts.clock.setInterval(() => this.poll(), this.intervalMs);
    this.poll();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) this.opts.clock.clear(this.timer);
    this.timer = null;
  }

  private pollOne(ifname: string): void {
    const up = sysfsLinkUp(ifname, this.read, this.root);
    const prev = this.table.isUp(ifname);
    if (prev !== undefined && prev !== up) this.opts.logger?.info({ ifname, up }, 'link state changed');
    this.table.set(ifname, up);
  }
}

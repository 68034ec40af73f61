/**
 * A group of up to four sync links with one active link. Sends go to the
 * active link only; datagrams are accepted from every link. When the active
 * link's interface goes down (per the LinkMonitor), the next healthy link in
 * configuration order takes over. When a link comes back:
 *   - 'sticky'   : stay on the current link (only take over if none is active);
 *   - 'preferred': move back to the preferred link (option `preferred`, default
 *     the first) as soon as it is usable again.
 */
import type { Logger } from '../util/log';
import type { LinkMonitor } from './link-monitor';
import { emptyTransportStats, type Transport, type TransportStats } from './types';

export const MAX_REDUNDANT_LINKS = 4;

export interface RedundantLink {
  transport: Transport;
  /** Interface whose state decides whether this link is usable. */
  ifname: string;
}

export type FailbackPolicy = 'sticky' | 'preferred';

export interface RedundantGroupOptions {
  links: RedundantLink[];
  monitor: LinkMonitor;
  failback?: FailbackPolicy;
  /** Index of the preferred link (conntrackd "Default"): used first, and failed back to. Default 0. */
  preferred?: number;
  /** Start/stop the monitor with the group (default true; false when the monitor is shared). */
  ownsMonitor?: boolean;
  logger?: Logger;
}

export interface RedundantLinkStatus {
  name: string;
  ifname: string;
  /** Monitor view; undefined (not read yet) counts as usable. */
  up: boolean | undefined;
  /** open() of this link failed; it is left out until the group is reopened. */
  openFailed: boolean;
  active: boolean;
  stats: TransportStats;
}

export interface RedundantStats {
  /** Index of the active link, -1 when none is usable. */
  active: number;
  /** Switches away from a link that went down. */
  failovers: number;
  /** Switches back to a preferred link that recovered ('preferred' policy). */
  failbacks: number;
  /** Sends dropped because no link was usable. */
  noLinkDrops: number;
  links: RedundantLinkStatus[];
}

export type SwitchReason = 'failover' | 'failback' | 'recovered' | 'open';
export type SwitchHandler = (from: number, to: number, reason: SwitchReason) => void;

export type RedundantGroupError = { code: 'NO_LINKS' | 'TOO_MANY_LINKS'; count: number };

/** Validates the link count; returns the group or a typed error. */
export function createRedundantGroup(
  opts: RedundantGroupOptions,
): { ok: true; group: RedundantGroup } | { ok: false; error: RedundantGroupError } {
  if (opts.links.length === 0) return { ok: false, error: { code: 'NO_LINKS', count: 0 } };
  if (opts.links.length > MAX_REDUNDANT_LINKS) {
    return { ok: false, error: { code: 'TOO_MANY_LINKS', count: opts.links.length } };
  }
  return { ok: true, group: new RedundantGroup(opts) };
}

export class RedundantGroup implements Transport {
  readonly name = 'redundant';
  readonly mtu: number;
  private activeIdx = -1;
  private failovers = 0;
  private failbacks = 0;
  private noLinkDrops = 0;
  private handler: ((d: Buffer, from: string) => void) | null = null;
  private readonly switchHandlers: SwitchHandler[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly policy: FailbackPolicy;
  private readonly preferred: number;
  /** Links whose open() failed: never used until the group is reopened. */
  private readonly failedOpen = new Set<number>();

  /** Use createRedundantGroup() to get link-count validation as a value. */
  constructor(private readonly opts: RedundantGroupOptions) {
    if (opts.links.length === 0 || opts.links.length > MAX_REDUNDANT_LINKS) {
      throw new RangeError(`redundant group needs 1..${MAX_REDUNDANT_LINKS} links, got ${opts.links.length}`);
    }
    this.mtu = Math.min(...opts.links.map((l) => l.transport.mtu));
    this.policy = opts.failback ?? 'sticky';
    const p = opts.preferred ?? 0;
    this.preferred = Number.isInteger(p) && p >= 0 && p < opts.links.length ? p : 0;
  }

  /** Index of the active link, -1 when none. */
  active(): number {
    return this.activeIdx;
  }

  activeLink(): RedundantLink | undefined {
    return this.opts.links[this.activeIdx];
  }

  onSwitch(handler: SwitchHandler): void {
    this.switchHandlers.push(handler);
  }

  send(datagram: Buffer): boolean {
    const link = this.opts.links[this.activeIdx];
    if (!link) {
      this.noLinkDrops++;
      return false;
    }
    return link.transport.send(datagram);
  }

  onDatagram(handler: (datagram: Buffer, from: string) => void): void {
    this.handler = handler;
  }

  async open(): Promise<void> {
    const { links, monitor } = this.opts;
    for (const l of links) monitor.watch(l.ifname);
    this.unsubscribe = monitor.onChange((ifname, up) => this.onLinkChange(ifname, up));
    if (this.opts.ownsMonitor ?? true) await monitor.start();
    links.forEach((l) => l.transport.onDatagram((d, from) => this.handler?.(d, from)));
    const results = await Promise.allSettled(links.map((l) => l.transport.open()));
    this.failedOpen.clear();
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      this.failedOpen.add(i);
      this.opts.logger?.error({ ifname: links[i]?.ifname, err: String(r.reason) }, 'sync link failed to open; left out of the group');
    });
    if (this.failedOpen.size === links.length) {
      throw new Error(`no sync link could be opened: ${results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('; ')}`);
    }
    const first = this.firstUsable(this.preferred);
    if (first >= 0) this.switchTo(first, 'open');
    else this.opts.logger?.warn('redundant group opened with no usable link');
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.opts.ownsMonitor ?? true) await this.opts.monitor.stop();
    await Promise.all(this.opts.links.map((l, i) => (this.failedOpen.has(i) ? Promise.resolve() : l.transport.close())));
    this.activeIdx = -1;
  }

  /** Sum of the links' counters, plus sends dropped for want of a link. */
  stats(): TransportStats {
    const sum = emptyTransportStats();
    for (const l of this.opts.links) {
      const s = l.transport.stats();
      sum.sentDatagrams += s.sentDatagrams;
      sum.sentBytes += s.sentBytes;
      sum.recvDatagrams += s.recvDatagrams;
      sum.recvBytes += s.recvBytes;
      sum.sendErrors += s.sendErrors;
      sum.recvErrors += s.recvErrors;
    }
    sum.sendErrors += this.noLinkDrops;
    return sum;
  }

  groupStats(): RedundantStats {
    return {
      active: this.activeIdx,
      failovers: this.failovers,
      failbacks: this.failbacks,
      noLinkDrops: this.noLinkDrops,
      links: this.opts.links.map((l, i) => ({
        name: l.transport.name,
        ifname: l.ifname,
        up: this.opts.monitor.isUp(l.ifname),
        active: i === this.activeIdx,
        openFailed: this.failedOpen.has(i),
        stats: l.transport.stats(),
      })),
    };
  }

  private usable(i: number): boolean {
    const l = this.opts.links[i];
    return l !== undefined && !this.failedOpen.has(i) && this.opts.monitor.isUp(l.ifname) !== false;
  }

  /** First usable link at or after `start`, wrapping around; -1 if none. */
  private firstUsable(start: number): number {
    const n = this.opts.links.length;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.usable(i)) return i;
    }
    return -1;
  }

  private onLinkChange(ifname: string, up: boolean): void {
    const cur = this.activeIdx;
    const curLink = this.opts.links[cur];
    if (!up) {
      if (curLink === undefined || curLink.ifname !== ifname) return;
      const next = this.firstUsable(cur + 1);
      this.failovers++;
      if (next < 0 || next === cur) {
        this.opts.logger?.error({ ifname }, 'active sync link down, no other link usable');
        this.switchTo(-1, 'failover');
        return;
      }
      this.opts.logger?.warn({ ifname, to: this.opts.links[next]?.ifname }, 'active sync link down, failing over');
      this.switchTo(next, 'failover');
      return;
    }
    if (cur < 0) {
      const next = this.firstUsable(this.preferred);
      if (next >= 0) {
        this.opts.logger?.info({ ifname: this.opts.links[next]?.ifname }, 'sync link recovered');
        this.switchTo(next, 'recovered');
      }
      return;
    }
    if (this.policy !== 'preferred' || cur === this.preferred || !this.usable(this.preferred)) return;
    this.failbacks++;
    this.opts.logger?.info({ from: curLink?.ifname, to: this.opts.links[this.preferred]?.ifname }, 'failing back to preferred sync link');
    this.switchTo(this.preferred, 'failback');
  }

  private switchTo(idx: number, reason: SwitchReason): void {
    const from = this.activeIdx;
    if (from === idx) return;
    this.activeIdx = idx;
    for (const h of this.switchHandlers) h(from, idx, reason);
  }
}

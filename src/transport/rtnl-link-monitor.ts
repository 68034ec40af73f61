/**
 * LinkMonitor fed by rtnetlink link events (RTNLGRP_LINK). The source is
 * structurally the RtnlClient of src/netlink/rtnl-client.ts (createRtnl()),
 * described here by the few members we use so that this layer does not load
 * the native netlink addon. A link is usable when it is administratively up
 * (IFF_UP) and has carrier (IFF_LOWER_UP); a deleted link is down.
 */
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import { LinkStateTable, type LinkChangeHandler, type LinkMonitor } from './link-monitor';

export interface RtnlLinkState {
  name: string;
  up: boolean;
  carrier: boolean;
}

export interface RtnlLinkEvent extends RtnlLinkState {
  type: 'new' | 'del';
}

export interface RtnlLinkSource {
  /** Current links, or an error value ({ code, ... }). */
  listLinks(): Promise<RtnlLinkState[] | { code: string }>;
  onLinkChange(handler: (ev: RtnlLinkEvent) => void): () => void;
}

export interface RtnlLinkMonitorOptions {
  /** Used to wait between listing retries. */
  clock: Clock;
  logger?: Logger;
  /** Listing attempts at start (default 5): a netlink socket runs one dump at a time (EBUSY). */
  listAttempts?: number;
  retryDelayMs?: number;
}

export class RtnlLinkMonitor implements LinkMonitor {
  private readonly table = new LinkStateTable();
  private unsubscribe: (() => void) | null = null;
  private readonly logger: Logger | undefined;

  constructor(
    private readonly source: RtnlLinkSource,
    private readonly opts: RtnlLinkMonitorOptions,
  ) {
    this.logger = opts.logger;
  }

  watch(ifname: string): void {
    this.table.watch(ifname);
  }
  isUp(ifname: string): boolean | undefined {
    return this.table.isUp(ifname);
  }
  onChange(handler: LinkChangeHandler): () => void {
    return this.table.onChange(handler);
  }

  /** Subscribes to events, then reads the current state of every watched link. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = this.source.onLinkChange((ev) => {
      const up = ev.type === 'new' && ev.up && ev.carrier;
      if (this.table.isUp(ev.name) !== undefined && this.table.isUp(ev.name) !== up) {
        this.logger?.info({ ifname: ev.name, up }, 'link state changed');
      }
      this.table.set(ev.name, up);
    });
    const links = await this.listWithRetry();
    if (!Array.isArray(links)) {
      this.logger?.warn({ err: links }, 'cannot list links; link states unknown until the next event');
      return;
    }
    for (const name of this.table.names()) {
      const l = links.find((x) => x.name === name);
      this.table.set(name, l !== undefined && l.up && l.carrier);
    }
  }

  private async listWithRetry(): Promise<RtnlLinkState[] | { code: string }> {
    const attempts = Math.max(1, this.opts.listAttempts ?? 5);
    let r = await this.source.listLinks();
    for (let i = 1; i < attempts && !Array.isArray(r); i++) {
      await new Promise<void>((resolve) => this.opts.clock.setTimeout(resolve, this.opts.retryDelayMs ?? 50));
      r = await this.source.listLinks();
    }
    return r;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}

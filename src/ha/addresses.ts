/**
 * Virtual address manager over the rtnetlink client: add and remove the VIPs
 * of a VRRP instance. Idempotent (adding a present address or removing an
 * absent one is success, reported as `changed: false`); every failure is a
 * value. IPv6 VIPs are added with IFA_F_NODAD so they are usable at once
 * (keepalived does the same), IPv4 VIPs keep their label and scope.
 */
import type { RtnlClient } from '../netlink/rtnl-client';
import type { SockError } from '../netlink/socket';
import type { Clock } from '../util/clock';

/** RT_SCOPE_* by keepalived's scope names (include/uapi/linux/rtnetlink.h). */
const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

export interface Vip {
  address: string;
  prefix: number;
  family: 4 | 6;
  dev: string;
  label?: string;
  scope?: string;
}

export type VipResult = { vip: Vip; ok: true; changed: boolean } | { vip: Vip; ok: false; error: SockError };

export type AddressClient = Pick<RtnlClient, 'addAddress' | 'delAddress' | 'listAddresses'>;

export interface VipManager {
  add(vips: Vip[]): Promise<VipResult[]>;
  remove(vips: Vip[]): Promise<VipResult[]>;
  /** Which of `vips` are on their interface now (by address); an error as a value. */
  present(vips: Vip[]): Promise<boolean[] | SockError>;
}

export function vipCidr(v: Vip): string {
  return `${v.address}/${v.prefix}`;
}

/**
 * One manager is shared by all instances. Its operations run one at a time:
 * each rtnl address change dumps the links first, and the kernel refuses a
 * second dump on the same netlink socket while one is running (EBUSY).
 */
export interface VipManagerOptions {
  /** With a clock, an EBUSY answer (a dump of someone else on the socket) is retried. */
  clock?: Clock;
  /** Retries on EBUSY (default 5), `retryMs` apart (default 20). */
  retries?: number;
  retryMs?: number;
}

export function createVipManager(rtnl: AddressClient, opts: VipManagerOptions = {}): VipManager {
  const retry = async (fn: () => Promise<SockError | null>): Promise<SockError | null> => {
    let err = await fn();
    const clock = opts.clock;
    for (let i = 0; clock !== undefined && err !== null && err.code === 'EBUSY' && i < (opts.retries ?? 5); i++) {
      await new Promise<void>((r) => clock.setTimeout(r, opts.retryMs ?? 20));
      err = await fn();
    }
    return err;
  };
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
  const ops: VipManager = {
    async add(vips) {
      const out: VipResult[] = [];
      for (const vip of vips) {
        const addOpts: { nodad?: boolean; label?: string; scope?: number } = {};
        if (vip.family === 6) addOpts.nodad = true;
        if (vip.label !== undefined && vip.family === 4) addOpts.label = vip.label;
        if (vip.scope !== undefined) addOpts.scope = SCOPES[vip.scope] ?? Number(vip.scope);
        const err = await retry(() => rtnl.addAddress(vip.dev, vipCidr(vip), addOpts));
        if (err === null) out.push({ vip, ok: true, changed: true });
        else if (err.code === 'EEXIST') out.push({ vip, ok: true, changed: false });
        else out.push({ vip, ok: false, error: err });
      }
      return out;
    },
    async remove(vips) {
      const out: VipResult[] = [];
      for (const vip of vips) {
        const err = await retry(() => rtnl.delAddress(vip.dev, vipCidr(vip)));
        if (err === null) out.push({ vip, ok: true, changed: true });
        else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ESRCH') out.push({ vip, ok: true, changed: false });
        else out.push({ vip, ok: false, error: err });
      }
      return out;
    },
    async present(vips) {
      const list = await rtnl.listAddresses(0);
      if (!Array.isArray(list)) return list;
      const have = new Set(list.map((a) => a.address));
      return vips.map((v) => have.has(v.address));
    },
  };
  return {
    add: (vips) => serial(() => ops.add(vips)),
    remove: (vips) => serial(() => ops.remove(vips)),
    present: (vips) => serial(() => ops.present(vips)),
  };
}

/**
 * In-memory VRRP lab for unit tests: speakers on a shared "wire" (adverts
 * delivered after 1 ms of FakeClock time, encoded and validated for real),
 * fake VIP managers, recorded GARP frames.
 */
import { FakeClock } from '../../../../src/util/clock';
import { silentLogger } from '../../../../src/util/log';
import { defaultGlobalDefs, type VrrpInstance } from '../../../../src/config/keepalived-types';
import type { SockError } from '../../../../src/netlink/socket';
import type { Vip, VipManager, VipResult } from '../../../../src/ha/addresses';
import { encodeVrrp } from '../../../../src/ha/vrrp/packet';
import { createVrrpSpeaker, type VrrpHooks, type VrrpSpeaker } from '../../../../src/ha/vrrp/speaker';
import type { VrrpTransport } from '../../../../src/ha/vrrp/transport';
import type { ReceivedVrrp } from '../../../../src/ha/vrrp/validate';

export function instance(over: Partial<VrrpInstance> = {}): VrrpInstance {
  const g = defaultGlobalDefs();
  return {
    name: 'VI_1', file: 'test', line: 1, state: 'BACKUP', interface: 'eth0', vrid: 51, priority: 100, advertIntCs: 100, version: 3, family: 4,
    preempt: true, preemptDelay: 0, trackInterfaces: [],
    virtualIpaddresses: [{ family: 4, address: '192.0.2.100', prefix: 24, noTrack: false, line: 1 }],
    virtualIpaddressesExcluded: [], unicastPeers: [], garp: { ...g.garp, masterDelay: 0, masterRepeat: 1 }, notify: {}, dontTrackPrimary: false,
    ...over,
  };
}

export function fakeVips(): VipManager & { have: Set<string>; log: string[] } {
  const have = new Set<string>();
  const log: string[] = [];
  const res = (vip: Vip, changed: boolean): VipResult => ({ vip, ok: true, changed });
  return {
    have,
    log,
    async add(vips) {
      return vips.map((v) => {
        log.push(`add ${v.address}`);
        const c = !have.has(v.address);
        have.add(v.address);
        return res(v, c);
      });
    },
    async remove(vips) {
      return vips.map((v) => {
        log.push(`del ${v.address}`);
        return res(v, have.delete(v.address));
      });
    },
    async present(vips) {
      return vips.map((v) => have.has(v.address));
    },
  };
}

export interface Node {
  name: string;
  speaker: VrrpSpeaker;
  vips: ReturnType<typeof fakeVips>;
  garp: Buffer[];
  cut: boolean;
}

export class Wire {
  readonly clock = new FakeClock();
  readonly nodes: Node[] = [];
  private readonly handlers = new Map<string, (rx: ReceivedVrrp) => void>();

  /** Add a speaker with primary address `addr` (192.0.2.x). */
  add(name: string, addr: string, inst: VrrpInstance, hooks?: VrrpHooks): Node {
    const garp: Buffer[] = [];
    const node: Node = { name, speaker: undefined as unknown as VrrpSpeaker, vips: fakeVips(), garp, cut: false };
    const transport: VrrpTransport = {
      sendAdvert: (f): SockError | null => {
        if (node.cut) return null;
        const e = encodeVrrp({ ...f, src: addr, dst: '224.0.0.18' });
        if (!e.ok) return { code: 'EINVAL', errno: 22, op: 'encode' };
        for (const [peer, h] of this.handlers) {
          if (peer === addr) continue;
          this.clock.setTimeout(() => {
            if (!node.cut) h({ data: e.value, from: addr, to: '224.0.0.18', ttl: 255 });
          }, 1);
        }
        return null;
      },
      start: (on) => {
        this.handlers.set(addr, on);
      },
      close: () => {
        this.handlers.delete(addr);
      },
    };
    node.speaker = createVrrpSpeaker({
      instance: inst, globals: defaultGlobalDefs(), clock: this.clock, random: () => 0.5,
      iface: { mac: '02:00:00:00:00:01', primaryAddress: addr, selfAddresses: [addr] }, transport,
      link: { send: (fr) => (garp.push(fr), null), close: () => undefined }, addresses: node.vips, logger: silentLogger(),
      ...(hooks ? { hooks } : {}),
    });
    this.nodes.push(node);
    return node;
  }

  /** Advance fake time in small steps, letting promise chains (hooks, VIPs) run in between. */
  async run(ms: number, stepMs = 10): Promise<void> {
    for (let t = 0; t < ms; t += stepMs) {
      this.clock.advance(Math.min(stepMs, ms - t));
      await flush();
    }
  }

  /** Names of the nodes that hold `vip`. */
  holders(vip = '192.0.2.100'): string[] {
    return this.nodes.filter((n) => n.vips.have.has(vip)).map((n) => n.name);
  }

  states(): Record<string, string> {
    return Object.fromEntries(this.nodes.map((n) => [n.name, n.speaker.state()]));
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

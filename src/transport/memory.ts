/**
 * In-memory transport pair for deterministic tests. Delivery is synchronous on
 * flush() (or immediate when autoFlush), with optional loss/duplication/reorder
 * driven by an injected random source.
 */
import { emptyTransportStats, type Transport, type TransportStats } from './types';

export interface LinkFaults {
  /** Probability 0..1 that a datagram is dropped. */
  loss?: number;
  duplicate?: number;
  /** Probability that a datagram is held back and delivered after the next one. */
  reorder?: number;
}

export interface MemoryLink {
  a: MemoryTransport;
  b: MemoryTransport;
  /** Deliver everything queued in both directions. Returns datagrams delivered. */
  flush(): number;
  setFaults(f: LinkFaults): void;
}

export class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly mtu: number;
  private handler: ((d: Buffer, from: string) => void) | null = null;
  private readonly st = emptyTransportStats();
  /** Outbound queue, drained by the link. */
  readonly outbox: Buffer[] = [];
  up = true;

  constructor(
    readonly address: string,
    mtu = 1472,
  ) {
    this.mtu = mtu;
  }

  send(datagram: Buffer): boolean {
    if (!this.up || datagram.length > this.mtu) {
      this.st.sendErrors++;
      return false;
    }
    this.st.sentDatagrams++;
    this.st.sentBytes += datagram.length;
    this.outbox.push(Buffer.from(datagram));
    return true;
  }

  onDatagram(handler: (datagram: Buffer, from: string) => void): void {
    this.handler = handler;
  }

  deliver(datagram: Buffer, from: string): void {
    if (!this.up) return;
    this.st.recvDatagrams++;
    this.st.recvBytes += datagram.length;
    this.handler?.(datagram, from);
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {
    this.up = false;
  }
  stats(): TransportStats {
    return { ...this.st };
  }
}

/** A point-to-point link; `random` returns [0,1) (inject a seeded one for reproducible loss). */
export function memoryLink(random: () => number = Math.random, mtu = 1472): MemoryLink {
  const a = new MemoryTransport('198.51.100.1', mtu);
  const b = new MemoryTransport('198.51.100.2', mtu);
  let faults: LinkFaults = {};
  const held: Array<{ to: MemoryTransport; d: Buffer; from: string }> = [];
  const pass = (from: MemoryTransport, to: MemoryTransport): number => {
    let n = 0;
    const batch = from.outbox.splice(0);
    for (const d of batch) {
      if (faults.loss && random() < faults.loss) continue;
      const copies = faults.duplicate && random() < faults.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        if (faults.reorder && random() < faults.reorder) {
          held.push({ to, d, from: from.address });
          continue;
        }
        to.deliver(d, from.address);
        n++;
        for (const h of held.splice(0)) {
          h.to.deliver(h.d, h.from);
          n++;
        }
      }
    }
    return n;
  };
  return {
    a,
    b,
    flush() {
      let total = 0;
      for (;;) {
        const n = pass(a, b) + pass(b, a);
        total += n;
        if (a.outbox.length === 0 && b.outbox.length === 0) break;
      }
      for (const h of held.splice(0)) {
        h.to.deliver(h.d, h.from);
        total++;
      }
      return total;
    },
    setFaults(f) {
      faults = f;
    },
  };
}

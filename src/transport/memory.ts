/**
 * In-memory transport pair for deterministic tests. Delivery is synchronous on
 * flush(), with optional loss/duplication/reorder driven by an injected random
 * source, and an optional capacity model: each side accepts at most
 * `perFlush` datagrams per flush() (one flush = one scheduler tick in the
 * tests); the rest are dropped, as a full socket receive buffer would.
 */
import { emptyTransportStats, type Transport, type TransportStats } from './types';

export interface LinkFaults {
  /** Probability 0..1 that a datagram is dropped. */
  loss?: number;
  duplicate?: number;
  /** Probability that a datagram is held back and delivered after the next one. */
  reorder?: number;
}

/** Receiver capacity per flush() and direction; undefined = unlimited. */
export interface LinkCapacity {
  perFlush?: number;
}

export interface MemoryLinkStats {
  /** Datagrams taken from the outboxes (both directions). */
  offered: number;
  delivered: number;
  /** Dropped by random loss. */
  lost: number;
  /** Dropped because the receiver's capacity for this flush was used up. */
  overflowed: number;
}

export interface MemoryLink {
  a: MemoryTransport;
  b: MemoryTransport;
  /** Deliver everything queued in both directions. Returns datagrams delivered. */
  flush(): number;
  setFaults(f: LinkFaults): void;
  setCapacity(c: LinkCapacity): void;
  stats(): MemoryLinkStats;
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
  let capacity: LinkCapacity = {};
  const st: MemoryLinkStats = { offered: 0, delivered: 0, lost: 0, overflowed: 0 };
  /** Datagrams accepted per receiving side in the current flush. */
  const used = new Map<MemoryTransport, number>();
  const held: Array<{ to: MemoryTransport; d: Buffer; from: string }> = [];
  const put = (to: MemoryTransport, d: Buffer, from: string): number => {
    const n = used.get(to) ?? 0;
    if (capacity.perFlush !== undefined && n >= capacity.perFlush) {
      st.overflowed++;
      return 0;
    }
    used.set(to, n + 1);
    st.delivered++;
    to.deliver(d, from);
    return 1;
  };
  const pass = (from: MemoryTransport, to: MemoryTransport): number => {
    let n = 0;
    const batch = from.outbox.splice(0);
    st.offered += batch.length;
    for (const d of batch) {
      if (faults.loss && random() < faults.loss) {
        st.lost++;
        continue;
      }
      const copies = faults.duplicate && random() < faults.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        if (faults.reorder && random() < faults.reorder) {
          held.push({ to, d, from: from.address });
          continue;
        }
        n += put(to, d, from.address);
        for (const h of held.splice(0)) n += put(h.to, h.d, h.from);
      }
    }
    return n;
  };
  return {
    a,
    b,
    flush() {
      used.clear();
      let total = 0;
      for (;;) {
        const n = pass(a, b) + pass(b, a);
        total += n;
        if (a.outbox.length === 0 && b.outbox.length === 0) break;
      }
      for (const h of held.splice(0)) total += put(h.to, h.d, h.from);
      return total;
    },
    setFaults(f) {
      faults = f;
    },
    setCapacity(c) {
      capacity = c;
    },
    stats: () => ({ ...st }),
  };
}

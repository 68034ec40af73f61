/**
 * In-memory broadcast segment for N cluster nodes (a sync link with more
 * than two ends): whatever one transport sends reaches every other one.
 * `auto` delivers on a microtask, for drivers on a real clock.
 */
import { MemoryTransport } from '../../../src/transport/memory';

export class Hub {
  readonly ends: MemoryTransport[] = [];
  private scheduled = false;

  constructor(private readonly auto = false) {}

  join(address: string): MemoryTransport {
    const t = new MemoryTransport(address);
    const send = t.send.bind(t);
    t.send = (d: Buffer): boolean => {
      const ok = send(d);
      if (ok && this.auto && !this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.flush();
        });
      }
      return ok;
    };
    this.ends.push(t);
    return t;
  }

  /** Deliver every queued datagram to every other up end. */
  flush(): number {
    let n = 0;
    for (;;) {
      let moved = 0;
      for (const from of this.ends) {
        for (const d of from.outbox.splice(0)) {
          moved++;
          for (const to of this.ends) if (to !== from && to.up && from.up) to.deliver(d, from.address);
        }
      }
      n += moved;
      if (moved === 0) return n;
    }
  }
}

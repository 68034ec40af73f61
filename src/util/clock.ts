/** Injected time and timers, so logic can run on a fake clock in tests. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

export function systemClock(): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      const id = next++;
      timers.set(
        id,
        setTimeout(() => {
          timers.delete(id);
          fn();
        }, ms),
      );
      return { id };
    },
    setInterval(fn, ms) {
      const id = next++;
      timers.set(id, setInterval(fn, ms));
      return { id };
    },
    clear(h) {
      const t = timers.get(h.id);
      if (t !== undefined) {
        clearTimeout(t);
        timers.delete(h.id);
      }
    },
  };
}

/** A manual clock for deterministic tests: advance() fires due timers in order. */
export class FakeClock implements Clock {
  private t = 0;
  private next = 1;
  private readonly timers = new Map<number, { at: number; every: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), every: 0, fn });
    return { id };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.t + Math.max(1, ms), every: Math.max(1, ms), fn });
    return { id };
  }

  clear(h: TimerHandle): void {
    this.timers.delete(h.id);
  }

  /** Advance time by ms, firing every timer that falls due, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Infinity;
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && tm.at < dueAt) {
          dueAt = tm.at;
          dueId = id;
        }
      }
      if (dueId < 0) break;
      const tm = this.timers.get(dueId);
      if (!tm) break;
      this.t = dueAt;
      if (tm.every > 0) tm.at += tm.every;
      else this.timers.delete(dueId);
      tm.fn();
    }
    this.t = end;
  }

  pending(): number {
    return this.timers.size;
  }
}

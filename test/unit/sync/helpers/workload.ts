/** A deterministic churn of flows (creates, updates, destroys) on one replica. */
import { fakeRecord, type Replica } from './fixtures';

export interface WorkloadResult {
  created: number;
  updated: number;
  destroyed: number;
}

/**
 * Create `flows` flows (every 10th also gets an expectation); in between,
 * update or destroy random live ones. `pump` runs every `every` operations.
 */
export function churn(r: Replica, rnd: () => number, flows: number, idBase: number, pump: () => void, every = 200): WorkloadResult {
  const live: number[] = [];
  const version = new Map<number, number>();
  const res: WorkloadResult = { created: 0, updated: 0, destroyed: 0 };
  let ops = 0;
  const tick = (): void => {
    if (++ops % every === 0) pump();
  };
  for (let i = 0; i < flows; i++) {
    const id = idBase + i;
    version.set(id, 0);
    live.push(id);
    r.change('new', fakeRecord('ct', id, 0));
    if (i % 10 === 0) r.change('new', fakeRecord('expect', id, 0, 20));
    res.created++;
    tick();
    const x = rnd();
    if (x < 0.3 && live.length > 0) {
      const pick = live[Math.floor(rnd() * live.length)] as number;
      const v = (version.get(pick) ?? 0) + 1;
      version.set(pick, v);
      r.change('update', fakeRecord('ct', pick, v));
      res.updated++;
      tick();
    } else if (x < 0.5 && live.length > 0) {
      const idx = Math.floor(rnd() * live.length);
      const pick = live[idx] as number;
      live[idx] = live[live.length - 1] as number;
      live.pop();
      r.change('destroy', fakeRecord('ct', pick, version.get(pick) ?? 0));
      if ((pick - idBase) % 10 === 0) r.change('destroy', fakeRecord('expect', pick, 0, 20));
      res.destroyed++;
      tick();
    }
  }
  return res;
}

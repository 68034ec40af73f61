import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock';

describe('FakeClock', () => {
  it('fires timers in time order and repeats intervals', () => {
    const c = new FakeClock();
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`t30@${c.now()}`), 30);
    const iv = c.setInterval(() => seen.push(`i20@${c.now()}`), 20);
    c.advance(65);
    c.clear(iv);
    c.advance(100);
    expect(seen).toEqual(['i20@20', 't30@30', 'i20@40', 'i20@60']);
    expect(c.now()).toBe(165);
  });
});

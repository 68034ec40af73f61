import { describe, expect, it } from 'vitest';
import { ensureConntrackEvents, type SysctlIo } from '../../../src/daemon/sysctl';
import { silentLogger } from '../../../src/util/log';

function io(initial: string | null, writable = true): SysctlIo & { value: string | null } {
  const st = {
    value: initial,
    read: () => st.value,
    write: (_p: string, v: string) => {
      if (!writable) return false;
      st.value = v;
      return true;
    },
  };
  return st;
}

describe('ensureConntrackEvents', () => {
  it('turns events on for every entry when the kernel has 2', () => {
    const s = io('2');
    expect(ensureConntrackEvents(silentLogger(), s)).toBe('set');
    expect(s.value).toBe('1');
  });
  it('leaves 1 alone', () => {
    const s = io('1');
    expect(ensureConntrackEvents(silentLogger(), s)).toBe('ok');
  });
  it('reports failure and absence', () => {
    expect(ensureConntrackEvents(silentLogger(), io('0', false))).toBe('failed');
    expect(ensureConntrackEvents(silentLogger(), io(null))).toBe('absent');
  });
});

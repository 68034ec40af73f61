/** HA thread nice value (src/ha/thread/priority.ts). */
import { describe, expect, it } from 'vitest';
import { currentTid, HA_THREAD_NICE, setThreadNice } from '../../../src/ha/thread/priority';

describe('HA thread priority', () => {
  it('reads the task id from /proc/thread-self', () => {
    expect(currentTid(() => '4242/task/4250')).toBe(4250);
    expect(currentTid(() => { throw new Error('ENOENT'); })).toBeNull();
    expect(currentTid(() => 'garbage')).toBeNull();
    expect(currentTid()).toBeGreaterThan(0); // the real one, on Linux
  });

  it('sets the nice value of that task only, and reports failures as values', () => {
    const calls: Array<[number, number]> = [];
    expect(setThreadNice(HA_THREAD_NICE, { tid: () => 77, set: (t, n) => calls.push([t, n]) })).toEqual({ ok: true, tid: 77, nice: -10 });
    expect(calls).toEqual([[77, -10]]);
    expect(setThreadNice(-10, { tid: () => null, set: () => undefined })).toEqual({ ok: false, reason: 'no /proc/thread-self' });
    expect(setThreadNice(-10, { tid: () => 1, set: () => { throw new Error('EACCES'); } })).toEqual({ ok: false, reason: 'EACCES' });
  });
});

import { describe, expect, it } from 'vitest';
import { flowConntrack } from '../../../../src/bench/flows';
import { encodeConntrack } from '../../../../src/netlink/ct/conntrack';
import { sameFlow } from '../../../../src/netlink/ct/same';

describe('sameFlow', () => {
  const base = flowConntrack(1);
  it('ignores the timeout countdown, counters, use and id', () => {
    const a = encodeConntrack({ ...base, timeout: 300, id: 1, use: 1 });
    const b = encodeConntrack({ ...base, timeout: 120, id: 1, use: 2, countersOrig: { packets: 5n, bytes: 500n } });
    expect(sameFlow(a, b)).toBe(true);
  });
  it('sees a change of state, mark or status', () => {
    const a = encodeConntrack(base);
    expect(sameFlow(a, encodeConntrack({ ...base, mark: 9 }))).toBe(false);
    expect(sameFlow(a, encodeConntrack({ ...base, status: (base.status ?? 0) | 0x200 }))).toBe(false);
    expect(sameFlow(a, encodeConntrack({ ...base, protoinfo: { tcp: { state: 4 } } }))).toBe(false);
    expect(sameFlow(a, encodeConntrack(flowConntrack(2)))).toBe(false);
  });
});

/** The after-MASTER steps wait for every instance of the transition to have its addresses (src/daemon/transitions.ts). */
import { describe, it, expect } from 'vitest';
import { createTransitions, GROUP_ADDRESS_WAIT_MS } from '../../../src/daemon/transitions';
import type { DaemonApi } from '../../../src/daemon/api';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';

function setup(): { calls: string[]; clock: FakeClock; t: ReturnType<typeof createTransitions>; states: string[] } {
  const calls: string[] = [];
  const states: string[] = [];
  const rec = (name: string) => async (): Promise<void> => {
    calls.push(name);
  };
  const api = {
    commit: async () => {
      calls.push('commit');
      return { committed: 0, failed: 0, seconds: 0 };
    },
    flushCache: rec('flush'),
    resyncKernel: rec('resync'),
    bulkSend: rec('bulk'),
    shortenTimers: rec('shorten'),
    requestResync: rec('request-resync'),
  } as unknown as DaemonApi;
  const clock = new FakeClock();
  const t = createTransitions({ api, clock, logger: silentLogger(), setState: (s) => states.push(s) });
  return { calls, clock, t, states };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('transitions: sync group to MASTER', () => {
  it('one commit; after-MASTER steps only once both instances have their addresses', async () => {
    const { calls, t, states } = setup();
    const b1 = t.beforeMaster?.('WAN');
    const b2 = t.beforeMaster?.('LAN');
    await Promise.all([b1, b2]);
    expect(calls).toEqual(['commit']);
    const a1 = t.afterMaster?.('WAN');
    await flush();
    expect(calls).toEqual(['commit']); // LAN has no addresses yet
    const a2 = t.afterMaster?.('LAN');
    await Promise.all([a1, a2]);
    expect(calls).toEqual(['commit', 'flush', 'resync', 'bulk']);
    expect(states).toEqual(['MASTER', 'MASTER']);
  });

  it('an instance that never gets its addresses delays the steps by GROUP_ADDRESS_WAIT_MS at most', async () => {
    const { calls, clock, t } = setup();
    await Promise.all([t.beforeMaster?.('WAN'), t.beforeMaster?.('LAN')]);
    const a1 = t.afterMaster?.('WAN');
    await flush();
    clock.advance(GROUP_ADDRESS_WAIT_MS - 1);
    await flush();
    expect(calls).toEqual(['commit']);
    clock.advance(1);
    await a1;
    expect(calls).toEqual(['commit', 'flush', 'resync', 'bulk']);
  });

  it('an instance that goes BACKUP instead is not waited for', async () => {
    const { calls, t } = setup();
    await Promise.all([t.beforeMaster?.('WAN'), t.beforeMaster?.('LAN')]);
    const a1 = t.afterMaster?.('WAN');
    await flush();
    void t.afterBackup?.('LAN');
    await a1;
    expect(calls.slice(0, 4)).toEqual(['commit', 'flush', 'resync', 'bulk']);
  });

  it('a single instance runs its steps at once', async () => {
    const { calls, t } = setup();
    await t.beforeMaster?.('VI_1');
    await t.afterMaster?.('VI_1');
    expect(calls).toEqual(['commit', 'flush', 'resync', 'bulk']);
  });
});

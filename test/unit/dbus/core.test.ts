import { describe, expect, it } from 'vitest';
import { createDbusCore, type CoreEvents, type TransitionEvent } from '../../../src/dbus/core';
import { CtsyncDbusError, DBUS_ERROR } from '../../../src/dbus/errors';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { fakeApi } from './fake-api';

function setup(pollMs = 1000) {
  const api = fakeApi();
  const clock = new FakeClock();
  const seen: string[] = [];
  const transitions: TransitionEvent[] = [];
  const events: CoreEvents = {
    stateChanged: (a, b) => seen.push(`state ${a}->${b}`),
    transitionFinished: (t) => transitions.push(t),
    propertiesChanged: (c) => seen.push(`props ${Object.keys(c).sort().join(',')}`),
  };
  const core = createDbusCore({ api, clock, logger: silentLogger(), pollMs }, events);
  return { api, clock, core, seen, transitions };
}

async function rejection(p: Promise<unknown>): Promise<CtsyncDbusError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CtsyncDbusError);
    return e as CtsyncDbusError;
  }
  throw new Error('expected a rejection');
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('dbus core', () => {
  it('maps methods to DaemonApi calls with checked arguments', async () => {
    const { api, core } = setup(0);
    expect(await core.commit('')).toEqual([7, 1, 0.25]);
    await core.commit('expect');
    await core.flush('internal');
    await core.flush('');
    await core.resync('ct');
    await core.requestResync();
    await core.bulkSend();
    await core.shortenTimers();
    expect(api.calls).toEqual([
      'commit all', 'commit expect', 'flushCache internal', 'flushCache all', 'resyncKernel ct',
      'requestResync', 'bulkSend', 'shortenTimers',
    ]);
  });

  it('refuses bad arguments with InvalidArgs and calls nothing', async () => {
    const { api, core } = setup(0);
    expect((await rejection(core.commit('kernel'))).errorName).toBe(DBUS_ERROR.invalidArgs);
    expect((await rejection(core.flush('both'))).errorName).toBe(DBUS_ERROR.invalidArgs);
    expect((await rejection(core.getStats('everything'))).errorName).toBe(DBUS_ERROR.invalidArgs);
    expect((await rejection(core.resync(42))).errorName).toBe(DBUS_ERROR.invalidArgs);
    expect(api.calls).toEqual([]);
  });

  it('a second state-changing call while one runs gets Busy', async () => {
    const { api, core } = setup(0);
    let open!: () => void;
    api.commitGate = new Promise<void>((r) => (open = r));
    const first = core.commit('all');
    const busy = await rejection(core.bulkSend());
    expect(busy.errorName).toBe(DBUS_ERROR.busy);
    expect(busy.message).toMatch(/^Commit is running/);
    // read-only calls are not blocked
    expect(await core.getState()).toBe('BACKUP');
    open();
    expect(await first).toEqual([7, 1, 0.25]);
    await core.bulkSend();
    expect(api.calls).toEqual(['commit all', 'bulkSend']);
  });

  it('daemon errors become typed errors without stack traces', async () => {
    const { api, core } = setup(0);
    api.failures.set('commit', { code: 'EBUSY', message: 'a commit is already running (started 3s ago)' });
    api.failures.set('bulkSend', { message: 'send failed\n    at Object.<anonymous> (x.ts:1:1)' });
    api.failures.set('flushCache', { code: 'EINVAL', message: 'bad cache' });
    const a = await rejection(core.commit(''));
    expect([a.errorName, a.message]).toEqual([DBUS_ERROR.busy, 'a commit is already running (started 3s ago)']);
    const b = await rejection(core.bulkSend());
    expect([b.errorName, b.message]).toEqual([DBUS_ERROR.failed, 'send failed']);
    const c = await rejection(core.flush('all'));
    expect(c.errorName).toBe(DBUS_ERROR.invalidArgs);
  });

  it('GetStats flattens the statistics with typed leaves', async () => {
    const { core } = setup(0);
    const m = await core.getStats('');
    expect(m.get('internal.current')).toEqual({ signature: 't', value: 3n });
    expect(m.get('traffic.bytes')).toEqual({ signature: 't', value: 1234n });
    expect(m.get('kind')).toEqual({ signature: 's', value: 'general' });
  });

  it('polls the status: properties, StateChanged, TransitionFinished once per transition', async () => {
    const { api, clock, core, seen, transitions } = setup(1000);
    api.transition = { from: 'INIT', to: 'BACKUP', atEpochMs: 1000, steps: [] };
    await core.start();
    expect(core.snapshot()).toMatchObject({ state: 'BACKUP', mode: 'ftfw', internalCacheSize: 3, pid: 4242 });
    expect(seen).toEqual(['props externalCacheSize,internalCacheSize,mode,pid,state,version', 'state UNKNOWN->BACKUP']);
    expect(transitions).toEqual([]); // history before start is not an event
    seen.length = 0;

    api.state = 'MASTER';
    api.internal = 9;
    api.transition = {
      from: 'BACKUP', to: 'MASTER', atEpochMs: 5000,
      steps: [{ name: 'commit', ms: 12.5, ok: true }, { name: 'bulk', ms: 2, ok: false, error: 'no peer' }],
    };
    clock.advance(1000);
    await flush();
    expect(seen).toEqual(['props internalCacheSize,state', 'state BACKUP->MASTER']);
    expect(transitions).toEqual([{ from: 'BACKUP', to: 'MASTER', atEpochMs: 5000, totalMs: 14.5, steps: api.transition.steps }]);

    clock.advance(1000);
    await flush();
    expect(transitions).toHaveLength(1);
    core.stop();
    expect(clock.pending()).toBe(0);
  });

  it('a failing status poll is logged and polling goes on', async () => {
    const { api, clock, core } = setup(1000);
    api.failures.set('status', { message: 'socket gone' });
    await core.start();
    expect(core.snapshot().state).toBe('UNKNOWN');
    api.failures.delete('status');
    clock.advance(1000);
    await flush();
    expect(core.snapshot().state).toBe('BACKUP');
    core.stop();
  });
});

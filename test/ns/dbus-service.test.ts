/**
 * org.ctsync.Daemon1 on a REAL dbus-daemon (system-like policy + our
 * hooks/dbus policy), with a fake DaemonApi in-process. Callers: busctl as
 * root, as nobody (setpriv) and as nobody in the operator group; and a
 * dbus-next client for typed errors and signals.
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDbusService, type DbusService } from '../../src/dbus/service';
import { BUS_NAME, INTERFACE_NAME, OBJECT_PATH } from '../../src/dbus/interface';
import { systemClock } from '../../src/util/clock';
import { silentLogger } from '../../src/util/log';
import { have, isRoot, waitFor } from '../helpers/netns';
import { fakeApi } from '../unit/dbus/fake-api';
import { startTestBus, type TestBus } from './helpers/dbus-daemon';

const POLICY = join(__dirname, '..', '..', 'hooks', 'dbus', 'org.ctsync.Daemon1.conf');
const OPERATOR_GID = 1; // group "daemon" on Debian: stands in for the operator group
const ready = isRoot() && have('dbus-daemon') && have('busctl') && have('setpriv');

/** Async on purpose: the service answers from this very process, so the event loop must keep running. */
function run(argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ status, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

function busctl(address: string, args: string[], as?: { uid: number; gid: number; groups?: number[] }) {
  const cmd = ['busctl', `--address=${address}`, '--timeout=5', ...args];
  const argv = as
    ? ['setpriv', `--reuid=${as.uid}`, `--regid=${as.gid}`, ...(as.groups ? [`--groups=${as.groups.join(',')}`] : ['--clear-groups']), ...cmd]
    : cmd;
  return run(argv);
}

const call = (member: string, ...sigArgs: string[]) => ['call', BUS_NAME, OBJECT_PATH, INTERFACE_NAME, member, ...sigArgs];

describe.skipIf(!ready)('D-Bus service on a real dbus-daemon', () => {
  let bus: TestBus;
  let service: DbusService;
  let client: dbus.MessageBus | undefined;
  const api = fakeApi();

  beforeAll(async () => {
    const groupName = spawnSync('getent', ['group', String(OPERATOR_GID)], { encoding: 'utf8' }).stdout.split(':')[0] ?? 'daemon';
    bus = startTestBus(POLICY, groupName);
    service = await startDbusService(api, { clock: systemClock(), logger: silentLogger(), busAddress: bus.address, pollMs: 50 });
  });
  afterAll(async () => {
    client?.disconnect();
    await service?.stop();
    bus?.stop();
  });

  it('root may call Commit; the reply carries the counts', async () => {
    const r = await busctl(bus.address, call('Commit', 's', 'all'));
    expect(r).toMatchObject({ status: 0, stdout: 'uud 7 1 0.25' });
    expect(api.calls).toContain('commit all');
  });

  it('an unprivileged caller is refused Commit but may GetState and read properties', async () => {
    const nobody = { uid: 65534, gid: 65534 };
    const before = api.calls.length;
    const denied = await busctl(bus.address, call('Commit', 's', 'all'), nobody);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/Access denied/i);
    const bulk = await busctl(bus.address, call('BulkSend'), nobody);
    expect(bulk.status).not.toBe(0);
    expect(api.calls.length).toBe(before); // nothing reached the daemon
    expect(await busctl(bus.address, call('GetState'), nobody)).toMatchObject({ status: 0, stdout: 's "BACKUP"' });
    expect(await busctl(bus.address, ['get-property', BUS_NAME, OBJECT_PATH, INTERFACE_NAME, 'InternalCacheSize'], nobody)).toMatchObject({
      status: 0,
      stdout: 'u 3',
    });
    const stats = await busctl(bus.address, call('GetStats', 's', 'general'), nobody);
    expect(stats.status).toBe(0);
    expect(stats.stdout).toContain('"internal.current" t 3');
  });

  it('a member of the operator group may call state-changing methods', async () => {
    const op = { uid: 65534, gid: 65534, groups: [OPERATOR_GID] };
    expect(await busctl(bus.address, call('ShortenTimers'), op)).toMatchObject({ status: 0 });
    expect(api.calls.at(-1)).toBe('shortenTimers');
  });

  it('only root may own the name', async () => {
    const r = await run(
      ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'dbus-send', `--bus=${bus.address}`, '--print-reply',
        '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.RequestName', `string:${BUS_NAME}`, 'uint32:4'],
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/AccessDenied.*is not allowed to own the service "org\.ctsync\.Daemon1"/);
  });

  it('errors are typed and carry no stack trace; signals report state changes and transitions', async () => {
    client = dbus.sessionBus({ busAddress: bus.address });
    const obj = await client.getProxyObject(BUS_NAME, OBJECT_PATH);
    const iface = obj.getInterface(INTERFACE_NAME);

    const errorOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e as { type: string; text: string };
      }
      throw new Error('expected an error');
    };
    const bad = await errorOf((iface.Commit as (k: string) => Promise<unknown>)('kernel'));
    expect(bad.type).toBe('org.ctsync.Error.InvalidArgs');
    api.failures.set('bulkSend', { message: 'no peer answers\n    at send (engine.ts:10:5)' });
    const failed = await errorOf((iface.BulkSend as () => Promise<unknown>)());
    expect(failed).toMatchObject({ type: 'org.ctsync.Error.Failed', text: 'no peer answers' });
    api.failures.set('commit', { code: 'EBUSY', message: 'a commit is already running (started 2s ago)' });
    const busy = await errorOf((iface.Commit as (k: string) => Promise<unknown>)(''));
    expect(busy.type).toBe('org.ctsync.Error.Busy');
    api.failures.clear();

    const states: string[][] = [];
    const transitions: unknown[][] = [];
    iface.on('StateChanged', (...a: string[]) => states.push(a));
    iface.on('TransitionFinished', (...a: unknown[]) => transitions.push(a));
    // let the AddMatch calls land before the change
    await (iface.GetState as () => Promise<string>)();
    api.state = 'MASTER';
    api.transition = { from: 'BACKUP', to: 'MASTER', atEpochMs: 1_700_000_000_000, steps: [{ name: 'commit', ms: 3.5, ok: true }] };
    await waitFor(() => states.length > 0 && transitions.length > 0, 5000);
    expect(states[0]).toEqual(['BACKUP', 'MASTER']);
    expect(transitions[0]).toEqual(['BACKUP', 'MASTER', 1_700_000_000_000n, 3.5, [['commit', 3.5, true, '']]]);
    expect((await busctl(bus.address, ['get-property', BUS_NAME, OBJECT_PATH, INTERFACE_NAME, 'State'])).stdout).toBe('s "MASTER"');
  });
});

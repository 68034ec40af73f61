/**
 * org.keepalived.Vrrp1 (keepalived-compatible VRRP objects) on a REAL
 * dbus-daemon with our hooks/dbus policy, fed by in-process fake speakers
 * whose state the test flips. Callers: busctl as root and as nobody, and a
 * dbus-next client for the VrrpStatusChange signal.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VrrpState } from '../../src/ha/vrrp/machine';
import { startVrrpDbus, type VrrpDbus, type VrrpDbusSpeaker } from '../../src/dbus/vrrp';
import { VRRP_BUS_NAME, VRRP_INSTANCE_INTERFACE, VRRP_INTERFACE, VRRP_OBJECT_PATH } from '../../src/dbus/vrrp-interface';
import { silentLogger } from '../../src/util/log';
import { have, isRoot, waitFor } from '../helpers/netns';
import { startTestBus, type TestBus } from './helpers/dbus-daemon';

const POLICY = join(__dirname, '..', '..', 'hooks', 'dbus', 'org.keepalived.Vrrp1.conf');
const ready = isRoot() && have('dbus-daemon') && have('busctl') && have('setpriv');
const LAN = '/org/keepalived/Vrrp1/Instance/lan0/51/IPv4';
const WAN = '/org/keepalived/Vrrp1/Instance/wan_1/52/IPv6'; // "wan-1": '-' becomes '_'

function run(argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ status, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const busctl = (address: string, args: string[], nobody = false) =>
  run([...(nobody ? NOBODY : []), 'busctl', `--address=${address}`, '--timeout=5', ...args]);

interface FakeSpeaker extends VrrpDbusSpeaker {
  set(to: VrrpState): void;
  garps: number;
}
function fakeSpeaker(name: string, initial: VrrpState, garp: boolean): FakeSpeaker {
  let state = initial;
  const fns: Array<(from: VrrpState, to: VrrpState) => void> = [];
  const sp: FakeSpeaker = {
    name,
    garps: 0,
    state: () => state,
    onTransition: (fn) => void fns.push(fn),
    set(to) {
      const from = state;
      state = to;
      for (const fn of fns) fn(from, to);
    },
  };
  if (garp) sp.sendGarp = () => void (sp.garps += 1);
  return sp;
}

describe.skipIf(!ready)('keepalived-compatible VRRP objects on a real dbus-daemon', () => {
  let bus: TestBus;
  let svc: VrrpDbus | undefined;
  let client: dbus.MessageBus | undefined;
  const lan = fakeSpeaker('VI_LAN', 'BACKUP', true);
  const wan = fakeSpeaker('VI_WAN', 'INIT', false);
  const orphan = fakeSpeaker('NOT_IN_CONFIG', 'BACKUP', false);
  const started: string[] = [];

  beforeAll(async () => {
    bus = startTestBus(POLICY, 'root');
    // Listen before the service starts: it announces VrrpStarted and each instance's state once.
    client = dbus.sessionBus({ busAddress: bus.address });
    client.on('message', (m: dbus.Message) => {
      if (m.type === dbus.MessageType.SIGNAL && m.interface === VRRP_INTERFACE) started.push(`${m.path} ${m.member}`);
      if (m.type === dbus.MessageType.SIGNAL && m.member === 'VrrpStatusChange') started.push(`${m.path} ${m.member} ${String(m.body[0])}`);
    });
    await client.call(new dbus.Message({
      destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch',
      signature: 's', body: [`type='signal',sender='${VRRP_BUS_NAME}'`],
    }));
    svc = await startVrrpDbus({ speakers: () => [lan, wan, orphan] }, {
      logger: silentLogger(),
      busAddress: bus.address,
      instances: [
        { name: 'VI_LAN', interface: 'lan0', vrid: 51, family: 4 },
        { name: 'VI_WAN', interface: 'wan-1', vrid: 52, family: 6 },
      ],
    });
  });
  afterAll(async () => {
    client?.disconnect();
    await svc?.stop();
    bus?.stop();
  });

  it('exports one object per configured instance, keepalived paths', () => {
    expect([...(svc?.paths ?? new Map()).entries()]).toEqual([['VI_LAN', LAN], ['VI_WAN', WAN]]);
  });

  it('announces VrrpStarted and the initial state of each instance', async () => {
    await waitFor(() => started.length >= 3, 5000);
    expect(started).toEqual([`${VRRP_OBJECT_PATH} VrrpStarted`, `${LAN} VrrpStatusChange 1`, `${WAN} VrrpStatusChange 0`]);
  });

  it('busctl introspect shows the Instance interface with its members', async () => {
    const r = await busctl(bus.address, ['introspect', '--no-pager', VRRP_BUS_NAME, LAN], true);
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '));
    expect(rows).toEqual(expect.arrayContaining([
      `${VRRP_INSTANCE_INTERFACE} interface -`,
      '.SendGarp method -',
      '.Name property (s)',
      '.State property (us)',
      '.VrrpStatusChange signal u',
    ]));
    const tree = await busctl(bus.address, ['tree', '--list', VRRP_BUS_NAME], true);
    expect(tree.stdout.split('\n')).toEqual(expect.arrayContaining([VRRP_OBJECT_PATH, LAN, WAN]));
  });

  it('anyone may read Name and State as (s) and (us)', async () => {
    const get = (path: string, prop: string) => busctl(bus.address, ['get-property', VRRP_BUS_NAME, path, VRRP_INSTANCE_INTERFACE, prop], true);
    expect(await get(LAN, 'Name')).toMatchObject({ status: 0, stdout: '(s) "VI_LAN"' });
    expect(await get(LAN, 'State')).toMatchObject({ status: 0, stdout: '(us) 1 "Backup"' });
    expect(await get(WAN, 'State')).toMatchObject({ status: 0, stdout: '(us) 0 "Init"' });
  });

  it('a transition emits VrrpStatusChange and changes State', async () => {
    const seen: Array<[string, number]> = [];
    const onMsg = (m: dbus.Message) => {
      if (m.type === dbus.MessageType.SIGNAL && m.interface === VRRP_INSTANCE_INTERFACE && m.member === 'VrrpStatusChange') {
        seen.push([m.path ?? '', m.body[0] as number]);
      }
    };
    client?.on('message', onMsg);
    lan.set('MASTER');
    wan.set('FAULT');
    lan.set('BACKUP');
    await waitFor(() => seen.length >= 3, 5000);
    client?.removeListener('message', onMsg);
    expect(seen).toEqual([[LAN, 2], [WAN, 3], [LAN, 1]]);
    lan.set('MASTER');
    const r = await busctl(bus.address, ['get-property', VRRP_BUS_NAME, LAN, VRRP_INSTANCE_INTERFACE, 'State']);
    expect(r.stdout).toBe('(us) 2 "Master"');
    expect((await busctl(bus.address, ['get-property', VRRP_BUS_NAME, WAN, VRRP_INSTANCE_INTERFACE, 'State'])).stdout).toBe('(us) 3 "Fault"');
  });

  it('SendGarp: root reaches the speaker, nobody is refused, a speaker without GARP answers NotSupported', async () => {
    expect(await busctl(bus.address, ['call', VRRP_BUS_NAME, LAN, VRRP_INSTANCE_INTERFACE, 'SendGarp'])).toMatchObject({ status: 0 });
    expect(lan.garps).toBe(1);
    const denied = await busctl(bus.address, ['call', VRRP_BUS_NAME, LAN, VRRP_INSTANCE_INTERFACE, 'SendGarp'], true);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/Access denied/i);
    expect(lan.garps).toBe(1);
    const none = await busctl(bus.address, ['call', VRRP_BUS_NAME, WAN, VRRP_INSTANCE_INTERFACE, 'SendGarp']);
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/not supported/i);
    expect(none.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('only root may own org.keepalived.Vrrp1', async () => {
    const r = await run([...NOBODY, 'dbus-send', `--bus=${bus.address}`, '--print-reply', '--dest=org.freedesktop.DBus',
      '/org/freedesktop/DBus', 'org.freedesktop.DBus.RequestName', `string:${VRRP_BUS_NAME}`, 'uint32:4']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/AccessDenied.*is not allowed to own the service "org\.keepalived\.Vrrp1"/);
  });

  it('a second service cannot take the name; stop emits VrrpStopped and releases it', async () => {
    const other = startVrrpDbus({ speakers: () => [] }, { logger: silentLogger(), busAddress: bus.address, instances: [] });
    await expect(other).rejects.toThrow(/owned by another process/);
    await svc?.stop();
    svc = undefined;
    await waitFor(() => started.includes(`${VRRP_OBJECT_PATH} VrrpStopped`), 5000);
    const count = started.length;
    lan.set('BACKUP'); // ignored after stop
    const names = await busctl(bus.address, ['list', '--no-pager', '--acquired']);
    expect(names.stdout).not.toContain(VRRP_BUS_NAME);
    expect(started.length).toBe(count);
  });
});

/**
 * Handle lifetime of the addon's sockets: an unreferenced idle socket is
 * closed by its finalizer; close()/stop() from inside callbacks are safe.
 * (That a started socket without JS references keeps receiving is shown in
 * test/ns/native-netlink.test.ts with multicast events.)
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { findAddon, NETLINK_ROUTE, openNetlink } from '../../../src/netlink/native';
import { encodeLink, NLM_F_REQUEST, RTM_GETLINK } from '../../../src/netlink/rtnl';
import { isSockError, type NetlinkSocket, type SockError } from '../../../src/netlink/socket';
import { waitFor } from '../../helpers/netns';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const getLink = (seq: number): Buffer =>
  encodeLink({ type: RTM_GETLINK, flags: NLM_F_REQUEST, seq, pid: 0 }, { family: 0, ifType: 0, index: 1, flags: 0, change: 0, unknown: [] });

function route(): NetlinkSocket {
  const s = openNetlink({ protocol: NETLINK_ROUTE });
  if (isSockError(s)) throw new Error(s.code);
  return s;
}

/** Open sockets of this process. */
const socketFds = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  }).length;

async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

describe.skipIf(findAddon() === null)('native socket lifetime', () => {
  it('unreferenced idle sockets are closed by the finalizer', async () => {
    await collect();
    const before = socketFds();
    (() => {
      for (let i = 0; i < 20; i++) route();
    })();
    expect(socketFds()).toBe(before + 20);
    await waitFor(async () => {
      await collect();
      return socketFds() === before;
    }, 10_000);
  });

  it('close() inside the data callback stops delivery at once', async () => {
    const s = route();
    const calls: number[] = [];
    s.start(
      (d) => {
        calls.push(d.length);
        s.close();
      },
      () => undefined,
    );
    // Three replies queued; the first wakeup delivers them together, then the socket is closed.
    s.send([getLink(1), getLink(2), getLink(3)]);
    await waitFor(() => calls.length > 0, 5000);
    await collect();
    expect(calls).toEqual([3]);
    expect(s.stats().datagrams).toBe(3);
  });

  it('stop() inside the callback, then start() again, resumes with the queued data', async () => {
    const s = route();
    const got: number[] = [];
    const errs: SockError[] = [];
    const onData = (d: Buffer[]): void => {
      got.push(...d.map((x) => x.readUInt32LE(8)));
      s.stop();
    };
    s.start(onData, (e) => errs.push(e));
    s.send([getLink(1)]);
    await waitFor(() => got.length === 1, 5000);
    s.send([getLink(2)]);
    await collect();
    expect(got).toEqual([1]);
    s.start(onData, (e) => errs.push(e));
    await waitFor(() => got.length === 2, 5000);
    expect(got).toEqual([1, 2]);
    expect(errs).toEqual([]);
    s.close();
  });
});

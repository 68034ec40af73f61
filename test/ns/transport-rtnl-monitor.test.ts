/**
 * RtnlLinkMonitor on the real rtnetlink client (src/netlink/rtnl-client.ts)
 * inside a namespace: link down/up and carrier loss are reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRtnl, type RtnlClient } from '../../src/netlink/rtnl-client';
import { systemClock } from '../../src/util/clock';
import { RtnlLinkMonitor } from '../../src/transport/rtnl-link-monitor';
import { isRoot, Lab, waitFor } from '../helpers/netns';

describe.skipIf(!isRoot())('RtnlLinkMonitor with rtnetlink events', () => {
  const lab = new Lab('tl');
  let a = '';
  let b = '';
  let rtnl: RtnlClient | null = null;

  beforeAll(() => {
    a = lab.netns('a');
    b = lab.netns('b');
    lab.veth(a, 'sync0', b, 'sync0');
  });
  afterAll(() => {
    rtnl?.close();
    lab.cleanup();
  });

  it('follows admin state and carrier of watched links', async (ctx) => {
    const r = createRtnl({ netns: lab.nsPath(a) });
    if ('code' in r && !('listLinks' in r)) {
      if (r.code === 'ENOADDON') ctx.skip(); // native addon not built
      throw new Error(`rtnl unavailable: ${r.code}`);
    }
    rtnl = r as RtnlClient;
    const m = new RtnlLinkMonitor(rtnl, { clock: systemClock() });
    const events: Array<[string, boolean]> = [];
    m.onChange((i, up) => events.push([i, up]));
    m.watch('sync0');
    m.watch('nosuch0');
    await m.start();

    expect([m.isUp('sync0'), m.isUp('nosuch0')]).toEqual([true, false]);
    lab.exec(a, 'ip link set sync0 down');
    await waitFor(() => events.length >= 1, 5000, 10);
    lab.exec(a, 'ip link set sync0 up');
    await waitFor(() => events.length >= 2, 5000, 10);
    lab.exec(b, 'ip link set sync0 down'); // peer down: carrier lost on our side
    await waitFor(() => events.length >= 3, 5000, 10);
    expect(events).toEqual([
      ['sync0', false],
      ['sync0', true],
      ['sync0', false],
    ]);
    expect(m.isUp('sync0')).toBe(false);
    await m.stop();
  });
});

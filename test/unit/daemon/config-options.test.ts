/**
 * conntrackd.conf options that change how the daemon talks to the kernel
 * reach the kernel table: TCPWindowTracking / CommitTimeout (commit write
 * options, as conntrackd's nl_create_conntrack applies them) and
 * NetlinkEventsReliable (the event subscription).
 */
import { describe, expect, it } from 'vitest';
import { parseConntrackdConf } from '../../../src/config/conntrackd';
import { hasErrors } from '../../../src/config/diagnostics';
import { commitOptions } from '../../../src/daemon/config-map';
import { createDaemon } from '../../../src/daemon/daemon';
import { MemoryTable } from '../../../src/netlink/memory-table';
import type { EventOptions, EventHandlers, EventSubscription } from '../../../src/netlink/table';
import { memoryLink } from '../../../src/transport/memory';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';

function parse(sync: string, general = ''): ReturnType<typeof parseConntrackdConf>['config'] {
  const text = `Sync {\n ${sync}\n UDP {\n IPv4_address 203.0.113.1\n IPv4_Destination_Address 203.0.113.2\n Port 3780\n }\n}\nGeneral {\n HashLimit 1000\n LockFile /tmp/x.lock\n UNIX { Path /tmp/x.ctl }\n ${general}\n}\n`;
  const r = parseConntrackdConf(text, { file: 'test.conf' });
  expect(hasErrors(r.diagnostics)).toBe(false);
  return r.config;
}

describe('options of conntrackd.conf that reach the kernel', () => {
  it('TCPWindowTracking off (the default) commits TCP entries be-liberal; CommitTimeout sets their timeout', () => {
    expect(commitOptions(parse('Mode FTFW { }').sync)).toEqual({ beLiberal: true });
    expect(commitOptions(parse('Mode FTFW { CommitTimeout 180 }\n Options { TCPWindowTracking On }').sync)).toEqual({ beLiberal: false, timeout: 180 });
    expect(commitOptions(parse('Mode NOTRACK { CommitTimeout 30 }').sync)).toEqual({ beLiberal: true, timeout: 30 });
    expect(commitOptions(undefined)).toEqual({});
  });

  it('NetlinkEventsReliable on asks the kernel table for reliable events', async () => {
    for (const [line, want] of [['NetlinkEventsReliable On', true], ['', undefined]] as const) {
      const config = parse('Mode FTFW { }', line);
      const table = new MemoryTable();
      const seen: EventOptions[] = [];
      const subscribe = table.subscribe.bind(table);
      table.subscribe = (o: EventOptions, h: EventHandlers): EventSubscription => {
        seen.push(o);
        return subscribe(o, h);
      };
      const daemon = createDaemon({ config, table, transport: memoryLink(() => 0.5).a, clock: new FakeClock(), random: () => 0.5, logger: silentLogger(), version: 'test' });
      await daemon.start();
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((o) => o.reliable === want)).toBe(true);
      await daemon.stop();
    }
  });
});

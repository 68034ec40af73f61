/**
 * Entry point of bin/ctsyncd. Client commands (conntrackd's flags) go through
 * src/control/cli.ts and load only what they need: a failover script runs
 * several of them in a row, so their start-up time is part of the failover.
 * Starting the daemon (`-d`, or no command) loads src/daemon/run.ts.
 */
import type { Conntrack, CtRecord, Decoded, Expectation } from '../netlink/types';
import { runCli } from '../control/cli';
import { createControlClient } from '../control/client';
import { version } from './version';

export { version };

type Run = typeof import('./run');
const run = (): Run => require('./run') as Run;

export async function main(args: string[]): Promise<number> {
  if (args[0] === 'init') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const init = require('../init/run') as typeof import('../init/run');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const deps = require('../init/deps') as typeof import('../init/deps');
    return init.runInit(args.slice(1), deps.defaultInitDeps());
  }
  // --dbus (a ctsync extension): also serve org.ctsync.Daemon1 on the system bus.
  const dbus = args.includes('--dbus');
  const argv = args.filter((a) => a !== '--dbus');
  return runCli(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stdout.isTTY),
    version: version(),
    connect: (o) => createControlClient(o),
    decodeConntrack: (rec: CtRecord): Decoded<Conntrack> =>
      (require('../netlink/ct/conntrack') as typeof import('../netlink/ct/conntrack')).decodeConntrack(rec),
    decodeExpect: (rec: CtRecord): Decoded<Expectation> =>
      (require('../netlink/ct/expect') as typeof import('../netlink/ct/expect')).decodeExpectation(rec),
    runDaemon: (o) => (o.daemonize ? run().startBackground(process.argv.slice(2)) : run().runDaemon(o.config, { dbus })),
  });
}

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
  // ctsync extensions of the daemon command line (not conntrackd flags):
  //   --dbus               also serve org.ctsync.Daemon1 on the system bus
  //   --vrrp-config FILE   run the embedded VRRP speaker from a keepalived.conf
  //   --heartbeat          elect over UDP heartbeats (unicast_peer) instead of VRRP multicast
  const dbus = args.includes('--dbus');
  const heartbeat = args.includes('--heartbeat');
  const vi = args.indexOf('--vrrp-config');
  const vrrpConfig = vi >= 0 ? args[vi + 1] : undefined;
  if (vi >= 0 && (vrrpConfig === undefined || vrrpConfig.startsWith('-'))) {
    process.stderr.write('ctsyncd: --vrrp-config needs a file\n');
    return 1;
  }
  const argv = args.filter((a, i) => a !== '--dbus' && a !== '--heartbeat' && !(vi >= 0 && (i === vi || i === vi + 1)));
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
    runDaemon: (o) => (o.daemonize ? run().startBackground(process.argv.slice(2)) : run().runDaemon(o.config, { dbus, heartbeat, ...(vrrpConfig !== undefined ? { vrrpConfig } : {}) })),
  });
}

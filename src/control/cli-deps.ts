/**
 * The production dependencies of runCli: process stdio, the real control
 * client and the ctnetlink decoders. The daemon entry point supplies how to
 * run the daemon itself (foreground or -d).
 */
import { decodeConntrack } from '../netlink/ct/conntrack';
import { decodeExpectation } from '../netlink/ct/expect';
import type { CliDeps } from './cli';
import { createControlClient } from './client';

export function defaultCliDeps(version: string, runDaemon: CliDeps['runDaemon']): CliDeps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stdout.isTTY),
    version,
    connect: createControlClient,
    decodeConntrack: (rec) => decodeConntrack(rec),
    decodeExpect: (rec) => decodeExpectation(rec),
    runDaemon,
  };
}

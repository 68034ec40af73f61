/**
 * Starting the daemon: `-d` (background, returns once ready) and the daemon
 * process itself. Wiring only: every dependency is created here and passed down.
 * Loaded lazily by main.ts, so client commands do not pay for it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConntrackdConf } from '../config/conntrackd';
import { formatDiagnostic, hasErrors } from '../config/diagnostics';
import { createControlServer } from '../control/server';
import { createKernelTable } from '../netlink/kernel-table';
import { sdNotify } from '../netlink/native';
import { PollingLinkMonitor } from '../transport/link-monitor';
import { buildRedundant, buildTransport } from '../transport/registry';
import type { Transport } from '../transport/types';
import { systemClock } from '../util/clock';
import { createLogger, type Logger } from '../util/log';
import { commitOptions, transportSpecs } from './config-map';
import { createDaemon } from './daemon';
import { acquireLock, createLifecycle, createNotifier, daemonize, signalParent } from './lifecycle';
import { groupId } from './group';
import { version } from './version';
import { authFromConfig } from '../sync/auth/from-config';
import { createTransitions } from './transitions';
import { loadKeepalivedConf } from '../config/keepalived';
import type { KeepalivedConfig } from '../config/keepalived-types';
import { startVrrpThread, type VrrpThread } from '../ha/thread/client';
import type { ThreadOptions } from '../ha/thread/messages';
import type { LivenessOptions } from '../ha/liveness';
import type { SyncConfig } from '../config/conntrackd-types';
import type { Clock } from '../util/clock';
import type { Daemon } from './daemon';
import { ensureConntrackEvents } from './sysctl';
import { prepareCluster } from './cluster';

/** `-d`: re-spawn ourselves without -d, return once the child's control socket answers. */
export async function startBackground(argv: string[]): Promise<number> {
  const args = [process.argv[1] ?? join(__dirname, '..', '..', 'bin', 'ctsyncd'), ...argv.filter((a) => a !== '-d' && a !== '--daemon')];
  const cfgIndex = argv.findIndex((a) => a === '-C' || a === '--config');
  let socketPath: string | undefined;
  if (cfgIndex >= 0 && argv[cfgIndex + 1]) {
    const { config, diagnostics } = await loadConntrackdConf(argv[cfgIndex + 1] as string);
    if (hasErrors(diagnostics)) {
      for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      return 1;
    }
    socketPath = config.general.unixPath;
  }
  const r = await daemonize({ execPath: process.execPath, args, env: process.env, socketPath });
  if (!r.ok) {
    process.stderr.write(`ctsyncd: ${r.message}\n`);
    return 1;
  }
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`ctsyncd: ${message}\n`);
  signalParent({ ok: false, message });
  return 1;
}

/** Run the daemon in this process until it is stopped. */
export interface RunOptions {
  /** Serve org.ctsync.Daemon1 on the system bus (DBUS_SYSTEM_BUS_ADDRESS when set). */
  dbus?: boolean;
  /** keepalived.conf (VRRP subset) for the embedded VRRP speaker. */
  vrrpConfig?: string;
  /** Elect over UDP heartbeats on the sync link instead of VRRP multicast. */
  heartbeat?: boolean;
}

export async function runDaemon(configFile: string, runOpts: RunOptions = {}): Promise<number> {
  const loaded = await loadConntrackdConf(configFile);
  for (const d of loaded.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (hasErrors(loaded.diagnostics)) return fail(`invalid configuration ${configFile}`);
  const config = loaded.config;
  if (!config.sync) return fail(`${configFile}: no Sync section, nothing to replicate`);
  let vrrp: KeepalivedConfig | undefined;
  if (runOpts.vrrpConfig !== undefined) {
    const k = loadKeepalivedConf(runOpts.vrrpConfig);
    for (const d of k.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    if (hasErrors(k.diagnostics)) return fail(`invalid VRRP configuration ${runOpts.vrrpConfig}`);
    if (k.config.instances.length === 0) return fail(`${runOpts.vrrpConfig}: no vrrp_instance`);
    vrrp = k.config;
  }
  const logFile = config.general.logFile ?? undefined;
  const logger: Logger = createLogger({ file: logFile, pretty: logFile ? false : undefined });
  for (const d of loaded.diagnostics) logger.warn({ file: d.file, line: d.line }, d.message);

  const lock = acquireLock(config.general.lockFile);
  if (!lock.ok) return fail(lock.message);

  ensureConntrackEvents(logger);
  const clock = systemClock();
  const link = openTransport(config.sync, clock, logger);
  if (typeof link === 'string') {
    lock.release();
    return fail(link);
  }
  // Sync { Auth { ... } }: every datagram sealed (HMAC-SHA256, optionally AES-GCM), replays rejected.
  const sealed = authFromConfig(config.sync.auth, link, { clock, logger });
  if (!sealed.ok) {
    lock.release();
    return fail(sealed.message);
  }
  const transport = sealed.transport;
  const table = createKernelTable({ logger, eventRcvbuf: config.general.netlinkBufferSize, write: commitOptions(config.sync) });
  const lifecycleRef: { stop?: (r: string) => Promise<void> } = {};
  let dbusSvc: { stop(): Promise<void> | void } | undefined;
  let ha: VrrpThread | undefined;
  let vrrpDbus: { stop(): Promise<void> } | undefined;
  let cluster: { stop(): Promise<void> } | undefined;
  const daemon = createDaemon({
    config,
    table,
    transport,
    clock,
    random: () => randomBytes(4).readUInt32BE(0) / 0x1_0000_0000,
    logger,
    version: version(),
    onKill: () => void lifecycleRef.stop?.('ctsyncd -k'),
  });
  const group = config.general.controlGroup;
  const gid = group !== undefined ? groupId(group) : undefined;
  if (group !== undefined && gid === undefined) logger.warn({ group }, 'ControlGroup: no such group; socket stays root-only');
  const server = createControlServer({
    path: config.general.unixPath,
    api: daemon.api,
    logger,
    clock,
    ...(group !== undefined && gid !== undefined ? { group: { gid, name: group } } : {}),
  });
  const notifier = createNotifier({
    env: process.env,
    pid: process.pid,
    native: (s) => sdNotify(s) === null,
    logger,
  });
  const lifecycle = createLifecycle({
    signals: process,
    notifier,
    clock,
    logger,
    env: process.env,
    pid: process.pid,
    async onStop() {
      // Graceful: VRRP priority 0 first, so the peer takes over at once.
      await ha?.stop();
      await vrrpDbus?.stop(); // after ha: the last transitions are still signalled
      // Active-active: hand the buckets to the other nodes while replication still runs.
      await cluster?.stop();
      await dbusSvc?.stop();
      await daemon.stop();
      await transport.close();
      table.close();
      // The control socket goes last: scripts (the Pacemaker agent's stop loop)
      // take "no socket" for "stopped", so the process must be about to exit.
      await server.close();
    },
    afterStop: () => lock.release(),
  });
  lifecycleRef.stop = (r) => lifecycle.stop(r);
  try {
    // Active-active (Cluster section, src/daemon/cluster.ts): no VRRP master, no commit-all.
    // Prepared before the daemon reads the kernel table (stale entries of an earlier run go first).
    if (config.cluster !== undefined && vrrp !== undefined) throw new Error('a Cluster section and --vrrp-config exclude each other');
    const aa = config.cluster !== undefined ? await prepareCluster(config.cluster, { daemon, table, clock, logger, accept: daemon.acceptFlow }) : undefined;
    if (config.sync.fastFailover !== undefined && vrrp === undefined) {
      logger.warn({ line: config.sync.fastFailover.line }, 'Sync/FastFailover works with the embedded VRRP only (--vrrp-config); ignored');
    }
    await daemon.start(); // fills the internal cache, then opens the sync link
    if (aa !== undefined) cluster = await aa.start();
    await server.listen();
    if (vrrp !== undefined) {
      const liveness = livenessOptions(config.sync);
      const thread = await startHa(vrrp, daemon, clock, logger, {
        heartbeat: runOpts.heartbeat === true,
        ...(liveness !== undefined ? { liveness } : {}),
        logFile,
        // Without its VRRP thread the node would hold its addresses mutely: stop, let the supervisor restart it.
        onDied: (why) => {
          logger.error({ err: why }, 'the VRRP thread died: stopping the daemon');
          void lifecycleRef.stop?.('VRRP thread died');
        },
      });
      ha = thread;
      if (liveness !== undefined) {
        // status: the peer's liveness probes as the VRRP thread last reported them.
        const peer = liveness.peer;
        const baseStatus = daemon.api.status.bind(daemon.api);
        daemon.api.status = async () => {
          const l = thread.liveness();
          return { ...(await baseStatus()), fastFailover: l === null ? { peer, state: 'unknown' } : { peer, state: l.state, sinceEpochMs: l.sinceEpochMs } };
        };
      }
    }
    if (runOpts.dbus) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startDbusService } = require('../dbus/service') as typeof import('../dbus/service');
      dbusSvc = await startDbusService(daemon.api, { clock, logger }).catch((e: unknown) => {
        logger.warn({ err: (e as Error).message }, 'D-Bus service not started');
        return undefined;
      });
    }
    if (runOpts.dbus && ha !== undefined && vrrp !== undefined) {
      // keepalived's org.keepalived.Vrrp1 objects for the embedded speakers
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startVrrpDbus } = require('../dbus/vrrp') as typeof import('../dbus/vrrp');
      vrrpDbus = await startVrrpDbus(ha, { logger, instances: vrrp.instances }).catch((e: unknown) => {
        logger.warn({ err: (e as Error).message }, 'keepalived D-Bus objects (org.keepalived.Vrrp1) not served');
        return undefined;
      });
    }
  } catch (e) {
    const msg = (e as Error).message;
    logger.error({ err: msg }, 'start failed');
    await lifecycle.stop('start failed');
    return fail(`cannot start: ${msg}`);
  }
  lifecycle.ready();
  logger.info({ config: configFile, socket: config.general.unixPath, pid: process.pid }, 'ctsyncd ready');
  await lifecycle.stopped;
  logger.info('ctsyncd stopped');
  logger.flush();
  // Exit now rather than when the last handle drains: "stopped" must mean gone.
  setImmediate(() => process.exit(0));
  return 0;
}

/**
 * The embedded VRRP (or heartbeat) runs on its own thread (src/ha/thread), so
 * its adverts and timers do not wait for replication work on this one; the
 * transitions (commit before the addresses, ...) run here, awaited by it.
 */
async function startHa(
  config: KeepalivedConfig,
  daemon: Daemon,
  clock: Clock,
  logger: Logger,
  o: { heartbeat: boolean; liveness?: LivenessOptions; logFile: string | undefined; onDied(why: string): void },
): Promise<VrrpThread> {
  const hooks = createTransitions({
    api: daemon.api,
    clock,
    logger,
    setState: (s, steps) => daemon.setState(s, steps),
    externalInKernel: daemon.externalInKernel,
  });
  const options: ThreadOptions = { config, heartbeat: o.heartbeat, ...(o.liveness !== undefined ? { liveness: o.liveness } : {}) };
  if (o.logFile !== undefined) {
    options.logFile = o.logFile;
    options.pretty = false;
  }
  const thread = await startVrrpThread({ options, hooks, logger, onDied: o.onDied });
  for (const f of thread.failed) logger.error({ instance: f.instance, code: f.code, msg: f.message }, 'VRRP instance not started');
  if (thread.failed.length === config.instances.length) {
    await thread.stop();
    throw new Error(`no VRRP instance could start (${thread.failed.map((f) => `${f.instance}: ${f.code} ${f.message ?? ''}`).join('; ')})`);
  }
  logger.info({ instances: config.instances.length - thread.failed.length }, 'embedded VRRP started (own thread)');
  return thread;
}

/** Sync { FastFailover { } }: probes between our address and the peer's on the default sync link. */
function livenessOptions(sync: SyncConfig): LivenessOptions | undefined {
  const ff = sync.fastFailover;
  const l = sync.links[sync.defaultLink];
  if (ff === undefined || l === undefined || l.kind === 'multicast' || l.address === undefined) return undefined;
  return { family: l.family, bind: l.address, peer: l.destination, port: ff.port, intervalMs: ff.intervalMs, misses: ff.misses };
}

function openTransport(sync: NonNullable<Parameters<typeof transportSpecs>[0]>, clock: ReturnType<typeof systemClock>, logger: Logger): Transport | string {
  const specs = transportSpecs(sync);
  if (specs.length === 1) {
    const r = buildTransport(specs[0] as (typeof specs)[number], { clock, logger });
    return r.ok ? r.transport : `sync link: ${r.error.code}: ${r.error.detail}`;
  }
  const monitor = new PollingLinkMonitor({ clock, intervalMs: 200, logger });
  const r = buildRedundant(specs, { clock, logger, monitor });
  return r.ok ? r.transport : `sync links: ${r.error.code}: ${r.error.detail}`;
}

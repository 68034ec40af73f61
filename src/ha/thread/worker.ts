/**
 * The VRRP thread: runs the embedded VRRP (or heartbeat) manager on its own
 * event loop, so adverts leave and the master-down timer fires on time
 * however busy the main thread is with replication. Addresses, gratuitous
 * ARP / NA and keepalived's notify scripts are done here too; the transition
 * hooks (commit before the addresses, flush, resync, bulk send) run on the
 * main thread and are awaited through messages (src/ha/thread/messages.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRtnl, type RtnlClient } from '../../netlink/rtnl-client';
import { systemClock } from '../../util/clock';
import { createLogger } from '../../util/log';
import { createNotifier as createNotifyScripts } from '../notify';
import { createLiveness } from '../liveness';
import { HA_THREAD_NICE, setThreadNice } from './priority';
import { createVrrpManager, type VrrpManager } from '../vrrp/manager';
import type { VrrpHooks } from '../vrrp/speaker';
import type { FromThread, HookName, ThreadOptions, ToThread } from './messages';

const port = parentPort;
if (port === null) throw new Error('src/ha/thread/worker.js runs only as a worker thread');
const opts = workerData as ThreadOptions;
const logger = createLogger({ file: opts.logFile, level: opts.logLevel, pretty: opts.pretty }).child({ thread: 'vrrp' });
const clock = systemClock();
const post = (m: FromThread): void => port.postMessage(m);

let nextId = 1;
const waiting = new Map<number, () => void>();
const hook = (h: HookName) => (name: string): Promise<void> =>
  new Promise<void>((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    post({ t: 'hook', id, hook: h, name });
  });
const hooks: Required<VrrpHooks> = {
  beforeMaster: hook('beforeMaster'),
  afterMaster: hook('afterMaster'),
  afterBackup: hook('afterBackup'),
  afterFault: hook('afterFault'),
};

let manager: VrrpManager | null = null;
let rtnl: RtnlClient | null = null;

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'hook-done': {
      const done = waiting.get(m.id);
      waiting.delete(m.id);
      done?.();
      break;
    }
    case 'garp':
      manager?.speakers().find((s) => s.name === m.name)?.sendGarp();
      break;
    case 'stop':
      void (async () => {
        await manager?.stop();
        rtnl?.close();
        // Hooks still awaited by a speaker will never be answered now.
        for (const done of waiting.values()) done();
        waiting.clear();
        post({ t: 'stopped' });
        logger.flush();
        port.close();
      })();
      break;
  }
});

async function main(): Promise<void> {
  const nice = opts.config.globalDefs.vrrpNice ?? HA_THREAD_NICE;
  const pr = setThreadNice(nice);
  if (pr.ok) logger.info({ tid: pr.tid, nice }, 'HA thread priority set');
  else logger.warn({ nice, reason: pr.reason }, 'cannot set the HA thread priority; adverts may be late under load');
  const r = createRtnl({ logger, clock });
  if ('code' in r && typeof (r as { listLinks?: unknown }).listLinks !== 'function') {
    post({ t: 'start-failed', error: `rtnetlink: ${(r as { code: string }).code}` });
    return;
  }
  rtnl = r as RtnlClient;
  const lo = opts.liveness;
  const liveness = lo === undefined ? undefined : createLiveness({ options: lo, clock, logger, random: Math.random });
  liveness?.onChange((st) => post({ t: 'liveness', state: st.silent ? 'silent' : 'alive', lastProbeAt: st.lastProbeAt }));
  manager = createVrrpManager({
    config: opts.config,
    clock,
    random: Math.random,
    logger,
    rtnl,
    hooks,
    notifier: createNotifyScripts({ clock, logger }),
    ...(opts.heartbeat ? { transport: 'heartbeat' as const } : {}),
    ...(liveness !== undefined ? { liveness } : {}),
  });
  const failed = await manager.start();
  for (const sp of manager.speakers()) sp.onTransition((from, to) => post({ t: 'transition', name: sp.name, from, to }));
  post({
    t: 'started',
    failed: failed.map((f) => ({ instance: f.instance, code: f.error.code, ...(f.error.message ? { message: f.error.message } : {}) })),
    speakers: manager.speakers().map((s) => ({ name: s.name, state: s.state() })),
  });
}

main().catch((e: unknown) => post({ t: 'start-failed', error: e instanceof Error ? e.message : String(e) }));

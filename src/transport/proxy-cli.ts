/**
 * Command line for the fault-injecting UDP proxy:
 *
 *   node dist/transport/proxy-cli.js --listen 192.0.2.1:3780 --forward 192.0.2.2:3780 \
 *        [--bind 192.0.2.1:3781] [--client ADDR:PORT] [--loss 5] [--duplicate 1] \
 *        [--reorder 1] [--corrupt 0.1] [--delay 10] [--jitter 5] [--seed 1] [--stats-interval 1000]
 *        [--sndbuf BYTES] [--rcvbuf BYTES]
 *
 * Rates are percentages (0..100), delays milliseconds. IPv6 endpoints are
 * written [addr]:port. Prints one JSON line {"event":"ready",...} once bound,
 * counters as {"event":"stats",...} every --stats-interval ms, on SIGUSR1 and
 * at exit. Reads JSON lines on stdin to change faults at run time, e.g.
 * {"loss":0,"delay":0} (same names and units as the flags); a "down" object,
 * e.g. {"loss":1,"down":{"loss":10}}, sets the forward -> client direction
 * apart (without it both directions get the same faults); {"cmd":"stats"}
 * prints the counters.
 */
import { createInterface } from 'node:readline';
import { systemClock } from '../util/clock';
import { createLogger } from '../util/log';
import type { ProxyFaults } from './faults';
import { UdpFaultProxy, type Endpoint } from './proxy';

export interface ProxyCliArgs {
  family: 4 | 6;
  listen: Endpoint;
  forward: Endpoint;
  bind?: Endpoint;
  client?: Endpoint;
  seed: number;
  faults: ProxyFaults;
  statsIntervalMs: number;
  sndBuf?: number;
  rcvBuf?: number;
}

/** "192.0.2.1:80" or "[2001:db8::1]:80" -> Endpoint, or null. */
export function parseEndpoint(s: string): Endpoint | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const port = Number.parseInt(m[2], 10);
  return port >= 0 && port <= 65535 ? { address: m[1], port } : null;
}

const FAULT_FLAGS: Record<string, keyof ProxyFaults> = {
  loss: 'loss',
  duplicate: 'duplicate',
  reorder: 'reorder',
  corrupt: 'corrupt',
  delay: 'delayMs',
  jitter: 'jitterMs',
};

/** Apply one user-facing name/value (percent for rates, ms for delays) to a fault set. */
export function applyFaultSetting(f: ProxyFaults, name: string, value: number): string | null {
  const key = FAULT_FLAGS[name];
  if (key === undefined) return `unknown fault ${name}`;
  if (!Number.isFinite(value) || value < 0) return `bad value for ${name}`;
  if (key === 'delayMs' || key === 'jitterMs') f[key] = value;
  else if (value > 100) return `${name} is a percentage (0..100)`;
  else f[key] = value / 100;
  return null;
}

export function parseProxyArgs(argv: string[]): { ok: true; args: ProxyCliArgs } | { ok: false; error: string } {
  let listen: Endpoint | null = null;
  let forward: Endpoint | null = null;
  let bind: Endpoint | undefined;
  let client: Endpoint | undefined;
  let seed = 1;
  let statsIntervalMs = 0;
  let sndBuf: number | undefined;
  let rcvBuf: number | undefined;
  const faults: ProxyFaults = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    const val = argv[i + 1];
    if (!flag.startsWith('--') || val === undefined) return { ok: false, error: `bad argument ${flag}` };
    i++;
    const name = flag.slice(2);
    if (name === 'listen' || name === 'forward' || name === 'bind' || name === 'client') {
      const ep = parseEndpoint(val);
      if (!ep) return { ok: false, error: `bad endpoint for ${flag}: ${val}` };
      if (name === 'listen') listen = ep;
      else if (name === 'forward') forward = ep;
      else if (name === 'bind') bind = ep;
      else client = ep;
    } else if (name === 'seed' || name === 'stats-interval' || name === 'sndbuf' || name === 'rcvbuf') {
      const n = Number(val);
      if (!Number.isInteger(n) || n < 0) return { ok: false, error: `bad ${flag}: ${val}` };
      if (name === 'seed') seed = n;
      else if (name === 'sndbuf') sndBuf = n;
      else if (name === 'rcvbuf') rcvBuf = n;
      else statsIntervalMs = n;
    } else {
      const err = applyFaultSetting(faults, name, Number(val));
      if (err) return { ok: false, error: err };
    }
  }
  if (!listen || !forward) return { ok: false, error: '--listen and --forward are required' };
  const family = listen.address.includes(':') ? 6 : 4;
  const args: ProxyCliArgs = { family, listen, forward, bind, client, seed, faults, statsIntervalMs };
  if (sndBuf !== undefined) args.sndBuf = sndBuf;
  if (rcvBuf !== undefined) args.rcvBuf = rcvBuf;
  return { ok: true, args };
}

async function main(): Promise<void> {
  const parsed = parseProxyArgs(process.argv.slice(2));
  if (!parsed.ok) {
    process.stderr.write(`ctsync-proxy: ${parsed.error}\n`);
    process.exit(2);
  }
  const a = parsed.args;
  const clock = systemClock();
  const logger = createLogger({ name: 'ctsync-proxy', pretty: false, level: process.env.CTSYNC_LOG_LEVEL ?? 'warn' });
  const proxy = new UdpFaultProxy({
    family: a.family,
    listen: a.listen,
    forward: a.forward,
    upstreamBind: a.bind,
    client: a.client,
    seed: a.seed,
    faults: a.faults,
    sndBuf: a.sndBuf,
    rcvBuf: a.rcvBuf,
    clock,
    logger,
  });
  await proxy.start();
  const print = (event: string, extra: object = {}): void => {
    process.stdout.write(`${JSON.stringify({ event, ...extra })}\n`);
  };
  print('ready', { addresses: proxy.addresses(), faults: proxy.getFaults() });
  const stats = (): void => print('stats', { counters: proxy.counters(), faults: proxy.getFaults(), downFaults: proxy.getDownFaults() });
  if (a.statsIntervalMs > 0) clock.setInterval(stats, a.statsIntervalMs);
  process.on('SIGUSR1', stats);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      print('error', { error: 'not JSON' });
      return;
    }
    if (typeof req !== 'object' || req === null) return print('error', { error: 'expected an object' });
    if ('cmd' in req) return (req as { cmd: unknown }).cmd === 'stats' ? stats() : print('error', { error: 'unknown cmd' });
    const next = proxy.getFaults();
    let down: ProxyFaults | null = null;
    for (const [k, v] of Object.entries(req)) {
      if (k === 'down') {
        if (typeof v !== 'object' || v === null) return print('error', { error: 'down must be an object' });
        down = {};
        for (const [dk, dv] of Object.entries(v as Record<string, unknown>)) {
          const err = applyFaultSetting(down, dk, typeof dv === 'number' ? dv : Number.NaN);
          if (err) return print('error', { error: `down: ${err}` });
        }
        continue;
      }
      const err = applyFaultSetting(next, k, typeof v === 'number' ? v : Number.NaN);
      if (err) return print('error', { error: err });
    }
    proxy.setFaults(next, down);
    print('faults', { faults: proxy.getFaults(), downFaults: proxy.getDownFaults() });
  });
  const stop = (): void => {
    stats();
    void proxy.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) void main();

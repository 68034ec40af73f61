/**
 * Additions to DaemonPair for the fault-injection and auth tests, kept out of
 * daemon-pair.ts:
 *  - routeThroughProxy(): both daemons' sync traffic goes through the
 *    fault-injecting UDP proxy (dist/transport/proxy-cli.js) running in fw2's
 *    namespace on two extra addresses:
 *
 *      fw1 203.0.113.1:P --> 203.0.113.10:P [listen]  proxy  [upstream] 203.0.113.11:P --> fw2 203.0.113.2:P
 *      fw1 <------------- 203.0.113.10:P  <---------------  203.0.113.11:P <------------- fw2
 *
 *    fw1's IPv4_Destination_Address becomes .10, fw2's becomes .11.
 *  - addAuth(): append a Sync/Auth block to a node's conntrackd.conf.
 *  - writeKey(): a key file (hex, mode 0600) in the pair's directory.
 * Call these before pair.start().
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../helpers/netns';
import { ROOT, type DaemonPair, type NodeName } from './daemon-pair';
import { PeerProcess, type Msg } from './peer-process';

export const PROXY_LISTEN = '203.0.113.10';
export const PROXY_UPSTREAM = '203.0.113.11';

export interface DirCounters {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}
export interface ProxyCounters {
  up: DirCounters;
  down: DirCounters;
  unexpected: number;
}

/** Fault settings in the proxy CLI's units: percentages and milliseconds. */
export interface FaultSettings {
  loss?: number;
  duplicate?: number;
  reorder?: number;
  corrupt?: number;
  delay?: number;
  jitter?: number;
  /** Faults for the fw2 -> fw1 direction only (default: the same as above). */
  down?: Omit<FaultSettings, 'down'>;
}

export class FaultProxy {
  constructor(private readonly proc: PeerProcess) {}

  async set(f: FaultSettings): Promise<void> {
    const zero = { loss: 0, duplicate: 0, reorder: 0, corrupt: 0, delay: 0, jitter: 0 };
    const full = f.down ? { ...zero, ...f, down: { ...zero, ...f.down } } : { ...zero, ...f };
    const p = this.proc.next((m: Msg) => m.event === 'faults' || m.event === 'error');
    this.proc.send(full);
    const m = await p;
    if (m.event === 'error') throw new Error(`proxy: ${JSON.stringify(m)}`);
  }

  async counters(): Promise<ProxyCounters> {
    const p = this.proc.next((m: Msg) => m.event === 'stats');
    this.proc.send({ cmd: 'stats' });
    return (await p).counters as ProxyCounters;
  }
}

function editConf(path: string, edit: (text: string) => string): void {
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`${path}: edit changed nothing`);
  writeFileSync(path, after);
}

/** Point the daemons at the proxy and start it (in fw2's namespace). */
export async function routeThroughProxy(pair: DaemonPair, seed: number): Promise<FaultProxy> {
  const ns2 = pair.fw2.ns;
  pair.lab.exec(ns2, `ip addr add ${PROXY_LISTEN}/24 dev sync0`);
  pair.lab.exec(ns2, `ip addr add ${PROXY_UPSTREAM}/24 dev sync0`);
  editConf(pair.fw1.conf, (t) => t.replace(/IPv4_Destination_Address \S+/, `IPv4_Destination_Address ${PROXY_LISTEN}`));
  editConf(pair.fw2.conf, (t) => t.replace(/IPv4_Destination_Address \S+/, `IPv4_Destination_Address ${PROXY_UPSTREAM}`));
  const P = pair.port;
  const proc = new PeerProcess(
    pair.lab,
    ns2,
    [
      process.execPath,
      join(ROOT, 'dist', 'transport', 'proxy-cli.js'),
      ...['--listen', `${PROXY_LISTEN}:${P}`, '--bind', `${PROXY_UPSTREAM}:${P}`],
      ...['--forward', `${pair.fw2.addr}:${P}`, '--client', `${pair.fw1.addr}:${P}`],
      ...['--seed', String(seed), '--rcvbuf', String(8 << 20), '--sndbuf', String(8 << 20)],
    ],
    {},
  );
  await proc.ready();
  return new FaultProxy(proc);
}

/** A fresh random key file (64 hex digits, mode 0600). */
export function writeKey(pair: DaemonPair, name: string, secret: Buffer = randomBytes(32)): string {
  const path = join(pair.dir, name);
  writeFileSync(path, `${secret.toString('hex')}\n`);
  chmodSync(path, 0o600);
  return path;
}

/** Add `Auth { KeyFile ... }` to a node's Sync section. */
export function addAuth(pair: DaemonPair, node: NodeName, o: { keyFile: string; previousKeyFile?: string; encrypt?: boolean }): void {
  const lines = [
    '  Auth {',
    `    KeyFile ${o.keyFile}`,
    ...(o.previousKeyFile ? [`    PreviousKeyFile ${o.previousKeyFile}`] : []),
    ...(o.encrypt ? ['    Encrypt on'] : []),
    '  }',
  ];
  editConf(pair.info(node).conf, (t) => t.replace(/^Sync \{\n/m, `Sync {\n${lines.join('\n')}\n`));
}

/** Both daemons still answer `status` over their control sockets. */
export async function bothAnswer(pair: DaemonPair): Promise<void> {
  for (const n of ['fw1', 'fw2'] as const) {
    const s = await pair.status(n);
    if (typeof s.cache.internal !== 'number') throw new Error(`${n}: status without cache counts`);
  }
}

/** Poll until fn() is true (bounded), with a readable failure. */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  try {
    await waitFor(fn, timeoutMs, 200);
  } catch {
    throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
  }
}

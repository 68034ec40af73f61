/**
 * Fuzz targets: every decoder and parser that reads bytes or text from outside.
 * Each target gets seeds (valid inputs) and a `run(input)` that must return a
 * value (a verdict or diagnostics) and never throw or hang.
 */
import { decodeProbe, encodeProbe } from '../ha/liveness-packet';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFlows } from '../bench/flows';
import { parseConntrackdConf } from '../config/conntrackd';
import { parseKeepalivedConf } from '../config/keepalived';
import { decodeFrame, encodeFrame, FrameType } from '../control/protocol';
import { decodeVrrp, encodeVrrp } from '../ha/vrrp/packet';
import { decodeConntrack } from '../netlink/ct/conntrack';
import { decodeExpectation } from '../netlink/ct/expect';
import { parseDatagram } from '../netlink/nlmsg';
import { decodeRtnl } from '../netlink/rtnl';
import { decodeDatagram, encodeDatagrams } from '../sync/wire/datagram';
import type { Message } from '../sync/wire/types';
import { decodeHeartbeat, encodeHeartbeat } from '../cluster/wire';
import { createDatagramAuth, type DatagramAuth } from '../sync/auth/auth';
import { makeKey } from '../sync/auth/keys';
import { FakeClock } from '../util/clock';
import { silentLogger } from '../util/log';

function fuzzAuth(encrypt: boolean): DatagramAuth {
  const key = makeKey(Buffer.alloc(32, 7));
  if (!key.ok) throw new Error('fuzz key');
  return createDatagramAuth({ keys: { current: key.key }, encrypt, clock: new FakeClock(), logger: silentLogger() });
}

function syncSeeds(): Buffer[] {
  const msgs: Message[] = makeFlows(8, { mark: 7 }).map((r, i) => ({ type: 'ct-new', flags: 0, seq: 100 + i, family: r.family, attrs: r.attrs }));
  msgs.push({ type: 'ack', flags: 0, seq: 107, from: 90, to: 107 }, { type: 'alive', flags: 0, seq: 107 });
  return encodeDatagrams({ flags: 0, node: 1, epoch: 2 }, msgs, 1400).datagrams;
}

export interface FuzzTarget {
  name: string;
  kind: 'bytes' | 'text';
  seeds(): Buffer[];
  /** Must not throw; the return value is ignored. */
  run(input: Buffer): unknown;
}

const ROOT = join(__dirname, '..', '..');

function fixture(rel: string): Buffer | null {
  try {
    return readFileSync(join(ROOT, rel));
  } catch {
    return null;
  }
}

function present(bufs: Array<Buffer | null>): Buffer[] {
  return bufs.filter((b): b is Buffer => b !== null);
}

const flows = (): ReturnType<typeof makeFlows> => makeFlows(8, { mark: 7 });

const authTargets = (): FuzzTarget[] =>
  [false, true].map((encrypt) => {
    const auth = fuzzAuth(encrypt);
    return {
      name: encrypt ? 'sync-auth-aead' : 'sync-auth-hmac',
      kind: 'bytes' as const,
      seeds: () => syncSeeds().map((d) => auth.seal(d)).filter((d): d is Buffer => d !== null),
      run: (b: Buffer) => auth.open(b, '198.51.100.9'),
    };
  });

export const TARGETS: FuzzTarget[] = [
  ...authTargets(),
  {
    name: 'cluster-heartbeat',
    kind: 'bytes',
    seeds: () => [
      encodeHeartbeat({ node: 2, incarnation: 5, seq: 9, flags: 1, buckets: 32, seed: 0x1234, aim: 0xff, members: [1, 2, 3], claims: [{ bucket: 3, epoch: 4 }] }),
    ],
    run: (b) => decodeHeartbeat(b),
  },
  {
    name: 'liveness-probe',
    kind: 'bytes',
    seeds: () => [encodeProbe({ intervalMs: 20, bootId: 0xdeadbeef, seq: 7 })],
    run: (b) => decodeProbe(b),
  },
  {
    name: 'sync-datagram',
    kind: 'bytes',
    seeds() {
      const msgs: Message[] = flows().map((r, i) => ({ type: 'ct-new', flags: 0, seq: 100 + i, family: r.family, attrs: r.attrs }));
      msgs.push({ type: 'ack', flags: 0, seq: 107, from: 90, to: 107 }, { type: 'alive', flags: 0, seq: 107 });
      return encodeDatagrams({ flags: 0, node: 1, epoch: 2 }, msgs, 1472).datagrams;
    },
    run: (b) => decodeDatagram(b),
  },
  {
    name: 'ctnetlink-conntrack',
    kind: 'bytes',
    seeds: () => flows().map((r) => r.attrs),
    run: (b) => decodeConntrack({ kind: 'ct', family: 2, attrs: b }),
  },
  {
    name: 'ctnetlink-expect',
    kind: 'bytes',
    seeds: () => flows().map((r) => r.attrs),
    run: (b) => decodeExpectation({ kind: 'expect', family: 2, attrs: b }),
  },
  {
    name: 'nlmsg',
    kind: 'bytes',
    seeds() {
      return flows().map((r) => {
        const h = Buffer.alloc(20);
        h.writeUInt32LE(20 + r.attrs.length, 0);
        h.writeUInt16LE(0x100, 4);
        h[16] = 2;
        return Buffer.concat([h, r.attrs]);
      });
    },
    run: (b) => parseDatagram(b),
  },
  {
    name: 'rtnetlink',
    kind: 'bytes',
    seeds: () => [Buffer.from('2c0000001400000001000000000000000218000100000000080001000a0000010800020000000000', 'hex')],
    run: (b) => decodeRtnl(b),
  },
  {
    name: 'control-frame',
    kind: 'bytes',
    seeds: () => [encodeFrame(FrameType.Request, 1, { cmd: 'stats', section: 'cache' }), encodeFrame(FrameType.Request, 2, { cmd: 'commit', kind: 'ct' })],
    run: (b) => decodeFrame(b),
  },
  {
    name: 'vrrp',
    kind: 'bytes',
    seeds() {
      const out: Buffer[] = [];
      for (const version of [2, 3] as const) {
        const r = encodeVrrp({ version, vrid: 51, priority: 100, advertIntCs: 100, addresses: ['192.0.2.1', '192.0.2.3'], src: '192.0.2.2', dst: '224.0.0.18' });
        if (r.ok) out.push(r.value);
      }
      return out;
    },
    run: (b) => decodeVrrp(b, 4),
  },
  {
    name: 'conntrackd.conf',
    kind: 'text',
    seeds: () =>
      present([
        fixture('test/fixtures/config/conntrackd-ftfw.conf'),
        fixture('test/fixtures/config/conntrackd-alarm.conf'),
        fixture('test/fixtures/config/conntrackd-notrack.conf'),
      ]),
    run: (b) => parseConntrackdConf(b.toString('latin1'), { file: 'fuzz.conf' }),
  },
  {
    name: 'keepalived.conf',
    kind: 'text',
    seeds: () => present([fixture('test/fixtures/config/keepalived.conf.conntrackd-sync'), fixture('test/fixtures/config/keepalived.conf.vrrp.sync')]),
    run: (b) => parseKeepalivedConf(b.toString('latin1'), { file: 'fuzz.conf' }),
  },
];

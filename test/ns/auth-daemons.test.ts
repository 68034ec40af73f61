/**
 * Sync/Auth with two real ctsyncd (FT-FW over UDP), Encrypt on:
 *  - different keys: nothing replicates; both sides count the rejected
 *    datagrams (`-s network` Error recv);
 *  - a peer without Auth: nothing replicates; it counts our sealed datagrams
 *    as wrong protocol version, we count its plain ones;
 *  - the same key: everything replicates; the captured traffic shows no
 *    plaintext flow attributes;
 *  - a capture of an earlier run of fw1, replayed after fw1 restarted (new
 *    epoch) with entries destroyed since: every replayed datagram is rejected
 *    and fw2's external cache still equals fw1's internal cache;
 *  - a world-readable key file: the daemon refuses to start and says why.
 * Runs once the daemon wires Sync/Auth (see test/ns/helpers/auth-pair.ts authWired()).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFlows } from '../../src/bench/flows';
import type { NetworkStats } from '../../src/daemon/api';
import { isRoot } from '../helpers/netns';
import { isSame, summary } from './helpers/ct-compare';
import { AuthPair, authWired, capture, readPcapUdp, replayUdp } from './helpers/auth-pair';
import { buildOnce, type NodeName } from './helpers/daemon-pair';
import { addAuth, bothAnswer, eventually, writeKey } from './helpers/faults-pair';

const N = 300;
const X = 200;

describe.skipIf(!isRoot() || !authWired())('Sync/Auth between two real daemons', () => {
  let pair: AuthPair;
  let keyA = '';
  let keyB = '';
  let plainConf2 = '';

  const net = (n: NodeName): Promise<NetworkStats> => pair.stats(n, 'network');
  const errRecv = async (n: NodeName): Promise<number> => (await net(n)).link?.errorRecv ?? -1;
  /** Restart fw2 with another Sync/Auth setting. */
  async function restartFw2(auth: { keyFile: string } | null): Promise<void> {
    await pair.stop('fw2');
    writeFileSync(pair.fw2.conf, plainConf2);
    if (auth) addAuth(pair, 'fw2', { ...auth, encrypt: true });
    await pair.start('fw2');
  }

  beforeAll(async () => {
    buildOnce();
    pair = new AuthPair({ mode: 'FTFW', port: 3792 });
    plainConf2 = readFileSync(pair.fw2.conf, 'utf8');
    keyA = writeKey(pair, 'a.key');
    keyB = writeKey(pair, 'b.key');
    addAuth(pair, 'fw1', { keyFile: keyA, encrypt: true });
    addAuth(pair, 'fw2', { keyFile: keyB, encrypt: true });
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('different keys: nothing replicates, both sides count rejections', async () => {
    await pair.createFlows('fw1', N);
    await eventually('fw2 rejects fw1 datagrams', async () => (await errRecv('fw2')) >= 3);
    await eventually('fw1 rejects fw2 datagrams', async () => (await errRecv('fw1')) >= 1);
    expect((await pair.status('fw2')).cache.external).toBe(0);
    expect((await net('fw2')).recv.malformed).toBe(0); // rejected before the engine
    await bothAnswer(pair);
  }, 60_000);

  it('a peer without Auth: nothing replicates, each side rejects the other', async () => {
    await restartFw2(null);
    const before1 = await errRecv('fw1');
    await eventually('fw2 sees sealed datagrams as a wrong protocol version', async () => (await net('fw2')).recv.wrongVersion >= 3);
    await eventually('fw1 rejects fw2 plain datagrams', async () => (await errRecv('fw1')) > before1);
    expect((await pair.status('fw2')).cache.external).toBe(0);
    await bothAnswer(pair);
  }, 60_000);

  it('the same key: everything replicates, and nothing is readable on the wire', async () => {
    const cap = await capture(pair, pair.fw2.ns, 'sync0', `udp and src host ${pair.fw1.addr} and dst port ${pair.port}`, 'run1.pcap');
    await restartFw2({ keyFile: keyA });
    await pair.waitReplicated({ expectSize: N, timeoutMs: 30_000 });
    await pair.createFlows('fw1', X, { first: 50_000, base: N });
    await pair.waitReplicated({ expectSize: N + X, timeoutMs: 30_000 });
    await cap.stop();
    const dgrams = readPcapUdp(cap.file);
    expect(dgrams.length).toBeGreaterThan(5);
    // The ctnetlink attributes of a replicated flow never appear in clear.
    const attrs = makeFlows(1, { first: 50_000 })[0]?.attrs ?? Buffer.alloc(0);
    expect(attrs.length).toBeGreaterThan(40);
    const needle = attrs.subarray(0, 40);
    expect(dgrams.some((d) => d.includes(needle))).toBe(false);
    expect(dgrams.every((d) => d.readUInt8(4) === 2)).toBe(true);
    expect(await errRecv('fw2')).toBe(0);
  }, 90_000);

  it('a replayed capture of an earlier run changes nothing and is counted', async () => {
    const gone = await pair.table('fw1').delete(makeFlows(X, { first: 50_000 }));
    expect(gone.failed).toEqual([]);
    await pair.waitReplicated({ expectSize: N, timeoutMs: 30_000 });
    await pair.stop('fw1');
    await pair.start('fw1'); // new sender epoch
    await pair.waitReplicated({ expectSize: N, timeoutMs: 30_000 });

    const dgrams = readPcapUdp(`${pair.dir}/run1.pcap`);
    const before = await errRecv('fw2');
    replayUdp(pair, pair.fw1.ns, pair.fw1.addr, pair.fw2.addr, pair.port, dgrams);
    await eventually('fw2 rejects every replayed datagram', async () => (await errRecv('fw2')) - before >= dgrams.length).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${(await errRecv('fw2')) - before} of ${dgrams.length}\n${pair.logTail('fw2')}`);
    });
    expect((await errRecv('fw2')) - before).toBe(dgrams.length);
    const cmp = await pair.compareReplicated();
    expect(isSame(cmp), summary(cmp)).toBe(true);
    expect(cmp.gotSize).toBe(N);
    await bothAnswer(pair);
  }, 90_000);

  it('refuses to start with a world-readable key file, with a clear error', async () => {
    await pair.stop('fw2');
    chmodSync(keyA, 0o644);
    const r = await pair.cli('fw2', ['-d'], 40_000);
    chmodSync(keyA, 0o600);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Sync\/Auth: key file .*a\.key: mode 0644 lets other users access it/);
    await pair.start('fw2');
    await pair.waitReplicated({ expectSize: N, timeoutMs: 30_000 });
  }, 90_000);
});

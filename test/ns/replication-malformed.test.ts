/**
 * Acceptance: garbage, truncated and wrong-version datagrams sent to fw2's
 * sync port from fw1's address are counted in `-s network` and dropped, and
 * replication keeps working afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../helpers/netns';
import { buildOnce, DaemonPair } from './helpers/daemon-pair';

/** "CTSY", docs/sync-protocol.md (src/sync/wire/types.ts SYNC_MAGIC). */
const MAGIC = 'CTSY';

/** Datagrams as hex: 5 garbage (bad magic), 5 wrong version, 10 truncated. */
function badDatagrams(): { hex: string[]; expect: { header: number; version: number; truncated: number } } {
  const garbage = Buffer.alloc(64, 0xab);
  const wrongVersion = Buffer.concat([Buffer.from(MAGIC), Buffer.from([2, 0]), Buffer.alloc(26)]);
  wrongVersion.writeUInt16BE(wrongVersion.length, 6);
  const shortHeader = Buffer.concat([Buffer.from(MAGIC), Buffer.from([1, 0, 0, 40])]); // 8 bytes: header cut
  const longClaim = Buffer.concat([Buffer.from(MAGIC), Buffer.from([1, 0]), Buffer.alloc(34)]);
  longClaim.writeUInt16BE(400, 6); // length field 400 > 40 bytes received
  const hex: string[] = [];
  for (let i = 0; i < 5; i++) hex.push(garbage.toString('hex'), wrongVersion.toString('hex'), shortHeader.toString('hex'), longClaim.toString('hex'));
  return { hex, expect: { header: 5, version: 5, truncated: 10 } };
}

describe.skipIf(!isRoot())('malformed sync datagrams', () => {
  let pair: DaemonPair;
  beforeAll(async () => {
    buildOnce();
    pair = new DaemonPair({ mode: 'FTFW' });
    await pair.start();
  }, 200_000);
  afterAll(() => pair?.cleanup());

  it('are counted and dropped; replication keeps working', async () => {
    await pair.createFlows('fw1', 1_000);
    await pair.waitReplicated({ expectSize: 1_000 });
    const before = await pair.stats('fw2', 'network');
    expect(before.recv.malformed).toBe(0);

    const bad = badDatagrams();
    // One sender process in fw1's namespace, from fw1's sync address (a port other than the daemon's).
    const script = `
      const s = require('node:dgram').createSocket('udp4');
      const list = ${JSON.stringify(bad.hex)};
      s.bind(0, '${pair.fw1.addr}', async () => {
        for (const h of list) await new Promise((r) => s.send(Buffer.from(h, 'hex'), ${pair.port}, '${pair.fw2.addr}', r));
        s.close();
      });`;
    pair.lab.exec(pair.fw1.ns, `${process.execPath} -e "${script.replace(/"/g, '\\"').replace(/\n/g, ' ')}"`);

    const total = bad.expect.header + bad.expect.version + bad.expect.truncated;
    let net = before;
    const deadline = Date.now() + 10_000;
    while (net.recv.malformed < total && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      net = await pair.stats('fw2', 'network');
    }
    expect(net.recv).toEqual({
      malformed: total,
      wrongVersion: bad.expect.version,
      malformedHeader: bad.expect.header,
      malformedPayload: 0,
      badType: 0,
      truncated: bad.expect.truncated,
      badSize: 0,
    });
    // The conntrackd-format text shows the same counters.
    const text = await pair.cli('fw2', ['-s', 'network']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`Malformed messages:\\s+${total}\\n`));
    expect(text.stdout).toMatch(new RegExp(`Wrong protocol version:\\s+${bad.expect.version}\\n`));
    expect(text.stdout).toMatch(new RegExp(`Truncated message:\\s+${bad.expect.truncated}\\n`));

    // Still replicating: new flows arrive, nothing of the garbage entered the cache.
    await pair.createFlows('fw1', 1_000, { first: 1_000, base: 1_000 });
    const rep = await pair.waitReplicated({ expectSize: 2_000 });
    expect(rep.gotSize).toBe(2_000);
  }, 120_000);
});

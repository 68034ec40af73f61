/**
 * The kernel table's write options on the real kernel, as the daemon sets
 * them from conntrackd.conf (src/daemon/config-map.ts commitOptions):
 * TCPWindowTracking Off (conntrackd's default) creates TCP entries with
 * IP_CT_TCP_FLAG_BE_LIBERAL in both directions, CommitTimeout N gives them a
 * timeout of N seconds; without options the entry keeps its own flags and timeout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, isRoot } from '../helpers/netns';
import { createKernelTable } from '../../src/netlink/kernel-table';
import { decodeConntrack } from '../../src/netlink/ct/conntrack';
import { flowConntrack } from '../../src/bench/flows';
import { encodeConntrack } from '../../src/netlink/ct/conntrack';
import { silentLogger } from '../../src/util/log';

/** nf_conntrack_tcp.h */
const BE_LIBERAL = 0x08;

describe.skipIf(!isRoot())('kernel table write options (CommitTimeout, TCPWindowTracking)', () => {
  const lab = new Lab('kco');
  afterAll(() => lab.cleanup());

  it('BE_LIBERAL and the timeout are set when asked, left alone otherwise', async () => {
    const ns = lab.netns('c');
    const flow = flowConntrack(1, { timeout: 3600 });
    const rec = encodeConntrack({ ...flow, protoinfo: { tcp: { state: 3, wscaleOrig: 7, wscaleReply: 7, flagsOrig: { flags: 0x23, mask: 0x23 }, flagsReply: { flags: 0x23, mask: 0x23 } } } });
    const read = async (write: { beLiberal?: boolean; timeout?: number } | undefined): Promise<{ orig: number; reply: number; timeout: number }> => {
      const t = createKernelTable({ logger: silentLogger(), netns: ns, ...(write ? { write } : {}) });
      try {
        await t.flush('ct');
        const r = await t.create([rec]);
        expect(r).toMatchObject({ ok: 1, failed: [] });
        const [got] = await t.dump('ct');
        if (got === undefined) throw new Error('no entry');
        const d = decodeConntrack(got);
        if (!d.ok) throw new Error('decode');
        const tcp = d.value.protoinfo?.tcp;
        return { orig: tcp?.flagsOrig?.flags ?? -1, reply: tcp?.flagsReply?.flags ?? -1, timeout: d.value.timeout ?? -1 };
      } finally {
        await t.flush('ct');
        t.close();
      }
    };
    const liberal = await read({ beLiberal: true, timeout: 77 });
    expect(liberal.orig & BE_LIBERAL).toBe(BE_LIBERAL);
    expect(liberal.reply & BE_LIBERAL).toBe(BE_LIBERAL);
    expect(liberal.timeout).toBeGreaterThan(70);
    expect(liberal.timeout).toBeLessThanOrEqual(77);
    const plain = await read(undefined);
    expect(plain.orig & BE_LIBERAL).toBe(0);
    expect(plain.reply & BE_LIBERAL).toBe(0);
    expect(plain.timeout).toBeGreaterThan(3500);
  });
});

/** Heartbeat (UDP) transport on in-memory sockets, feeding real speakers. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeHeartbeat, encodeHeartbeat, openHeartbeat, type UdpSocketLike } from '../../../src/ha/heartbeat';
import { createVrrpSpeaker } from '../../../src/ha/vrrp/speaker';
import { defaultGlobalDefs } from '../../../src/config/keepalived-types';
import { FakeClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import { fakeVips, flush, instance } from './helpers/lab';

function udpNet(clock: FakeClock): (addr: string) => UdpSocketLike {
  const bound = new Map<string, (m: Buffer, r: { address: string; port: number }) => void>();
  return (addr) => {
    let onMsg: (m: Buffer, r: { address: string; port: number }) => void = () => undefined;
    return {
      bind: (port, address, cb) => {
        bound.set(`${address}:${port}`, (m, r) => onMsg(m, r));
        cb();
      },
      send: (msg, port, address, cb) => {
        const h = bound.get(`${address}:${port}`);
        clock.setTimeout(() => h?.(Buffer.from(msg), { address: addr, port }), 1);
        cb(null);
      },
      on: ((ev: string, fn: never) => {
        if (ev === 'message') onMsg = fn;
      }) as UdpSocketLike['on'],
      close: () => undefined,
    };
  };
}

describe('heartbeat transport', () => {
  it('framing: decode(encode(x)) and typed errors', () => {
    const m = Buffer.from('3101640100640000c0000264', 'hex');
    expect(decodeHeartbeat(encodeHeartbeat(4, m))).toEqual({ ok: true, family: 4, message: m });
    expect(decodeHeartbeat(Buffer.from('43544842', 'hex'))).toEqual({ ok: false, error: 'short' });
    expect(decodeHeartbeat(Buffer.from('4354484202040000', 'hex'))).toEqual({ ok: false, error: 'version' });
    expect(decodeHeartbeat(Buffer.from('4354484201050000', 'hex'))).toEqual({ ok: false, error: 'family' });
    expect(decodeHeartbeat(Buffer.from('0054484201040000', 'hex'))).toEqual({ ok: false, error: 'magic' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => typeof decodeHeartbeat(Buffer.from(b)).ok === 'boolean'));
  });

  it('two speakers elect a master over UDP unicast; graceful stop hands over', async () => {
    const clock = new FakeClock();
    const net = udpNet(clock);
    const mk = (addr: string, peer: string, priority: number) => {
      const vips = fakeVips();
      const inst = instance({ priority, unicastPeers: [{ address: peer, family: 4 }] });
      const sp = createVrrpSpeaker({
        instance: inst, globals: defaultGlobalDefs(), clock, random: () => 0, iface: { mac: '02:00:00:00:00:01', primaryAddress: addr, selfAddresses: [addr] },
        transport: openHeartbeat({ family: 4, bindAddress: addr, peers: [peer], createSocket: () => net(addr) }),
        link: null, addresses: vips, logger: silentLogger(),
      });
      return { sp, vips };
    };
    const a = mk('192.0.2.1', '192.0.2.2', 200);
    const b = mk('192.0.2.2', '192.0.2.1', 100);
    a.sp.start();
    b.sp.start();
    const run = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 10) {
        clock.advance(10);
        await flush();
      }
    };
    await run(6000);
    expect([a.sp.state(), b.sp.state()]).toEqual(['MASTER', 'BACKUP']);
    expect(b.sp.stats().advertsReceived).toBeGreaterThan(1);
    expect(b.sp.stats().drops).toEqual({});
    await a.sp.stop();
    await run(700);
    expect(b.sp.state()).toBe('MASTER');
    expect([...b.vips.have]).toEqual(['192.0.2.100']);
  });
});

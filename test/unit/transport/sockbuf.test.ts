import type { Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { applyBuffers, type SysctlIo } from '../../../src/transport/sockbuf';

/** A socket that behaves like Linux: min(request, max) doubled. */
function fakeSocket(io: SysctlIo): Socket {
  let snd = 0;
  let rcv = 0;
  const s = {
    setSendBufferSize: (n: number) => (snd = 2 * Math.min(n, io.read('/proc/sys/net/core/wmem_max') ?? n)),
    setRecvBufferSize: (n: number) => (rcv = 2 * Math.min(n, io.read('/proc/sys/net/core/rmem_max') ?? n)),
    getSendBufferSize: () => snd,
    getRecvBufferSize: () => rcv,
  };
  return s as unknown as Socket;
}

function fakeIo(max: number, writable: boolean) {
  const values = new Map([
    ['/proc/sys/net/core/rmem_max', max],
    ['/proc/sys/net/core/wmem_max', max],
  ]);
  const writes: Array<[string, number]> = [];
  const io: SysctlIo = {
    read: (p) => values.get(p) ?? null,
    write: (p, v) => {
      writes.push([p, v]);
      if (writable) values.set(p, v);
      return writable;
    },
  };
  return { io, writes };
}

function recordingLogger() {
  const lines: string[] = [];
  const rec = (o: unknown, msg?: string) => lines.push(typeof o === 'string' ? o : (msg ?? ''));
  return { logger: { warn: rec, info: rec } as never, lines };
}

describe('applyBuffers', () => {
  it('reports the doubled size granted, not capped when within the maximum', () => {
    const { io, writes } = fakeIo(4 << 20, true);
    const r = applyBuffers(fakeSocket(io), { sndBuf: 1 << 20, rcvBuf: 2 << 20 }, undefined, io);
    expect(r).toEqual({ sndBuf: 2 << 20, rcvBuf: 4 << 20, sndCapped: false, rcvCapped: false });
    expect(writes).toEqual([]);
  });

  it('logs and reports a request above the maximum', () => {
    const { io, writes } = fakeIo(4 << 20, true);
    const { logger, lines } = recordingLogger();
    const r = applyBuffers(fakeSocket(io), { rcvBuf: 16 << 20 }, logger, io);
    expect(r).toEqual({ sndBuf: 0, rcvBuf: 8 << 20, sndCapped: false, rcvCapped: true });
    expect(lines).toEqual(['receive buffer capped by net.core.rmem_max']);
    expect(writes).toEqual([]);
  });

  it('raises the sysctl only when asked', () => {
    const { io, writes } = fakeIo(4 << 20, true);
    const r = applyBuffers(fakeSocket(io), { rcvBuf: 16 << 20, raiseSysctl: true }, undefined, io);
    expect(writes).toEqual([['/proc/sys/net/core/rmem_max', 16 << 20]]);
    expect(r.rcvBuf).toBe(32 << 20);
    expect(r.rcvCapped).toBe(false);
  });

  it('keeps going when the sysctl is read-only (inside a netns)', () => {
    const { io } = fakeIo(4 << 20, false);
    const { logger, lines } = recordingLogger();
    const r = applyBuffers(fakeSocket(io), { sndBuf: 16 << 20, raiseSysctl: true }, logger, io);
    expect(r).toMatchObject({ sndBuf: 8 << 20, sndCapped: true });
    expect(lines).toEqual(['could not raise socket buffer maximum', 'send buffer capped by net.core.wmem_max']);
  });
});

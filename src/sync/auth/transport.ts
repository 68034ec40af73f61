/**
 * A Transport that seals every datagram it sends and opens every datagram it
 * receives, so the sync engine runs unchanged over an authenticated link.
 * The MTU it reports is the inner MTU minus the seal overhead, so the engine
 * packs datagrams that still fit once sealed. Rejected datagrams never reach
 * the engine; they are counted in recvErrors (and by reason in auth.stats()).
 */
import type { Transport, TransportStats } from '../../transport/types';
import type { AuthStats, DatagramAuth } from './auth';

export interface AuthTransport extends Transport {
  readonly auth: DatagramAuth;
}

export function authTransport(inner: Transport, auth: DatagramAuth): AuthTransport {
  let sealFailures = 0;
  let rejectedCount = 0;
  return {
    auth,
    get name() {
      return inner.name;
    },
    get mtu() {
      return inner.mtu - auth.overhead;
    },
    send(datagram: Buffer): boolean {
      const sealed = auth.seal(datagram);
      if (sealed === null) {
        sealFailures++;
        return false;
      }
      return inner.send(sealed);
    },
    onDatagram(handler: (datagram: Buffer, from: string) => void): void {
      inner.onDatagram((d, from) => {
        const r = auth.open(d, from);
        if (r.ok) handler(r.datagram, from);
        else rejectedCount++;
      });
    },
    open: () => inner.open(),
    close: () => inner.close(),
    stats(): TransportStats {
      const s = inner.stats();
      return { ...s, sendErrors: s.sendErrors + sealFailures, recvErrors: s.recvErrors + rejectedCount };
    },
  };
}

/** The auth statistics of a transport built by authTransport(), or undefined (no Sync/Auth). */
export function authStatsOf(t: Transport): AuthStats | undefined {
  const a = (t as Partial<AuthTransport>).auth;
  return a !== undefined && typeof a.stats === 'function' ? a.stats() : undefined;
}

/**
 * A sync transport moves whole datagrams between replicas. Implementations:
 * UDP unicast, IPv4/IPv6 multicast, TCP (length-framed), a redundant group of
 * links, and an in-memory pair for tests. Selected by config name via a registry.
 */
export interface TransportStats {
  sentDatagrams: number;
  sentBytes: number;
  recvDatagrams: number;
  recvBytes: number;
  /** Sends that failed (socket error, queue full, link down). */
  sendErrors: number;
  recvErrors: number;
}

export interface Transport {
  readonly name: string;
  /** Largest datagram payload this transport carries, in bytes. */
  readonly mtu: number;
  /** Queue one datagram for sending. Returns false when it was dropped (counted in stats). */
  send(datagram: Buffer): boolean;
  /** Register the receive handler (one per transport). `from` is the peer address text. */
  onDatagram(handler: (datagram: Buffer, from: string) => void): void;
  /** Resolves once the transport can send and receive. */
  open(): Promise<void>;
  close(): Promise<void>;
  stats(): TransportStats;
}

export function emptyTransportStats(): TransportStats {
  return { sentDatagrams: 0, sentBytes: 0, recvDatagrams: 0, recvBytes: 0, sendErrors: 0, recvErrors: 0 };
}

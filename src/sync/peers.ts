/**
 * Peers as seen on the sync link, keyed by transport address. A peer whose
 * datagrams carry a new epoch has restarted; one silent for longer than the
 * timeout is lost. The table only reports; the engine decides what follows.
 */
export interface PeerInfo {
  id: string;
  node: number;
  epoch: number;
  firstHeard: number;
  lastHeard: number;
}

export type PeerChange = 'new' | 'restart' | 'same';

export class PeerTable {
  private readonly peers = new Map<string, PeerInfo>();

  /** Record a datagram from `id`; says whether the peer is new, restarted or known. */
  heard(id: string, node: number, epoch: number, now: number): PeerChange {
    const p = this.peers.get(id);
    if (p === undefined) {
      this.peers.set(id, { id, node, epoch, firstHeard: now, lastHeard: now });
      return 'new';
    }
    p.lastHeard = now;
    if (p.epoch === epoch && p.node === node) return 'same';
    p.epoch = epoch;
    p.node = node;
    p.firstHeard = now;
    return 'restart';
  }

  /** Remove and return peers not heard from within `timeoutMs`. */
  expire(now: number, timeoutMs: number): PeerInfo[] {
    const gone: PeerInfo[] = [];
    for (const p of this.peers.values()) {
      if (now - p.lastHeard > timeoutMs) gone.push(p);
    }
    for (const p of gone) this.peers.delete(p.id);
    return gone;
  }

  list(): PeerInfo[] {
    return [...this.peers.values()].map((p) => ({ ...p }));
  }
}

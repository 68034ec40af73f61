/**
 * What the replication benchmark needs from one daemon of a pair, whatever
 * the implementation (conntrackd or ctsyncd), and the one conntrackd.conf
 * both read, so both run with the same mode, link, buffers and limits.
 */
import { join } from 'node:path';
import type { LabProcess, ReplicationLab } from './replication-lab';

export interface CacheCounts {
  internal: number;
  external: number;
}

export interface CommandResult {
  /** Wall time from start until the command returned. */
  ms: number;
  ok: boolean;
  output: string;
}

/** Sync-link counters as `-s link` prints them (same layout in both implementations). */
export interface LinkTraffic {
  bytesSent: number;
  pktsSent: number;
}

/** "N Bytes sent ... N Pckts sent" of `-s link` (test/fixtures/control/stats-link.txt), summed over links. */
export function parseLinkStats(text: string): LinkTraffic | null {
  let bytesSent = 0;
  let pktsSent = 0;
  let found = false;
  for (const m of text.matchAll(/(\d+) Bytes sent[^\n]*\n\s*(\d+) Pckts sent/g)) {
    bytesSent += Number(m[1]);
    pktsSent += Number(m[2]);
    found = true;
  }
  return found ? { bytesSent, pktsSent } : null;
}

export interface SyncNode {
  readonly ns: string;
  readonly conf: string;
  readonly proc: LabProcess;
  /** Cheap cache-size query, used for polling; null when the daemon did not answer. */
  counts(): Promise<CacheCounts | null>;
  /** Run the implementation's client with these flags (`-B`, `-f external`, `-c ct`, ...). */
  command(args: string[]): Promise<CommandResult>;
}

export interface Implementation {
  /** 'conntrackd' or 'ctsync'. */
  readonly name: string;
  /** Start the daemon of one node and resolve once it answers on its control socket. */
  start(lab: ReplicationLab, ns: string, conf: string, label: string): Promise<SyncNode>;
}

export interface PairConfOptions {
  /** HashLimit: the most entries a cache may hold. */
  hashLimit: number;
  /** Netlink event socket buffer, bytes. */
  netlinkBuffer: number;
  /** Sync socket send and receive buffers, bytes. */
  sockBuffer: number;
  resendQueue: number;
}

export const DEFAULT_PAIR_CONF: PairConfOptions = {
  hashLimit: 2_097_152,
  netlinkBuffer: 64 << 20,
  sockBuffer: 24_985_600,
  resendQueue: 262_144,
};

/** conntrackd.conf (1.4 syntax, read by both daemons) for one side of an FT-FW pair over UDP. */
export function pairConf(dir: string, name: string, local: string, peer: string, ifname: string, o: PairConfOptions): string {
  return `General {
  HashSize 1048576
  HashLimit ${o.hashLimit}
  LogFile off
  Syslog off
  LockFile ${join(dir, `${name}.lock`)}
  UNIX {
    Path ${join(dir, `${name}.sock`)}
  }
  NetlinkBufferSize ${o.netlinkBuffer}
  NetlinkBufferSizeMaxGrowth ${o.netlinkBuffer * 4}
}
Sync {
  Mode FTFW {
    ResendQueueSize ${o.resendQueue}
  }
  UDP {
    IPv4_address ${local}
    IPv4_Destination_Address ${peer}
    Port 3780
    Interface ${ifname}
    SndSocketBuffer ${o.sockBuffer}
    RcvSocketBuffer ${o.sockBuffer}
    Checksum on
  }
}
`;
}

export function socketPath(dir: string, name: string): string {
  return join(dir, `${name}.sock`);
}

/**
 * conntrackd.conf text for a two-node replication lab (one statement per
 * line, as ctsync's parser wants). Pure: options in, file text out.
 */

export type SyncModeName = 'FTFW' | 'ALARM' | 'NOTRACK';
export type SyncTransportName = 'UDP' | 'TCP' | 'Multicast';

export interface NodeConfOptions {
  mode: SyncModeName;
  transport: SyncTransportName;
  /** Our address on the sync link (IPv4, no prefix). */
  local: string;
  /** The peer's address on the sync link. */
  peer: string;
  port: number;
  /** Interface name of the sync link inside the namespace. */
  iface: string;
  /** Multicast group (IPv4) for transport Multicast. */
  group?: string;
  lockFile: string;
  socketPath: string;
  logFile: string;
  netlinkBufferSize?: number;
  hashLimit?: number;
  /** ALARM: RefreshTime / CacheTimeout, seconds. */
  refreshTime?: number;
  cacheTimeout?: number;
  /** Sync socket buffers, bytes (SndSocketBuffer / RcvSocketBuffer); unset = kernel default. */
  sndSocketBuffer?: number;
  rcvSocketBuffer?: number;
  /** FTFW: ResendQueueSize (messages). */
  resendQueueSize?: number;
  /** FTFW / NOTRACK: DisableExternalCache on (the external cache is also kept in the kernel). */
  externalInKernel?: boolean;
}

function modeBlock(o: NodeConfOptions): string[] {
  switch (o.mode) {
    case 'FTFW':
      return [
        '  Mode FTFW {',
        ...(o.resendQueueSize ? [`    ResendQueueSize ${o.resendQueueSize}`] : []),
        ...(o.externalInKernel ? ['    DisableExternalCache on'] : []),
        '  }',
      ];
    case 'ALARM':
      return ['  Mode ALARM {', `    RefreshTime ${o.refreshTime ?? 5}`, `    CacheTimeout ${o.cacheTimeout ?? 15}`, '  }'];
    case 'NOTRACK':
      return ['  Mode NOTRACK {', '  }'];
  }
}

function bufferLines(o: NodeConfOptions): string[] {
  return [
    ...(o.sndSocketBuffer ? [`    SndSocketBuffer ${o.sndSocketBuffer}`] : []),
    ...(o.rcvSocketBuffer ? [`    RcvSocketBuffer ${o.rcvSocketBuffer}`] : []),
  ];
}

function linkBlock(o: NodeConfOptions): string[] {
  if (o.transport === 'Multicast') {
    return [
      '  Multicast {',
      `    IPv4_address ${o.group ?? '225.0.0.50'}`,
      `    Group ${o.port}`,
      `    IPv4_interface ${o.local}`,
      `    Interface ${o.iface}`,
      ...bufferLines(o),
      '  }',
    ];
  }
  return [
    `  ${o.transport} {`,
    `    IPv4_address ${o.local}`,
    `    IPv4_Destination_Address ${o.peer}`,
    `    Port ${o.port}`,
    `    Interface ${o.iface}`,
    ...bufferLines(o),
    '  }',
  ];
}

export function nodeConf(o: NodeConfOptions): string {
  return [
    'Sync {',
    ...modeBlock(o),
    ...linkBlock(o),
    '}',
    'General {',
    `  HashLimit ${o.hashLimit ?? 2_000_000}`,
    `  LockFile ${o.lockFile}`,
    `  LogFile ${o.logFile}`,
    '  UNIX {',
    `    Path ${o.socketPath}`,
    '  }',
    `  NetlinkBufferSize ${o.netlinkBufferSize ?? 8_388_608}`,
    '}',
    '',
  ].join('\n');
}

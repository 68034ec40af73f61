/**
 * Configuration text for the HA stack of the lab (pure functions):
 * keepalived.conf (a vrrp_sync_group of a LAN and a WAN instance),
 * conntrackd.conf (FT-FW over UDP on the dedicated link) and the shell
 * wrappers that time every step of a transition.
 * Formats: keepalived.conf(5) and conntrackd.conf(5) of keepalived 2.2 and
 * conntrack-tools 1.4.7.
 */
import { LAB_NET, FW_IF } from './topology';

export interface KeepalivedOptions {
  routerId: string;
  /** 150 for fw1 (initial master), 100 for fw2. */
  priority: number;
  /** Seconds; below 1 needs VRRPv3 (RFC 5798 centiseconds). */
  advertInt: number;
  /** Command keepalived runs as `<notify> primary|backup|fault`; none when undefined. */
  notify?: string;
  /** VRIDs of the LAN and WAN instances. */
  vrids?: [number, number];
  /** VRRP version; default 3 when advertInt < 1, else 2. */
  version?: 2 | 3;
}

export function keepalivedConf(o: KeepalivedOptions): string {
  const [lanId, wanId] = o.vrids ?? [51, 52];
  const v3 = (o.version ?? (o.advertInt < 1 ? 3 : 2)) === 3;
  if (!v3 && (o.advertInt < 1 || !Number.isInteger(o.advertInt))) throw new Error('VRRPv2 needs a whole advert_int (RFC 3768 §5.3.7)');
  const notify = o.notify
    ? [`  notify_master "${o.notify} primary"`, `  notify_backup "${o.notify} backup"`, `  notify_fault "${o.notify} fault"`]
    : [];
  const inst = (name: string, ifn: string, id: number, vip: string): string[] => [
    `vrrp_instance ${name} {`,
    '  state BACKUP',
    `  interface ${ifn}`,
    `  virtual_router_id ${id}`,
    `  priority ${o.priority}`,
    `  advert_int ${o.advertInt}`,
    '  garp_master_delay 1',
    '  garp_master_repeat 3',
    '  virtual_ipaddress {',
    `    ${vip}/24 dev ${ifn}`,
    '  }',
    '}',
  ];
  return [
    'global_defs {',
    `  router_id ${o.routerId}`,
    '  script_user root',
    '  enable_script_security',
    v3 ? '  vrrp_version 3' : '  vrrp_version 2',
    '  vrrp_garp_master_refresh 0',
    '}',
    'vrrp_sync_group FW {',
    '  group {',
    '    LAN',
    '    WAN',
    '  }',
    ...notify,
    '}',
    ...inst('LAN', FW_IF.lan, lanId, LAB_NET.lanVip),
    ...inst('WAN', FW_IF.wan, wanId, LAB_NET.wanVip),
    '',
  ].join('\n');
}

export interface ConntrackdOptions {
  /** 0 = fw1, 1 = fw2. */
  index: 0 | 1;
  runDir: string;
  port?: number;
  expectations?: boolean;
  /** Hash sizes follow the expected number of flows. */
  maxFlows?: number;
  /** DisableExternalCache On: the backup keeps the peer's flows in its kernel table as they arrive. */
  externalInKernel?: boolean;
  /** Sync { FastFailover { } }: liveness probes on the sync link for the embedded VRRP. */
  fastFailover?: boolean;
}

export function conntrackdConf(o: ConntrackdOptions): string {
  const me = LAB_NET.fw[o.index];
  const peer = LAB_NET.fw[o.index === 0 ? 1 : 0];
  const limit = Math.max(262_144, (o.maxFlows ?? 0) * 2);
  const ignore = [
    '127.0.0.1',
    ...LAB_NET.fw.flatMap((f) => [f.lan, f.wan, f.sync]),
  ];
  return [
    'Sync {',
    '  Mode FTFW {',
    `    DisableExternalCache ${o.externalInKernel === true ? 'On' : 'Off'}`,
    '    CommitTimeout 1800',
    '    PurgeTimeout 5',
    '  }',
    '  UDP {',
    `    IPv4_address ${me.sync}`,
    `    IPv4_Destination_Address ${peer.sync}`,
    `    Port ${o.port ?? 3780}`,
    `    Interface ${FW_IF.sync}`,
    '    SndSocketBuffer 24985600',
    '    RcvSocketBuffer 24985600',
    '    Checksum on',
    '  }',
    ...(o.expectations ? ['  Options {', '    ExpectationSync On', '  }'] : []),
    ...(o.fastFailover ? ['  FastFailover {', '    Interval 20', '    Misses 5', '  }'] : []),
    '}',
    'General {',
    '  HashSize 65536',
    `  HashLimit ${limit}`,
    `  LogFile ${o.runDir}/conntrackd.log`,
    '  Syslog off',
    `  LockFile ${o.runDir}/conntrackd.lock`,
    '  UNIX {',
    `    Path ${o.runDir}/conntrackd.ctl`,
    '  }',
    '  NetlinkBufferSize 8388608',
    '  NetlinkBufferSizeMaxGrowth 67108864',
    '  NetlinkEventsReliable Off',
    '  Filter From Userspace {',
    '    Protocol Accept {',
    '      TCP',
    '      UDP',
    '      ICMP',
    '    }',
    '    Address Ignore {',
    ...ignore.map((a) => `      IPv4_address ${a}`),
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The sync-daemon wrapper: logs `<epoch ms> begin|end <args> [rc]` to
 * `stepsLog` around every call, so each transition step is timed.
 */
export function timedBinScript(realBin: string, stepsLog: string): string {
  return [
    '#!/bin/sh',
    `echo "$(date +%s%3N) begin $*" >> '${stepsLog}'`,
    `'${realBin}' "$@"`,
    'rc=$?',
    `echo "$(date +%s%3N) end $* $rc" >> '${stepsLog}'`,
    'exit $rc',
    '',
  ].join('\n');
}

/** keepalived's notify command: timestamps, then the (patched) primary-backup.sh when given. */
export function notifyScript(stepsLog: string, primaryBackup: string | null): string {
  return [
    '#!/bin/sh',
    `echo "$(date +%s%3N) notify-begin $1" >> '${stepsLog}'`,
    primaryBackup ? `'${primaryBackup}' "$1"` : ':',
    `echo "$(date +%s%3N) notify-end $1" >> '${stepsLog}'`,
    '',
  ].join('\n');
}

/** primary-backup.sh of conntrackd's examples with its three settings pointed at this run. */
export function patchPrimaryBackup(original: string, bin: string, config: string, lock: string): string {
  return original
    .replace(/^CONNTRACKD_BIN=.*$/m, `CONNTRACKD_BIN='${bin}'`)
    .replace(/^CONNTRACKD_LOCK=.*$/m, `CONNTRACKD_LOCK='${lock}'`)
    .replace(/^CONNTRACKD_CONFIG=.*$/m, `CONNTRACKD_CONFIG='${config}'`);
}

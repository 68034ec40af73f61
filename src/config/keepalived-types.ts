/**
 * Typed model of the VRRP subset of keepalived.conf (keepalived.conf(5)).
 * Defaults are keepalived's (global_defs and vrrp_instance sections of the manual).
 */
import { Cidr } from './values';
import { Diagnostic } from './diagnostics';

/** A notify script: the configured command split into argv, plus optional user/group. */
export interface NotifyScript {
  /** The command as written (quotes removed). */
  text: string;
  /** Split on unquoted spaces; single quotes keep spaces (keepalived rule). */
  argv: string[];
  user?: string;
  group?: string;
  line: number;
}

export interface NotifyConfig {
  master?: NotifyScript;
  backup?: NotifyScript;
  fault?: NotifyScript;
  stop?: NotifyScript;
  /** "notify": called for every transition with TYPE NAME STATE PRIORITY appended. */
  any?: NotifyScript;
}

export interface GarpConfig {
  /** Seconds before the second burst of gratuitous ARPs after becoming MASTER; 0 = none. Default 5. */
  masterDelay: number;
  /** Gratuitous ARPs per burst after becoming MASTER. Default 5. */
  masterRepeat: number;
  /** Default: masterDelay. */
  lowerPrioDelay: number;
  /** Default: masterRepeat. */
  lowerPrioRepeat: number;
  /** Seconds between refresh bursts while MASTER; 0 = off (default). */
  masterRefresh: number;
  /** Default 1. */
  masterRefreshRepeat: number;
}

export interface GlobalDefs {
  routerId?: string;
  /** Default 2 (IPv6 instances always use 3). */
  vrrpVersion: 2 | 3;
  garp: GarpConfig;
  /** Seconds between gratuitous ARPs on one interface. Default 0. */
  garpInterval: number;
  /** Seconds between unsolicited neighbour adverts. Default 0. */
  gnaInterval: number;
  scriptUser?: { user: string; group?: string };
  /** Default false. */
  enableScriptSecurity: boolean;
  /** Default false. */
  vrrpStrict: boolean;
  /** Default 224.0.0.18 (RFC 5798 section 5.1.1.2). */
  mcastGroup4: string;
  /** Default ff02::12 (RFC 5798 section 5.1.2.2). */
  mcastGroup6: string;
  /**
   * vrrp_priority: nice value (-20..19) of the VRRP speaker. keepalived applies it to its
   * VRRP process (default 0); ctsync to its HA thread, default -10 there (it shares the
   * process with replication, see docs/ha.md).
   */
  vrrpNice?: number;
}

export interface VirtualAddress extends Cidr {
  dev?: string;
  label?: string;
  brd?: string;
  scope?: string;
  /** keepalived 'no_track'. */
  noTrack: boolean;
  line: number;
}

export interface TrackInterface {
  name: string;
  /** -253..253; 0 (default) means "go to FAULT when down". */
  weight: number;
  reverse: boolean;
}

export interface UnicastPeer {
  address: string;
  family: 4 | 6;
  minTtl?: number;
  maxTtl?: number;
}

export interface VrrpInstance {
  name: string;
  file: string;
  line: number;
  /** Initial state. Default BACKUP. */
  state: 'MASTER' | 'BACKUP';
  interface: string;
  /** 1..255. */
  vrid: number;
  /** 1..255, 255 = address owner. Default 100. */
  priority: number;
  /** Advertisement interval in centiseconds (RFC 5798 section 5.2.7). Default 100 (1 s). */
  advertIntCs: number;
  /** Effective version: instance 'version', else global vrrp_version; IPv6 forces 3. */
  version: 2 | 3;
  /** Address family of the instance (from its VIPs). */
  family: 4 | 6;
  /** Default true; 'nopreempt' sets false. */
  preempt: boolean;
  /** Seconds (0..1000, fractional). Default 0. */
  preemptDelay: number;
  trackInterfaces: TrackInterface[];
  virtualIpaddresses: VirtualAddress[];
  virtualIpaddressesExcluded: VirtualAddress[];
  unicastSrcIp?: string;
  unicastPeers: UnicastPeer[];
  mcastSrcIp?: string;
  /** VRRPv2 only (RFC 2338 simple text password; only 8 characters are used). */
  authentication?: { type: 'PASS'; pass: string };
  garp: GarpConfig;
  notify: NotifyConfig;
  /** Default false. */
  dontTrackPrimary: boolean;
  /** Name of the vrrp_sync_group this instance belongs to. */
  syncGroup?: string;
}

export interface SyncGroup {
  name: string;
  file: string;
  line: number;
  members: string[];
  notify: NotifyConfig;
  trackInterfaces: TrackInterface[];
}

export interface KeepalivedConfig {
  globalDefs: GlobalDefs;
  syncGroups: SyncGroup[];
  instances: VrrpInstance[];
}

export interface KeepalivedParseResult {
  config: KeepalivedConfig;
  diagnostics: Diagnostic[];
}

export const KEEPALIVED_DEFAULTS = {
  vrrpVersion: 2,
  priority: 100,
  advertIntCs: 100,
  garpMasterDelay: 5,
  garpMasterRepeat: 5,
  garpMasterRefresh: 0,
  garpMasterRefreshRepeat: 1,
  mcastGroup4: '224.0.0.18',
  mcastGroup6: 'ff02::12',
  /** RFC 3768 section 5.3.7: VRRPv2 advert interval in whole seconds, 8 bits. */
  v2AdvertMaxS: 255,
  /** RFC 5798 section 5.2.7: 12-bit Max Adver Int in centiseconds. */
  v3AdvertMaxCs: 4095,
  preemptDelayMax: 1000,
} as const;

export function defaultGlobalDefs(): GlobalDefs {
  return {
    vrrpVersion: 2,
    garp: {
      masterDelay: KEEPALIVED_DEFAULTS.garpMasterDelay,
      masterRepeat: KEEPALIVED_DEFAULTS.garpMasterRepeat,
      lowerPrioDelay: KEEPALIVED_DEFAULTS.garpMasterDelay,
      lowerPrioRepeat: KEEPALIVED_DEFAULTS.garpMasterRepeat,
      masterRefresh: KEEPALIVED_DEFAULTS.garpMasterRefresh,
      masterRefreshRepeat: KEEPALIVED_DEFAULTS.garpMasterRefreshRepeat,
    },
    garpInterval: 0,
    gnaInterval: 0,
    enableScriptSecurity: false,
    vrrpStrict: false,
    mcastGroup4: KEEPALIVED_DEFAULTS.mcastGroup4,
    mcastGroup6: KEEPALIVED_DEFAULTS.mcastGroup6,
  };
}

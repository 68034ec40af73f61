/** What `ctsyncd init` renders from: the cluster, the node we are, and install paths. */
import type { ClusterConfig, ClusterNode } from '../config/cluster';

export interface InitPaths {
  /** ctsyncd binary as services and agents call it. */
  binary: string;
  /** Sync configuration (conntrackd.conf syntax). */
  config: string;
  /** keepalived notify hook. */
  notifyHook: string;
  controlSocket: string;
  lockFile: string;
}

export const DEFAULT_PATHS: InitPaths = {
  binary: '/usr/local/bin/ctsyncd',
  config: '/etc/conntrackd/conntrackd.conf',
  notifyHook: '/usr/local/lib/ctsync/keepalived-notify',
  controlSocket: '/var/run/conntrackd.ctl',
  lockFile: '/var/lock/conntrack.lock',
};

export interface InitContext {
  cluster: ClusterConfig;
  node: ClusterNode;
  peers: ClusterNode[];
  paths: InitPaths;
  /** Operator group for the control socket and the D-Bus policy; undefined = root only. */
  group?: string;
  /** Sync key file for `Sync { Auth { KeyFile } }`; undefined = no authentication (--no-auth). */
  keyFile?: string;
}

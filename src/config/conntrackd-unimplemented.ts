/**
 * The single list of conntrackd.conf options that ctsync accepts (so existing
 * files keep working) but does not act on. Each use is reported as a warning
 * with file:line: "'Nice' is accepted but ignored: <reason>".
 *
 * Keys are block paths of keywords as written, joined by '/', e.g.
 * 'General/UNIX/Backlog'. A key naming a block covers the whole block.
 */
export const CONNTRACKD_UNIMPLEMENTED: Readonly<Record<string, string>> = {
  'General/Nice': 'deprecated (conntrackd ignores it too); use nice(1)',
  'General/Scheduler': 'ctsyncd does not change its scheduling class; use chrt(1) or systemd CPUSchedulingPolicy=',
  'General/HashSize': "ctsync's caches size themselves (HashLimit is honoured)",
  'General/Syslog': 'ctsyncd logs JSON lines to stderr or to LogFile',
  'General/PollSecs': 'polling mode is not implemented; ctsyncd always uses netlink events',
  'General/EventIterationLimit': 'events are read in batches of up to 256 datagrams per wakeup, every millisecond under load (not configurable)',
  'Sync/Mode/DisableInternalCache': 'ctsync always keeps the internal cache (it serves -i, -B and the resync after an overrun)',
  'Sync/TCP/ErrorQueueLength': 'failed sends are counted; FT-FW resends what was lost, so there is no error queue',
  'General/UNIX/Backlog': 'deprecated (conntrackd ignores it too)',
  'General/Filter/Kernelspace': 'filtering is done in user space (same result, more CPU)',
  'Sync/Multicast/IPv6_interface': 'not needed (conntrackd ignores it too)',
  Stats: 'statistics-collector mode is not implemented; ctsync only implements Sync mode',
  Helper: 'user-space conntrack helpers are not implemented',
};

export function unimplementedReason(path: string): string | undefined {
  return CONNTRACKD_UNIMPLEMENTED[path];
}

/**
 * vrrp_sync_group: the members of a group move together (keepalived
 * vrrp_sync.c semantics, keepalived.conf(5) "vrrp_sync_group"):
 *   - one member in FAULT => the whole group is FAULT (others forced to FAULT);
 *   - one member becomes MASTER (group not in fault) => all become MASTER;
 *   - one member drops from MASTER to BACKUP => the other masters follow;
 *   - when the last member with a fault of its own recovers, the members that
 *     were only forced into FAULT come back as BACKUP.
 * Pure: given the members' states and one transition, returns the forced moves.
 */
import type { VrrpState } from './machine';

export interface GroupMember {
  name: string;
  state: VrrpState;
  /** The member's own interface is down (not merely forced into FAULT). */
  ownFault: boolean;
}

export interface ForcedMove {
  member: string;
  to: 'MASTER' | 'BACKUP' | 'FAULT';
}

/** Group state as keepalived reports it to the group notify script. */
export function groupState(members: GroupMember[]): VrrpState {
  if (members.some((m) => m.state === 'FAULT')) return 'FAULT';
  if (members.length > 0 && members.every((m) => m.state === 'MASTER')) return 'MASTER';
  if (members.some((m) => m.state === 'INIT')) return 'INIT';
  return 'BACKUP';
}

/**
 * Forced moves after `changed` went from `from` to `to`. `members` holds the
 * states AFTER the change (including `changed` itself).
 */
export function syncGroupMoves(members: GroupMember[], changed: string, from: VrrpState, to: VrrpState): ForcedMove[] {
  const others = members.filter((m) => m.name !== changed && m.state !== 'INIT');
  const anyOwnFault = members.some((m) => m.ownFault);
  if (to === 'FAULT') return others.filter((m) => m.state !== 'FAULT').map((m) => ({ member: m.name, to: 'FAULT' }));
  if (from === 'FAULT' && !anyOwnFault) {
    // Recovery: everybody leaves FAULT and starts as BACKUP.
    return others.filter((m) => m.state === 'FAULT').map((m) => ({ member: m.name, to: 'BACKUP' }));
  }
  if (anyOwnFault) {
    // The group stays in FAULT: a member that came out must go back.
    return [{ member: changed, to: 'FAULT' }];
  }
  if (to === 'MASTER') return others.filter((m) => m.state !== 'MASTER').map((m) => ({ member: m.name, to: 'MASTER' }));
  if (to === 'BACKUP' && from === 'MASTER') return others.filter((m) => m.state === 'MASTER').map((m) => ({ member: m.name, to: 'BACKUP' }));
  return [];
}

/** The HA stacks the lab can run on its two firewalls (pure). */

/**
 * ctsyncd-vrrp: ctsyncd as the whole HA stack with fast failover (Sync/FastFailover);
 * ctsyncd-vrrp-rfc: the same with the RFC's master down interval only.
 */
export type Variant = 'conntrackd' | 'ctsyncd' | 'ctsyncd-vrrp' | 'ctsyncd-vrrp-rfc' | 'none';

export const VARIANTS: readonly Variant[] = ['conntrackd', 'ctsyncd', 'ctsyncd-vrrp', 'ctsyncd-vrrp-rfc', 'none'];

/** ctsyncd elects the master itself (no keepalived). */
export function isEmbedded(v: Variant): boolean {
  return v === 'ctsyncd-vrrp' || v === 'ctsyncd-vrrp-rfc';
}

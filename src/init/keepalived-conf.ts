/**
 * keepalived.conf for those who keep keepalived as the VRRP speaker: one
 * instance per side (LAN, WAN) in a sync group, so both sides fail over
 * together, and the group's `notify` runs hooks/keepalived-notify (GROUP
 * NAME STATE PRIORITY). Instances carry no notify of their own, so a
 * transition runs once.
 */
import type { Cidr } from '../config/values';
import type { InitContext } from './types';

function seconds(cs: number): string {
  return cs % 100 === 0 ? String(cs / 100) : (cs / 100).toFixed(2).replace(/0$/, '');
}

function instance(ctx: InitContext, side: 'lan' | 'wan', iface: string, vips: Cidr[]): string[] {
  const { cluster, node } = ctx;
  return [
    `vrrp_instance ${cluster.name}_${side} {`,
    '    state BACKUP',
    `    interface ${iface}`,
    `    virtual_router_id ${cluster.vrid}`,
    `    priority ${node.priority}`,
    `    advert_int ${seconds(cluster.advertIntCs)}`,
    '    # no preemption: a recovered node does not take the flows back',
    '    nopreempt',
    '    virtual_ipaddress {',
    ...vips.map((v) => `        ${v.address}/${v.prefix} dev ${iface}`),
    '    }',
    '}',
  ];
}

export function renderKeepalivedConf(ctx: InitContext): string {
  const { cluster, node, paths } = ctx;
  const sides: Array<['lan' | 'wan', string, Cidr[]]> = [];
  if (cluster.vips.lan.length > 0) sides.push(['lan', node.lanInterface, cluster.vips.lan]);
  if (cluster.vips.wan.length > 0) sides.push(['wan', node.wanInterface, cluster.vips.wan]);
  const lines = [
    `# keepalived configuration for node ${node.name} of cluster ${cluster.name}; written by \`ctsyncd init\`.`,
    `# On state changes keepalived runs ${paths.notifyHook} (GROUP NAME STATE PRIORITY),`,
    '# which drives ctsyncd through its control socket.',
    'global_defs {',
    `    router_id ${node.name}`,
    ...(cluster.vrrpVersion === 3 ? ['    vrrp_version 3'] : []),
    '    enable_script_security',
    '    script_user root',
    '}',
    '',
    `vrrp_sync_group ${cluster.name} {`,
    '    group {',
    ...sides.map(([side]) => `        ${cluster.name}_${side}`),
    '    }',
    `    notify "${paths.notifyHook}"`,
    '}',
    '',
  ];
  for (const [side, iface, vips] of sides) lines.push(...instance(ctx, side, iface, vips), '');
  return lines.join('\n');
}

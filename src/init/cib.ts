/**
 * Pacemaker CIB snippet (the <configuration> part to load with
 * `cibadmin --replace --scope configuration --xml-file cib.xml`, or to merge by
 * hand): a promotable clone of ocf:ctsync:ctsync with one promoted instance,
 * the VIPs as ocf:heartbeat:IPaddr2 in a group that follows the promoted
 * instance, and an order constraint (promote, then start the VIPs).
 * Role names are Pacemaker 2.1's (Promoted / Unpromoted).
 */
import type { Cidr } from '../config/values';
import type { InitContext } from './types';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function nv(owner: string, name: string, value: string): string {
  return `<nvpair id="${xmlEscape(`${owner}-${name}`)}" name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`;
}

function vip(id: string, v: Cidr, nic: string): string[] {
  return [
    `        <primitive id="${id}" class="ocf" provider="heartbeat" type="IPaddr2">`,
    `          <instance_attributes id="${id}-ia">`,
    `            ${nv(`${id}-ia`, 'ip', v.address)}`,
    `            ${nv(`${id}-ia`, 'cidr_netmask', String(v.prefix))}`,
    `            ${nv(`${id}-ia`, 'nic', nic)}`,
    '          </instance_attributes>',
    `          <operations><op id="${id}-monitor" name="monitor" interval="10s" timeout="20s"/></operations>`,
    '        </primitive>',
  ];
}

export function renderCib(ctx: InitContext): string {
  const { cluster, node, paths } = ctx;
  const n = cluster.nodes.length;
  const ops: Array<[string, string, string?]> = [
    ['start', '30s'], ['stop', '30s'], ['promote', '120s'], ['demote', '30s'], ['notify', '30s'],
  ];
  const vips = [
    ...cluster.vips.lan.map((v, i) => vip(`vip-lan-${i + 1}`, v, node.lanInterface)),
    ...cluster.vips.wan.map((v, i) => vip(`vip-wan-${i + 1}`, v, node.wanInterface)),
  ];
  return [
    '<?xml version="1.0"?>',
    `<!-- Pacemaker configuration for cluster ${xmlEscape(cluster.name)}; written by ctsyncd init. -->`,
    '<configuration>',
    '  <crm_config/>',
    '  <nodes/>',
    '  <resources>',
    '    <clone id="ctsync-clone">',
    '      <meta_attributes id="ctsync-clone-meta">',
    `        ${nv('ctsync-clone-meta', 'promotable', 'true')}`,
    `        ${nv('ctsync-clone-meta', 'promoted-max', '1')}`,
    `        ${nv('ctsync-clone-meta', 'promoted-node-max', '1')}`,
    `        ${nv('ctsync-clone-meta', 'clone-max', String(n))}`,
    `        ${nv('ctsync-clone-meta', 'clone-node-max', '1')}`,
    `        ${nv('ctsync-clone-meta', 'notify', 'true')}`,
    '      </meta_attributes>',
    '      <primitive id="ctsync" class="ocf" provider="ctsync" type="ctsync">',
    '        <instance_attributes id="ctsync-ia">',
    `          ${nv('ctsync-ia', 'binary', paths.binary)}`,
    `          ${nv('ctsync-ia', 'config', paths.config)}`,
    '        </instance_attributes>',
    '        <operations>',
    ...ops.map(([name, timeout]) => `          <op id="ctsync-${name}" name="${name}" interval="0s" timeout="${timeout}"/>`),
    '          <op id="ctsync-monitor-promoted" name="monitor" interval="10s" timeout="20s" role="Promoted"/>',
    '          <op id="ctsync-monitor-unpromoted" name="monitor" interval="20s" timeout="20s" role="Unpromoted"/>',
    '        </operations>',
    '      </primitive>',
    '    </clone>',
    ...(vips.length > 0 ? ['    <group id="vips">', ...vips.flat(), '    </group>'] : []),
    '  </resources>',
    '  <constraints>',
    ...(vips.length > 0
      ? [
          '    <rsc_colocation id="vips-with-ctsync-promoted" rsc="vips" with-rsc="ctsync-clone" with-rsc-role="Promoted" score="INFINITY"/>',
          '    <rsc_order id="ctsync-promote-then-vips" first="ctsync-clone" first-action="promote" then="vips" then-action="start" kind="Mandatory"/>',
        ]
      : []),
    '  </constraints>',
    '</configuration>',
    '',
  ].join('\n');
}

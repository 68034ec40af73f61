/**
 * conntrackd.conf dedicated links: "Multicast [Default] { ... }",
 * "UDP [Default] { ... }", "TCP [Default] { ... }" inside Sync.
 */
import { Stmt, posOf, wordPos } from './blocktree';
import { Ctx, boolOpt, checked, single, uintOpt, unknownOption, warnIfUnimplemented } from './conntrackd-common';
import { CONNTRACKD_DEFAULTS, LinkConfig } from './conntrackd-types';
import { parseIfName, parseIp } from './values';

export type LinkKind = LinkConfig['kind'];

export const LINK_BLOCKS: Readonly<Record<string, LinkKind>> = { Multicast: 'multicast', UDP: 'udp', TCP: 'tcp' };

const MCAST_KEYS = [
  'IPv4_address', 'IPv6_address', 'IPv4_interface', 'IPv6_interface', 'Interface', 'Group',
  'SndSocketBuffer', 'RcvSocketBuffer', 'McastSndSocketBuffer', 'McastRcvSocketBuffer', 'Checksum',
];
const UNICAST_KEYS = [
  'IPv4_address', 'IPv6_address', 'IPv4_Destination_Address', 'IPv6_Destination_Address', 'Interface', 'Port',
  'SndSocketBuffer', 'RcvSocketBuffer', 'Checksum',
];

interface Acc {
  family?: 4 | 6;
  familyLine?: number;
  address?: string;
  destination?: string;
  interfaceAddress?: string;
  iface?: string;
  port?: number;
  snd?: number;
  rcv?: number;
  checksum: boolean;
  errorQueueLength: number;
}

function isMulticast(family: 4 | 6, addr: string): boolean {
  if (family === 6) return addr.toLowerCase().startsWith('ff');
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** Read one link block; undefined when it is unusable (diagnostics given). */
export function readLink(ctx: Ctx, s: Stmt, kind: LinkKind): LinkConfig | undefined {
  const name = s.name.text;
  let isDefault = false;
  if (s.args.length === 1 && s.args[0]?.text === 'Default') isDefault = true;
  else if (s.args.length > 0) {
    ctx.sink.error(posOf(s), `unexpected '${s.args.map((a) => a.text).join(' ')}' after '${name}' in Sync (only 'Default' is allowed)`);
  }
  if (!s.block) {
    ctx.sink.error(posOf(s), `'${name}' in Sync must open a block with '{'`);
    return undefined;
  }
  const where = `Sync/${name}`;
  const keys = kind === 'multicast' ? MCAST_KEYS : kind === 'tcp' ? [...UNICAST_KEYS, 'ErrorQueueLength'] : UNICAST_KEYS;
  const acc: Acc = { checksum: true, errorQueueLength: CONNTRACKD_DEFAULTS.tcpErrorQueueLength };
  for (const o of s.block) {
    const key = o.name.quoted ? '' : o.name.text;
    if (!keys.includes(key)) {
      unknownOption(ctx, o, where, keys);
      continue;
    }
    readLinkOption(ctx, o, key, kind, where, acc);
  }
  return finishLink(ctx, s, kind, isDefault, where, acc);
}

function setFamily(ctx: Ctx, o: Stmt, acc: Acc, fam: 4 | 6): boolean {
  if (acc.family !== undefined && acc.family !== fam) {
    ctx.sink.error(posOf(o), `'${o.name.text}' is IPv${fam} but line ${acc.familyLine ?? 0} set IPv${acc.family}; a link uses one address family`);
    return false;
  }
  acc.family = fam;
  acc.familyLine = o.line;
  return true;
}

function readLinkOption(ctx: Ctx, o: Stmt, key: string, kind: LinkKind, where: string, acc: Acc): void {
  switch (key) {
    case 'IPv4_address':
    case 'IPv6_address':
    case 'IPv4_Destination_Address':
    case 'IPv6_Destination_Address':
    case 'IPv4_interface': {
      const fam = key.startsWith('IPv4') ? 4 : 6;
      const w = single(ctx, o, where);
      const ip = w ? checked(ctx, o, w, parseIp(w.text, fam)) : undefined;
      if (!ip || !setFamily(ctx, o, acc, fam)) return;
      if (key === 'IPv4_interface') acc.interfaceAddress = ip.address;
      else if (key.includes('Destination')) acc.destination = ip.address;
      else acc.address = ip.address;
      return;
    }
    case 'IPv6_interface':
      single(ctx, o, where);
      warnIfUnimplemented(ctx, o, 'Sync/Multicast/IPv6_interface');
      return;
    case 'Interface': {
      const w = single(ctx, o, where);
      const v = w ? checked(ctx, o, w, parseIfName(w.text)) : undefined;
      if (v !== undefined) acc.iface = v;
      return;
    }
    case 'Group':
    case 'Port': {
      const v = uintOpt(ctx, o, where, 1, 65535);
      if (v !== undefined) acc.port = v;
      return;
    }
    case 'SndSocketBuffer':
    case 'McastSndSocketBuffer': {
      const v = uintOpt(ctx, o, where, 1);
      if (v !== undefined) acc.snd = v;
      return;
    }
    case 'RcvSocketBuffer':
    case 'McastRcvSocketBuffer': {
      const v = uintOpt(ctx, o, where, 1);
      if (v !== undefined) acc.rcv = v;
      return;
    }
    case 'Checksum': {
      const v = boolOpt(ctx, o, where);
      if (v !== undefined) acc.checksum = v;
      return;
    }
    case 'ErrorQueueLength': {
      const v = uintOpt(ctx, o, where, 1);
      if (v !== undefined && kind === 'tcp') acc.errorQueueLength = v;
      warnIfUnimplemented(ctx, o, 'Sync/TCP/ErrorQueueLength');
      return;
    }
  }
}

function finishLink(ctx: Ctx, s: Stmt, kind: LinkKind, isDefault: boolean, where: string, acc: Acc): LinkConfig | undefined {
  const pos = posOf(s);
  const common = {
    isDefault,
    checksum: acc.checksum,
    line: s.line,
    ...(acc.iface !== undefined ? { interface: acc.iface } : {}),
    ...(acc.snd !== undefined ? { sndSocketBuffer: acc.snd } : {}),
    ...(acc.rcv !== undefined ? { rcvSocketBuffer: acc.rcv } : {}),
  };
  if (kind === 'multicast') {
    let okay = true;
    if (acc.address === undefined || acc.family === undefined) {
      ctx.sink.error(pos, `missing 'IPv4_address' or 'IPv6_address' (the multicast group) in ${where}`);
      okay = false;
    } else if (!isMulticast(acc.family, acc.address)) {
      ctx.sink.error(pos, `${acc.address} in ${where} is not a multicast address`);
      okay = false;
    }
    if (acc.port === undefined) {
      ctx.sink.error(pos, `missing 'Group' (the UDP port) in ${where}`);
      okay = false;
    }
    if (acc.family === 6 && acc.iface === undefined) {
      ctx.sink.error(pos, `IPv6 multicast in ${where} needs 'Interface'`);
      okay = false;
    }
    if (!okay || acc.address === undefined || acc.family === undefined || acc.port === undefined) return undefined;
    return {
      kind,
      family: acc.family,
      group: acc.address,
      port: acc.port,
      ...common,
      ...(acc.interfaceAddress !== undefined ? { interfaceAddress: acc.interfaceAddress } : {}),
    };
  }
  let okay = true;
  if (acc.destination === undefined) {
    ctx.sink.error(pos, `missing 'IPv4_Destination_Address' or 'IPv6_Destination_Address' in ${where}`);
    okay = false;
  }
  if (acc.port === undefined) {
    ctx.sink.error(pos, `missing 'Port' in ${where}`);
    okay = false;
  }
  if (!okay || acc.destination === undefined || acc.family === undefined || acc.port === undefined) return undefined;
  return {
    kind,
    family: acc.family,
    destination: acc.destination,
    port: acc.port,
    errorQueueLength: acc.errorQueueLength,
    ...common,
    ...(acc.address !== undefined ? { address: acc.address } : {}),
  };
}

/** Cross-link checks: one kind, at most 4, at most one Default. Returns the default index. */
export function checkLinks(ctx: Ctx, file: string, links: { link: LinkConfig; stmt: Stmt }[]): number {
  const first = links[0];
  if (!first) return 0;
  let def = -1;
  links.forEach(({ link, stmt }, i) => {
    if (link.kind !== first.link.kind) {
      ctx.sink.error(posOf(stmt), `cannot use '${stmt.name.text}' with other dedicated link protocols ('${first.stmt.name.text}' at line ${first.stmt.line})`);
    }
    if (i === CONNTRACKD_DEFAULTS.maxLinks) {
      ctx.sink.error(posOf(stmt), `too many dedicated links in Sync (maximum ${CONNTRACKD_DEFAULTS.maxLinks})`);
    }
    if (link.isDefault) {
      if (def >= 0) ctx.sink.error(posOf(stmt), `more than one dedicated link marked 'Default'`);
      else def = i;
    }
    const same = links.slice(0, i).find((o) => o.link.kind === 'multicast' && link.kind === 'multicast' && o.link.port === link.port && o.link.group === link.group);
    if (same) ctx.sink.warning(wordPos(file, stmt.name), `redundant links should use different multicast groups (same as line ${same.stmt.line})`);
  });
  return def < 0 ? 0 : def;
}

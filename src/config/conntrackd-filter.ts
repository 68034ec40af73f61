/**
 * conntrackd.conf "General { Filter [From Userspace|Kernelspace] { ... } }".
 *
 *   Protocol Accept|Ignore { TCP SCTP ... }
 *   Address  Accept|Ignore { IPv4_address a.b.c.d[/n]  IPv6_address x::y[/n] }
 *   State    Accept|Ignore { ESTABLISHED CLOSED ... for TCP }
 */
import { Stmt, Word, posOf, wordPos } from './blocktree';
import { Ctx, unknownOption, warnIfUnimplemented } from './conntrackd-common';
import { FilterConfig, FilterPolicy, TCP_STATES, TcpStateName } from './conntrackd-types';
import { parseCidr } from './values';

/**
 * Layer-4 protocol numbers (IANA "Assigned Internet Protocol Numbers", as in
 * /etc/protocols; conntrackd resolves names with getprotobyname()).
 */
const PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, dccp: 33, gre: 47, esp: 50, ah: 51,
  'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136,
};

function policyOf(ctx: Ctx, s: Stmt, where: string): FilterPolicy | undefined {
  const p = s.args[0]?.text;
  if (s.args.length === 1 && (p === 'Accept' || p === 'Ignore')) {
    return p === 'Accept' ? 'accept' : 'ignore';
  }
  ctx.sink.error(posOf(s), `'${s.name.text}' in ${where} must be followed by Accept or Ignore and a '{' block`);
  return undefined;
}

/** All words of a list block, whatever the line breaks ("TCP\nUDP" or "TCP UDP"). */
function listWords(block: Stmt[]): Word[] {
  return block.flatMap((st) => [st.name, ...st.args]);
}

export function readFilter(ctx: Ctx, s: Stmt, prev?: FilterConfig): FilterConfig {
  const f: FilterConfig = prev ?? { from: 'userspace' };
  const a = s.args.map((w) => w.text);
  if (a.length === 2 && a[0] === 'From' && (a[1] === 'Userspace' || a[1] === 'Kernelspace')) {
    if (a[1] === 'Kernelspace') {
      f.from = 'kernelspace';
      warnIfUnimplemented(ctx, s, 'General/Filter/Kernelspace', 'Filter From Kernelspace');
    }
  } else if (a.length !== 0) {
    ctx.sink.error(posOf(s), `'Filter' must be followed by '{', 'From Userspace {' or 'From Kernelspace {'`);
  }
  if (!s.block) {
    ctx.sink.error(posOf(s), "'Filter' in General must open a block with '{'");
    return f;
  }
  const where = 'General/Filter';
  for (const item of s.block) {
    const kind = item.name.quoted ? '' : item.name.text;
    if (kind !== 'Protocol' && kind !== 'Address' && kind !== 'State') {
      unknownOption(ctx, item, where, ['Protocol', 'Address', 'State']);
      continue;
    }
    const policy = policyOf(ctx, item, where);
    if (!policy) continue;
    if (!item.block) {
      ctx.sink.error(posOf(item), `'${kind}' in ${where} must open a block with '{'`);
      continue;
    }
    const sub = `${where}/${kind} ${item.args[0]?.text ?? ''}`;
    if (kind === 'Protocol') readProtocols(ctx, item, policy, f);
    else if (kind === 'Address') readAddresses(ctx, item.block, policy, f, sub);
    else readStates(ctx, item.block, policy, f, sub);
  }
  return f;
}

function checkPolicy(ctx: Ctx, s: Stmt, existing: FilterPolicy | undefined, policy: FilterPolicy): void {
  if (existing && existing !== policy) {
    ctx.sink.error(posOf(s), `'${s.name.text}' filter has both Accept and Ignore blocks; use one policy`);
  }
}

function readProtocols(ctx: Ctx, s: Stmt, policy: FilterPolicy, f: FilterConfig): void {
  checkPolicy(ctx, s, f.protocol?.policy, policy);
  const p = f.protocol ?? { policy, protocols: [] };
  for (const w of listWords(s.block ?? [])) {
    const num = PROTOCOLS[w.text.toLowerCase()];
    if (num === undefined) {
      ctx.sink.error(wordPos(s.file, w), `unknown protocol '${w.text}' in General/Filter/Protocol`);
    } else if (!p.protocols.some((x) => x.number === num)) {
      p.protocols.push({ name: w.text.toLowerCase(), number: num });
    }
  }
  f.protocol = p;
}

function readAddresses(ctx: Ctx, block: Stmt[], policy: FilterPolicy, f: FilterConfig, where: string): void {
  const first = block[0];
  if (first) checkPolicy(ctx, first, f.address?.policy, policy);
  const a = f.address ?? { policy, addresses: [] };
  for (const st of block) {
    const key = st.name.quoted ? '' : st.name.text;
    if (key !== 'IPv4_address' && key !== 'IPv6_address') {
      unknownOption(ctx, st, where, ['IPv4_address', 'IPv6_address']);
      continue;
    }
    const w = st.args[0];
    if (!w || st.args.length !== 1 || st.block) {
      ctx.sink.error(posOf(st), `'${key}' in ${where} expects one address`);
      continue;
    }
    const r = parseCidr(w.text, key === 'IPv4_address' ? 4 : 6);
    if (!r.ok) {
      ctx.sink.error(wordPos(st.file, w), `invalid value for '${key}': ${r.reason}`);
      continue;
    }
    const dup = a.addresses.some((x) => x.address === r.value.address && x.prefix === r.value.prefix);
    if (dup) ctx.sink.warning(wordPos(st.file, w), `address ${w.text} is repeated in ${where}`);
    else a.addresses.push(r.value);
  }
  f.address = a;
}

function readStates(ctx: Ctx, block: Stmt[], policy: FilterPolicy, f: FilterConfig, where: string): void {
  const first = block[0];
  if (first) checkPolicy(ctx, first, f.state?.policy, policy);
  const st = f.state ?? { policy, tcpStates: [] };
  for (const line of block) {
    const words = [line.name, ...line.args];
    const forAt = words.findIndex((w) => w.text === 'for');
    const proto = words[forAt + 1];
    if (forAt < 1 || !proto || forAt + 2 !== words.length) {
      ctx.sink.error(posOf(line), `expected '<states...> for TCP' in ${where}`);
      continue;
    }
    if (proto.text !== 'TCP') {
      ctx.sink.error(wordPos(line.file, proto), `state filters only apply to TCP, got '${proto.text}'`);
      continue;
    }
    for (const w of words.slice(0, forAt)) {
      const name = (w.text === 'CLOSED' ? 'CLOSE' : w.text) as TcpStateName;
      if (!Object.prototype.hasOwnProperty.call(TCP_STATES, name)) {
        ctx.sink.error(wordPos(line.file, w), `unknown TCP state '${w.text}' in ${where}`);
      } else if (!st.tcpStates.includes(name)) {
        st.tcpStates.push(name);
      }
    }
  }
  f.state = st;
}

/**
 * The failover lab builds, forwards through the VIP owner only, refuses a
 * mid-stream TCP packet of an unknown flow (nf_conntrack_tcp_loose=0), and
 * tears down leaving none of its namespaces.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { createLab, listNamespaces, sweepLabs, LAB_NET, FW_IF, type Lab } from '../../src/lab/topology';
import { startStreams } from '../../src/lab/streams';
import { isRoot, have, waitFor } from '../helpers/netns';
import { INVALID_COUNTER_CMD, parseCounterPackets } from '../../src/lab/ruleset';
import { compileAgent } from './lab-agent';

const ok = isRoot() && have('nft') && have('conntrack');

describe.skipIf(!ok)('lab topology', () => {
  let lab: Lab | null = null;
  const labs: Lab[] = [];
  const agent = ok ? compileAgent() : null;
  const make = (seq: number, ftpHelper = false): Lab => {
    const l = createLab({ prefix: 'ltp', seq, ftpHelper });
    labs.push(l);
    return l;
  };
  const streamOpts = (l: Lab) => ({
    clientNs: l.ns.client, serverNs: l.ns.server, serverAddr: LAB_NET.server, streams: 1, agentPath: agent?.path ?? '',
  });
  afterAll(() => {
    for (const l of labs) l.destroy();
    agent?.cleanup();
  });

  it('builds five namespaces, forwards via the VIP owner, and tears down', async () => {
    lab = make(0);
    const names = Object.values(lab.ns);
    expect(names).toHaveLength(5);
    for (const n of names) expect(listNamespaces()).toContain(n);
    for (const fw of lab.fws) {
      expect(lab.exec(fw, 'sysctl -n net.netfilter.nf_conntrack_tcp_loose').trim()).toBe('0');
      expect(lab.exec(fw, 'sysctl -n net.ipv4.ip_forward').trim()).toBe('1');
    }
    // No VIP yet: the client cannot reach the server.
    await expect(startStreams({ ...streamOpts(lab), startTimeoutMs: 1500 })).rejects.toThrow(/did not connect/);
    // Put the VIPs on fw1 by hand: a TCP SYN from the LAN is NEW, then SNATed to the WAN VIP.
    lab.exec(lab.ns.fw1, `ip addr add ${LAB_NET.lanVip}/24 dev ${FW_IF.lan} && ip addr add ${LAB_NET.wanVip}/24 dev ${FW_IF.wan}`);
    const run = await startStreams(streamOpts(lab));
    const rec = await run.stop();
    expect(rec).toHaveLength(1);
    const ct = lab.exec(lab.ns.fw1, 'conntrack -L -p tcp 2>/dev/null');
    expect(ct).toContain(`src=${LAB_NET.client} dst=${LAB_NET.server}`);
    expect(ct).toContain(`dst=${LAB_NET.wanVip}`);
    // A TCP ACK of an unknown flow is INVALID (nf_conntrack_tcp_loose=0), not picked up;
    // with loose pickup the same packet would be NEW and the counter would stay.
    const invalid = (): number | null => parseCounterPackets(lab?.exec(lab.ns.fw1, INVALID_COUNTER_CMD) ?? '');
    const sendAck = (sport: number): void => {
      lab?.exec(lab.ns.client, `python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
src = socket.inet_aton('${LAB_NET.client}'); dst = socket.inet_aton('${LAB_NET.server}')
hdr = struct.pack('!HHIIBBHHH', ${sport}, 5002, 1000, 2000, 5 << 4, 0x10, 65535, 0, 0)
pseudo = src + dst + struct.pack('!BBH', 0, 6, len(hdr))
b = pseudo + hdr
t = sum(struct.unpack('!%dH' % (len(b)//2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
hdr = hdr[:16] + struct.pack('!H', (~t) & 0xffff) + hdr[18:]
s.sendto(hdr, ('${LAB_NET.server}', 0))
PY`);
    };
    const before = invalid();
    expect(before).toBe(0);
    sendAck(40000);
    expect(await waitFor(() => invalid() === 1, 3000)).toBe(true);
    expect(lab.exec(lab.ns.fw1, 'conntrack -L -p tcp --dport 5002 2>/dev/null')).not.toContain('dport=5002');
    lab.exec(lab.ns.fw1, 'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1');
    sendAck(40001);
    lab.exec(lab.ns.fw1, 'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0');
    sendAck(40002); // same path, after the previous one: once it is counted, 40001 was processed
    expect(await waitFor(() => (invalid() ?? 0) >= 2, 3000)).toBe(true);
    expect(invalid()).toBe(2);
    lab.destroy();
    const left = listNamespaces();
    for (const n of names) expect(left).not.toContain(n);
    lab = null;
  });

  it('sweepLabs removes a dead run and leaves live ones', () => {
    lab = make(1);
    expect(sweepLabs('ltp')).toEqual([]); // this process is alive
    expect(listNamespaces()).toContain(lab.ns.fw1);
    const removed = sweepLabs('ltp', true);
    for (const n of Object.values(lab.ns)) expect(removed).toContain(n);
    for (const n of Object.values(lab.ns)) expect(listNamespaces()).not.toContain(n);
    lab = null;
  });

  it('FTP variant assigns the ftp helper', () => {
    lab = make(2, true);
    expect(lab.exec(lab.ns.fw1, 'nft list ruleset')).toContain('ct helper set "ftp-standard"');
    lab.destroy();
    lab = null;
  });
});

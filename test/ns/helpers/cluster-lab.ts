/**
 * Shared pieces of the active-active namespace tests (cluster-aa,
 * cluster-daemon): a switch namespace with two bridges (brl: LAN, brw: WAN)
 * whose cluster ports do no MAC learning (every frame floods to every
 * firewall), a client namespace with 64 source addresses, an echo server,
 * firewall namespaces sharing one IP and MAC per leg with a stateful forward
 * policy, and readers for the flows in a namespace's conntrack table.
 *
 * Addresses: LAN 192.0.2.0/24 (cluster IP .1, clients .100-.163), WAN
 * 198.51.100.0/24 (cluster IP .1, server .10).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { waitFor, type Lab } from '../../helpers/netns';

export const PORT = 8080;
export const LAN_MCAST = '01:00:5e:00:02:01';
export const WAN_MCAST = '01:00:5e:00:33:01';

const SERVER = `require("net").createServer((s)=>{s.on("error",()=>{});s.on("data",(d)=>s.write(d))}).listen(${PORT},"198.51.100.10",()=>console.log("listening"))`;

/**
 * Client driven by stdin lines: "open N" opens N connections from the 64
 * source addresses in turn and prints "opened OK FAIL src:port,...";
 * "round" echoes a tag on every open connection, prints "round OK FAIL".
 */
const CLIENT = `
const net=require("net");const conns=[];let n=0;
require("readline").createInterface({input:process.stdin}).on("line",async(l)=>{
 const [cmd,arg]=l.split(" ");
 if(cmd==="open"){let ok=0,fail=0;const ps=[];const from=conns.length;
  for(let i=0;i<+arg;i++){const src="192.0.2."+(100+(n++%64));
   ps.push(new Promise((r)=>{const s=net.connect({host:"198.51.100.10",port:${PORT},localAddress:src});s.setNoDelay(true);
    const t=setTimeout(()=>{fail++;s.destroy();r()},10000);
    s.on("error",()=>{});s.on("connect",()=>{clearTimeout(t);ok++;conns.push(s);r()});s.on("close",()=>{})}))}
  await Promise.all(ps);console.log("opened "+ok+" "+fail+" "+conns.slice(from).map((s)=>s.localAddress+":"+s.localPort).join(","))}
 if(cmd==="round"){let ok=0,fail=0;
  await Promise.all(conns.map((s)=>new Promise((r)=>{if(s.destroyed){fail++;return r()}
   let buf="";const tag="x"+Math.random()+"\\n";
   const on=(d)=>{buf+=d;if(buf.includes(tag)){clearTimeout(t);ok++;s.removeListener("data",on);r()}};
   const t=setTimeout(()=>{fail++;s.removeListener("data",on);r()},15000);
   s.on("data",on);s.write(tag)})));
  console.log("round "+ok+" "+fail)}
});console.log("ready");`;

/** A child process read line by line. */
export class LineProc {
  private buf = '';
  private readonly lines: string[] = [];
  constructor(readonly p: ChildProcessWithoutNullStreams) {
    p.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
    });
  }
  async next(prefix: string, timeoutMs = 30_000): Promise<string> {
    const line = await waitFor(() => {
      const i = this.lines.findIndex((l) => l.startsWith(prefix));
      return i >= 0 ? this.lines.splice(i, 1)[0] : undefined;
    }, timeoutMs);
    return line ?? '';
  }
  send(line: string): void {
    this.p.stdin.write(`${line}\n`);
  }
}

/** `node -e script` in a namespace, killed (process group) by the lab's cleanup. */
export function spawnIn(lab: Lab, ns: string, script: string): ChildProcessWithoutNullStreams {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { detached: true, stdio: 'pipe' });
  lab.onCleanup(() => {
    if (p.pid !== undefined && p.exitCode === null) process.kill(-p.pid, 'SIGKILL');
  });
  return p;
}

export interface ClusterNet {
  /** Switch namespace (bridges brl, brw). */
  sw: string;
  cli: string;
  srv: string;
  /** The client process (see CLIENT above). */
  client: LineProc;
}

/** Switch, client (64 addresses) and echo server; client and server running. */
export async function buildClusterNet(lab: Lab, o: { mcast: boolean }): Promise<ClusterNet> {
  const sw = lab.netns('sw');
  lab.exec(sw, 'ip link add brl type bridge mcast_snooping 0 && ip link add brw type bridge mcast_snooping 0 && ip link set brl up && ip link set brw up');
  const cli = lab.netns('c');
  const srv = lab.netns('s');
  bridgePort(lab, sw, cli, 'eth0', 'lc', 'brl');
  bridgePort(lab, sw, srv, 'eth0', 'ws', 'brw');
  const addrs = Array.from({ length: 64 }, (_, i) => `ip addr add 192.0.2.${100 + i}/24 dev eth0`).join(' && ');
  lab.exec(cli, `${addrs} && ip route add default via 192.0.2.1`);
  lab.exec(srv, 'ip addr add 198.51.100.10/24 dev eth0 && ip route add default via 198.51.100.1');
  if (o.mcast) {
    // Stands in for ARP replies carrying the multicast MAC (arptables mangle in xt_cluster's docs).
    lab.exec(cli, `ip neigh replace 192.0.2.1 lladdr ${LAN_MCAST} dev eth0 nud permanent`);
    lab.exec(srv, `ip neigh replace 198.51.100.1 lladdr ${WAN_MCAST} dev eth0 nud permanent`);
  }
  const server = new LineProc(spawnIn(lab, srv, SERVER));
  await server.next('listening');
  const client = new LineProc(spawnIn(lab, cli, CLIENT));
  await client.next('ready');
  return { sw, cli, srv, client };
}

/** A veth from `ns`/ifA to a bridge port of the switch, MAC learning off on that port. */
export function bridgePort(lab: Lab, sw: string, ns: string, ifA: string, swIf: string, br: string): void {
  lab.veth(ns, ifA, sw, swIf);
  lab.exec(sw, `ip link set ${swIf} master ${br} && bridge link set dev ${swIf} learning off`);
}

/**
 * Firewall namespace `f<id>`: legs lan/wan on the switch, the cluster IP and
 * MAC (or the multicast MAC joined), forwarding on, loose TCP pickup off,
 * and a stateful forward policy (only SYNs from the LAN start flows).
 */
export function addFirewallNs(lab: Lab, sw: string, id: number, o: { mcast: boolean }): string {
  const ns = lab.netns(`f${id}`);
  bridgePort(lab, sw, ns, 'lan', `l${id}`, 'brl');
  bridgePort(lab, sw, ns, 'wan', `w${id}`, 'brw');
  lab.exec(
    ns,
    [
      o.mcast
        ? `ip maddr add ${LAN_MCAST} dev lan && ip maddr add ${WAN_MCAST} dev wan`
        : 'ip link set lan down && ip link set lan address 02:00:00:00:02:01 && ip link set lan up && ' +
          'ip link set wan down && ip link set wan address 02:00:00:00:33:01 && ip link set wan up',
      'ip addr add 192.0.2.1/24 dev lan && ip addr add 198.51.100.1/24 dev wan',
      'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0',
    ].join(' && '),
  );
  lab.exec(ns, 'nft -f -', {
    input: `table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" tcp flags & (syn | ack) == syn ct state new accept
  }
}
`,
  });
  lab.exec(ns, 'sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0');
  return ns;
}

/** Flows "src:sport" to the echo port in a namespace's conntrack table. */
export function flowsOn(lab: Lab, ns: string): string[] {
  const out = lab.exec(ns, `conntrack -L -p tcp --orig-port-dst ${PORT} 2>/dev/null`, { allowFail: true });
  const flows: string[] = [];
  for (const line of out.split('\n')) {
    const m = /src=(\S+) dst=\S+ sport=(\d+)/.exec(line);
    if (m) flows.push(`${m[1]}:${m[2]}`);
  }
  return flows;
}

/** "opened OK FAIL list" -> counts and the "src:port" list. */
export function parseOpened(line: string): { ok: string; fail: string; flows: string[] } {
  const [, ok = '', fail = '', list = ''] = line.split(' ');
  return { ok, fail, flows: list === '' ? [] : list.split(',') };
}

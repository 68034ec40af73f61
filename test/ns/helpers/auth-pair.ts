/**
 * Helpers for the Sync/Auth namespace tests:
 *  - authWired(): whether the daemon wraps its transport with Sync/Auth
 *    (src/daemon/run.ts calls authFromConfig), or CTSYNCD_BIN points at a
 *    build that does;
 *  - AuthPair: a DaemonPair whose commands run CTSYNCD_BIN when it is set;
 *  - capture(): tcpdump in a namespace writing a pcap; readPcapUdp(): the UDP
 *    payloads of an Ethernet pcap; replayUdp(): send payloads again from a
 *    namespace (source address bound, any port).
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../helpers/netns';
import { CTSYNCD, DaemonPair, ROOT, type CliResult, type NodeName } from './daemon-pair';

export function authWired(): boolean {
  if (process.env.CTSYNCD_BIN) return true;
  try {
    return /authFromConfig\(/.test(readFileSync(join(ROOT, 'src', 'daemon', 'run.ts'), 'utf8'));
  } catch {
    return false;
  }
}

export class AuthPair extends DaemonPair {
  override cli(n: NodeName, args: string[], timeoutMs = 120_000): Promise<CliResult> {
    const i = this.info(n);
    const bin = process.env.CTSYNCD_BIN ?? CTSYNCD;
    return new Promise((res) => {
      execFile(
        'ip',
        ['netns', 'exec', i.ns, process.execPath, bin, '-C', i.conf, ...args],
        { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
          res({ code, stdout, stderr });
        },
      );
    });
  }
}

export interface Capture {
  file: string;
  /** SIGINT tcpdump and wait until it has written the file and exited. */
  stop(): Promise<void>;
}

/** Start tcpdump in `ns` on `iface` with a filter; resolves once it listens. */
export async function capture(pair: DaemonPair, ns: string, iface: string, filter: string, name: string): Promise<Capture> {
  const file = join(pair.dir, name);
  const child: ChildProcess = pair.lab.spawn(ns, ['tcpdump', '-i', iface, '-U', '-n', '-s', '0', '-w', file, filter]);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await waitFor(() => /listening on/.test(err), 10_000, 20).catch(() => {
    throw new Error(`tcpdump did not start: ${err}`);
  });
  return {
    file,
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGINT');
      await done;
    },
  };
}

/** UDP payloads of an Ethernet (DLT_EN10MB) pcap with IPv4 packets, in order. */
export function readPcapUdp(file: string): Buffer[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a pcap file`);
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`${file}: link type ${u32(20)}, expected Ethernet`);
  const out: Buffer[] = [];
  let p = 24;
  while (p + 16 <= b.length) {
    const incl = u32(p + 8);
    const pkt = b.subarray(p + 16, p + 16 + incl);
    p += 16 + incl;
    if (pkt.length < 14 + 20 + 8 || pkt.readUInt16BE(12) !== 0x0800) continue;
    const ihl = ((pkt[14] as number) & 0x0f) * 4;
    if (pkt[14 + 9] !== 17) continue;
    const udp = 14 + ihl;
    const ulen = pkt.readUInt16BE(udp + 4);
    out.push(Buffer.from(pkt.subarray(udp + 8, udp + ulen)));
  }
  return out;
}

/** Send each payload from `ns` (bound to `from`, any port) to to:port, in order. */
export function replayUdp(pair: DaemonPair, ns: string, from: string, to: string, port: number, payloads: Buffer[]): void {
  const file = join(pair.dir, `replay-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(payloads.map((p) => p.toString('hex'))));
  const script = `
    const dgram = require('node:dgram');
    const list = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'));
    const s = dgram.createSocket('udp4');
    s.bind({ address: ${JSON.stringify(from)}, port: 0 }, async () => {
      for (const h of list) await new Promise((r) => s.send(Buffer.from(h, 'hex'), ${port}, ${JSON.stringify(to)}, r));
      s.close();
    });`;
  execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script, file], { stdio: 'pipe', timeout: 30_000 });
}

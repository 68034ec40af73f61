/**
 * Stream agent of the failover lab (run as `ip netns exec NS node dist/lab/stream-agent.js ...`).
 * Node built-ins only; output is JSON lines on stdout.
 *
 *   server --host 203.0.113.10 --port 5001
 *       echoes every byte back; prints {"event":"listening"}.
 *   client --host 203.0.113.10 --port 5001 --streams 10 --interval 10 --chunk 64
 *       opens N TCP streams, writes `chunk` bytes every `interval` ms on each
 *       and records when echoed bytes come back; prints {"event":"connected"}
 *       when all are up, and on "stop" (a stdin line), stdin EOF or SIGTERM
 *       prints {"event":"report","streams":[...]} and exits.
 *
 * A report stream is {id, connectedAt, sent, received, samples: [[t_ms, received_bytes], ...],
 * brokenAt: t_ms|null, reason: string|null}; times are Unix epoch milliseconds.
 */
import * as net from 'node:net';

interface StreamRecord {
  id: number;
  connectedAt: number | null;
  sent: number;
  received: number;
  samples: Array<[number, number]>;
  brokenAt: number | null;
  reason: string | null;
}

function arg(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? argv[i + 1] : undefined;
  return v ?? dflt;
}

function emit(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function runServer(argv: string[]): void {
  const host = arg(argv, 'host', '0.0.0.0');
  const port = Number(arg(argv, 'port', '5001'));
  const srv = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('data', (d) => sock.write(d));
    sock.on('error', () => sock.destroy());
  });
  srv.on('error', (e) => {
    emit({ event: 'error', message: e.message });
    process.exit(1);
  });
  srv.listen(port, host, () => emit({ event: 'listening', host, port }));
}

function runClient(argv: string[]): void {
  const host = arg(argv, 'host', '127.0.0.1');
  const port = Number(arg(argv, 'port', '5001'));
  const n = Number(arg(argv, 'streams', '1'));
  const interval = Number(arg(argv, 'interval', '10'));
  const chunk = Buffer.alloc(Number(arg(argv, 'chunk', '64')), 0x61);
  const records: StreamRecord[] = [];
  const sockets: net.Socket[] = [];
  let connected = 0;
  let done = false;

  for (let id = 0; id < n; id++) {
    const rec: StreamRecord = { id, connectedAt: null, sent: 0, received: 0, samples: [], brokenAt: null, reason: null };
    records.push(rec);
    const sock = net.connect({ host, port });
    sockets.push(sock);
    sock.setNoDelay(true);
    const broken = (reason: string): void => {
      if (rec.brokenAt === null && !done) {
        rec.brokenAt = Date.now();
        rec.reason = reason;
      }
    };
    sock.on('connect', () => {
      rec.connectedAt = Date.now();
      connected += 1;
      if (connected === n) emit({ event: 'connected', streams: n });
    });
    sock.on('data', (d) => {
      rec.received += d.length;
      rec.samples.push([Date.now(), rec.received]);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => broken(e.code ?? e.message));
    sock.on('end', () => broken('EOF'));
    sock.on('close', () => broken('closed'));
  }

  const timer = setInterval(() => {
    for (let i = 0; i < sockets.length; i++) {
      const s = sockets[i];
      const rec = records[i];
      if (!s || !rec || rec.connectedAt === null || rec.brokenAt !== null) continue;
      s.write(chunk);
      rec.sent += chunk.length;
    }
  }, interval);

  const finish = (): void => {
    if (done) return;
    done = true;
    clearInterval(timer);
    for (const s of sockets) s.destroy();
    // A long run's report is megabytes: exit only once it is written out.
    process.stdout.write(`${JSON.stringify({ event: 'report', streams: records })}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', finish);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    if (d.includes('stop')) finish();
  });
  process.stdin.on('end', finish);
}

function main(argv: string[]): void {
  const mode = argv[0];
  if (mode === 'server') runServer(argv);
  else if (mode === 'client') runClient(argv);
  else {
    process.stderr.write('usage: stream-agent server|client --host H --port P [--streams N --interval MS --chunk BYTES]\n');
    process.exit(2);
  }
}

main(process.argv.slice(2));

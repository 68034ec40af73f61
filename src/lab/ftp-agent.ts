/**
 * FTP agent of the failover lab (run as `ip netns exec NS node dist/lab/ftp-agent.js ...`).
 * Node built-ins only; output is JSON lines on stdout.
 *
 *   server --host 203.0.113.10 [--port 21] [--chunk 16384] [--interval 10]
 *       a passive-mode FTP server (USER PASS TYPE SYST NOOP SIZE PASV EPSV RETR
 *       QUIT) for the generated files `data-<size>-<seed>.bin`; RETR is paced:
 *       `chunk` bytes every `interval` ms, waiting while the socket is full.
 *       A data connection from another address than the control peer is refused.
 *   client --host 203.0.113.10 [--port 21] --files NAME,NAME --modes PASV,EPSV
 *          [--hold-data] [--wait-go]
 *       logs in, then per file: (NOOP first for files after the first) PASV or
 *       EPSV, connect the data port, RETR, check the SHA-256 against the file
 *       generated locally; then QUIT. --hold-data waits for a "data" stdin line
 *       before the first data connection (the expectation exists meanwhile),
 *       then for a "retr" line before its RETR (the data flow is up meanwhile);
 *       --wait-go waits for a "go" line before the second file.
 *       On "stop" (stdin), stdin EOF or SIGTERM prints {"event":"report","ftp":{...}}.
 * Times are Unix epoch milliseconds.
 */
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import {
  contentChunk, contentSha256, epsvReply, parseCommand, parseEpsvReply, parseFileName, parsePasvReply,
  parseReplyLine, pasvReply, splitLines, type Reply,
} from './ftp-proto';
import type { FtpRecord, FtpTransfer } from './ftp-stats';

function arg(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return (i >= 0 ? argv[i + 1] : undefined) ?? dflt;
}

function emit(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/* ---- server ------------------------------------------------------------- */

function runServer(argv: string[]): void {
  const host = arg(argv, 'host', '0.0.0.0');
  const port = Number(arg(argv, 'port', '21'));
  const chunk = Number(arg(argv, 'chunk', '16384'));
  const interval = Number(arg(argv, 'interval', '10'));
  const counters = { sessions: 0, badLines: 0, refusedData: 0, retrDone: 0 };

  const session = (ctl: net.Socket): void => {
    counters.sessions += 1;
    const peer = ctl.remoteAddress ?? '';
    let buf = '';
    let passive: net.Server | null = null;
    let pending: net.Socket | null = null;
    let waiting: ((s: net.Socket) => void) | null = null;
    const reply = (line: string): void => {
      if (!ctl.destroyed) ctl.write(`${line}\r\n`);
    };
    const closePassive = (): void => {
      passive?.close();
      passive = null;
    };
    const openPassive = (done: (p: number) => void): void => {
      closePassive();
      pending?.destroy();
      pending = null;
      const srv = net.createServer((d) => {
        if (d.remoteAddress !== peer) {
          counters.refusedData += 1;
          emit({ event: 'refused-data', from: d.remoteAddress ?? null, control: peer, count: counters.refusedData });
          d.destroy();
          return;
        }
        closePassive();
        if (waiting) {
          const w = waiting;
          waiting = null;
          w(d);
        } else pending = d;
      });
      passive = srv;
      srv.on('error', () => reply('425 cannot open passive connection'));
      srv.listen(0, host, () => {
        const a = srv.address();
        done(typeof a === 'object' && a !== null ? a.port : 0);
      });
    };
    const send = (d: net.Socket, seed: number, size: number, name: string): void => {
      reply(`150 Opening BINARY mode data connection for ${name} (${size} bytes)`);
      d.setNoDelay(true);
      let off = 0;
      let failed = false;
      d.on('error', () => {
        failed = true;
      });
      const tick = (): void => {
        if (failed || d.destroyed) return;
        if (off >= size) {
          d.end(() => {
            counters.retrDone += 1;
            reply('226 Transfer complete');
          });
          return;
        }
        const n = Math.min(chunk, size - off);
        const ok = d.write(contentChunk(seed, off, n));
        off += n;
        if (ok) setTimeout(tick, interval);
        else d.once('drain', () => setTimeout(tick, interval));
      };
      tick();
    };
    const onCommand = (line: string): void => {
      const c = parseCommand(line);
      if (!c) {
        counters.badLines += 1;
        emit({ event: 'bad-line', count: counters.badLines });
        reply('500 syntax error');
        return;
      }
      switch (c.verb) {
        case 'USER': return reply('331 password please');
        case 'PASS': return reply('230 logged in');
        case 'TYPE': return reply(c.arg.toUpperCase() === 'I' || c.arg.toUpperCase() === 'A' ? '200 type set' : '504 type not supported');
        case 'SYST': return reply('215 UNIX Type: L8');
        case 'NOOP': return reply('200 ok');
        case 'SIZE': {
          const f = parseFileName(c.arg);
          return reply(f ? `213 ${f.size}` : '550 no such file');
        }
        case 'PASV': return openPassive((p) => reply(pasvReply(host, p)));
        case 'EPSV': return openPassive((p) => reply(epsvReply(p)));
        case 'RETR': {
          const f = parseFileName(c.arg);
          if (!f) return reply('550 no such file');
          if (!passive && !pending) return reply('425 use PASV or EPSV first');
          if (pending) {
            const d = pending;
            pending = null;
            return send(d, f.seed, f.size, c.arg);
          }
          waiting = (d) => send(d, f.seed, f.size, c.arg);
          return;
        }
        case 'QUIT':
          reply('221 goodbye');
          closePassive();
          ctl.end();
          return;
        default:
          return reply('502 command not implemented');
      }
    };
    ctl.setNoDelay(true);
    reply('220 ctlab ftp ready');
    ctl.setEncoding('latin1');
    ctl.on('data', (d: string) => {
      const s = splitLines(buf + d);
      buf = s.rest;
      for (const l of s.lines) onCommand(l);
      if (s.error) {
        counters.badLines += 1;
        emit({ event: 'bad-line', reason: s.error, count: counters.badLines });
        ctl.destroy();
      }
    });
    ctl.on('error', () => ctl.destroy());
    ctl.on('close', () => {
      closePassive();
      pending?.destroy();
    });
  };
  const srv = net.createServer(session);
  srv.on('error', (e) => {
    emit({ event: 'error', message: e.message });
    process.exit(1);
  });
  srv.listen(port, host, () => emit({ event: 'listening', host, port }));
  process.on('SIGTERM', () => {
    emit({ event: 'counters', ...counters });
    process.exit(0);
  });
}

/* ---- client ------------------------------------------------------------- */

class ControlChannel {
  private buf = '';
  private readonly replies: Reply[] = [];
  private waiter: ((r: Reply | Error) => void) | null = null;
  private failure: Error | null = null;

  constructor(readonly sock: net.Socket, private readonly onReply: (r: Reply) => void) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      const s = splitLines(this.buf + d);
      this.buf = s.rest;
      for (const l of s.lines) {
        const r = parseReplyLine(l);
        if (r) this.push(r);
      }
      if (s.error) this.fail(new Error('control line too long'));
    });
  }

  private push(r: Reply): void {
    this.onReply(r);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(r);
    } else this.replies.push(r);
  }

  fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = null;
    w?.(e);
  }

  next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = (v) => (v instanceof Error ? reject(v) : resolve(v));
    });
  }

  /** Send a command and wait for its final reply (1xx preliminary replies are returned too). */
  async command(line: string): Promise<Reply> {
    this.sock.write(`${line}\r\n`);
    return this.next();
  }
}

function expectCode(r: Reply, code: number, what: string): void {
  if (r.code !== code) throw new Error(`${what}: ${r.code} ${r.text}`);
}

function runClient(argv: string[]): void {
  const host = arg(argv, 'host', '127.0.0.1');
  const port = Number(arg(argv, 'port', '21'));
  const files = arg(argv, 'files', '').split(',').filter((f) => f.length > 0);
  const modes = arg(argv, 'modes', 'PASV').split(',');
  const holdData = argv.includes('--hold-data');
  const waitGo = argv.includes('--wait-go');
  const rec: FtpRecord = { host, connectedAt: null, control: [], transfers: [], quitAt: null, brokenAt: null, reason: null, error: null };
  const gates = new Map<string, () => void>();
  const opened = new Set<string>();
  const gate = (name: string): Promise<void> =>
    opened.has(name) ? Promise.resolve() : new Promise((resolve) => gates.set(name, resolve));
  const open = (name: string): void => {
    opened.add(name);
    gates.get(name)?.();
  };
  let finished = false;

  const ctl = net.connect({ host, port });
  ctl.setNoDelay(true);
  const chan = new ControlChannel(ctl, (r) => {
    rec.control.push([Date.now(), r.code]);
    if (r.code === 221) rec.quitAt = Date.now();
  });
  const broken = (reason: string): void => {
    if (rec.brokenAt === null && rec.quitAt === null && !finished) {
      rec.brokenAt = Date.now();
      rec.reason = reason;
    }
    chan.fail(new Error(`control connection: ${reason}`));
  };
  ctl.on('error', (e: NodeJS.ErrnoException) => broken(e.code ?? e.message));
  ctl.on('end', () => broken('EOF'));
  ctl.on('close', () => broken('closed'));

  const transfer = async (index: number, name: string, mode: string): Promise<void> => {
    const f = parseFileName(name);
    if (!f) throw new Error(`not a lab file name: ${name}`);
    const t: FtpTransfer = {
      name, size: f.size, mode: mode === 'EPSV' ? 'EPSV' : 'PASV', port: null, requestedAt: Date.now(), dataConnectedAt: null,
      samples: [], bytes: 0, sha256: null, expectedSha256: contentSha256(f), completeAt: null, ok: false, error: null,
    };
    rec.transfers.push(t);
    try {
      if (index > 0) expectCode(await chan.command('NOOP'), 200, 'NOOP');
      const r = await chan.command(t.mode);
      const pa = t.mode === 'EPSV' ? (r.code === 229 ? parseEpsvReply(r.text) : null) : r.code === 227 ? parsePasvReply(r.text) : null;
      if (!pa) throw new Error(`${t.mode}: ${r.code} ${r.text}`);
      t.port = pa.port;
      emit({ event: 'passive', index, port: pa.port, mode: t.mode });
      if (holdData && index === 0) await gate('data');
      const hash = createHash('sha256');
      const data = net.connect({ host: pa.host ?? host, port: pa.port });
      const closed = new Promise<void>((resolve, reject) => {
        data.on('connect', () => {
          t.dataConnectedAt = Date.now();
          emit({ event: 'data-connected', index });
        });
        data.on('data', (d: Buffer) => {
          if (t.bytes === 0) emit({ event: 'data', index });
          hash.update(d);
          t.bytes += d.length;
          t.samples.push([Date.now(), t.bytes]);
        });
        data.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`data connection: ${e.code ?? e.message}`)));
        data.on('end', () => resolve());
      });
      closed.catch(() => undefined);
      if (holdData && index === 0) await gate('retr');
      const prelim = await chan.command(`RETR ${name}`);
      expectCode(prelim, 150, 'RETR');
      const fin = await chan.next();
      expectCode(fin, 226, 'RETR');
      await closed;
      t.completeAt = Date.now();
      t.sha256 = hash.digest('hex');
      t.ok = t.bytes === t.size && t.sha256 === t.expectedSha256;
      emit({ event: 'transfer', index, ok: t.ok, bytes: t.bytes });
      if (!t.ok) throw new Error(`${name}: ${t.bytes} bytes, sha256 ${t.sha256} (want ${t.expectedSha256})`);
    } catch (e) {
      t.error = e instanceof Error ? e.message : String(e);
      throw e;
    }
  };

  const session = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      ctl.once('connect', () => resolve());
      ctl.once('error', reject);
    });
    rec.connectedAt = Date.now();
    expectCode(await chan.next(), 220, 'greeting');
    expectCode(await chan.command('USER anonymous'), 331, 'USER');
    expectCode(await chan.command('PASS lab@'), 230, 'PASS');
    expectCode(await chan.command('TYPE I'), 200, 'TYPE');
    emit({ event: 'logged-in' });
    for (let i = 0; i < files.length; i++) {
      if (i > 0 && waitGo) await gate('go');
      await transfer(i, files[i] ?? '', modes[i] ?? modes[0] ?? 'PASV');
    }
    expectCode(await chan.command('QUIT'), 221, 'QUIT');
    emit({ event: 'done' });
  };
  // Progress for the runner (a stalled transfer shows as no line): total bytes, at most every 250 ms.
  let reported = -1;
  const progress = setInterval(() => {
    const total = rec.transfers.reduce((n, t) => n + t.bytes, 0);
    if (total !== reported) emit({ event: 'progress', bytes: total });
    reported = total;
  }, 250);
  session().catch((e: unknown) => {
    rec.error = e instanceof Error ? e.message : String(e);
    emit({ event: 'failed', message: rec.error });
  });

  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(progress);
    ctl.destroy();
    process.stdout.write(`${JSON.stringify({ event: 'report', ftp: rec })}\n`, () => process.exit(0));
  };
  process.on('SIGTERM', finish);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    for (const w of d.split(/\s+/)) {
      if (w === 'stop') finish();
      else if (w === 'data' || w === 'retr' || w === 'go') open(w);
    }
  });
  process.stdin.on('end', finish);
}

function main(argv: string[]): void {
  const mode = argv[0];
  if (mode === 'server') runServer(argv);
  else if (mode === 'client') runClient(argv);
  else {
    process.stderr.write('usage: ftp-agent server --host H [--chunk B --interval MS] | client --host H --files A,B --modes PASV,EPSV [--hold-data] [--wait-go]\n');
    process.exit(2);
  }
}

main(process.argv.slice(2));

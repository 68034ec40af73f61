/**
 * Control server: listens on the configured UNIX stream socket and runs
 * client requests against a DaemonApi. Handlers are async, so a slow request
 * (a commit of a million entries) never blocks replication; a second commit
 * while one runs is refused with EBUSY. Bad input is answered with an error
 * frame, counted and logged; it never throws out of the server.
 */
import { chmodSync, chownSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { CommitKind, CommitProgress, DaemonApi, DumpEntry } from '../daemon/api';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import {
  FrameReader,
  FrameType,
  encodeFrame,
  parseRequest,
  type ControlError,
  type Frame,
  type Request,
  type WireEntry,
} from './protocol';

export interface ControlServerOptions {
  path: string;
  api: DaemonApi;
  logger: Logger;
  clock: Clock;
  /** Group allowed to use the socket (mode 0660); default root only (0600). */
  group?: { gid: number; name: string };
  maxClients?: number;
  maxFrame?: number;
  /** A client that sends no complete request within this time is dropped. */
  idleTimeoutMs?: number;
  /** Entries per CHUNK frame of a dump. */
  chunkEntries?: number;
  /** Minimum interval between PROGRESS frames. */
  progressIntervalMs?: number;
}

export interface ControlServerCounters {
  connections: number;
  refused: number;
  requests: number;
  badFrames: number;
  failures: number;
}

export interface ControlServer {
  listen(): Promise<void>;
  close(): Promise<void>;
  readonly counters: ControlServerCounters;
}

/** Remove a socket file left by a dead daemon; refuse if one still answers or the path is not a socket. */
export async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another daemon answers on ${path}`);
  unlinkSync(path);
}

export function createControlServer(opts: ControlServerOptions): ControlServer {
  const maxClients = opts.maxClients ?? 16;
  const maxFrame = opts.maxFrame ?? 64 * 1024;
  const idleMs = opts.idleTimeoutMs ?? 10_000;
  const chunkEntries = opts.chunkEntries ?? 512;
  const progressMs = opts.progressIntervalMs ?? 200;
  const log = opts.logger;
  const counters: ControlServerCounters = { connections: 0, refused: 0, requests: 0, badFrames: 0, failures: 0 };
  const sockets = new Set<net.Socket>();
  const refused = new Set<net.Socket>();
  let commitRunning: { since: number } | undefined;
  const server = net.createServer({ allowHalfOpen: false }, onConnection);

  function send(sock: net.Socket, type: FrameType, id: number, body: unknown): Promise<void> {
    if (sock.destroyed) return Promise.resolve();
    const ok = sock.write(encodeFrame(type, id, body));
    if (ok) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        sock.off('drain', done);
        sock.off('close', done);
        resolve();
      };
      sock.on('drain', done);
      sock.on('close', done);
    });
  }

  function fail(sock: net.Socket, id: number, error: ControlError): Promise<void> {
    return send(sock, FrameType.Error, id, error);
  }

  function onConnection(sock: net.Socket): void {
    if (sockets.size >= maxClients) {
      counters.refused += 1;
      log.warn({ clients: sockets.size }, 'control: too many clients, refusing');
      refused.add(sock);
      sock.on('close', () => refused.delete(sock));
      sock.on('error', () => sock.destroy());
      sock.setTimeout(1000, () => sock.destroy());
      sock.resume();
      sock.end(encodeFrame(FrameType.Error, 0, { code: 'EBUSY', message: `too many control clients (max ${maxClients})` }));
      return;
    }
    counters.connections += 1;
    sockets.add(sock);
    const reader = new FrameReader({ maxBody: maxFrame });
    sock.setTimeout(idleMs, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('close', () => sockets.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      const { frames, error } = reader.push(chunk);
      for (const f of frames) void handleFrame(sock, f);
      if (error) {
        counters.badFrames += 1;
        log.warn({ code: error.error.code }, `control: bad frame: ${error.error.message}`);
        sock.end(encodeFrame(FrameType.Error, error.error.id ?? 0, { code: error.error.code, message: error.error.message }));
      }
    });
  }

  async function handleFrame(sock: net.Socket, frame: Frame): Promise<void> {
    if (frame.type !== FrameType.Request) {
      counters.badFrames += 1;
      await fail(sock, frame.id, { code: 'EINVAL', message: 'expected a request frame' });
      return;
    }
    const parsed = parseRequest(frame.body);
    if (!parsed.ok) {
      counters.badFrames += 1;
      log.warn({ id: frame.id }, `control: ${parsed.error.message}`);
      await fail(sock, frame.id, parsed.error);
      return;
    }
    sock.setTimeout(0);
    counters.requests += 1;
    const req = parsed.request;
    const started = opts.clock.now();
    log.debug({ req, id: frame.id }, `control request ${req.cmd}`);
    try {
      const body = await run(sock, frame.id, req);
      await send(sock, FrameType.Response, frame.id, body);
      log.debug({ cmd: req.cmd, ms: Math.round(opts.clock.now() - started) }, `control request ${req.cmd} done`);
    } catch (e) {
      counters.failures += 1;
      const err = toControlError(e);
      log.error({ cmd: req.cmd, code: err.code }, `control request ${req.cmd} failed: ${err.message}`);
      await fail(sock, frame.id, err);
    }
    sock.setTimeout(idleMs);
  }

  async function run(sock: net.Socket, id: number, req: Request): Promise<unknown> {
    const api = opts.api;
    switch (req.cmd) {
      case 'commit':
        return commit(sock, id, req.kind);
      case 'flushCache':
        await api.flushCache(req.which);
        return {};
      case 'flushKernel':
        await api.flushKernel(req.kind);
        return {};
      case 'dumpCache':
        return dump(sock, id, await api.dumpCache(req.which, req.kind));
      case 'stats':
        return api.stats(req.section);
      case 'resyncKernel':
        await api.resyncKernel(req.kind);
        return {};
      case 'requestResync':
        await api.requestResync();
        return {};
      case 'bulkSend':
        await api.bulkSend();
        return {};
      case 'shortenTimers':
        await api.shortenTimers();
        return {};
      case 'kill':
        await api.kill();
        return {};
      case 'status':
        return api.status();
    }
  }

  async function commit(sock: net.Socket, id: number, kind: CommitKind): Promise<unknown> {
    if (commitRunning) {
      const secs = Math.round((opts.clock.now() - commitRunning.since) / 1000);
      throw new BusyError(`a commit is already running (started ${secs}s ago); retry when it has finished`);
    }
    commitRunning = { since: opts.clock.now() };
    let last = -Infinity;
    const progress = (p: CommitProgress): void => {
      const now = opts.clock.now();
      if (now - last < progressMs && p.done < p.total) return;
      last = now;
      void send(sock, FrameType.Progress, id, { done: p.done, total: p.total });
    };
    try {
      return await opts.api.commit(kind, progress);
    } finally {
      commitRunning = undefined;
    }
  }

  async function dump(sock: net.Socket, id: number, entries: DumpEntry[]): Promise<unknown> {
    for (let i = 0; i < entries.length; i += chunkEntries) {
      const slice: WireEntry[] = entries.slice(i, i + chunkEntries).map((e) => ({
        kind: e.record.kind,
        family: e.record.family,
        attrs: e.record.attrs.toString('base64'),
        age: e.ageSeconds,
      }));
      await send(sock, FrameType.Chunk, id, { entries: slice });
      if (sock.destroyed) break;
    }
    return { count: entries.length };
  }

  return {
    counters,
    async listen() {
      await removeStaleSocket(opts.path);
      // Bind with a restrictive umask so the socket is never world-accessible, then set the final mode.
      const oldMask = process.umask(0o177);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(opts.path, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } finally {
        process.umask(oldMask);
      }
      server.on('error', (e) => log.error({ err: e.message }, 'control server error'));
      if (opts.group) {
        chownSync(opts.path, 0, opts.group.gid);
        chmodSync(opts.path, 0o660);
      } else {
        chmodSync(opts.path, 0o600);
      }
      log.info({ path: opts.path }, 'control socket listening');
    },
    async close() {
      for (const s of [...sockets, ...refused]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(opts.path);
      } catch {
        /* already gone */
      }
    },
  };
}

export class BusyError extends Error {
  readonly code = 'EBUSY';
}

/** Map anything thrown by a DaemonApi method to a stable code; no stack traces cross the socket. */
function toControlError(e: unknown): ControlError {
  const err = e as { code?: unknown; message?: unknown };
  const known = ['EBUSY', 'EINVAL', 'ENOTSUP', 'EINTERNAL', 'ETOOBIG'];
  const code = typeof err?.code === 'string' && known.includes(err.code) ? (err.code as ControlError['code']) : 'EINTERNAL';
  const message = typeof err?.message === 'string' && err.message ? err.message : String(e);
  return { code, message };
}

/**
 * Control client: one connection per request (like conntrackd's client mode),
 * with a timeout and plain-language errors for the usual failures.
 */
import net from 'node:net';
import {
  DEFAULT_MAX_FRAME,
  FrameReader,
  FrameType,
  PROTOCOL_VERSION,
  encodeFrame,
  parseError,
  type Request,
  type WireEntry,
} from './protocol';

export type CallResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; code: string; message: string };

export interface CallHandlers {
  onProgress?(p: { done: number; total: number }): void;
  onChunk?(entries: WireEntry[]): void;
}

export interface ControlClient {
  call(req: Request, handlers?: CallHandlers): Promise<CallResult>;
}

export interface ClientOptions {
  path: string;
  /** Whole-request timeout; commits of large caches need minutes. Default 30 s, 0 = none. */
  timeoutMs?: number;
  /** Timeout for the connection and for silence between frames. Default 10 s. */
  idleTimeoutMs?: number;
  /** Named in the permission error message, when a ControlGroup is configured. */
  group?: string;
  maxFrame?: number;
}

export function createControlClient(opts: ClientOptions): ControlClient {
  let nextId = 1;
  return {
    call(req, handlers = {}) {
      const id = nextId++;
      return new Promise<CallResult>((resolve) => {
        const reader = new FrameReader({ maxBody: opts.maxFrame ?? DEFAULT_MAX_FRAME });
        const sock = net.createConnection(opts.path);
        let settled = false;
        let total: NodeJS.Timeout | undefined;
        const finish = (r: CallResult): void => {
          if (settled) return;
          settled = true;
          if (total) clearTimeout(total);
          sock.destroy();
          resolve(r);
        };
        if (opts.timeoutMs !== 0) {
          const ms = opts.timeoutMs ?? 30_000;
          total = setTimeout(() => finish({ ok: false, code: 'ETIMEDOUT', message: `no answer from ctsyncd within ${ms / 1000}s (${opts.path})` }), ms);
        }
        sock.setTimeout(opts.idleTimeoutMs ?? 10_000, () =>
          finish({ ok: false, code: 'ETIMEDOUT', message: `ctsyncd stopped answering on ${opts.path}` }),
        );
        sock.on('connect', () => sock.write(encodeFrame(FrameType.Request, id, req)));
        sock.on('error', (e: NodeJS.ErrnoException) => finish(connectError(e, opts)));
        sock.on('close', () => finish({ ok: false, code: 'EPROTO', message: 'ctsyncd closed the control connection without an answer' }));
        sock.on('data', (chunk: Buffer) => {
          const { frames, error } = reader.push(chunk);
          for (const f of frames) {
            if (f.id !== id && f.id !== 0) continue;
            const body = f.body as Record<string, unknown>;
            switch (f.type) {
              case FrameType.Progress:
                if (typeof body.done === 'number' && typeof body.total === 'number') {
                  handlers.onProgress?.({ done: body.done, total: body.total });
                }
                break;
              case FrameType.Chunk:
                if (Array.isArray(body.entries)) handlers.onChunk?.(body.entries.filter(isWireEntry));
                break;
              case FrameType.Response:
                finish({ ok: true, body });
                return;
              case FrameType.Error: {
                const err = parseError(body);
                if (err.code === 'EVERSION') {
                  finish({ ok: false, code: 'EVERSION', message: `protocol version mismatch: ${err.message} (this client speaks version ${PROTOCOL_VERSION}); use the ctsyncd binary of the running daemon` });
                } else {
                  finish({ ok: false, code: err.code, message: err.message });
                }
                return;
              }
              default:
                break;
            }
          }
          if (error) {
            const e = error.error;
            if (e.code === 'EVERSION') {
              finish({ ok: false, code: 'EVERSION', message: `protocol version mismatch: the daemon speaks version ${e.version ?? '?'}, this client ${PROTOCOL_VERSION}; use the ctsyncd binary of the running daemon` });
            } else {
              finish({ ok: false, code: 'EPROTO', message: `bad answer from the daemon: ${e.message}` });
            }
          }
        });
      });
    },
  };
}

/** Map a connect() failure to the message a user sees. */
export function connectError(e: NodeJS.ErrnoException, opts: Pick<ClientOptions, 'path' | 'group'>): CallResult {
  switch (e.code) {
    case 'ENOENT':
      return { ok: false, code: 'ENOTRUNNING', message: `ctsyncd is not running (no control socket at ${opts.path})` };
    case 'ECONNREFUSED':
      return { ok: false, code: 'ENOTRUNNING', message: `ctsyncd is not running (stale control socket at ${opts.path})` };
    case 'EACCES':
    case 'EPERM':
      return {
        ok: false,
        code: 'EACCES',
        message: `permission denied on ${opts.path} (run as root${opts.group ? ` or a member of ${opts.group}` : ''})`,
      };
    default:
      return { ok: false, code: e.code ?? 'EIO', message: `cannot talk to ctsyncd on ${opts.path}: ${e.message}` };
  }
}

function isWireEntry(v: unknown): v is WireEntry {
  const e = v as Record<string, unknown>;
  return (
    typeof e === 'object' && e !== null &&
    (e.kind === 'ct' || e.kind === 'expect') &&
    (e.family === 2 || e.family === 10) &&
    typeof e.attrs === 'string' &&
    typeof e.age === 'number'
  );
}

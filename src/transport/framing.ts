/**
 * Stream framing for the TCP transport: each datagram travels as
 *   u32 length (big-endian, bytes of payload that follow) | payload
 * The decoder is an explicit state machine fed arbitrary chunks; it never
 * throws: an oversize length yields a typed error and the stream is dead
 * (the caller must drop the connection, there is no way to resynchronise).
 */

/** Bytes of the length prefix (u32, network byte order). */
export const FRAME_HEADER_LEN = 4;

export type FrameErrorCode = 'FRAME_TOO_LARGE' | 'FRAME_EMPTY';

export interface FrameError {
  code: FrameErrorCode;
  length: number;
}

/** Encode one datagram as a frame: header and payload in one Buffer. */
export function encodeFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, FRAME_HEADER_LEN);
  return out;
}

export interface FrameDecoderLimits {
  /** Largest payload accepted, bytes. */
  maxFrame: number;
  /** Accept zero-length frames (default false: a peer never sends them). */
  allowEmpty?: boolean;
}

export type FeedResult = { ok: true; frames: Buffer[] } | { ok: false; frames: Buffer[]; error: FrameError };

/** Incremental decoder: feed() chunks as they arrive, get whole frames back. */
export class FrameDecoder {
  private state: 'header' | 'payload' | 'dead' = 'header';
  private readonly header = Buffer.alloc(FRAME_HEADER_LEN);
  private headerHave = 0;
  private payload: Buffer = Buffer.alloc(0);
  private payloadHave = 0;

  constructor(private readonly limits: FrameDecoderLimits) {}

  /** Bytes currently buffered inside an incomplete frame. */
  pending(): number {
    return this.state === 'header' ? this.headerHave : this.state === 'payload' ? FRAME_HEADER_LEN + this.payloadHave : 0;
  }

  isDead(): boolean {
    return this.state === 'dead';
  }

  feed(chunk: Buffer): FeedResult {
    const frames: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.state === 'dead') break;
      if (this.state === 'header') {
        const take = Math.min(FRAME_HEADER_LEN - this.headerHave, chunk.length - off);
        chunk.copy(this.header, this.headerHave, off, off + take);
        this.headerHave += take;
        off += take;
        if (this.headerHave < FRAME_HEADER_LEN) break;
        const len = this.header.readUInt32BE(0);
        this.headerHave = 0;
        if (len > this.limits.maxFrame) return this.die(frames, 'FRAME_TOO_LARGE', len);
        if (len === 0) {
          if (!this.limits.allowEmpty) return this.die(frames, 'FRAME_EMPTY', 0);
          frames.push(Buffer.alloc(0));
          continue;
        }
        this.payload = Buffer.allocUnsafe(len);
        this.payloadHave = 0;
        this.state = 'payload';
        continue;
      }
      const take = Math.min(this.payload.length - this.payloadHave, chunk.length - off);
      chunk.copy(this.payload, this.payloadHave, off, off + take);
      this.payloadHave += take;
      off += take;
      if (this.payloadHave === this.payload.length) {
        frames.push(this.payload);
        this.payload = Buffer.alloc(0);
        this.payloadHave = 0;
        this.state = 'header';
      }
    }
    return { ok: true, frames };
  }

  private die(frames: Buffer[], code: FrameErrorCode, length: number): FeedResult {
    this.state = 'dead';
    return { ok: false, frames, error: { code, length } };
  }
}

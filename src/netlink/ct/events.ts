/**
 * decodeEventViews: the ctnetlink events of one socket wakeup, read straight
 * from the netlink headers (no per-message header objects), with each
 * record's attributes a VIEW into the wakeup's receive Buffer.
 *
 * The native socket hands every wakeup a fresh Buffer (native/netlink.cc
 * copies what it read), so the views stay valid; what a consumer keeps for
 * long must still be copied (the packed cache copies into its slab), or it
 * pins the whole wakeup buffer.
 *
 * Layout (linux/netlink.h, host order = little-endian here): nlmsghdr
 * { u32 len, u16 type, u16 flags, u32 seq, u32 pid } (16 bytes), messages
 * 4-byte aligned; then nfgenmsg { u8 family, u8 version, be16 res_id }
 * (linux/netfilter/nfnetlink.h); type = subsys << 8 | msg with subsys
 * NFNL_SUBSYS_CTNETLINK (1) or _EXP (2) and msg IPCTNL_MSG_CT_NEW (0) /
 * _DELETE (2) (linux/netfilter/nfnetlink_conntrack.h). Same verdicts as
 * nfnl.ts decodeEvents: a malformed datagram or message counts as bad,
 * messages before it are kept. Pure; never throws.
 */
import type { CtEvent, CtEventType, DecodeError } from '../types';

const NLMSG_HDRLEN = 16;
const NFGENMSG_LEN = 4;
/** Types below this are netlink control messages (NOOP, ERROR, DONE, OVERRUN). */
const NLMSG_MIN_TYPE = 0x10;
const NLM_F_CREATE_EXCL = 0x400 | 0x200;

export interface EventViews {
  events: CtEvent[];
  bad: number;
  firstError?: DecodeError;
}

function u32le(b: Buffer, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
}

function u16le(b: Buffer, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

/** Decode every event of one wakeup; `maxMessages` bounds the messages read per datagram. */
export function decodeEventViews(datagrams: Buffer[], maxMessages = 1 << 20): EventViews {
  const out: EventViews = { events: [], bad: 0 };
  for (const dg of datagrams) decodeDatagram(dg, 0, dg.length, maxMessages, out);
  return out;
}

/**
 * The same for one wakeup as the addon hands it over: all datagrams back to
 * back in `buf`, their lengths in `lens` (no view per datagram).
 */
export function decodeEventBatch(buf: Buffer, lens: ArrayLike<number>, maxMessages = 1 << 20): EventViews {
  const out: EventViews = { events: [], bad: 0 };
  let start = 0;
  for (let i = 0; i < lens.length; i++) {
    const end = Math.min(buf.length, start + (lens[i] ?? 0));
    decodeDatagram(buf, start, end, maxMessages, out);
    start = end;
  }
  return out;
}

/** One datagram: buf[start, end). Offsets in errors are relative to the datagram. */
function decodeDatagram(dg: Buffer, start: number, end: number, maxMessages: number, out: EventViews): void {
  const fail = (code: DecodeError['code'], message: string, offset: number): void => {
    out.bad++;
    out.firstError ??= { code, message, offset };
  };
  let off = start;
  let n = 0;
  while (off + NLMSG_HDRLEN <= end) {
    const len = u32le(dg, off);
    if (len < NLMSG_HDRLEN) {
      fail('EBADLEN', `nlmsg_len ${len} < 16`, off - start);
      break;
    }
    if (off + len > end) {
      fail('ETRUNCATED', `nlmsg_len ${len} past end of datagram`, off - start);
      break;
    }
    if (++n > maxMessages) {
      fail('ETOOMANY', `more than ${maxMessages} messages`, off - start);
      break;
    }
    const type = u16le(dg, off + 4);
    const at = off;
    off += (len + 3) & ~3;
    if (type < NLMSG_MIN_TYPE) continue;
    const subsys = type >> 8;
    if (subsys !== 1 && subsys !== 2) {
      fail('EBADTYPE', `not ctnetlink: type 0x${type.toString(16)}`, 4);
      continue;
    }
    if (len < NLMSG_HDRLEN + NFGENMSG_LEN) {
      fail('ETRUNCATED', 'no nfgenmsg', NLMSG_HDRLEN);
      continue;
    }
    const msg = type & 0xff;
    let ev: CtEventType;
    if (msg === 0) ev = (u16le(dg, at + 6) & NLM_F_CREATE_EXCL) === NLM_F_CREATE_EXCL ? 'new' : 'update';
    else if (msg === 2) ev = 'destroy';
    else {
      out.bad++;
      continue;
    }
    const family = dg[at + NLMSG_HDRLEN] as number;
    if (family !== 2 && family !== 10) {
      out.bad++;
      continue;
    }
    out.events.push({
      type: ev,
      record: { kind: subsys === 1 ? 'ct' : 'expect', family: family === 2 ? 2 : 10, attrs: dg.subarray(at + NLMSG_HDRLEN + NFGENMSG_LEN, at + len) },
    });
  }
  if (n === 0 && end - off >= 4 && off < end) fail('ETRUNCATED', 'datagram shorter than a header', off - start);
}

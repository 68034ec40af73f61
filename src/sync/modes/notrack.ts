/**
 * NOTRACK: best effort. Every local change is sent once; received entries
 * are applied as they come; no acknowledgements, no retransmission. Recovery
 * is by resync request (the peer bulk-sends its table). Sequence numbers are
 * still assigned (from a random start) for diagnostics.
 */
import type { ModeContext, ModeFactory, SyncMode } from '../mode';
import { Counters } from '../mode';
import { initialSeq, seqAdd } from '../seq';
import { isDataType, type Message } from '../wire/types';

export const createNotrackMode: ModeFactory = (ctx: ModeContext): SyncMode => {
  let seq = initialSeq(ctx.random);
  const st = new Counters(['sent', 'delivered', 'ignoredControl']);
  return {
    name: 'notrack',
    start() {},
    stop() {},
    enqueue(msg: Message) {
      msg.seq = seq;
      seq = seqAdd(seq, 1);
      st.inc('sent');
      ctx.send(msg);
    },
    recv(peer, _epoch, msg) {
      if (!isDataType(msg.type)) {
        st.inc('ignoredControl');
        return;
      }
      st.inc('delivered');
      ctx.deliver(peer, msg);
    },
    tick() {},
    room: () => Number.POSITIVE_INFINITY,
    peerReset() {},
    resendQueueLength: () => 0,
    stats: () => st.toJSON(),
  };
};

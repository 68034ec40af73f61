/**
 * ALARM: every local change is sent at once (best effort), and every entry of
 * the internal cache is re-sent once per RefreshTime. The refresh is an
 * incremental walk spread evenly over the period (a share per tick), never a
 * burst. The receiver applies what it gets and purges external entries not
 * refreshed within CacheTimeout (the external cache's timeoutMs).
 */
import type { CtKind, CtRecord } from '../../netlink/types';
import { Counters, type AlarmOptions, type ModeContext, type ModeFactory, type SyncMode } from '../mode';
import { initialSeq, seqAdd } from '../seq';
import { isDataType, type Message } from '../wire/types';

export const ALARM_DEFAULTS: AlarmOptions = { refreshTimeMs: 15_000, purgeIntervalMs: 1_000 };

type Walk = Iterator<[CtKind, CtRecord]>;

function* walkInternal(ctx: ModeContext): Generator<[CtKind, CtRecord]> {
  for (const [, rec] of ctx.internal.ct.entries()) yield ['ct', rec];
  for (const [, rec] of ctx.internal.expect.entries()) yield ['expect', rec];
}

export const createAlarmMode: ModeFactory = (ctx, options): SyncMode => {
  const o: AlarmOptions = { ...ALARM_DEFAULTS, ...options.alarm };
  let seq = initialSeq(ctx.random);
  const st = new Counters(['sent', 'refreshed', 'rounds', 'delivered', 'ignoredControl', 'purges']);
  let walk: Walk | undefined;
  let roundStart = 0;
  let roundTotal = 0;
  let sentInRound = 0;
  let lastPurge = 0;

  const enqueue = (msg: Message): void => {
    msg.seq = seq;
    seq = seqAdd(seq, 1);
    st.inc('sent');
    ctx.send(msg);
  };

  const newRound = (now: number): void => {
    walk = walkInternal(ctx);
    roundStart = now;
    roundTotal = ctx.internal.ct.size + ctx.internal.expect.size;
    sentInRound = 0;
    st.inc('rounds');
  };

  /** Send refresh messages until `target` entries of this round have gone out. */
  const sendUpTo = (target: number): void => {
    while (sentInRound < target && walk) {
      const r = walk.next();
      if (r.done) {
        walk = undefined;
        return;
      }
      const [kind, rec] = r.value;
      enqueue(ctx.entry(kind, 'update', rec));
      sentInRound++;
      st.inc('refreshed');
    }
  };

  const refresh = (now: number): void => {
    if (o.refreshTimeMs <= 0) return;
    if (now - roundStart >= o.refreshTimeMs) {
      sendUpTo(roundTotal); // the last share of the finished round
      const start = now - roundStart < 2 * o.refreshTimeMs ? roundStart + o.refreshTimeMs : now;
      newRound(start);
    }
    // Share due so far: total * elapsed / period, so each tick sends about total * tickMs / period.
    sendUpTo(Math.min(roundTotal, Math.ceil((roundTotal * (now - roundStart)) / o.refreshTimeMs)));
  };

  return {
    name: 'alarm',
    start(now) {
      lastPurge = now;
      newRound(now);
    },
    stop() {
      walk = undefined;
    },
    enqueue,
    recv(peer, _epoch, msg) {
      if (!isDataType(msg.type)) {
        st.inc('ignoredControl');
        return;
      }
      st.inc('delivered');
      ctx.deliver(peer, msg);
    },
    tick(now) {
      refresh(now);
      if (now - lastPurge >= o.purgeIntervalMs) {
        lastPurge = now;
        st.inc('purges');
        ctx.purgeExternal(now);
      }
    },
    room: () => Number.POSITIVE_INFINITY,
    peerReset() {},
    resendQueueLength: () => 0,
    stats: () => st.toJSON(),
  };
};

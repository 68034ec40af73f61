/**
 * FT-FW: reliable replication (conntrackd's "fault tolerant firewall" mode).
 * Glue between the sending side (ftfw-tx) and the per-peer receiving side
 * (ftfw-rx), plus HELLO at start (retried until a RESET echoes our epoch).
 */
import { Counters, type FtfwOptions, type ModeFactory, type SyncMode } from '../mode';
import { isDataType, type Message } from '../wire/types';
import { FtfwReceiver } from './ftfw-rx';
import { FtfwSender } from './ftfw-tx';

export const FTFW_DEFAULTS: FtfwOptions = {
  resendQueueSize: 131_072,
  ackWindowSize: 300,
  ackDelayMs: 20,
  nackIntervalMs: 50,
  aliveIntervalMs: 500,
  recvWindow: 16_384,
  maxNackRanges: 64,
  minRtoMs: 20,
  maxRtoMs: 1_000,
  initialRtoMs: 100,
  minWindow: 256,
  maxWindow: 0,
  initialWindow: 1_024,
  additiveIncrease: 64,
};

export const createFtfwMode: ModeFactory = (ctx, options): SyncMode => {
  const o: FtfwOptions = { ...FTFW_DEFAULTS, ...options.ftfw };
  const st = new Counters([
    'resends',
    'nacksSent',
    'nacksReceived',
    'acksSent',
    'acksReceived',
    'overflows',
    'resets',
    'duplicates',
    'outOfOrder',
    'outOfWindow',
    'alivesSent',
    'hellosSent',
    'lossEvents',
    'probes',
    'nacksSuppressed',
  ]);
  const tx = new FtfwSender(ctx, o, st);
  const control = (m: Message): void => {
    m.seq = tx.last();
    ctx.send(m);
  };
  const rx = new FtfwReceiver(ctx, o, st, control);
  let helloAnswered = false;
  let lastHelloAt = Number.NEGATIVE_INFINITY;
  let running = false;

  const hello = (now: number): void => {
    lastHelloAt = now;
    st.inc('hellosSent');
    control({ type: 'hello', flags: 0, seq: 0 });
  };

  return {
    name: 'ftfw',
    start(now) {
      running = true;
      hello(now);
    },
    stop() {
      running = false;
    },
    enqueue(msg, now) {
      tx.enqueue(msg, now);
    },
    recv(peer, epoch, msg, now) {
      if (isDataType(msg.type)) {
        rx.onData(peer, msg, now);
        return;
      }
      switch (msg.type) {
        case 'ack':
          tx.onAck(peer, msg, now);
          rx.onControl(peer, msg.seq, now);
          break;
        case 'nack':
          tx.onNack(peer, msg, now);
          rx.onControl(peer, msg.seq, now);
          break;
        case 'alive':
          rx.onAlive(peer, msg, now);
          break;
        case 'hello':
          rx.onControl(peer, msg.seq, now);
          tx.onHello(peer, epoch, now);
          break;
        case 'reset':
          if (msg.echo === ctx.epoch) helloAnswered = true;
          rx.onReset(peer, msg.next, now);
          break;
        default:
          break;
      }
    },
    tick(now) {
      if (!running) return;
      if (!helloAnswered && now - lastHelloAt >= o.aliveIntervalMs) hello(now);
      rx.tick(now);
      tx.tick(now);
    },
    room: () => tx.room(),
    peerReset(peer) {
      rx.forget(peer);
      tx.forget(peer);
    },
    resendQueueLength: () => tx.queueLength(),
    mark: () => tx.lastAssigned(),
    reached: (token) => tx.ackedBy(token),
    stats: () => ({ ...st.toJSON(), ...tx.flowStats(), resendQueue: tx.queueLength(), buffered: rx.bufferedTotal() }),
  };
};

/**
 * In-process replication pipeline benchmark (no kernel, no sockets):
 *
 *   sender:   N synthetic ctnetlink NEW events (as the native socket hands
 *             them: wakeups of up to 256 datagrams, views into one Buffer)
 *             -> kernel-table event decode -> mirror (filter, internal cache)
 *             -> sync engine (FT-FW) -> encoded datagrams;
 *   receiver: datagrams -> sync engine -> external cache; its ACKs go back.
 *
 * Then a bulk send of the same N into an emptied external cache. Each side
 * has its own fake clock; the driver advances both by 1 ms per round, so the
 * "simulated ms" column is how long the protocol's pacing alone would take
 * with instant CPUs. CPU is measured per side (process CPU time around each
 * call into that side, so another process's load does not inflate it). Usage: node dist/bench/pipeline.js [N] [rounds]
 */
import { buildPipeline, type Pipeline } from './pipeline-setup';

interface PhaseResult {
  phase: string;
  n: number;
  senderMs: number;
  receiverMs: number;
  simulatedMs: number;
  datagrams: number;
}

function fmt(r: PhaseResult): string {
  const us = (ms: number): string => ((ms * 1000) / r.n).toFixed(2);
  return [
    r.phase.padEnd(6),
    `sender ${r.senderMs.toFixed(0)} ms (${us(r.senderMs)} us/entry)`,
    `receiver ${r.receiverMs.toFixed(0)} ms (${us(r.receiverMs)} us/entry)`,
    `simulated ${r.simulatedMs} ms`,
    `${r.datagrams} datagrams`,
  ].join('  ');
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

async function run(n: number): Promise<PhaseResult[]> {
  const p: Pipeline = await buildPipeline(n);
  const out: PhaseResult[] = [];
  const heap0 = process.memoryUsage().heapUsed;

  // Burst: one wakeup per round, then the rounds until the receiver holds N.
  p.resetTimes();
  let rounds = 0;
  for (const w of p.wakeups) {
    p.feed(w);
    p.round();
    rounds++;
  }
  while (p.receiverSize() < n && rounds < 1_000_000) {
    p.round();
    rounds++;
  }
  out.push({ phase: 'burst', n, ...p.times(), simulatedMs: rounds, datagrams: p.sentDatagrams() });
  if (p.receiverSize() !== n) throw new Error(`burst: receiver holds ${p.receiverSize()} of ${n}`);
  const heap1 = process.memoryUsage().heapUsed;

  // Bulk: empty the external cache, bulk-send, rounds until bulk-done.
  p.clearReceiver();
  p.resetTimes();
  const d0 = p.sentDatagrams();
  rounds = 0;
  p.bulkSend();
  while (!p.bulkDone() && rounds < 1_000_000) {
    p.round();
    rounds++;
  }
  out.push({ phase: 'bulk', n, ...p.times(), simulatedMs: rounds, datagrams: p.sentDatagrams() - d0 });
  if (p.receiverSize() !== n) throw new Error(`bulk: receiver holds ${p.receiverSize()} of ${n}`);
  const mu = process.memoryUsage();
  console.log(
    `heap: +${mb(heap1 - heap0)} after the burst, ${mb(mu.heapUsed)} used, rss ${mb(mu.rss)}; sender ${JSON.stringify(p.senderStats())}`,
  );
  p.stop();
  return out;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const reps = Number(process.argv[3] ?? 3);
  const best = new Map<string, PhaseResult>();
  for (let i = 0; i < reps; i++) {
    const rs = await run(n);
    for (const r of rs) {
      console.log(fmt(r));
      const b = best.get(r.phase);
      best.set(r.phase, b === undefined ? r : { ...r, senderMs: Math.min(b.senderMs, r.senderMs), receiverMs: Math.min(b.receiverMs, r.receiverMs) });
    }
  }
  console.log(`best of ${reps} (CPU time per side):`);
  for (const r of best.values()) console.log(fmt(r));
}

// Only when run as a script: `npm run bench` requires every module here to find its sections.
if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

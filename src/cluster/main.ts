/**
 * Entry point of the standalone agent (dist/cluster/main.js). SIGTERM or
 * SIGINT: hand the buckets over, then exit.
 */
import { systemClock } from '../util/clock';
import { createLogger } from '../util/log';
import { parseAgentArgs, startAgent } from './agent';

export async function main(argv: string[]): Promise<number> {
  const p = parseAgentArgs(argv);
  if (!p.ok) {
    process.stderr.write(`ctsync-cluster: ${p.error}\n`);
    return 2;
  }
  const logger = createLogger({ name: 'ctsync-cluster' });
  const agent = await startAgent(p.value, { clock: systemClock(), logger });
  logger.info({ id: p.value.id, peers: p.value.peers, buckets: p.value.buckets }, 'cluster agent started');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  const handed = await agent.shutdown();
  logger.info({ handed }, 'cluster agent stopped');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`ctsync-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

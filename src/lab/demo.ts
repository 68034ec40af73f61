/**
 * The failover demo (scripts/demo.sh runs `node dist/lab/demo.js`):
 * a firewall pair in namespaces, N long-lived TCP streams through the master,
 * an FTP session (a paced RETR across the crash, EPSV + RETR after it, see
 * ftp-failover.ts), a crash of the master, once with state replication and once without.
 * Prints a report and writes <out>/failover.svg and <out>/failover.json.
 *
 *   node dist/lab/demo.js [--streams 10] [--flows 20000] [--out demo-out]
 *        [--sync auto|ctsyncd-vrrp|ctsyncd|conntrackd] [--advert 0.1] [--warmup 2000] [--observe 5000] [--no-ftp]
 *   node dist/lab/demo.js --sweep      remove namespaces left by dead demo runs
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLab, sweepLabs } from './topology';
import { probeEmbeddedVrrp, probeSyncDaemon, repoRoot, type Variant } from './ha-stack';
import { runFailover, type FailoverResult } from './failover';
import { renderTimeline } from './timeline';
import { formatRun, VARIANT_LABEL } from './report';
import { formatFtp, ftpLanes } from './ftp-report';
import { createLogger, type Logger } from '../util/log';

const PREFIX = 'demo';

function opt(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return (i >= 0 ? argv[i + 1] : undefined) ?? dflt;
}

function num(argv: string[], name: string, dflt: number): number {
  const v = Number(opt(argv, name, String(dflt)));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: not a number >= 0`);
  return v;
}

/**
 * auto: ctsyncd with its embedded VRRP when it starts and becomes master in a
 * probe namespace, else keepalived + ctsyncd when `ctsyncd -C conf -d` answers
 * `-s`, else keepalived + conntrackd.
 */
async function chooseSync(choice: string, runDir: string, log: Logger): Promise<Variant> {
  if (choice === 'conntrackd' || choice === 'ctsyncd' || choice === 'ctsyncd-vrrp' || choice === 'ctsyncd-vrrp-rfc') return choice;
  if (choice !== 'auto') throw new Error(`--sync must be auto, ctsyncd-vrrp, ctsyncd-vrrp-rfc, ctsyncd or conntrackd`);
  const bin = path.join(repoRoot(), 'bin', 'ctsyncd');
  const lab = createLab({ prefix: PREFIX, seq: 9 });
  try {
    if (await probeEmbeddedVrrp(lab, bin, runDir)) {
      log.info('ctsyncd --vrrp-config becomes master in a probe: using ctsyncd as the whole HA stack');
      return 'ctsyncd-vrrp';
    }
    const ok = await probeSyncDaemon(lab, bin, runDir);
    log.info({ ctsyncd: ok }, ok ? 'embedded VRRP not usable; ctsyncd -C conf -d starts: using keepalived + ctsyncd' : 'ctsyncd not usable: using keepalived + conntrackd');
    return ok ? 'ctsyncd' : 'conntrackd';
  } finally {
    lab.destroy();
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--sweep')) {
    const removed = sweepLabs(PREFIX);
    process.stdout.write(`removed ${removed.length} namespace(s)\n`);
    return 0;
  }
  const log = createLogger({ name: 'ctlab', level: process.env.CTSYNC_LOG_LEVEL ?? 'info' });
  const out = path.resolve(opt(argv, 'out', 'demo-out'));
  const runDir = path.join(out, 'run');
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
  const onSignal = (sig: string): void => {
    sweepLabs(PREFIX, false, process.pid);
    process.stderr.write(`demo: ${sig}, cleaned up\n`);
    process.exit(130);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  sweepLabs(PREFIX);

  const common = {
    prefix: PREFIX,
    logger: log,
    streams: num(argv, 'streams', 10),
    warmupMs: num(argv, 'warmup', 2000),
    observeMs: num(argv, 'observe', 5000),
    advertInt: num(argv, 'advert', 0.1),
    ftp: !argv.includes('--no-ftp'),
  };
  const variant = await chooseSync(opt(argv, 'sync', 'auto'), runDir, log);
  const runs: FailoverResult[] = [];
  log.info(`run 1: ${VARIANT_LABEL[variant]}`);
  runs.push(await runFailover({ ...common, seq: 1, variant, flows: num(argv, 'flows', 20_000), runDir: path.join(runDir, variant) }));
  log.info(`run 2: ${VARIANT_LABEL.none}`);
  runs.push(await runFailover({ ...common, seq: 2, variant: 'none', flows: 0, runDir: path.join(runDir, 'none') }));

  const svg = renderTimeline(
    runs.map((r) => ({
      ...r,
      label: `${VARIANT_LABEL[r.variant]}: ${r.survived}/${r.verdicts.length} streams survived${r.ftp ? `, FTP ${r.ftp.verdict.completed ? 'completed' : r.ftp.verdict.state}` : ''}`,
      lanes: ftpLanes(r),
    })),
    { title: `ctsync lab: crash of the master firewall (fw1) while TCP streams${common.ftp ? ' and an FTP transfer' : ''} run through it` },
  );
  fs.writeFileSync(path.join(out, 'failover.svg'), svg);
  fs.writeFileSync(path.join(out, 'failover.json'), JSON.stringify(runs, null, 1));
  const report = runs.map((r) => [formatRun(r), ...formatFtp(r)].join('\n')).join('\n\n');
  process.stdout.write(`\n${report}\n\nwritten: ${path.join(out, 'failover.svg')}, ${path.join(out, 'failover.json')}\n`);
  const [withSync, without] = runs;
  const ftpProved = !common.ftp || (withSync?.ftp?.verdict.completed === true && without?.ftp?.verdict.completed === false);
  const proved =
    withSync !== undefined && without !== undefined && withSync.survived === withSync.verdicts.length && without.survived === 0 && ftpProved;
  const what = common.ftp ? 'every stream and the FTP transfer survived' : 'every stream survived';
  process.stdout.write(proved ? `result: ${what} with replication, none without.\n` : 'result: UNEXPECTED outcome, see above.\n');
  return proved ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

/** Readable text report of failover runs (pure). */
import type { FailoverResult } from './failover';
import type { Variant } from './ha-stack';
import { formatSummary, summarize } from './summary';

export const VARIANT_LABEL: Record<Variant, string> = {
  conntrackd: 'keepalived + conntrackd (FT-FW over UDP on the sync link)',
  ctsyncd: 'keepalived + ctsyncd (FT-FW over UDP on the sync link)',
  'ctsyncd-vrrp': 'ctsyncd with its embedded VRRP (fast failover)',
  'ctsyncd-vrrp-rfc': 'ctsyncd with its embedded VRRP (RFC timers only)',
  none: 'keepalived alone, no state replication',
};

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

export function formatRun(r: FailoverResult): string {
  const lines: string[] = [];
  lines.push(`== ${VARIANT_LABEL[r.variant]} (VRRP advert ${r.advertInt} s)`);
  if (r.flowsCreated > 0 || r.replicatedBeforeCrash !== null) {
    const rep = r.replicatedBeforeCrash === null ? 'not replicated' : `${r.replicatedBeforeCrash} entries in fw2's external cache before the crash`;
    lines.push(`   background flows on fw1: ${r.flowsCreated}; ${rep}`);
  }
  if (r.fw2MasterBeforeCrash) lines.push('   WARNING: fw2 became MASTER before the crash (false failover: fw1\'s adverts were late)');
  lines.push(`   crash: fw1's daemons SIGKILLed and its links taken down; then on fw2:`);
  for (const s of r.steps) lines.push(`   ${`+${Math.round(s.t - r.crashAt)} ms`.padStart(10)}  ${s.node}: ${s.label}`);
  lines.push(`   streams: ${r.survived}/${r.verdicts.length} survived, ${r.broken} broken (RST/error/closed)`);
  for (const v of r.verdicts) {
    const state = v.broken ? `BROKEN (${v.reason ?? '?'})` : v.survived ? 'ok' : 'HUNG';
    const stall =
      v.stallTo === null
        ? `no progress since +${Math.round((v.stallFrom ?? r.crashAt) - r.crashAt)} ms (${v.stallMs} ms until the end)`
        : `longest stall ${v.stallMs} ms`;
    lines.push(`     stream ${String(v.id).padStart(2)}: ${state.padEnd(6)} ${kib(v.bytes).padStart(10)}, ${stall}`);
  }
  lines.push(`   summary: ${formatSummary(summarize(r))}`);
  if (r.fw2InvalidDrops !== null) lines.push(`   fw2 dropped ${r.fw2InvalidDrops} forwarded packets as INVALID (unknown mid-stream TCP)`);
  return lines.join('\n');
}

export function formatReport(runs: FailoverResult[]): string {
  return `${runs.map(formatRun).join('\n\n')}\n`;
}

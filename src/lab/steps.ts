/**
 * Transition steps of a failover, from the logs the lab collects (pure):
 * keepalived's output lines (timed on arrival) and the steps.log written by
 * the wrapper scripts (`<epoch ms> notify-begin primary`, `<epoch ms> begin -C conf -c`,
 * `<epoch ms> end -C conf -c 0`).
 */
export interface StepMark {
  /** Epoch ms. */
  t: number;
  label: string;
  /** 'fw1', 'fw2' or 'streams'. */
  node: string;
}

const CLI_STEP: Record<string, string> = {
  '-c': 'commit external cache',
  '-f': 'flush caches',
  '-R': 'resync with kernel',
  '-B': 'bulk send',
  '-n': 'request resync',
  '-t': 'shorten timers',
  '-s': 'stats',
  '-d': 'start daemon',
};

/** Steps at or after `since` from a steps.log text. */
export function parseStepsLog(text: string, node: string, since: number): StepMark[] {
  const out: StepMark[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (notify-begin|notify-end|begin|end) (.*)$/.exec(line.trim());
    if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) continue;
    const t = Number(m[1]);
    if (t < since) continue;
    const kind = m[2];
    const rest = m[3].trim().split(/\s+/);
    if (kind === 'notify-begin' || kind === 'notify-end') {
      out.push({ t, node, label: `notify ${rest[0] ?? '?'} ${kind === 'notify-begin' ? 'start' : 'done'}` });
      continue;
    }
    // begin -C conf ARG  |  end -C conf ARG RC
    const args = kind === 'end' ? rest.slice(0, -1) : rest;
    const flag = args[args.length - 1] ?? '?';
    const name = CLI_STEP[flag] ?? flag;
    if (kind === 'begin') continue; // one mark per step: when it finished
    const rc = rest[rest.length - 1];
    out.push({ t, node, label: `${name} (${flag}) done${rc === '0' ? '' : ` rc=${rc ?? '?'}`}` });
  }
  return out;
}

/** keepalived state changes at or after `since`. */
export function parseKeepalived(lines: Array<{ t: number; line: string }>, node: string, since: number): StepMark[] {
  const out: StepMark[] = [];
  let timeoutSeen = false;
  for (const { t, line } of lines) {
    if (t < since) continue;
    if (!timeoutSeen && /Receive advertisement timeout/.test(line)) {
      timeoutSeen = true;
      out.push({ t, node, label: 'VRRP advert timeout' });
    }
    const m = /\((\w+)\) Entering (MASTER|BACKUP|FAULT) STATE/.exec(line);
    if (m) out.push({ t, node, label: `VRRP ${m[1] ?? ''} ${m[2] ?? ''}` });
  }
  return out;
}

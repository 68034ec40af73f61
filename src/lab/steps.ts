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

interface DaemonLogLine {
  time?: unknown;
  msg?: unknown;
  vrrp?: unknown;
  to?: unknown;
  reason?: unknown;
  step?: unknown;
  ms?: unknown;
  ok?: unknown;
  committed?: unknown;
  steps?: unknown;
}

/**
 * Transition steps of ctsyncd with its embedded VRRP, at or after `since`,
 * from its JSON log (pino: one object per line, `time` in epoch ms):
 *   `<inst>: BACKUP -> MASTER` (reason)      -> "VRRP advert timeout" (first, when the master-down timer fired), "VRRP <inst> MASTER"
 *   `commit done` (committed)                -> "commit: N entries"
 *   `transition step done` (step, ms)        -> "<step> done (N ms)"
 *   `transition steps done` (vrrp, to MASTER, steps {beforeMaster, addVips, afterMaster})
 *                                            -> "VRRP <inst> VIPs added" at time - afterMaster
 * Lines that are not JSON are skipped (the log is ours, but tolerate a torn last line).
 */
export function parseCtsyncdLog(text: string, node: string, since: number): StepMark[] {
  const out: StepMark[] = [];
  let timeoutSeen = false;
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    let o: DaemonLogLine;
    try {
      o = JSON.parse(raw) as DaemonLogLine;
    } catch {
      continue;
    }
    const t = typeof o.time === 'number' ? o.time : NaN;
    if (!(t >= since) || typeof o.msg !== 'string') continue;
    const inst = typeof o.vrrp === 'string' ? o.vrrp : '';
    if (inst !== '' && /^\w+: \w+ -> \w+$/.test(o.msg) && typeof o.to === 'string') {
      if (!timeoutSeen && o.to === 'MASTER' && typeof o.reason === 'string' && /master down/.test(o.reason)) {
        timeoutSeen = true;
        out.push({ t, node, label: 'VRRP advert timeout' });
      }
      out.push({ t, node, label: `VRRP ${inst} ${o.to}` });
    } else if (o.msg === 'commit done' && typeof o.committed === 'number') {
      out.push({ t, node, label: `commit: ${o.committed} entries` });
    } else if (o.msg === 'transition step done' && typeof o.step === 'string') {
      out.push({ t, node, label: `${o.step} done (${typeof o.ms === 'number' ? o.ms : '?'} ms)` });
    } else if (o.msg === 'transition step failed' && typeof o.step === 'string') {
      out.push({ t, node, label: `${o.step} FAILED` });
    } else if (o.msg === 'transition steps done' && o.to === 'MASTER' && typeof o.steps === 'object' && o.steps !== null) {
      const st = o.steps as Record<string, unknown>;
      if (typeof st.addVips === 'number') {
        const after = typeof st.afterMaster === 'number' ? st.afterMaster : 0;
        out.push({ t: Math.round(t - after), node, label: `VRRP ${inst} VIPs added` });
      }
    }
  }
  return out;
}

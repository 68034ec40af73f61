import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNotifier, notifyCommands } from '../../../src/ha/notify';
import { systemClock } from '../../../src/util/clock';
import { silentLogger } from '../../../src/util/log';
import type { NotifyScript } from '../../../src/config/keepalived-types';

const script = (argv: string[]): NotifyScript => ({ text: argv.join(' '), argv, line: 1 });
const dir = mkdtempSync(join(tmpdir(), 'ctsync-notify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('notify argument contract', () => {
  it('state script as written, then generic notify with TYPE NAME STATE PRIORITY', () => {
    const cfg = { master: script(['/bin/m.sh', 'x']), any: script(['/bin/n.sh', 'arg']), stop: script(['/bin/s.sh']) };
    expect(notifyCommands('INSTANCE', 'VI_1', 'MASTER', 150, cfg)).toEqual([['/bin/m.sh', 'x'], ['/bin/n.sh', 'arg', 'INSTANCE', 'VI_1', 'MASTER', '150']]);
    expect(notifyCommands('GROUP', 'G', 'FAULT', 0, cfg)).toEqual([['/bin/n.sh', 'arg', 'GROUP', 'G', 'FAULT', '0']]);
    expect(notifyCommands('INSTANCE', 'VI_1', 'STOP', 100, cfg)).toEqual([['/bin/s.sh'], ['/bin/n.sh', 'arg', 'INSTANCE', 'VI_1', 'STOP', '100']]);
    expect(notifyCommands('INSTANCE', 'VI_1', 'BACKUP', 100, {})).toEqual([]);
  });
});

describe('running notify scripts', () => {
  it('runs scripts without blocking and reports their outcome', async () => {
    const out = join(dir, 'out.txt');
    const sh = join(dir, 'n.sh');
    writeFileSync(sh, `#!/bin/sh\necho "$@" >> ${out}\nexit 0\n`);
    chmodSync(sh, 0o755);
    const n = createNotifier({ clock: systemClock(), logger: silentLogger() });
    n.notify('INSTANCE', 'VI_1', 'MASTER', 200, { any: script([sh]), master: script(['/bin/false']) });
    expect(n.running()).toBe(2);
    await n.idle();
    expect(readFileSync(out, 'utf8')).toBe('INSTANCE VI_1 MASTER 200\n');
    expect(n.stats()).toEqual({ started: 2, ok: 1, failed: 1, timedOut: 0, spawnErrors: 0 });
  });
  it('kills a script that outlives its timeout; a missing script is counted, not thrown', async () => {
    const n = createNotifier({ clock: systemClock(), logger: silentLogger(), timeoutMs: 200 });
    const t0 = Date.now();
    n.notify('INSTANCE', 'VI_1', 'BACKUP', 1, { backup: script(['/bin/sleep', '30']), any: script([join(dir, 'does-not-exist')]) });
    await n.idle();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(n.stats()).toMatchObject({ timedOut: 1, failed: 1, spawnErrors: 1 });
    expect(existsSync(join(dir, 'does-not-exist'))).toBe(false);
  });
});

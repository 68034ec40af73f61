import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startVrrpThread } from '../../../src/ha/thread/client';
import type { ThreadOptions } from '../../../src/ha/thread/messages';
import { silentLogger } from '../../../src/util/log';

// Stand-ins for src/ha/thread/worker.ts speaking the same messages.
const dir = mkdtempSync(join(tmpdir(), 'ctsync-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const script = (name: string, body: string): string => {
  const f = join(dir, name);
  writeFileSync(f, `const { parentPort } = require('node:worker_threads');\n${body}\n`);
  return f;
};
const options = { config: { globalDefs: {}, syncGroups: [], instances: [] }, heartbeat: false } as unknown as ThreadOptions;

describe('VRRP thread client', () => {
  it('answers the thread\'s hooks with the daemon\'s transitions and mirrors the speaker states', async () => {
    const f = script('hooks.js', `
      parentPort.postMessage({ t: 'started', failed: [], speakers: [{ name: 'VI_1', state: 'BACKUP' }] });
      parentPort.postMessage({ t: 'hook', id: 1, hook: 'beforeMaster', name: 'VI_1' });
      parentPort.on('message', (m) => {
        if (m.t === 'hook-done') parentPort.postMessage({ t: 'transition', name: 'VI_1', from: 'BACKUP', to: 'MASTER' });
        if (m.t === 'stop') { parentPort.postMessage({ t: 'stopped' }); parentPort.close(); }
      });`);
    const calls: string[] = [];
    const th = await startVrrpThread({
      options,
      logger: silentLogger(),
      script: f,
      hooks: { beforeMaster: async (n) => void calls.push(`beforeMaster:${n}`) },
    });
    const [sp] = th.speakers();
    expect(sp?.name).toBe('VI_1');
    const moved = new Promise<string>((resolve) => sp?.onTransition((from, to) => resolve(`${from}->${to}`)));
    expect(await moved).toBe('BACKUP->MASTER');
    expect(calls).toEqual(['beforeMaster:VI_1']);
    expect(sp?.state()).toBe('MASTER');
    await th.stop();
  });

  it('a thread that dies after starting is reported (the daemon stops); a failed start rejects', async () => {
    const f = script('dies.js', `
      parentPort.postMessage({ t: 'started', failed: [], speakers: [] });
      setTimeout(() => { throw new Error('boom'); }, 20);`);
    let died = '';
    const gone = new Promise<void>((resolve) => {
      void startVrrpThread({ options, logger: silentLogger(), script: f, hooks: {}, onDied: (why) => { died = why; resolve(); } });
    });
    await gone;
    expect(died).toBe('boom');
    const bad = script('bad.js', `parentPort.postMessage({ t: 'start-failed', error: 'rtnetlink: EPERM' });`);
    await expect(startVrrpThread({ options, logger: silentLogger(), script: bad, hooks: {} })).rejects.toThrow('rtnetlink: EPERM');
  });
});

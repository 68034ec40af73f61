import { describe, expect, it } from 'vitest';
import { fakeRecord, makeRig } from './helpers/fixtures';

describe('engine.delivered(): a barrier on the peers\' acknowledgements', () => {
  it('FT-FW: resolves true once the peer has acknowledged every earlier change', async () => {
    const rig = makeRig('ftfw', 11);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.run(200);
    for (let i = 1; i <= 50; i++) rig.a.change('new', fakeRecord('ct', i, 0));
    let settled: boolean | null = null;
    void rig.a.engine.delivered(1000).then((v) => (settled = v));
    await Promise.resolve();
    expect(settled).toBeNull();
    for (let t = 0; t < 300 && settled === null; t += 10) {
      rig.run(10);
      await Promise.resolve();
    }
    expect(settled).toBe(true);
    expect(rig.b.external.ct.size).toBe(50);
  });

  it('FT-FW: resolves false after the timeout when the peer never acknowledges', async () => {
    const rig = makeRig('ftfw', 12);
    rig.a.engine.start();
    rig.b.engine.start();
    rig.run(200);
    rig.link.setFaults({ loss: 1 });
    rig.a.change('new', fakeRecord('ct', 1, 0));
    let settled: boolean | null = null;
    void rig.a.engine.delivered(100).then((v) => (settled = v));
    for (let t = 0; t < 150; t += 10) {
      rig.run(10);
      await Promise.resolve();
    }
    expect(settled).toBe(false);
  });

  it('NOTRACK has no acknowledgements: resolves true at once', async () => {
    const rig = makeRig('notrack', 13);
    rig.a.engine.start();
    rig.a.change('new', fakeRecord('ct', 1, 0));
    await expect(rig.a.engine.delivered(1000)).resolves.toBe(true);
  });
});

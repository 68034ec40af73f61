/**
 * primary-backup.sh (same steps as compat-script.test.ts) in the two other
 * sync modes, NOTRACK and ALARM: conntrackd 1.4.7 and ctsyncd must leave the
 * same kernel tables and cache counts and exit the same way.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, have, isRoot } from '../helpers/netns';
import { ctsyncdBuilt } from './helpers/compat-pair';
import { haveScript, scriptScenario } from './helpers/compat-script';

const ready = isRoot() && have('conntrackd') && have('conntrack') && haveScript() && ctsyncdBuilt();

describe.skipIf(!ready)('primary-backup.sh in NOTRACK and ALARM modes', () => {
  const labs: Lab[] = [];
  afterAll(() => {
    for (const l of labs) l.cleanup();
  });

  for (const mode of ['NOTRACK', 'ALARM'] as const) {
    it(`${mode}: same exit codes, kernel tables, cache counts and script log as conntrackd`, { timeout: 180_000 }, async () => {
      const lc = new Lab(`cm${mode[0]?.toLowerCase()}c`);
      const ls = new Lab(`cm${mode[0]?.toLowerCase()}s`);
      labs.push(lc, ls);
      const c = await scriptScenario(lc, 'conntrackd', { mode });
      const s = await scriptScenario(ls, 'ctsyncd', { mode });
      expect(c.exit).toEqual({ primary: 0, backup: 0, fault: 0, sAfterCrash: 1, backupAfterCrash: 0, bogus: 1 });
      expect(s.exit).toEqual(c.exit);
      expect(s.kernelB).toEqual(c.kernelB);
      expect(s.kernelA).toEqual(c.kernelA);
      expect(s.counts).toEqual(c.counts);
      expect(s.afterCrash).toEqual(c.afterCrash);
      expect(s.logger).toEqual(c.logger);
    });
  }
});

/**
 * The Pacemaker configurations we ship or generate are valid for Pacemaker
 * itself: crm_verify (pacemaker-cli-utils, installed by scripts/setup.sh)
 * checks them against the CIB schema and the cluster semantics. The snippets
 * are <configuration> parts: wrapped in a <cib> with STONITH disabled (the
 * administrator's cluster has its own fencing) for the check.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..', '..', '..');
const haveVerify = spawnSync('sh', ['-c', 'command -v crm_verify'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'ctsync-cib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function verify(configurationXml: string): { code: number; out: string } {
  const body = configurationXml
    .slice(configurationXml.indexOf('<configuration>'))
    .replace('<crm_config/>', '<crm_config><cluster_property_set id="cib-bootstrap-options"><nvpair id="no-stonith" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>');
  const f = join(dir, `cib-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(f, `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">\n${body}\n<status/>\n</cib>\n`);
  const r = spawnSync('crm_verify', ['--xml-file', f, '-V'], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!haveVerify)('Pacemaker configurations pass crm_verify', () => {
  it('the promotable primary-backup clone (examples/pacemaker/cib.xml)', () => {
    const r = verify(readFileSync(join(ROOT, 'examples', 'pacemaker', 'cib.xml'), 'utf8'));
    expect(r.out).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });

  it('the active-active clone (examples/active-active/cib.xml)', () => {
    const r = verify(readFileSync(join(ROOT, 'examples', 'active-active', 'cib.xml'), 'utf8'));
    expect(r.out).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });

  it('a broken configuration is refused (the check can fail)', () => {
    const r = verify('<configuration><crm_config/><nodes/><resources><clone id="x"><primitive id="p" class="ocf"/></clone></resources><constraints/></configuration>');
    expect(r.code).not.toBe(0);
    expect(execFileSync('crm_verify', ['--version'], { encoding: 'utf8' })).toMatch(/Pacemaker/);
  });
});

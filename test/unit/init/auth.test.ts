import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConntrackdConf } from '../../../src/config/conntrackd';
import { parseInitArgs } from '../../../src/init/args';
import { runInit } from '../../../src/init/run';
import { loadKeyFile } from '../../../src/sync/auth/keys';
import { memoryDeps, type MemoryDeps } from './memory-deps';

const CLUSTER = readFileSync(join(__dirname, '..', '..', 'fixtures', 'config', 'cluster.ini'), 'utf8');
const KEY = '/etc/ctsync/sync.key';
const EXISTING = `${'ab'.repeat(32)}\n`;

async function run(argv: string[], deps: MemoryDeps = memoryDeps({ 'cluster.ini': CLUSTER })) {
  const code = await runInit(['--cluster', 'cluster.ini', '--out', 'o', ...argv], deps);
  return { code, deps, out: deps.out.join(''), err: deps.err.join(''), conf: deps.files.get('o/conntrackd.conf')?.text ?? '' };
}

describe('ctsyncd init: sync authentication', () => {
  it('default: generates a 32-byte hex key, mode 0600, and conntrackd.conf has Sync/Auth with zero diagnostics', async () => {
    const { code, deps, out, err, conf } = await run([]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const key = deps.files.get(KEY);
    expect(key?.mode).toBe(0o600);
    expect(key?.text).toMatch(/^[0-9a-f]{64}\n$/);
    expect(deps.dirs.get('/etc/ctsync')).toBe(0o700);
    // the daemon's own loader accepts it
    const loaded = loadKeyFile(KEY, deps);
    expect(loaded.ok).toBe(true);
    if (loaded.ok) expect(loaded.key.secret).toHaveLength(32);
    const parsed = parseConntrackdConf(conf);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.config.sync?.auth).toEqual({ keyFile: KEY, encrypt: false });
    expect(conf).toContain('\tAuth {\n\t\tKeyFile /etc/ctsync/sync.key\n\t}\n');
    expect(out).toContain(`generated the sync key ${KEY} (mode 0600)`);
    expect(out).toContain('copy it to /etc/ctsync/sync.key on every other node');
  });

  it('an existing key is kept (also with --force), and the second node uses the same key', async () => {
    const deps = memoryDeps({ 'cluster.ini': CLUSTER });
    deps.files.set(KEY, { text: EXISTING, mode: 0o600 });
    const first = await run([], deps);
    expect(first.code).toBe(0);
    expect(deps.files.get(KEY)).toEqual({ text: EXISTING, mode: 0o600 });
    expect(first.out).toContain(`using the existing sync key ${KEY}`);
    const again = await run(['--force', '--node', 'fw2'], deps);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(deps.files.get(KEY)).toEqual({ text: EXISTING, mode: 0o600 });
    expect(parseConntrackdConf(again.conf).config.sync?.auth?.keyFile).toBe(KEY);
  });

  it('--new-key needs --force to replace an existing key; with it the key changes', async () => {
    const deps = memoryDeps({ 'cluster.ini': CLUSTER });
    deps.files.set(KEY, { text: EXISTING, mode: 0o600 });
    const refused = await run(['--new-key'], deps);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${KEY} already exists; --new-key replaces it only with --force`);
    expect(deps.files.get(KEY)?.text).toBe(EXISTING);
    expect(deps.files.has('o/conntrackd.conf')).toBe(false);
    const replaced = await run(['--new-key', '--force'], deps);
    expect(replaced.code).toBe(0);
    expect(deps.files.get(KEY)?.text).toMatch(/^[0-9a-f]{64}\n$/);
    expect(deps.files.get(KEY)?.text).not.toBe(EXISTING);
    expect(deps.files.get(KEY)?.mode).toBe(0o600);
    expect(replaced.out).toContain('replaced the sync key');
  });

  it('--key-file PATH: an existing key there is used; a bad existing key is refused and nothing is written', async () => {
    const deps = memoryDeps({ 'cluster.ini': CLUSTER });
    deps.files.set('/srv/k', { text: EXISTING, mode: 0o640 });
    const ok = await run(['--key-file', '/srv/k'], deps);
    expect(ok.code).toBe(0);
    expect(parseConntrackdConf(ok.conf).config.sync?.auth?.keyFile).toBe('/srv/k');
    expect(deps.files.has(KEY)).toBe(false);

    const open = memoryDeps({ 'cluster.ini': CLUSTER });
    open.files.set('/srv/k', { text: EXISTING, mode: 0o644 });
    const bad = await run(['--key-file', '/srv/k'], open);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('existing key file /srv/k: mode 0644 lets other users access it; chmod 600 (or 640) it');
    expect([...open.files.keys()]).toEqual(['/srv/k']);

    const short = memoryDeps({ 'cluster.ini': CLUSTER });
    short.files.set('/srv/k', { text: 'abcd\n', mode: 0o600 });
    const s = await run(['--key-file', '/srv/k'], short);
    expect(s.code).toBe(1);
    expect(s.err).toContain('existing key file /srv/k:');
  });

  it('a key that cannot be written stops init before any file', async () => {
    const deps = memoryDeps({ 'cluster.ini': CLUSTER });
    const write = deps.writeFile;
    deps.writeFile = (p, t, m) => {
      if (p === KEY) throw Object.assign(new Error('read-only'), { code: 'EROFS' });
      write(p, t, m);
    };
    const r = await run([], deps);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot write key file ${KEY} (EROFS)`);
    expect(deps.files.size).toBe(0);
  });

  it('--no-auth: no Auth section, no key, a warning', async () => {
    const { code, deps, out, conf } = await run(['--no-auth']);
    expect(code).toBe(0);
    expect(deps.files.has(KEY)).toBe(false);
    const parsed = parseConntrackdConf(conf);
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.config.sync?.auth).toBeUndefined();
    expect(conf).not.toContain('Auth {');
    expect(out).toContain('sync authentication is off (--no-auth)');
  });

  it('no key is made when conntrackd.conf is not among the outputs', async () => {
    const { code, deps } = await run(['--only', 'nftables']);
    expect(code).toBe(0);
    expect([...deps.files.keys()]).toEqual(['o/nftables.conf']);
  });

  it('argument errors', () => {
    expect(parseInitArgs(['--key-file', 'rel/k', '--cluster', 'c'])).toEqual({ ok: false, error: "--key-file: 'rel/k' must be an absolute path (the daemon reads it from there)" });
    expect(parseInitArgs(['--no-auth', '--key-file', '/k', '--cluster', 'c'])).toEqual({ ok: false, error: '--no-auth excludes --key-file and --new-key' });
    expect(parseInitArgs(['--no-auth', '--new-key', '--cluster', 'c']).ok).toBe(false);
    const p = parseInitArgs(['--cluster', 'c']);
    expect(p.ok && p.args.keyFile).toBe(KEY);
  });
});

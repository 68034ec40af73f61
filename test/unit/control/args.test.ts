import { describe, expect, it } from 'vitest';
import { parseArgs, type Action } from '../../../src/control/args';

type Row = [string, Action | undefined, string?];

const ok: Row[] = [
  ['-c', { cmd: 'commit', kind: 'all' }],
  ['-c ct', { cmd: 'commit', kind: 'ct' }],
  ['-c expect', { cmd: 'commit', kind: 'expect' }],
  ['-c e', { cmd: 'commit', kind: 'expect' }],
  ['-c c', { cmd: 'commit', kind: 'ct' }],
  ['-F', { cmd: 'flushKernel', kind: 'all' }],
  ['-F expect', { cmd: 'flushKernel', kind: 'expect' }],
  ['-R', { cmd: 'resyncKernel', kind: 'all' }],
  ['-R ct', { cmd: 'resyncKernel', kind: 'ct' }],
  ['-i', { cmd: 'dump', which: 'internal', kind: 'ct', xml: false }],
  ['-i expect', { cmd: 'dump', which: 'internal', kind: 'expect', xml: false }],
  ['-e', { cmd: 'dump', which: 'external', kind: 'ct', xml: false }],
  ['-e ct -x', { cmd: 'dump', which: 'external', kind: 'ct', xml: true }],
  ['-i -x', { cmd: 'dump', which: 'internal', kind: 'ct', xml: true }],
  ['-x -i', { cmd: 'dump', which: 'internal', kind: 'ct', xml: true }],
  ['-f', { cmd: 'flushCache', which: 'all' }],
  ['-f internal', { cmd: 'flushCache', which: 'internal' }],
  ['-f ext', { cmd: 'flushCache', which: 'external' }],
  ['-s', { cmd: 'stats', section: 'general' }],
  ['-s network', { cmd: 'stats', section: 'network' }],
  ['-s cache', { cmd: 'stats', section: 'cache' }],
  ['-s runtime', { cmd: 'stats', section: 'runtime' }],
  ['-s link', { cmd: 'stats', section: 'link' }],
  ['-s multicast', { cmd: 'stats', section: 'link' }],
  ['-s rsqueue', { cmd: 'stats', section: 'rsqueue' }],
  ['-s queue', { cmd: 'stats', section: 'queue' }],
  ['-s process', { cmd: 'stats', section: 'process' }],
  ['-s ct', { cmd: 'stats', section: 'ct' }],
  ['-s expect', { cmd: 'stats', section: 'expect' }],
  ['-s r', { cmd: 'stats', section: 'runtime' }],
  ['-k', { cmd: 'kill' }],
  ['-n', { cmd: 'requestResync' }],
  ['-B', { cmd: 'bulkSend' }],
  ['-t', { cmd: 'shortenTimers' }],
  ['status', { cmd: 'status' }],
  ['--status', { cmd: 'status' }],
  ['--commit', { cmd: 'commit', kind: 'all' }],
  ['--commit ct', { cmd: 'commit', kind: 'ct' }],
  ['--commit=expect', { cmd: 'commit', kind: 'expect' }],
  ['--stats=cache', { cmd: 'stats', section: 'cache' }],
  ['--dump-external --xml', { cmd: 'dump', which: 'external', kind: 'ct', xml: true }],
  ['--flush-cache internal', { cmd: 'flushCache', which: 'internal' }],
  ['--kill', { cmd: 'kill' }],
  ['--request-resync', { cmd: 'requestResync' }],
  ['--bulk-send', { cmd: 'bulkSend' }],
  ['--shorten-timers', { cmd: 'shortenTimers' }],
  ['-c -c', { cmd: 'commit', kind: 'all' }],
];

const split = (s: string): string[] => (s ? s.split(' ') : []);

describe('parseArgs: conntrackd command line', () => {
  it.each(ok)('%s', (line, action) => {
    for (const args of [split(line), ['-C', '/etc/x.conf', ...split(line)], [...split(line), '-C', '/etc/x.conf']]) {
      const r = parseArgs(args);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.mode).toBe('request');
      expect(r.action).toEqual(action);
      if (args.includes('-C')) expect(r.config).toBe('/etc/x.conf');
    }
  });

  it('config via -C, --config and --config=', () => {
    expect(parseArgs(['-C', 'a.conf', '-s'])).toMatchObject({ ok: true, config: 'a.conf' });
    expect(parseArgs(['--config', 'b.conf', '-s'])).toMatchObject({ ok: true, config: 'b.conf' });
    expect(parseArgs(['--config=c.conf', '-s'])).toMatchObject({ ok: true, config: 'c.conf' });
    // -C takes the next word even when it starts with '-'
    expect(parseArgs(['-C', '-weird', '-s'])).toMatchObject({ ok: true, config: '-weird' });
  });

  it('the optional word is only taken when it does not start with -', () => {
    expect(parseArgs(['-c', '-C', 'x'])).toMatchObject({ ok: true, action: { cmd: 'commit', kind: 'all' }, config: 'x' });
    expect(parseArgs(['-s', '-C', 'x'])).toMatchObject({ ok: true, action: { cmd: 'stats', section: 'general' } });
  });

  it('modes: -d, foreground, -v, -h', () => {
    expect(parseArgs(['-C', 'x', '-d'])).toMatchObject({ ok: true, mode: 'daemon', config: 'x' });
    expect(parseArgs(['--daemon'])).toMatchObject({ ok: true, mode: 'daemon' });
    expect(parseArgs([])).toMatchObject({ ok: true, mode: 'foreground' });
    expect(parseArgs(['-C', 'x'])).toMatchObject({ ok: true, mode: 'foreground' });
    expect(parseArgs(['-v'])).toMatchObject({ ok: true, mode: 'version' });
    expect(parseArgs(['-k', '-v', '-bogus'])).toMatchObject({ ok: true, mode: 'version' });
    expect(parseArgs(['-h'])).toMatchObject({ ok: true, mode: 'help' });
    expect(parseArgs(['--help'])).toMatchObject({ ok: true, mode: 'help' });
  });

  it('warnings: -S obsolete, -s multicast', () => {
    const r = parseArgs(['-S', '-s', 'multicast']);
    expect(r.ok && r.warnings).toEqual(['WARNING: -S option is obsolete. Ignoring.', "WARNING: use `link' instead of `multicast' as parameter."]);
  });

  const bad: Array<[string, string]> = [
    ['-z', 'unknown option: -z'],
    ['--bogus', 'unknown option: --bogus'],
    ['-s -z', 'unknown option: -z'],
    ['-cf', 'unknown option: -cf'],
    ['frob', 'unknown option: frob'],
    ['-c bogus', "unknown parameter `bogus' for option `-c' (ct or expect)"],
    ['-i internal', "unknown parameter `internal' for option `-i' (ct or expect)"],
    ['-f ct', "unknown parameter `ct' for option `-f' (internal or external)"],
    ['-s foo', "unknown parameter `foo' for option `-s'"],
    ['-c -f', 'only one command at a time (-c and -f)'],
    ['-i -e', 'only one command at a time (-i and -e)'],
    ['-d -c', '-d cannot be combined with -c'],
    ['-k -d', '-d cannot be combined with -k'],
    ['-x', '-x requires -i or -e'],
    ['-c -x', '-x requires -i or -e'],
    ['-C', 'missing config filename after -C'],
    ['--config=', 'missing config filename after -C'],
  ];
  it.each(bad)('%s -> error', (line, message) => {
    const r = parseArgs(split(line));
    expect(r).toEqual({ ok: false, message, usage: true });
  });
});

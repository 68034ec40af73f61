import { describe, expect, it } from 'vitest';
import { DEFAULT_SOCKET, socketFromConfigText } from '../../../src/control/config-path';

describe('control socket from conntrackd.conf', () => {
  it('reads UNIX { Path } inside General, ignoring comments and other blocks', () => {
    const text = `Sync {\n Mode FTFW { }\n UDP { Path /not/this }\n}\nGeneral {\n # UNIX { Path /commented }\n UNIX {\n  Path /var/run/ct.ctl\n  Group ctsync\n }\n}\n`;
    expect(socketFromConfigText(text)).toEqual({ ok: true, path: '/var/run/ct.ctl', group: 'ctsync' });
  });
  it('ControlGroup in General', () => {
    expect(socketFromConfigText('General {\n ControlGroup ctsync\n UNIX { Path /run/c.ctl }\n}')).toEqual({ ok: true, path: '/run/c.ctl', group: 'ctsync' });
  });
  it('quoted path, case-insensitive keys', () => {
    expect(socketFromConfigText('general { unix { path "/run/a b.ctl" } }')).toEqual({ ok: true, path: '/run/a b.ctl' });
  });
  it('defaults to conntrackd socket path', () => {
    expect(socketFromConfigText('General { HashSize 8192 }')).toEqual({ ok: true, path: DEFAULT_SOCKET });
  });
  it('unbalanced braces are an error', () => {
    expect(socketFromConfigText('General { UNIX { Path /x }')).toMatchObject({ ok: false });
    expect(socketFromConfigText('}')).toMatchObject({ ok: false });
  });
});

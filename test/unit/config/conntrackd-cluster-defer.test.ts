import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConntrackdConf } from '../../../src/config/conntrackd';
import { deferOf } from '../../../src/config/conntrackd-cluster';

const sync = (mode: string): string[] => ['Sync {', `  Mode ${mode} {`, '  }', '  Multicast {', '    IPv4_address 225.0.0.50', '    Group 3780', '    IPv4_interface 203.0.113.1', '    Interface sync0', '  }', '}'];
const MIN = ['  IPv4_address 203.0.113.1', '  Peers {', '    IPv4_address 203.0.113.2', '  }', '  ClusterInterface lan'];
const parse = (lines: string[], mode = 'FTFW') => parseConntrackdConf([...sync(mode), 'Cluster {', ...MIN, ...lines, '}', ''].join('\n'), { file: 'c.conf' });
const diags = (lines: string[], mode = 'FTFW'): string[] => parse(lines, mode).diagnostics.map(formatDiagnostic);

describe('Cluster { Defer ... } (pfsync-style deferral)', () => {
  it('off by default: no defer settings', () => {
    const r = parse([]);
    expect(r.diagnostics).toEqual([]);
    expect(r.config.cluster).toBeDefined();
    if (r.config.cluster) expect(deferOf(r.config.cluster)).toBeUndefined();
  });

  it('Defer on: defaults queue 4242, 50 ms', () => {
    const r = parse(['  Defer on']);
    expect(r.diagnostics).toEqual([]);
    expect(r.config.cluster && deferOf(r.config.cluster)).toEqual({ queue: 4242, timeoutMs: 50 });
  });

  it('every option', () => {
    const r = parse(['  Defer on', '  DeferQueue 7', '  DeferTimeout 200']);
    expect(r.diagnostics).toEqual([]);
    expect(r.config.cluster && deferOf(r.config.cluster)).toEqual({ queue: 7, timeoutMs: 200 });
  });

  it('Defer off keeps it off; the other keys alone warn', () => {
    const r = parse(['  Defer off', '  DeferQueue 7']);
    expect(r.config.cluster && deferOf(r.config.cluster)).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([expect.stringMatching(/^c\.conf:11: warning: .*'DeferQueue'\/'DeferTimeout'.*'Defer on'/)]);
  });

  it('file:line errors for bad values', () => {
    expect(diags(['  Defer maybe'])).toEqual([expect.stringMatching(/^c\.conf:17: .*Defer/)]);
    expect(diags(['  Defer on', '  DeferQueue 65536'])).toEqual([expect.stringMatching(/^c\.conf:18: .*DeferQueue/)]);
    expect(diags(['  Defer on', '  DeferTimeout 0'])).toEqual([expect.stringMatching(/^c\.conf:18: .*DeferTimeout/)]);
    expect(diags(['  Defer on', '  Defer on'])).toEqual([expect.stringMatching(/^c\.conf:18: .*Defer/)]);
  });

  it('warns when the sync mode has no acknowledgements', () => {
    expect(diags(['  Defer on'], 'ALARM')).toEqual([expect.stringMatching(/^c\.conf:17: warning: 'Defer on' in Cluster: Mode ALARM has no acknowledgements/)]);
    expect(diags(['  Defer on'], 'FTFW')).toEqual([]);
  });
});

/** conntrackd.conf extension Sync { FastFailover { } }: values, defaults, file:line errors. */
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConntrackdConf } from '../../../src/config/conntrackd';

const conf = (link: string, ff: string): string => `Sync {\n Mode FTFW { }\n${link}\n FastFailover {\n${ff}\n }\n}\n`;
const UDP = ' UDP {\n  IPv4_address 198.51.100.1\n  IPv4_Destination_Address 198.51.100.2\n  Port 3780\n }';
const errors = (text: string): string[] => parseConntrackdConf(text).diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);

describe('Sync/FastFailover', () => {
  it('reads Interval, Misses and Port', () => {
    const r = parseConntrackdConf(conf(UDP, '  Interval 10\n  Misses 4\n  Port 4000'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.sync?.fastFailover).toEqual({ intervalMs: 10, misses: 4, port: 4000, line: 8 });
  });

  it('an empty block takes the defaults (20 ms, 5 misses, port 3782)', () => {
    const r = parseConntrackdConf(conf(UDP, ''));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.sync?.fastFailover).toEqual({ intervalMs: 20, misses: 5, port: 3782, line: 8 });
  });

  it('absent: no fast failover', () => {
    expect(parseConntrackdConf(`Sync {\n Mode FTFW { }\n${UDP}\n}\n`).config.sync?.fastFailover).toBeUndefined();
  });

  it('out-of-range values and unknown keys are errors with file:line', () => {
    expect(errors(conf(UDP, '  Interval 1\n  Misses 1\n  Speed 3'))).toEqual([
      "conntrackd.conf:9: invalid value for 'Interval': 1 is out of range 5..1000",
      "conntrackd.conf:10: invalid value for 'Misses': 1 is out of range 2..50",
      "conntrackd.conf:11: unknown option 'Speed' in Sync/FastFailover",
    ]);
  });

  it('needs one peer: a multicast link, or a UDP link without our address, is an error', () => {
    const mc = ' Multicast {\n  IPv4_address 225.0.0.50\n  Group 3780\n  IPv4_interface 198.51.100.1\n  Interface sync0\n }';
    expect(errors(conf(mc, ''))).toEqual([
      "conntrackd.conf:9: 'FastFailover' in Sync needs a UDP or TCP sync link with both IPv4_address and IPv4_Destination_Address (the probes go to one peer)",
    ]);
    const noSrc = ' UDP {\n  IPv4_Destination_Address 198.51.100.2\n  Port 3780\n }';
    expect(errors(conf(noSrc, ''))).toEqual([
      "conntrackd.conf:7: 'FastFailover' in Sync needs a UDP or TCP sync link with both IPv4_address and IPv4_Destination_Address (the probes go to one peer)",
    ]);
  });
});

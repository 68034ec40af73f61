import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseClusterIni } from '../../../src/config/cluster';
import { parseConntrackdConf } from '../../../src/config/conntrackd';
import { parseKeepalivedConf } from '../../../src/config/keepalived';

const FIX = join(__dirname, '../../fixtures/config');
const read = (n: string): string => readFileSync(join(FIX, n), 'utf8');

const CT_TOKENS = ['Sync', 'General', 'Stats', 'Mode', 'FTFW', 'ALARM', 'NOTRACK', 'Multicast', 'UDP', 'TCP', 'Default', 'Options',
  'Filter', 'From', 'Userspace', 'Protocol', 'Address', 'State', 'Accept', 'Ignore', 'for', 'IPv4_address', 'IPv6_address',
  'Port', 'Group', 'ExpectationSync', 'on', 'off', '0', '65536', '-1', '225.0.0.50', '::1', '10.0.0.0/99', '/var/x', '"q',
  '"a b"', '{', '}', '#', '\n', '\n', ' ', 'Auth', 'KeyFile', 'Scheduler', 'Type', 'LogFile', 'NetlinkOverrunResync'];
const KA_TOKENS = ['vrrp_instance', 'vrrp_sync_group', 'global_defs', 'group', 'VI_1', 'interface', 'eth0', 'virtual_router_id',
  'priority', 'advert_int', 'version', '3', '0.01', '256', 'virtual_ipaddress', '192.0.2.1/24', 'fe80::1', 'dev', 'label',
  'authentication', 'auth_type', 'PASS', 'notify', '"/bin/x \'a b\'"', 'include', '@x', '$Y', '!', '#', '{', '}', '\n', '\n', ' ',
  'track_interface', 'weight', 'unicast_peer', "'", '"\\x4', 'state', 'MASTER'];

const stream = (tokens: string[]) =>
  fc.array(fc.constantFrom(...tokens), { maxLength: 300 }).map((a) => a.join(' '));

function cut(text: string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(text.length), fc.nat(text.length)).map(([a, b]) => text.slice(0, Math.min(a, b)) + text.slice(Math.max(a, b)));
}

describe('config parsers never throw, only report', () => {
  it('conntrackd.conf random token streams', () => {
    fc.assert(fc.property(stream(CT_TOKENS), (t) => {
      const r = parseConntrackdConf(t);
      expect(Array.isArray(r.diagnostics)).toBe(true);
    }), { numRuns: 400 });
  });

  it('keepalived.conf random token streams', () => {
    fc.assert(fc.property(stream(KA_TOKENS), (t) => {
      const r = parseKeepalivedConf(t, { resolveInclude: () => ({ files: [{ file: 'inc', text: t.slice(0, 50) }] }) });
      expect(Array.isArray(r.diagnostics)).toBe(true);
    }), { numRuns: 400 });
  });

  it('truncated and spliced real files', () => {
    const ct = read('conntrackd-ftfw.conf');
    const ka = read('keepalived.conf.vrrp.sync');
    const ini = read('cluster.ini');
    fc.assert(fc.property(cut(ct), cut(ka), cut(ini), (a, b, c) => {
      parseConntrackdConf(a);
      parseKeepalivedConf(b);
      parseClusterIni(c);
    }), { numRuns: 300 });
  });

  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400, unit: 'binary' }), (s) => {
      parseConntrackdConf(s);
      parseKeepalivedConf(s);
      parseClusterIni(s);
    }), { numRuns: 300 });
  });

  it('a truncated file reports an error instead of succeeding', () => {
    const ct = read('conntrackd-ftfw.conf');
    const r = parseConntrackdConf(ct.slice(0, ct.indexOf('Checksum on')));
    expect(r.diagnostics.some((d) => d.severity === 'error' && d.message.startsWith("missing '}'"))).toBe(true);
  });

  it('limits: deep nesting, statement count and size are bounded', () => {
    const deep = parseKeepalivedConf('a {\n'.repeat(100));
    expect(deep.diagnostics[0]?.message).toBe('blocks nested deeper than 32');
    const many = parseConntrackdConf('General {\n' + 'HashLimit 5\n'.repeat(50), { limits: { maxStatements: 10 } });
    expect(many.diagnostics.some((d) => d.message === 'more than 10 statements')).toBe(true);
    const big = parseConntrackdConf('#'.repeat(100), { limits: { maxBytes: 10 } });
    expect(big.diagnostics[0]?.message).toBe('file is larger than 10 bytes');
  });
});

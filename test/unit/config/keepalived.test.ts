import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, hasErrors, loadKeepalivedConf, parseKeepalivedConf } from '../../../src/config/keepalived';
import { splitCommand } from '../../../src/config/keepalived-values';

const FIX = join(__dirname, '../../fixtures/config');
const fx = (name: string): string => join(FIX, name);
const errorsOf = (text: string): string[] =>
  parseKeepalivedConf(text).diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
const warningsOf = (text: string): string[] =>
  parseKeepalivedConf(text).diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);

describe('keepalived.conf: shipped samples', () => {
  it.each([
    'keepalived.conf.vrrp', 'keepalived.conf.vrrp.sync', 'keepalived.conf.vrrp.scripts', 'keepalived.conf.track_interface',
    'keepalived.conf.conditional_conf', 'keepalived.conf.vrrp.lvs_syncd', 'keepalived.conf.conntrackd-sync',
  ])('%s has no errors', (name) => {
    const r = loadKeepalivedConf(fx(name));
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.config.instances.length).toBeGreaterThan(0);
  });

  it('conntrackd example keepalived.conf: exact values', () => {
    const f = fx('keepalived.conf.conntrackd-sync');
    const r = loadKeepalivedConf(f);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${f}:17: warning: unknown state 'SLAVE' in vrrp_instance VI_1, defaulting to BACKUP (as keepalived)`,
      `${f}:23: warning: auth_pass is longer than 8 characters; only the first 8 are used`,
      `${f}:32: warning: unknown state 'SLAVE' in vrrp_instance VI_2, defaulting to BACKUP (as keepalived)`,
      `${f}:38: warning: auth_pass is longer than 8 characters; only the first 8 are used`,
    ]);
    const [g] = r.config.syncGroups;
    expect(g?.members).toEqual(['VI_1', 'VI_2']);
    expect(g?.notify.master).toEqual({ text: '/etc/conntrackd/primary-backup.sh primary', argv: ['/etc/conntrackd/primary-backup.sh', 'primary'], line: 10 });
    expect(g?.notify.backup?.argv).toEqual(['/etc/conntrackd/primary-backup.sh', 'backup']);
    expect(g?.notify.fault?.argv).toEqual(['/etc/conntrackd/primary-backup.sh', 'fault']);
    const [a, b] = r.config.instances;
    expect(a).toEqual({
      name: 'VI_1', file: f, line: 15, state: 'BACKUP', interface: 'eth1', vrid: 61, priority: 80, advertIntCs: 300,
      version: 2, family: 4, preempt: true, preemptDelay: 0, trackInterfaces: [],
      virtualIpaddresses: [{ family: 4, address: '192.168.0.100', prefix: 32, noTrack: false, line: 26 }],
      virtualIpaddressesExcluded: [], unicastPeers: [], authentication: { type: 'PASS', pass: 'papas_co' },
      garp: { masterDelay: 5, masterRepeat: 5, lowerPrioDelay: 5, lowerPrioRepeat: 5, masterRefresh: 0, masterRefreshRepeat: 1 },
      notify: {}, dontTrackPrimary: false, syncGroup: 'G1',
    });
    expect(b).toMatchObject({ name: 'VI_2', interface: 'eth0', vrid: 62, syncGroup: 'G1' });
  });

  it('keepalived.conf.vrrp: VIP labels, garp delay, smtp_alert reported', () => {
    const r = loadKeepalivedConf(fx('keepalived.conf.vrrp'));
    const vi1 = r.config.instances[0];
    expect(vi1?.garp.masterDelay).toBe(10);
    expect(vi1?.virtualIpaddresses.map((v) => v.address)).toEqual(['192.168.200.16', '192.168.200.17', '192.168.200.18']);
    expect(r.config.instances.map((i) => [i.name, i.state, i.vrid, i.priority])).toEqual([
      ['VI_1', 'MASTER', 51, 100], ['VI_2', 'BACKUP', 50, 50], ['VI_3', 'MASTER', 52, 100], ['VI_4', 'BACKUP', 53, 50],
    ]);
    expect(r.config.globalDefs.routerId).toBe('LVS_DEVEL');
    expect(r.diagnostics.map(formatDiagnostic)).toContain(`${fx('keepalived.conf.vrrp')}:17: warning: 'smtp_alert' in vrrp_instance VI_1 is accepted but ignored by ctsync`);
  });

  it('conditional_conf: v3 advert 12 s, track_interface weights, @ lines reported', () => {
    const r = loadKeepalivedConf(fx('keepalived.conf.conditional_conf'));
    const i = r.config.instances[0];
    expect(i).toMatchObject({ version: 3, advertIntCs: 1200, priority: 100, vrid: 1 });
    expect(i?.trackInterfaces).toEqual([{ name: 'eth3', weight: 0, reverse: false }, { name: 'eth2', weight: 20, reverse: false }]);
    expect(r.diagnostics.filter((d) => d.message.includes("'@high'")).map((d) => d.line)).toEqual([3, 19]);
  });

  it('vrrp.sync: two groups, members linked', () => {
    const r = loadKeepalivedConf(fx('keepalived.conf.vrrp.sync'));
    expect(r.diagnostics).toEqual([]);
    expect(r.config.syncGroups.map((g) => [g.name, g.members.length])).toEqual([['G1', 7], ['G2', 2]]);
    expect(r.config.instances.find((i) => i.name === 'VI_4')?.syncGroup).toBe('G2');
    expect(r.config.instances[0]?.virtualIpaddresses[0]).toMatchObject({ address: '192.168.200.18', prefix: 25 });
  });
});

const INST = (body: string, name = 'VI_1'): string =>
  `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id 51\n${body}    virtual_ipaddress {\n        192.0.2.1/24\n    }\n}\n`;

describe('keepalived.conf: VRRPv3, unicast, notify quoting', () => {
  it('reads a full v3 instance', () => {
    const text = `global_defs {\n  vrrp_version 3\n  vrrp_garp_master_repeat 2\n  script_user root wheel\n  enable_script_security\n}\n` +
      INST(`    state MASTER\n    priority 255\n    advert_int 0.1\n    nopreempt\n    preempt_delay 2.5\n    unicast_src_ip 198.51.100.1\n` +
        `    unicast_peer {\n      198.51.100.2 min_ttl 250\n    }\n    notify "/usr/bin/ctsyncd-notify 'two words' x" root\n` +
        `    track_interface {\n      eth1 weight -10 reverse\n    }\n    virtual_ipaddress_excluded {\n      2001:db8::1/64 dev eth1 scope global\n    }\n`);
    const r = parseKeepalivedConf(text);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(["keepalived.conf:7: warning: 'nopreempt' in vrrp_instance VI_1 has no effect with 'state MASTER'"]);
    const i = r.config.instances[0];
    expect(i).toMatchObject({
      version: 3, advertIntCs: 10, priority: 255, state: 'MASTER', preempt: false, preemptDelay: 2.5,
      unicastSrcIp: '198.51.100.1', unicastPeers: [{ address: '198.51.100.2', family: 4, minTtl: 250 }],
      trackInterfaces: [{ name: 'eth1', weight: -10, reverse: true }],
      virtualIpaddressesExcluded: [{ family: 6, address: '2001:db8::1', prefix: 64, dev: 'eth1', scope: 'global', noTrack: false, line: 24 }],
    });
    expect(i?.garp.masterRepeat).toBe(2);
    expect(i?.garp.lowerPrioRepeat).toBe(2);
    expect(i?.notify.any).toEqual({ text: "/usr/bin/ctsyncd-notify 'two words' x", argv: ['/usr/bin/ctsyncd-notify', 'two words', 'x'], user: 'root', line: 19 });
    expect(r.config.globalDefs).toMatchObject({ vrrpVersion: 3, scriptUser: { user: 'root', group: 'wheel' }, enableScriptSecurity: true });
  });

  it('IPv6 VIPs force version 3', () => {
    const r = parseKeepalivedConf('vrrp_instance V6 {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  fe80::1/64\n  2001:db8::10/64\n }\n}\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.config.instances[0]).toMatchObject({ family: 6, version: 3 });
  });

  it('splitCommand follows keepalived quoting', () => {
    expect(splitCommand("/bin/x  a 'b c'  d''e")).toEqual(['/bin/x', 'a', 'b c', 'de']);
  });
});

describe('keepalived.conf: malformed input gives exact file:line diagnostics', () => {
  const cases: [string, string, string[]][] = [
    ['vrid range', 'vrrp_instance A {\n interface eth0\n virtual_router_id 256\n}\n', ["keepalived.conf:3: invalid value for 'virtual_router_id': 256 is out of range 1..255"]],
    ['missing vrid', 'vrrp_instance A {\n interface eth0\n}\n', ["keepalived.conf:1: missing 'virtual_router_id' in vrrp_instance A"]],
    ['missing interface', 'vrrp_instance A {\n virtual_router_id 5\n}\n', ["keepalived.conf:1: missing 'interface' in vrrp_instance A"]],
    ['priority 0', INST('    priority 0\n'), ["keepalived.conf:4: invalid value for 'priority': 0 is out of range 1..255"]],
    ['v2 fraction', INST('    advert_int 0.5\n'), ["keepalived.conf:4: invalid value for 'advert_int': VRRPv2 needs whole seconds, got '0.5'"]],
    ['v2 too long', INST('    advert_int 256\n'), ["keepalived.conf:4: invalid value for 'advert_int': 256 is out of range 1..255 seconds for VRRPv2"]],
    ['v3 too long', INST('    version 3\n    advert_int 41\n'), ["keepalived.conf:5: invalid value for 'advert_int': 41 is out of range 0.01..40.95 seconds for VRRPv3"]],
    ['v3 too fine', INST('    version 3\n    advert_int 0.005\n'), ["keepalived.conf:5: invalid value for 'advert_int': '0.005' has more than 2 decimal places"]],
    ['auth with v3', INST('    version 3\n    authentication {\n      auth_type PASS\n      auth_pass x\n    }\n'),
      ['keepalived.conf:1: authentication in vrrp_instance VI_1 is only allowed with VRRP version 2 (RFC 5798 removed it)']],
    ['bad VIP', 'vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  192.0.2.1/40\n }\n}\n',
      ["keepalived.conf:5: invalid value for '192.0.2.1/40': '192.0.2.1/40' has an invalid prefix length (0..32)"]],
    ['VIP bad option', 'vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  192.0.2.1 colour red\n }\n}\n',
      ["keepalived.conf:5: unexpected 'colour' in vrrp_instance A/virtual_ipaddress entry '192.0.2.1 colour red'"]],
    ['VIP dev missing value', 'vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  192.0.2.1 dev\n }\n}\n',
      ["keepalived.conf:5: 'dev' needs a value in vrrp_instance A/virtual_ipaddress entry '192.0.2.1 dev'"]],
    ['mixed families', 'vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  192.0.2.1\n  2001:db8::1\n }\n}\n',
      ['keepalived.conf:1: virtual_ipaddress in vrrp_instance A mixes IPv4 and IPv6 (use virtual_ipaddress_excluded for the other family)']],
    ['duplicate name', INST('') + INST(''), ["keepalived.conf:8: duplicate vrrp_instance 'VI_1' (first at line 1)"]],
    ['duplicate vrid', INST('') + INST('', 'VI_2').replace('192.0.2.1', '192.0.2.2'),
      ["keepalived.conf:8: vrrp_instance 'VI_2' reuses virtual_router_id 51 on eth0 (IPv4) of 'VI_1' at line 1"]],
    ['unknown group member', `vrrp_sync_group G {\n group {\n  VI_1\n  VI_9\n }\n}\n${INST('')}`,
      ["keepalived.conf:1: vrrp_sync_group 'G' names unknown vrrp_instance 'VI_9'"]],
    ['member in two groups', `vrrp_sync_group G {\n group {\n  VI_1\n }\n}\nvrrp_sync_group H {\n group {\n  VI_1\n }\n}\n${INST('')}`,
      ["keepalived.conf:6: vrrp_instance 'VI_1' is in both vrrp_sync_group 'G' and 'H'"]],
    ['AH', INST('    authentication {\n      auth_type AH\n      auth_pass x\n    }\n'),
      ['keepalived.conf:4: auth_type AH in vrrp_instance VI_1 is not supported by ctsync (use PASS or none)']],
    ['v2 with IPv6', 'vrrp_instance A {\n interface eth0\n virtual_router_id 5\n version 2\n virtual_ipaddress {\n  2001:db8::1\n }\n}\n',
      ["keepalived.conf:1: vrrp_instance A is IPv6 but 'version 2' is set: VRRPv2 has no IPv6"]],
    ['track weight', INST('    track_interface {\n      eth1 weight 300\n    }\n'), ['keepalived.conf:5: invalid weight in vrrp_instance VI_1/track_interface: 300 is out of range -253..253']],
    ['notify empty', INST('    notify_master ""\n'), ["keepalived.conf:4: 'notify_master' in vrrp_instance VI_1 has an empty script"]],
    ['preempt_delay range', INST('    preempt_delay 1001\n'), ["keepalived.conf:4: invalid value for 'preempt_delay': 1001 is out of range 0..1000"]],
    ['unclosed', 'vrrp_instance A {\n interface eth0\n', ["keepalived.conf:1: missing '}' for 'vrrp_instance A' opened at line 1", "keepalived.conf:1: missing 'virtual_router_id' in vrrp_instance A"]],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('unsupported blocks, unknown keywords and conditionals are warnings with lines', () => {
    const text = `vrrp_script chk {\n  script "/bin/true"\n}\n${INST('    frobnicate 1\n    use_vmac\n')}$DEF=1\n@main router_id x\n`;
    expect(hasErrors(parseKeepalivedConf(text).diagnostics)).toBe(false);
    expect(warningsOf(text)).toEqual([
      "keepalived.conf:1: warning: 'vrrp_script' is not supported by ctsync; block skipped",
      "keepalived.conf:7: warning: unknown keyword 'frobnicate' in vrrp_instance VI_1; ignored",
      "keepalived.conf:8: warning: 'use_vmac' in vrrp_instance VI_1 is accepted but ignored by ctsync",
      "keepalived.conf:13: warning: parameter substitution and sequences ('$DEF=1') are not supported by ctsync; line skipped",
      "keepalived.conf:14: warning: conditional configuration '@main' is not supported by ctsync; line skipped",
    ]);
  });
});

describe('keepalived.conf: include', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-ka-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('expands globs and braces relative to the including file, in sorted order', () => {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'b.conf'), INST('', 'VI_B').replace('51', '52'));
    writeFileSync(join(dir, 'conf.d', 'a.conf'), INST('', 'VI_A').replace('192.0.2.1', '192.0.2.9'));
    writeFileSync(join(dir, 'conf.d', 'skip.txt'), 'garbage {');
    writeFileSync(join(dir, 'g.conf'), 'global_defs {\n router_id R1\n}\n');
    writeFileSync(join(dir, 'main.conf'), '! main\ninclude {g,none}.conf\ninclude conf.d/*.conf\ninclude missing.conf\n');
    const r = loadKeepalivedConf(join(dir, 'main.conf'));
    expect(r.config.globalDefs.routerId).toBe('R1');
    expect(r.config.instances.map((i) => [i.name, i.file])).toEqual([
      ['VI_A', join(dir, 'conf.d', 'a.conf')],
      ['VI_B', join(dir, 'conf.d', 'b.conf')],
    ]);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${join(dir, 'main.conf')}:2: cannot read file ${join(dir, 'none.conf')} (ENOENT)`,
      `${join(dir, 'main.conf')}:4: cannot read file ${join(dir, 'missing.conf')} (ENOENT)`,
    ]);
  });

  it('stops include loops', () => {
    writeFileSync(join(dir, 'loop.conf'), 'include loop.conf\n');
    const r = loadKeepalivedConf(join(dir, 'loop.conf'));
    expect(r.diagnostics.map((d) => d.message)).toEqual(['includes nested deeper than 8']);
  });

  it('without a resolver, include is a warning', () => {
    expect(warningsOf('include /etc/keepalived/*.conf\n')).toEqual([
      "keepalived.conf:1: warning: 'include /etc/keepalived/*.conf' ignored: includes are only read by the file loader",
    ]);
  });
});

describe('global_defs vrrp_priority (nice value of the HA thread)', () => {
  it('reads -20..19, rejects anything else with file:line', () => {
    expect(parseKeepalivedConf('global_defs {\n vrrp_priority -15\n}\n').config.globalDefs.vrrpNice).toBe(-15);
    expect(parseKeepalivedConf('global_defs {\n}\n').config.globalDefs.vrrpNice).toBeUndefined();
    expect(errorsOf('global_defs {\n vrrp_priority -21\n}\n')).toEqual(["keepalived.conf:2: invalid value for 'vrrp_priority': expected a nice value -20..19, got '-21'"]);
    expect(errorsOf('global_defs {\n vrrp_priority high\n}\n')).toEqual(["keepalived.conf:2: invalid value for 'vrrp_priority': expected a nice value -20..19, got 'high'"]);
  });
});

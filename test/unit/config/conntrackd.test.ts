import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, hasErrors, loadConntrackdConf, parseConntrackdConf } from '../../../src/config/conntrackd';

const FIX = join(__dirname, '../../fixtures/config');
const fx = (name: string): string => join(FIX, name);
const errorsOf = (text: string): string[] =>
  parseConntrackdConf(text).diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
const warningsOf = (text: string): string[] =>
  parseConntrackdConf(text).diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);

const FTFW_FILTER = {
  from: 'userspace',
  protocol: { policy: 'accept', protocols: [{ name: 'tcp', number: 6 }, { name: 'sctp', number: 132 }, { name: 'dccp', number: 33 }] },
  address: {
    policy: 'ignore',
    addresses: ['127.0.0.1', '192.168.0.100', '192.168.1.100', '192.168.0.1', '192.168.1.1', '192.168.100.100'].map((a) => ({ family: 4, address: a, prefix: 32 })),
  },
};
const EXAMPLE_GENERAL = {
  systemd: false, hashSize: 32768, hashLimit: 131072, logFile: '/var/log/conntrackd.log', syslog: null,
  lockFile: '/var/lock/conntrack.lock', unixPath: '/var/run/conntrackd.ctl', netlinkBufferSize: 2097152,
  netlinkBufferSizeMaxGrowth: 8388608, netlinkOverrunResync: 30, netlinkEventsReliable: false, eventIterationLimit: 100,
  scheduler: { type: 'rr', priority: 99 }, filter: FTFW_FILTER,
};
const MCAST_LINK = {
  kind: 'multicast', family: 4, group: '225.0.0.50', port: 3780, interfaceAddress: '192.168.100.100', interface: 'eth2',
  sndSocketBuffer: 1249280, rcvSocketBuffer: 1249280, checksum: true, isDefault: false,
};

describe('conntrackd.conf: shipped examples', () => {
  it('ftfw example: no errors, exact values', () => {
    const r = loadConntrackdConf(fx('conntrackd-ftfw.conf'));
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${fx('conntrackd-ftfw.conf')}:256: warning: 'HashSize 32768' is accepted but ignored: ctsync's caches size themselves (HashLimit is honoured)`,
    ]);
    expect(r.config.general).toEqual(EXAMPLE_GENERAL);
    expect(r.config.sync).toMatchObject({
      mode: { mode: 'ftfw', resendQueueSize: 131072, purgeTimeout: 60, ackWindowSize: 300, disableExternalCache: false, startupResync: false },
      links: [MCAST_LINK], defaultLink: 0, tcpWindowTracking: false, expectationSync: false,
    });
    expect(r.config.sync?.mode).not.toHaveProperty('commitTimeout');
    expect(r.config.stats).toBeUndefined();
  });

  it('alarm example', () => {
    const r = loadConntrackdConf(fx('conntrackd-alarm.conf'));
    expect(hasErrors(r.diagnostics)).toBe(false);
    expect(r.config.sync?.mode).toEqual({ mode: 'alarm', refreshTime: 15, cacheTimeout: 180, purgeTimeout: 60 });
    expect(r.config.sync?.links).toMatchObject([MCAST_LINK]);
    expect(r.config.general).toEqual(EXAMPLE_GENERAL);
  });

  it('notrack example', () => {
    const r = loadConntrackdConf(fx('conntrackd-notrack.conf'));
    expect(hasErrors(r.diagnostics)).toBe(false);
    expect(r.config.sync?.mode).toEqual({ mode: 'notrack', disableInternalCache: false, disableExternalCache: false, purgeTimeout: 60, startupResync: false });
  });

  it('Debian default (Stats mode, old SocketBufferSize aliases)', () => {
    const f = fx('conntrackd-debian-default.conf');
    const r = loadConntrackdConf(f);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${f}:4: warning: 'HashSize 8192' is accepted but ignored: ctsync's caches size themselves (HashLimit is honoured)`,
      `${f}:7: warning: 'Syslog on' is accepted but ignored: ctsyncd logs JSON lines to stderr or to LogFile`,
      `${f}:13: warning: 'Backlog 20' is accepted but ignored: deprecated (conntrackd ignores it too)`,
      `${f}:23: warning: 'Stats' is accepted but ignored: statistics-collector mode is not implemented; ctsync only implements Sync mode`,
    ]);
    expect(r.config.general).toMatchObject({
      systemd: true, hashLimit: 65535, syslog: 'daemon', lockFile: '/var/lock/conntrackd.lock', unixPath: '/var/run/conntrackd.sock',
      netlinkBufferSize: 262142, netlinkBufferSizeMaxGrowth: 655355,
    });
    expect(r.config.sync).toBeUndefined();
    expect(r.config.stats).toEqual({ logFile: '/var/log/conntrackd-stats.log', syslog: null, netlinkEventsReliable: false });
  });

  it('options ctsync does not apply are warned about with file:line (EventIterationLimit, TCP ErrorQueueLength)', () => {
    const text = `Sync {
  Mode FTFW {
  }
  TCP {
    IPv4_address 192.0.2.1
    IPv4_Destination_Address 192.0.2.2
    Port 3780
    ErrorQueueLength 64
  }
}
General {
  EventIterationLimit 200
  LockFile /tmp/x.lock
  UNIX { Path /tmp/x.ctl }
}
`;
    const r = parseConntrackdConf(text);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      "conntrackd.conf:8: warning: 'ErrorQueueLength 64' is accepted but ignored: failed sends are counted; FT-FW resends what was lost, so there is no error queue",
      "conntrackd.conf:12: warning: 'EventIterationLimit 200' is accepted but ignored: events are read in batches of up to 256 datagrams per wakeup, every millisecond under load (not configurable)",
    ]);
  });

  it('man page "SYNC EXAMPLE 2": NOTRACK over TCP, states, expectations', () => {
    const text = `Sync {
  Mode NOTRACK {
    DisableInternalCache yes
    DisableExternalCache yes
  }
  TCP {
    IPv4_address 192.168.2.100
    IPv4_Destination_Address 192.168.2.101
    Port 3780
    Interface eth2
    SndSocketBuffer 1249280
    RcvSocketBuffer 1249280
    Checksum yes
  }
  Options {
    TCPWindowTracking no
    ExpectationSync { ftp ras q.931 h.245 sip }
  }
}
General {
  LogFile /var/log/ctsync.log
  NetlinkOverrunResync 10
  Filter From Userspace {
    Address Ignore {
      IPv4_address 192.168.0.0/16
      IPv6_address ::1
    }
    State Accept {
      ESTABLISHED CLOSED TIME_WAIT CLOSE_WAIT for TCP
    }
  }
}
`;
    const r = parseConntrackdConf(text);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      "conntrackd.conf:3: warning: 'DisableInternalCache yes' is accepted but ignored: ctsync always keeps the internal cache (it serves -i, -B and the resync after an overrun)",
    ]);
    expect(r.config.sync).toEqual({
      mode: { mode: 'notrack', disableInternalCache: true, disableExternalCache: true, purgeTimeout: 60, startupResync: false },
      links: [{
        kind: 'tcp', family: 4, address: '192.168.2.100', destination: '192.168.2.101', port: 3780, interface: 'eth2',
        sndSocketBuffer: 1249280, rcvSocketBuffer: 1249280, checksum: true, isDefault: false, errorQueueLength: 128, line: 6,
      }],
      defaultLink: 0, tcpWindowTracking: false, expectationSync: ['ftp', 'ras', 'q.931', 'h.245', 'sip'],
    });
    expect(r.config.general.logFile).toBe('/var/log/ctsync.log');
    expect(r.config.general.netlinkOverrunResync).toBe(10);
    expect(r.config.general.filter).toEqual({
      from: 'userspace',
      address: { policy: 'ignore', addresses: [{ family: 4, address: '192.168.0.0', prefix: 16 }, { family: 6, address: '::1', prefix: 128 }] },
      state: { policy: 'accept', tcpStates: ['ESTABLISHED', 'CLOSE', 'TIME_WAIT', 'CLOSE_WAIT'] },
    });
  });

  it('redundant links with Default, IPv6 UDP, ctsync extensions', () => {
    const text = `Sync {
  Mode FTFW { CommitTimeout 180 }
  UDP { IPv6_address fe80::1
    IPv6_Destination_Address fe80::2
    Port 3780
    Interface eth2 }
  UDP Default {
    IPv4_address 198.51.100.1
    IPv4_Destination_Address 198.51.100.2
    Port 3781
    Checksum off
  }
  Auth {
    KeyFile /etc/ctsync/sync.key
    PreviousKeyFile /etc/ctsync/sync.key.old
    Encrypt on
  }
}
General { ControlGroup ctsync
  NetlinkOverrunResync off }
`;
    const r = parseConntrackdConf(text);
    expect(r.diagnostics).toEqual([]);
    const s = r.config.sync;
    expect(s?.mode).toMatchObject({ mode: 'ftfw', commitTimeout: 180 });
    expect(s?.links.map((l) => [l.kind, l.family, l.isDefault, l.checksum, l.port])).toEqual([
      ['udp', 6, false, true, 3780],
      ['udp', 4, true, false, 3781],
    ]);
    expect(s?.defaultLink).toBe(1);
    expect(s?.auth).toEqual({ keyFile: '/etc/ctsync/sync.key', previousKeyFile: '/etc/ctsync/sync.key.old', encrypt: true });
    expect(r.config.general.controlGroup).toBe('ctsync');
    expect(r.config.general.netlinkOverrunResync).toBe(false);
  });

  it('old mode names and missing mode are warnings; Nice is reported', () => {
    expect(warningsOf('Sync {\n Mode nack { }\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\nGeneral {\n Nice -20\n}\n')).toEqual([
      "conntrackd.conf:2: warning: mode 'nack' is now called 'FTFW'; please update the file",
      "conntrackd.conf:7: warning: 'Nice -20' is accepted but ignored: deprecated (conntrackd ignores it too); use nice(1)",
    ]);
    const r = parseConntrackdConf('Sync {\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\n');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(['conntrackd.conf:1: warning: no synchronization mode in Sync; defaulting to FTFW (as conntrackd)']);
    expect(r.config.sync?.mode.mode).toBe('ftfw');
  });
});

const SYNC_OK = 'Sync {\n Mode FTFW {\n }\n Multicast {\n  IPv4_address 225.0.0.50\n  Group 3780\n }\n}\n';

describe('conntrackd.conf: malformed input gives exact file:line diagnostics', () => {
  const cases: [string, string, string[]][] = [
    ['unknown option in mode', 'Sync {\n Mode FTFW {\n  Foo 1\n }\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\n',
      ["conntrackd.conf:3: unknown option 'Foo' in Sync/Mode FTFW"]],
    ['option of another mode', 'Sync {\n Mode FTFW {\n  RefreshTime 5\n }\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\n',
      ["conntrackd.conf:3: unknown option 'RefreshTime' in Sync/Mode FTFW (it belongs to Mode ALARM)"]],
    ['case-sensitive keyword', `${SYNC_OK}General {\n Lockfile /var/lock/x\n}\n`,
      ["conntrackd.conf:10: unknown option 'Lockfile' in General (keywords are case-sensitive: did you mean 'LockFile'?)"]],
    ['bad number', `${SYNC_OK}General {\n HashLimit lots\n}\n`,
      ["conntrackd.conf:10: invalid value for 'HashLimit': expected a number, got 'lots'"]],
    ['bad bool', 'Sync {\n Mode FTFW {\n  StartupResync maybe\n }\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\n',
      ["conntrackd.conf:3: invalid value for 'StartupResync': expected on/off/yes/no, got 'maybe'"]],
    ['missing value', `${SYNC_OK}General {\n HashLimit\n}\n`, ["conntrackd.conf:10: 'HashLimit' in General is missing its value"]],
    ['relative path', `${SYNC_OK}General {\n LockFile run/x.lock\n}\n`,
      ["conntrackd.conf:10: invalid value for 'LockFile': expected an absolute path, got 'run/x.lock'"]],
    ['conflicting modes', 'Sync {\n Mode FTFW { }\n Mode ALARM { }\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\n',
      ["conntrackd.conf:3: conflicting sync modes: 'Mode ALARM' and 'Mode FTFW' at line 2"]],
    ['unknown mode', 'Sync {\n Mode FAST { }\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n}\n',
      ["conntrackd.conf:2: unknown sync mode 'FAST' (FTFW, ALARM or NOTRACK)"]],
    ['missing Sync', 'General {\n HashLimit 10\n}\n', ["conntrackd.conf: missing 'Sync' section"]],
    ['missing link', 'Sync {\n Mode FTFW { }\n}\n', ['conntrackd.conf:1: missing dedicated link in Sync: add a Multicast, UDP or TCP block']],
    ['mixed links', `Sync {\n Mode FTFW { }\n Multicast {\n  IPv4_address 225.0.0.50\n  Group 3780\n }\n UDP {\n  IPv4_Destination_Address 192.0.2.2\n  Port 1\n }\n}\n`,
      ["conntrackd.conf:7: cannot use 'UDP' with other dedicated link protocols ('Multicast' at line 3)"]],
    ['five links', `Sync {\n${' UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n'.repeat(5)}}\n`,
      ['conntrackd.conf:10: too many dedicated links in Sync (maximum 4)']],
    ['two defaults', `Sync {\n${' UDP Default { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n'.repeat(2)}}\n`,
      ["conntrackd.conf:4: more than one dedicated link marked 'Default'"]],
    ['not multicast', 'Sync {\n Multicast {\n  IPv4_address 192.0.2.1\n  Group 3780\n }\n}\n',
      ['conntrackd.conf:2: 192.0.2.1 in Sync/Multicast is not a multicast address']],
    ['missing port', 'Sync {\n UDP {\n  IPv4_Destination_Address 192.0.2.2\n }\n}\n', ["conntrackd.conf:2: missing 'Port' in Sync/UDP"]],
    ['family mix', 'Sync {\n UDP {\n  IPv4_address 192.0.2.1\n  IPv6_Destination_Address ::2\n  Port 1\n }\n}\n',
      ["conntrackd.conf:4: 'IPv6_Destination_Address' is IPv6 but line 3 set IPv4; a link uses one address family",
        "conntrackd.conf:2: missing 'IPv4_Destination_Address' or 'IPv6_Destination_Address' in Sync/UDP"]],
    ['bad address', 'Sync {\n UDP {\n  IPv4_Destination_Address 192.0.2.300\n  Port 1\n }\n}\n',
      ["conntrackd.conf:3: invalid value for 'IPv4_Destination_Address': '192.0.2.300' is not a valid IPv4 address",
        "conntrackd.conf:2: missing 'IPv4_Destination_Address' or 'IPv6_Destination_Address' in Sync/UDP"]],
    ['port range', 'Sync {\n UDP {\n  IPv4_Destination_Address 192.0.2.2\n  Port 70000\n }\n}\n',
      ["conntrackd.conf:4: invalid value for 'Port': 70000 is out of range 1..65535", "conntrackd.conf:2: missing 'Port' in Sync/UDP"]],
    ['bad filter cidr', `${SYNC_OK}General {\n Filter {\n  Address Ignore {\n   IPv4_address 10.0.0.0/33\n  }\n }\n}\n`,
      ["conntrackd.conf:12: invalid value for 'IPv4_address': '10.0.0.0/33' has an invalid prefix length (0..32)"]],
    ['bad state line', `${SYNC_OK}General {\n Filter {\n  State Accept {\n   ESTABLISHED for UDP\n  }\n }\n}\n`,
      ["conntrackd.conf:12: state filters only apply to TCP, got 'UDP'"]],
    ['unknown protocol', `${SYNC_OK}General {\n Filter {\n  Protocol Accept {\n   TCP QUIC\n  }\n }\n}\n`,
      ["conntrackd.conf:12: unknown protocol 'QUIC' in General/Filter/Protocol"]],
    ['filter policy', `${SYNC_OK}General {\n Filter {\n  Protocol Allow { TCP }\n }\n}\n`,
      ["conntrackd.conf:11: 'Protocol' in General/Filter must be followed by Accept or Ignore and a '{' block"]],
    ['unbalanced close', `${SYNC_OK}}\n`, ["conntrackd.conf:9: unexpected '}' without a matching '{'"]],
    ['unclosed block', 'Sync {\n Mode FTFW {\n', ["conntrackd.conf:2: missing '}' for 'Mode FTFW' opened at line 2",
      "conntrackd.conf:1: missing '}' for 'Sync' opened at line 1", 'conntrackd.conf:1: missing dedicated link in Sync: add a Multicast, UDP or TCP block']],
    ['Stats with Sync', `${SYNC_OK}Stats {\n LogFile on\n}\n`, ["conntrackd.conf:9: cannot use both 'Stats' and 'Sync' sections (Sync at line 1)"]],
    ['repeated Sync', `${SYNC_OK}${SYNC_OK}`, ["conntrackd.conf:9: repeated 'Sync' section (first at line 1)"]],
    ['unknown section', `${SYNC_OK}Global {\n}\n`, ["conntrackd.conf:9: unknown option 'Global' in the top level"]],
    ['scheduler', `${SYNC_OK}General {\n Scheduler {\n  Type BATCH\n  Priority 100\n }\n}\n`,
      ["conntrackd.conf:11: invalid value for 'Type': unknown scheduler 'BATCH' (RR or FIFO)", "conntrackd.conf:12: invalid value for 'Priority': 100 is out of range 0..99"]],
    ['auth without key', 'Sync {\n UDP { IPv4_Destination_Address 192.0.2.2\n Port 1 }\n Auth {\n  Encrypt on\n }\n}\n',
      ["conntrackd.conf:4: missing 'KeyFile' in Sync/Auth"]],
    ['unterminated quote', `${SYNC_OK}General {\n LockFile "/var/lock/x\n}\n`, ['conntrackd.conf:10: unterminated quoted string']],
    ['value with block', `${SYNC_OK}General {\n HashLimit 5 {\n }\n}\n`, ["conntrackd.conf:10: 'HashLimit' in General does not take a block"]],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('quoted values and trailing comments are accepted', () => {
    const r = parseConntrackdConf(`${SYNC_OK}General {\n LockFile "/var/lock/my lock" # comment\n}\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.config.general.lockFile).toBe('/var/lock/my lock');
  });

  it('missing file is an error diagnostic, not an exception', () => {
    const r = loadConntrackdConf('/nonexistent/ctsync-test.conf');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(['/nonexistent/ctsync-test.conf: cannot read file (ENOENT)']);
  });

  it('the real /etc/conntrackd/conntrackd.conf text (copied fixture) has no errors', () => {
    const text = readFileSync(fx('conntrackd-debian-default.conf'), 'utf8');
    expect(hasErrors(parseConntrackdConf(text).diagnostics)).toBe(false);
  });
});

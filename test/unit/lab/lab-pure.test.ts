import { describe, it, expect } from 'vitest';
import { analyzeStream, parseReport, type StreamRecord } from '../../../src/lab/stream-stats';
import { parseStepsLog, parseKeepalived } from '../../../src/lab/steps';
import { renderTimeline, escapeXml } from '../../../src/lab/timeline';
import { firewallRuleset, parseCounterPackets } from '../../../src/lab/ruleset';
import { keepalivedConf, conntrackdConf, patchPrimaryBackup } from '../../../src/lab/ha-configs';
import { labTag } from '../../../src/lab/topology';

const rec = (samples: Array<[number, number]>, brokenAt: number | null = null): StreamRecord => ({
  id: 0, connectedAt: 0, sent: 0, received: 0, samples, brokenAt, reason: brokenAt === null ? null : 'ECONNRESET',
});

describe('stream analysis', () => {
  it('finds the longest gap around the crash and a resumed stream survives', () => {
    const v = analyzeStream(rec([[900, 10], [1000, 20], [1010, 30], [1700, 40], [1710, 50], [2990, 60]]), { at: 1005, end: 3000 });
    expect(v).toMatchObject({ stallMs: 1280, stallFrom: 1710, stallTo: 2990, bytes: 60, bytesAfter: 40, survived: true, broken: false });
  });
  it('an open gap runs to the end and the stream is hung', () => {
    const v = analyzeStream(rec([[900, 10], [1000, 20]]), { at: 1005, end: 5000 });
    expect(v).toMatchObject({ stallMs: 4000, stallFrom: 1000, stallTo: null, survived: false, bytesAfter: 0 });
  });
  it('gaps long before the instant are ignored; broken streams do not survive', () => {
    const v = analyzeStream(rec([[0, 1], [500, 2], [3950, 3], [4950, 4]], 4960), { at: 4000, end: 5000, before: 10 });
    expect(v.stallMs).toBe(1000);
    expect(v.broken).toBe(true);
    expect(v.survived).toBe(false);
  });
  it('parseReport rejects garbage and keeps valid samples only', () => {
    expect(parseReport('nope')).toBeNull();
    expect(parseReport('{"event":"connected"}')).toBeNull();
    const r = parseReport('{"event":"report","streams":[{"id":1,"samples":[[1,2],["x",3]],"brokenAt":null}]}');
    expect(r).toEqual([{ id: 1, connectedAt: null, sent: 0, received: 0, samples: [[1, 2]], brokenAt: null, reason: null }]);
  });
});

describe('steps', () => {
  it('parses the wrapper log into one mark per finished step', () => {
    const log = ['90 notify-begin backup', '100 notify-begin primary', '101 begin -C /r/c.conf -c', '150 end -C /r/c.conf -c 0',
      '160 begin -C /r/c.conf -B', '170 end -C /r/c.conf -B 1', 'junk', '171 notify-end primary'].join('\n');
    expect(parseStepsLog(log, 'fw2', 95)).toEqual([
      { t: 100, node: 'fw2', label: 'notify primary start' },
      { t: 150, node: 'fw2', label: 'commit external cache (-c) done' },
      { t: 170, node: 'fw2', label: 'bulk send (-B) done rc=1' },
      { t: 171, node: 'fw2', label: 'notify primary done' },
    ]);
  });
  it('parses keepalived state lines', () => {
    const lines = [
      { t: 5, line: '(LAN) Entering MASTER STATE' },
      { t: 10, line: 'Sat Jan 1 (LAN) Receive advertisement timeout' },
      { t: 11, line: '(WAN) Receive advertisement timeout' },
      { t: 12, line: '(LAN) Entering MASTER STATE' },
    ];
    expect(parseKeepalived(lines, 'fw2', 8).map((s) => s.label)).toEqual(['VRRP advert timeout', 'VRRP LAN MASTER']);
  });
});

describe('timeline SVG', () => {
  it('draws streams, the crash, numbered steps and the stall; escapes labels', () => {
    const svg = renderTimeline([{
      label: 'a <b>', startAt: 0, crashAt: 1000, endAt: 3000,
      records: [rec([[100, 1], [900, 2], [2000, 3], [2990, 4]])],
      verdicts: [analyzeStream(rec([[100, 1], [900, 2], [2000, 3], [2990, 4]]), { at: 1000, end: 3000 })],
      steps: [{ t: 1300, node: 'fw2', label: 'VRRP LAN MASTER' }],
    }], { title: 't' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt;b&gt;');
    expect(svg).toContain('1. +300 ms  fw2: VRRP LAN MASTER');
    expect(svg).toContain('stall 1100 ms');
    expect(svg).toContain('<polyline');
    expect(svg).toContain('1/1 streams survived');
    expect(escapeXml('"&')).toBe('&quot;&amp;');
  });
});

describe('configs', () => {
  it('ruleset: drop policy, SYN-only NEW from the LAN, SNAT to the VIP, optional ftp helper', () => {
    const base = { lanIf: 'lan0', wanIf: 'wan0', syncIf: 'sync0', lanNet: '192.0.2.0/24', snatTo: '203.0.113.1' };
    const r = firewallRuleset(base);
    expect(r).toContain('policy drop');
    expect(r).toContain('tcp flags & (fin|syn|rst|ack) == syn ct state new accept');
    expect(r).toContain('snat to 203.0.113.1');
    expect(r).not.toContain('ct helper');
    expect(firewallRuleset({ ...base, ftpHelper: true })).toContain('tcp dport 21 ct helper set "ftp-standard"');
    expect(parseCounterPackets('counter invalid_fwd {\n packets 51 bytes 2652\n}')).toBe(51);
  });
  it('keepalived: sync group with notify, VRRPv3 for sub-second adverts', () => {
    const k = keepalivedConf({ routerId: 'fw1', priority: 150, advertInt: 0.1, notify: '/r/notify.sh' });
    expect(k).toContain('vrrp_version 3');
    expect(k).toContain('notify_master "/r/notify.sh primary"');
    expect(k).toContain('192.0.2.1/24 dev lan0');
    expect(keepalivedConf({ routerId: 'x', priority: 1, advertInt: 1 })).not.toContain('notify');
  });
  it('conntrackd: FTFW over UDP towards the peer, per-run paths', () => {
    const c = conntrackdConf({ index: 1, runDir: '/r' });
    expect(c).toContain('IPv4_address 198.19.254.2');
    expect(c).toContain('IPv4_Destination_Address 198.19.254.1');
    expect(c).toContain('Path /r/conntrackd.ctl');
    expect(c).toContain('LockFile /r/conntrackd.lock');
    const pb = patchPrimaryBackup('X\nCONNTRACKD_BIN=/usr/sbin/conntrackd\nCONNTRACKD_LOCK=/a\nCONNTRACKD_CONFIG=/b\n', '/bin/x', '/c', '/l');
    expect(pb).toBe("X\nCONNTRACKD_BIN='/bin/x'\nCONNTRACKD_LOCK='/l'\nCONNTRACKD_CONFIG='/c'\n");
  });
  it('lab tags are short and validated', () => {
    expect(labTag('demo', 4194304, 35)).toBe('demo2hwcg_z');
    expect(() => labTag('TOO-LONG', 1, 0)).toThrow();
  });
});

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import {
  contentChunk, contentSha256, epsvReply, fileName, parseCommand, parseEpsvReply, parseFileName, parsePasvReply,
  parseReplyLine, pasvReply, splitLines, MAX_LINE,
} from '../../../src/lab/ftp-proto';
import { analyzeFtp, ftpDataSeries, parseFtpReport, type FtpRecord, type FtpTransfer } from '../../../src/lab/ftp-stats';
import { formatFtp, ftpLanes } from '../../../src/lab/ftp-report';
import { renderTimeline } from '../../../src/lab/timeline';
import type { FailoverResult } from '../../../src/lab/failover';

describe('ftp control lines', () => {
  it('splits CRLF (and bare LF) lines and keeps the rest', () => {
    expect(splitLines('USER a\r\nPASS b\nTY')).toEqual({ lines: ['USER a', 'PASS b'], rest: 'TY', error: null });
    expect(splitLines('')).toEqual({ lines: [], rest: '', error: null });
  });
  it('a line longer than the limit is an error, ended or not', () => {
    expect(splitLines(`${'x'.repeat(MAX_LINE + 1)}\r\n`).error).toBe('line-too-long');
    expect(splitLines('x'.repeat(MAX_LINE + 1)).error).toBe('line-too-long');
    expect(splitLines(`${'x'.repeat(MAX_LINE)}\r\n`).error).toBeNull();
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), (s) => {
      const r = splitLines(s);
      for (const l of r.lines) {
        parseReplyLine(l);
        parseCommand(l);
        parsePasvReply(l);
        parseEpsvReply(l);
      }
      expect(r.lines.every((l) => l.length <= MAX_LINE)).toBe(true);
    }));
  });
});

describe('ftp replies and commands', () => {
  it.each([
    ['227 Entering Passive Mode (203,0,113,10,195,80).', { code: 227, text: 'Entering Passive Mode (203,0,113,10,195,80).' }],
    ['221', { code: 221, text: '' }],
    ['150-first line of a multi-line reply', null],
    ['  continuation', null],
    ['600 no such class', null],
    ['22 short', null],
  ])('parseReplyLine(%j)', (line, want) => {
    expect(parseReplyLine(line)).toEqual(want);
  });
  it('commands are case-insensitive verbs with an optional argument', () => {
    expect(parseCommand('retr data-1-2.bin')).toEqual({ verb: 'RETR', arg: 'data-1-2.bin' });
    expect(parseCommand('EPSV')).toEqual({ verb: 'EPSV', arg: '' });
    expect(parseCommand('X')).toBeNull();
    expect(parseCommand('RETR1 x')).toBeNull();
  });
  it('PASV: RFC 959 h1..h4,p1,p2 with port p1*256+p2, round trip', () => {
    expect(parsePasvReply('Entering Passive Mode (203,0,113,10,195,80).')).toEqual({ host: '203.0.113.10', port: 50000 });
    expect(parsePasvReply('=203,0,113,10,0,21')).toEqual({ host: '203.0.113.10', port: 21 });
    expect(parsePasvReply('(203,0,113,10,256,1)')).toBeNull();
    expect(parsePasvReply('(203,0,113,10,0,0)')).toBeNull();
    expect(parsePasvReply('no address')).toBeNull();
    const r = parseReplyLine(pasvReply('203.0.113.10', 39531));
    expect(r?.code).toBe(227);
    expect(parsePasvReply(r?.text ?? '')).toEqual({ host: '203.0.113.10', port: 39531 });
  });
  it('EPSV: RFC 2428 (|||port|) with any repeated delimiter, round trip', () => {
    expect(parseEpsvReply('Entering Extended Passive Mode (|||6446|)')).toEqual({ host: null, port: 6446 });
    expect(parseEpsvReply('(!!!21!)')).toEqual({ host: null, port: 21 });
    expect(parseEpsvReply('(|!|21|)')).toBeNull();
    expect(parseEpsvReply('(|||70000|)')).toBeNull();
    expect(parseEpsvReply('(|||0|)')).toBeNull();
    const r = parseReplyLine(epsvReply(46181));
    expect(r?.code).toBe(229);
    expect(parseEpsvReply(r?.text ?? '')).toEqual({ host: null, port: 46181 });
  });
});

describe('generated files', () => {
  it('names carry size and seed; bad names are refused', () => {
    expect(fileName(4096, 7)).toBe('data-4096-7.bin');
    expect(parseFileName('data-4096-7.bin')).toEqual({ size: 4096, seed: 7 });
    expect(parseFileName('/data-0-0.bin')).toEqual({ size: 0, seed: 0 });
    expect(parseFileName('../etc/passwd')).toBeNull();
    expect(parseFileName(`data-${2 ** 31}-1.bin`)).toBeNull();
    expect(parseFileName('data-1-99999999999.bin')).toBeNull();
  });
  it('content is deterministic (fixture) and chunks at any offset concatenate to the file', () => {
    // byte i = byte (i mod 4) of mix32(seed + floor(i / 4)), least significant first
    expect(contentChunk(1, 0, 8).toString('hex')).toBe('c0908968812113d1');
    expect(contentChunk(0, 4, 4).toString('hex')).toBe('c0908968');
    expect(contentChunk(1, 2, 3).toString('hex')).toBe('896881');
    expect(contentChunk(1, 0, 8)).not.toEqual(contentChunk(2, 0, 8));
    fc.assert(fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), fc.nat(), (a, b, seed) => {
      const whole = contentChunk(seed, 0, a + b);
      expect(Buffer.concat([contentChunk(seed, 0, a), contentChunk(seed, a, b)])).toEqual(whole);
    }));
  });
  it('contentSha256 is the SHA-256 of the whole file, whatever the block size', () => {
    const f = { size: 10_001, seed: 3 };
    const want = createHash('sha256').update(contentChunk(3, 0, 10_001)).digest('hex');
    expect(contentSha256(f)).toBe(want);
    expect(contentSha256(f, 97)).toBe(want);
  });
});

const transfer = (o: Partial<FtpTransfer>): FtpTransfer => ({
  name: 'data-300-1.bin', size: 300, mode: 'PASV', port: 40000, requestedAt: 0, dataConnectedAt: 10, samples: [], bytes: 0,
  sha256: null, expectedSha256: 'x', completeAt: null, ok: false, error: null, ...o,
});

const record = (transfers: FtpTransfer[], o: Partial<FtpRecord> = {}): FtpRecord => ({
  host: '203.0.113.10', connectedAt: 0, control: [[5, 227], [2000, 226]], transfers, quitAt: null, brokenAt: null, reason: null, error: null, ...o,
});

describe('ftp analysis', () => {
  const across = transfer({
    samples: [[100, 100], [500, 120], [990, 150], [1800, 250], [1810, 300]], bytes: 300, completeAt: 1815, ok: true, sha256: 'x',
  });
  const after = transfer({ name: 'data-100-2.bin', size: 100, mode: 'EPSV', requestedAt: 1900, dataConnectedAt: 1905, samples: [[1950, 100]], bytes: 100, completeAt: 1960, ok: true, sha256: 'x' });

  it('a completed session: the stall of the transfer across the crash, the one asked after it', () => {
    const v = analyzeFtp(record([across, after], { quitAt: 1970 }), { at: 1000, end: 3000 });
    expect(v).toEqual({
      state: 'ok', completed: true, transfersOk: 2, transfers: 2, bytes: 400, acrossIndex: 0, afterRequested: 1, afterOk: 1,
      stallMs: 810, stallFrom: 990, stallTo: 1800, reason: null,
    });
  });
  it('a hung transfer: the open gap runs to the end, no second transfer', () => {
    const hung = transfer({ samples: [[100, 100], [990, 150]], bytes: 150 });
    const v = analyzeFtp(record([hung]), { at: 1000, end: 4000 });
    expect(v).toMatchObject({ state: 'hung', completed: false, acrossIndex: 0, afterRequested: 0, stallMs: 3010, stallFrom: 990, stallTo: null });
  });
  it('a reset control or data connection is RESET; a checksum mismatch FAILED', () => {
    expect(analyzeFtp(record([transfer({ error: 'data connection: ECONNRESET' })], { error: 'data connection: ECONNRESET' }), { at: 0, end: 1 }).state).toBe('reset');
    expect(analyzeFtp(record([transfer({})], { brokenAt: 5, reason: 'EOF' }), { at: 0, end: 10 })).toMatchObject({ state: 'reset', reason: 'EOF' });
    const bad = transfer({ bytes: 300, completeAt: 50, sha256: 'y', error: 'data-300-1.bin: 300 bytes, sha256 y (want x)' });
    expect(analyzeFtp(record([bad], { error: bad.error }), { at: 0, end: 100 }).state).toBe('failed');
  });
  it('data series add up over transfers', () => {
    expect(ftpDataSeries(record([across, after]))).toEqual([[100, 100], [500, 120], [990, 150], [1800, 250], [1810, 300], [1950, 400]]);
  });
  it('parseFtpReport rejects garbage and keeps what is valid', () => {
    expect(parseFtpReport('nope')).toBeNull();
    expect(parseFtpReport('{"event":"report"}')).toBeNull();
    expect(parseFtpReport('{"event":"report","ftp":{"host":"h","transfers":[{"name":1}]}}')).toBeNull();
    const r = record([across]);
    expect(parseFtpReport(JSON.stringify({ event: 'report', ftp: r }))).toEqual(r);
    const withJunk = { ...r, control: [[1, 220], ['x', 2]] };
    expect(parseFtpReport(JSON.stringify({ event: 'report', ftp: withJunk }))?.control).toEqual([[1, 220]]);
  });
});

describe('ftp report and timeline lanes', () => {
  const base = (ftp: FailoverResult['ftp'], variant: FailoverResult['variant']): FailoverResult => ({
    variant, startAt: 0, crashAt: 1000, endAt: 3000, records: [], verdicts: [], steps: [], survived: 0, broken: 0, flowsCreated: 0,
    replicatedBeforeCrash: null, fw2InvalidDrops: null, advertInt: 0.1, fw2Status: null, fw2MasterBeforeCrash: false, ...(ftp ? { ftp } : {}),
  });
  const ok = transfer({ samples: [[100, 100], [500, 120], [990, 150], [1800, 300]], bytes: 300, completeAt: 1815, ok: true, sha256: 'x' });
  const okAfter = transfer({ name: 'data-100-2.bin', size: 100, mode: 'EPSV', requestedAt: 1900, dataConnectedAt: 1905, samples: [[1950, 100]], bytes: 100, completeAt: 1960, ok: true });
  const rec = record([ok, okAfter], { quitAt: 1970 });
  const replication = { expectation: 'proto=6 dport=40000', control: 'dport=21 helper=ftp', data: 'dport=40000', fw2KernelControl: 'dport=21 helper=ftp' };

  it('prints each transfer, what fw2 held and the session state', () => {
    const r = base({ record: rec, verdict: analyzeFtp(rec, { at: 1000, end: 3000 }), replication, dataPort: 40000 }, 'ctsyncd-vrrp');
    expect(formatFtp(r)).toEqual([
      "   ftp: passive FTP through the firewalls' ftp helper, one control connection:",
      "     in fw2's external cache before the crash: expectation (data port 40000), control entry (helper=ftp), data entry",
      '     transfer 1 PASV data-300-1.bin: ok, 0.3 KiB, SHA-256 verified, longest stall 810 ms',
      '     transfer 2 EPSV data-100-2.bin (asked +900 ms): ok, 0.1 KiB, SHA-256 verified',
      '     session: ok, QUIT answered',
      '     fw2 kernel, control entry after the run: helper=ftp',
    ]);
    expect(formatFtp(base(undefined, 'none'))).toEqual([]);
  });
  it('a hung session without replication', () => {
    const hung = record([transfer({ samples: [[100, 100], [990, 150]], bytes: 150 })]);
    const none = { expectation: null, control: null, data: null, fw2KernelControl: null };
    const r = base({ record: hung, verdict: analyzeFtp(hung, { at: 1000, end: 3000 }), replication: none, dataPort: 40000 }, 'none');
    const text = formatFtp(r);
    expect(text).toContain('     transfer 1 PASV data-300-1.bin: HUNG at 0.1 KiB of 0.3 KiB, no data since -10 ms (2010 ms until the end)');
    expect(text).toContain('     session: HUNG; the transfer after the failover was never asked for');
  });
  it('lanes ftp-data and ftp-control make the panel taller and are drawn; no lanes, same picture', () => {
    const r = base({ record: rec, verdict: analyzeFtp(rec, { at: 1000, end: 3000 }), replication, dataPort: 40000 }, 'ctsyncd');
    const lanes = ftpLanes(r);
    expect(lanes.map((l) => l.label)).toEqual(['ftp-data', 'ftp-control']);
    expect(lanes[0]?.total).toBe(400);
    expect(lanes[1]?.marks).toEqual([[5, '227'], [2000, '226']]);
    const plain = renderTimeline([{ ...r, label: 'x' }]);
    const withLanes = renderTimeline([{ ...r, label: 'x', lanes }]);
    expect(plain).not.toContain('ftp-data');
    expect(withLanes).toContain('>ftp-data<');
    expect(withLanes).toContain('>ftp-control<');
    expect(withLanes).toContain('ftp ok: 2 files, SHA-256 verified, stall 810 ms');
    const h = (svg: string): number => Number(/height="(\d+)"/.exec(svg)?.[1]);
    expect(h(withLanes) - h(plain)).toBe(80);
  });
});

#!/usr/bin/env node
/* eslint-disable */
// Test peer: builds transports from the compiled src/transport in argv[2],
// config JSON in argv[3]; commands as JSON lines on stdin, events on stdout.
//   {"cmd":"send","from":0,"count":10000,"size":200,"batch":0,"gapMs":0}
//   {"cmd":"report"}  {"cmd":"reset"}  {"cmd":"close"}  {"cmd":"open"}
// Datagram content: u32 BE seq | u32 BE size | byte i = (fold(seq)*31 + i*7) & 0xff,
// fold = xor of the four seq bytes, so any single bit flip is detected.
'use strict';
const path = require('node:path');
const dist = argv(2);
const cfg = JSON.parse(argv(3));
function argv(i) {
  const v = process.argv[i];
  if (v === undefined) throw new Error('usage: transport-peer.js DIST CONFIG_JSON');
  return v;
}
const T = (m) => require(path.join(dist, 'transport', m));
const { systemClock } = require(path.join(dist, 'util', 'clock'));
const clock = systemClock();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

function fold(seq) {
  return (seq ^ (seq >>> 8) ^ (seq >>> 16) ^ (seq >>> 24)) & 0xff;
}
function fill(seq, size) {
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(seq >>> 0, 0);
  b.writeUInt32BE(size, 4);
  const h = fold(seq);
  for (let i = 8; i < size; i++) b[i] = (h * 31 + i * 7) & 0xff;
  return b;
}
function valid(d) {
  if (d.length < 8 || d.readUInt32BE(4) !== d.length) return -1;
  const seq = d.readUInt32BE(0);
  const h = fold(seq);
  for (let i = 8; i < d.length; i++) if (d[i] !== ((h * 31 + i * 7) & 0xff)) return -1;
  return seq;
}

function buildOne(spec) {
  switch (spec.type) {
    case 'udp': return new (T('udp').UdpTransport)(spec.options);
    case 'multicast': return new (T('multicast').MulticastTransport)(spec.options);
    case 'tcp': return new (T('tcp').TcpTransport)({ ...spec.options, clock });
    default: throw new Error('unknown type ' + spec.type);
  }
}
let transport;
let group = null;
if (cfg.redundant) {
  const { PollingLinkMonitor } = T('link-monitor');
  const monitor = new PollingLinkMonitor({ clock, intervalMs: cfg.redundant.pollMs || 50 });
  group = new (T('redundant').RedundantGroup)({
    links: cfg.links.map((l) => ({ transport: buildOne(l), ifname: l.ifname })),
    monitor,
    failback: cfg.redundant.failback || 'sticky',
  });
  transport = group;
  group.onSwitch((from, to, reason) => out({ ev: 'switch', from, to, reason, at: Date.now() }));
} else {
  transport = buildOne(cfg.links[0]);
}

let seen = new Set();
let arrivals = [];
let received = 0, bad = 0, dup = 0, maxSeq = -1;
const perFrom = {};
transport.onDatagram((d, from) => {
  received++;
  perFrom[from] = (perFrom[from] || 0) + 1;
  const seq = valid(d);
  if (seq < 0) { bad++; return; }
  if (arrivals.length < 1000) arrivals.push(seq);
  if (seen.has(seq)) dup++;
  seen.add(seq);
  if (seq > maxSeq) maxSeq = seq;
});

function report(extra) {
  const r = { ev: 'report', received, unique: seen.size, bad, dup, maxSeq, perFrom, stats: transport.stats(), ...extra };
  if (group) r.group = group.groupStats();
  if (cfg.listSeqs) {
    r.seqs = [...seen].sort((a, b) => a - b);
    r.arrivals = arrivals;
  }
  if (typeof transport.buffers === 'function') r.buffers = transport.buffers();
  return r;
}

async function sendRange(c) {
  const { from = 0, count, size = 200, batch = 0, gapMs = 0 } = c;
  let refused = 0;
  for (let i = 0; i < count; i++) {
    if (!transport.send(fill(from + i, size))) refused++;
    if (batch > 0 && (i + 1) % batch === 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  out({ ev: 'sent', count, refused, at: Date.now() });
}

const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let c;
  try { c = JSON.parse(line); } catch { return out({ ev: 'error', error: 'bad json' }); }
  Promise.resolve()
    .then(async () => {
      if (c.cmd === 'send') return sendRange(c);
      if (c.cmd === 'report') return out(report());
      if (c.cmd === 'reset') { seen = new Set(); arrivals = []; received = bad = dup = 0; maxSeq = -1; for (const k in perFrom) delete perFrom[k]; return out({ ev: 'reset' }); }
      if (c.cmd === 'close') { await transport.close(); return out({ ev: 'closed' }); }
      if (c.cmd === 'open') { await transport.open(); return out({ ev: 'opened' }); }
      out({ ev: 'error', error: 'unknown cmd' });
    })
    .catch((e) => out({ ev: 'error', error: String(e && e.message) }));
});
rl.on('close', () => process.exit(0));

transport.open().then(
  () => out({ ev: 'ready', mtu: transport.mtu, buffers: typeof transport.buffers === 'function' ? transport.buffers() : null }),
  (e) => { out({ ev: 'error', error: String(e && e.message) }); process.exit(1); },
);

/** fast-check generators for conntrack / expectation models, unknown attributes at every level. */
import fc from 'fast-check';
import { formatIPv6 } from '../../../../src/netlink/ct/ip';
import type { Schema } from '../../../../src/netlink/ct/schema';
import * as T from '../../../../src/netlink/ct/tables';
import type { Conntrack, Expectation, Family, RawAttr, Tuple } from '../../../../src/netlink/types';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const name = fc.stringMatching(/^[a-z0-9_-]{1,15}$/);

/** An attribute unknown at the level described by `sc` (any flag bits). */
export function rawAttr(sc: Schema): fc.Arbitrary<RawAttr> {
  return fc
    .record({
      t: fc.integer({ min: 0, max: 0x3fff }).filter((t) => !sc.byType.has(t)),
      flags: fc.constantFrom(0, 0x8000, 0x4000),
      data: bytes(12),
    })
    .map(({ t, flags, data }) => ({ type: t | flags, data }));
}

const unknowns = (sc: Schema): fc.Arbitrary<RawAttr[]> => fc.array(rawAttr(sc), { minLength: 1, maxLength: 3 });

export const ipv4 = fc.tuple(u8, u8, u8, u8).map((p) => p.join('.'));
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => formatIPv6(Buffer.from(a), 0));
export const addr = (family: Family): fc.Arbitrary<string> => (family === 2 ? ipv4 : ipv6);

export function tuple(family: Family): fc.Arbitrary<Tuple> {
  return fc.record(
    {
      src: addr(family),
      dst: addr(family),
      proto: fc.oneof(fc.constantFrom(1, 6, 17, 33, 47, 58, 132, 136), u8),
      sport: u16,
      dport: u16,
      icmpId: u16,
      icmpType: u8,
      icmpCode: u8,
      zone: u16,
      unknown: unknowns(T.TUPLE),
      ipUnknown: unknowns(T.TUPLE_IP),
      protoUnknown: unknowns(T.TUPLE_PROTO),
    },
    { requiredKeys: ['src', 'dst', 'proto'] },
  );
}

const flags = fc.record({ flags: u8, mask: u8 });
const seqAdj = fc.record(
  { correctionPos: u32, offsetBefore: u32, offsetAfter: u32, unknown: unknowns(T.SEQADJ) },
  { requiredKeys: ['correctionPos', 'offsetBefore', 'offsetAfter'] },
);
const counters = fc.record({ packets: u64, bytes: u64, unknown: unknowns(T.COUNTERS) }, { requiredKeys: ['packets', 'bytes'] });
const nat = (family: Family) =>
  fc.record(
    { minIp: addr(family), maxIp: addr(family), minPort: u16, maxPort: u16, unknown: unknowns(T.NAT), protoUnknown: unknowns(T.NAT_PROTO) },
    { requiredKeys: [] },
  );
const protoinfo = fc.record(
  {
    tcp: fc.record(
      { state: u8, wscaleOrig: u8, wscaleReply: u8, flagsOrig: flags, flagsReply: flags, unknown: unknowns(T.PROTOINFO_TCP) },
      { requiredKeys: ['state'] },
    ),
    sctp: fc.record({ state: u8, vtagOrig: u32, vtagReply: u32, unknown: unknowns(T.PROTOINFO_SCTP) }, { requiredKeys: ['state'] }),
    dccp: fc.record({ state: u8, role: u8, handshakeSeq: u64, unknown: unknowns(T.PROTOINFO_DCCP) }, { requiredKeys: ['state'] }),
    unknown: unknowns(T.PROTOINFO),
  },
  { requiredKeys: [] },
);

export const conntrack: fc.Arbitrary<Conntrack> = fc.constantFrom<Family>(2, 10).chain((family) =>
  fc.record(
    {
      family: fc.constant(family),
      orig: tuple(family),
      reply: tuple(family),
      master: tuple(family),
      status: u32,
      timeout: u32,
      mark: u32,
      secmark: u32,
      zone: u16,
      use: u32,
      id: u32,
      labels: bytes(16),
      labelsMask: bytes(16),
      protoinfo,
      seqAdjOrig: seqAdj,
      seqAdjReply: seqAdj,
      helper: fc.record({ name, info: bytes(8), unknown: unknowns(T.HELP) }, { requiredKeys: ['name'] }),
      countersOrig: counters,
      countersReply: counters,
      timestamp: fc.record({ start: u64, stop: u64, unknown: unknowns(T.TIMESTAMP) }, { requiredKeys: ['start'] }),
      natSrc: nat(family),
      natDst: nat(family),
      secctx: fc.record({ name, unknown: unknowns(T.SECCTX) }, { requiredKeys: [] }),
      synproxy: fc.record({ isn: u32, its: u32, tsoff: u32, unknown: unknowns(T.SYNPROXY) }, { requiredKeys: ['isn', 'its', 'tsoff'] }),
      markMask: u32,
      statusMask: u32,
      unknown: unknowns(T.CONNTRACK),
    },
    { requiredKeys: ['family', 'orig', 'reply'] },
  ),
);

export const expectation: fc.Arbitrary<Expectation> = fc.constantFrom<Family>(2, 10).chain((family) =>
  fc.record(
    {
      family: fc.constant(family),
      master: tuple(family),
      tuple: tuple(family),
      mask: tuple(family),
      timeout: u32,
      id: u32,
      helper: name,
      zone: u16,
      flags: u32,
      class: u32,
      fn: name,
      nat: fc.record({ dir: u32, tuple: tuple(family), unknown: unknowns(T.EXPECT_NAT) }, { requiredKeys: ['dir', 'tuple'] }),
      unknown: unknowns(T.EXPECTATION),
    },
    { requiredKeys: ['family', 'master', 'tuple', 'mask'] },
  ),
);

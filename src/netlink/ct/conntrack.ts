/**
 * Conntrack entries: CtRecord (ctnetlink attributes) <-> Conntrack.
 * Schema: tables.ts (CONNTRACK and the levels below it).
 */
import type { Conntrack, CtRecord, DecodeLimits, Decoded } from '../types';
import { decodeRecord, encodeRecord } from './record';
import { CONNTRACK } from './tables';

/** Full decode. Unknown attributes at every level are kept in `unknown` fields. Never throws. */
export function decodeConntrack(rec: CtRecord, limits?: Partial<DecodeLimits>): Decoded<Conntrack> {
  return decodeRecord<Conntrack>(rec, 'ct', CONNTRACK, limits);
}

/**
 * Encode. Known attributes in kernel dump order, then unknown ones as kept.
 * Throws RangeError only on an invalid model (e.g. an unparsable address).
 */
export function encodeConntrack(ct: Conntrack): CtRecord {
  const { family, ...rest } = ct;
  return encodeRecord('ct', family, rest, CONNTRACK);
}

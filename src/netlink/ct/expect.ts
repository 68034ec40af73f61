/**
 * Expectations: CtRecord (ctnetlink CTA_EXPECT_* attributes) <-> Expectation.
 * Schema: tables.ts (EXPECTATION).
 */
import type { CtRecord, DecodeLimits, Decoded, Expectation } from '../types';
import { decodeRecord, encodeRecord } from './record';
import { EXPECTATION } from './tables';

export function decodeExpectation(rec: CtRecord, limits?: Partial<DecodeLimits>): Decoded<Expectation> {
  return decodeRecord<Expectation>(rec, 'expect', EXPECTATION, limits);
}

export function encodeExpectation(x: Expectation): CtRecord {
  const { family, ...rest } = x;
  return encodeRecord('expect', family, rest, EXPECTATION);
}

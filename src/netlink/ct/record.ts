/** Shared checks and the decode/encode glue for whole records. */
import type { CtKind, CtRecord, DecodeLimits, Decoded, Family } from '../types';
import { DEFAULT_LIMITS, decodeError } from './attr';
import { decodeObject, encodeLevel, type Obj, type Schema } from './schema';

export function withDefaults(limits?: Partial<DecodeLimits>): DecodeLimits {
  return limits ? { ...DEFAULT_LIMITS, ...limits } : DEFAULT_LIMITS;
}

/** Decode the attributes of a record with the top-level schema `sc`. */
export function decodeRecord<T>(rec: CtRecord, kind: CtKind, sc: Schema, limits?: Partial<DecodeLimits>): Decoded<T> {
  const lim = withDefaults(limits);
  if (rec.kind !== kind) return { ok: false, error: decodeError('EBADTYPE', `expected a ${kind} record, got ${rec.kind}`, 0) };
  if (rec.family !== 2 && rec.family !== 10) {
    return { ok: false, error: decodeError('EBADFAMILY', `family ${String(rec.family)} is neither AF_INET nor AF_INET6`, 0) };
  }
  if (rec.attrs.length > lim.maxLength) {
    return { ok: false, error: decodeError('EBADLEN', `${rec.attrs.length} bytes > limit ${lim.maxLength}`, 0) };
  }
  const r = decodeObject(rec.attrs, 0, rec.attrs.length, sc, 1, lim);
  if (!r.ok) return r;
  const value: Obj = { family: rec.family, ...r.value };
  return { ok: true, value: value as unknown as T, consumed: rec.attrs.length };
}

/** Encode a decoded object (minus `family`) back to a record. */
export function encodeRecord(kind: CtKind, family: Family, obj: object, sc: Schema): CtRecord {
  return { kind, family, attrs: encodeLevel(obj as Obj, sc) };
}

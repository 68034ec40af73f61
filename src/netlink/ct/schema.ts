/**
 * Declarative attribute schemas and the one engine that decodes and encodes
 * them. Each nesting level of ctnetlink is one Schema (see tables.ts): a list
 * of FieldSpec {attribute type -> name, kind, field}. Anything not in the
 * table is kept verbatim in the level's `unknownField` and written back.
 *
 * Kinds and their payload byte order:
 *   u8        1 byte
 *   be16      2 bytes, big-endian
 *   be32      4 bytes, big-endian, unsigned (number)
 *   be32big   4 bytes, big-endian, read as bigint (old 32-bit counters)
 *   be64      8 bytes, big-endian, unsigned (bigint)
 *   ipv4      4 bytes, network order, as dotted quad text
 *   ipv6      16 bytes, network order, as RFC 5952 text
 *   tcpflags  struct nf_ct_tcp_flags {u8 flags; u8 mask}
 *   string    NUL-terminated (NUL added on encode, cut on decode)
 *   binary    raw bytes
 *   nested    child object decoded with `schema` (NLA_F_NESTED on encode)
 *   flat      nested on the wire, but its fields live in the parent object
 *             (e.g. CTA_TUPLE_IP inside Tuple); its unknowns go to the
 *             child schema's unknownField of the parent object
 *   pad       *_PAD attributes: skipped on decode, never emitted
 */
import type { DecodeError, DecodeLimits, RawAttr } from '../types';
import { attrSize, decodeError, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK, putAttrHeader, walkAttrs } from './attr';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip';

export type Kind =
  | 'u8'
  | 'be16'
  | 'be32'
  | 'be32big'
  | 'be64'
  | 'ipv4'
  | 'ipv6'
  | 'tcpflags'
  | 'string'
  | 'binary'
  | 'nested'
  | 'flat'
  | 'pad';

export type Obj = Record<string, unknown>;

export interface FieldSpec {
  /** Attribute type without flag bits. */
  type: number;
  /** Header name, for errors and docs. */
  name: string;
  kind: Kind;
  /** Property in the decoded object (unused by 'flat' and 'pad'). */
  field: string;
  schema?: Schema;
  /** Encode: emit this spec for the field only if true (several specs may share a field). */
  when?: (value: unknown, obj: Obj) => boolean;
}

export interface Schema {
  name: string;
  fields: readonly FieldSpec[];
  unknownField: string;
  required: readonly string[];
  byType: ReadonlyMap<number, FieldSpec>;
}

export function defineSchema(
  name: string,
  unknownField: string,
  fields: FieldSpec[],
  required: string[] = [],
): Schema {
  const byType = new Map<number, FieldSpec>();
  for (const f of fields) byType.set(f.type, f);
  return Object.freeze({ name, unknownField, fields: Object.freeze(fields), required: Object.freeze(required), byType });
}

const FIXED_SIZE: Partial<Record<Kind, number>> = {
  u8: 1,
  be16: 2,
  be32: 4,
  be32big: 4,
  be64: 8,
  ipv4: 4,
  ipv6: 16,
  tcpflags: 2,
};

interface Ctx {
  limits: DecodeLimits;
  count: number;
}

/** Decode one level of attributes in buf[start, end) into `into`. */
export function decodeLevel(
  buf: Buffer,
  start: number,
  end: number,
  sc: Schema,
  depth: number,
  limits: DecodeLimits,
  into: Obj,
  ctx: Ctx = { limits, count: 0 },
): DecodeError | null {
  if (depth > limits.maxDepth) return decodeError('ETOODEEP', `${sc.name}: nesting deeper than ${limits.maxDepth}`, start);
  let err: DecodeError | null = null;
  const walkErr = walkAttrs(buf, start, end, (raw, off, len) => {
    ctx.count += 1;
    if (ctx.count > limits.maxAttrs) {
      err = decodeError('ETOOMANY', `more than ${limits.maxAttrs} attributes`, off - NLA_HDRLEN);
      return false;
    }
    const spec = sc.byType.get(raw & NLA_TYPE_MASK);
    if (!spec) {
      pushUnknown(into, sc.unknownField, { type: raw, data: Buffer.from(buf.subarray(off, off + len)) });
      return true;
    }
    err = decodeField(buf, off, len, spec, depth, ctx, into);
    return err === null;
  }, limits.maxAttrs);
  return walkErr ?? err;
}

/** Decode a nested level into a fresh object and check its required fields. */
export function decodeObject(
  buf: Buffer,
  start: number,
  end: number,
  sc: Schema,
  depth: number,
  limits: DecodeLimits,
  ctx?: Ctx,
): { ok: true; value: Obj } | { ok: false; error: DecodeError } {
  const obj: Obj = {};
  const err = decodeLevel(buf, start, end, sc, depth, limits, obj, ctx ?? { limits, count: 0 });
  if (err) return { ok: false, error: err };
  for (const r of sc.required) {
    if (obj[r] === undefined) return { ok: false, error: decodeError('EMISSING', `${sc.name}: missing ${r}`, start) };
  }
  return { ok: true, value: obj };
}

function pushUnknown(into: Obj, field: string, raw: RawAttr): void {
  const list = into[field];
  if (Array.isArray(list)) (list as RawAttr[]).push(raw);
  else into[field] = [raw];
}

function decodeField(buf: Buffer, off: number, len: number, spec: FieldSpec, depth: number, ctx: Ctx, into: Obj): DecodeError | null {
  const fixed = FIXED_SIZE[spec.kind];
  if (fixed !== undefined && len !== fixed) {
    return decodeError('EBADLEN', `${spec.name}: length ${len}, expected ${fixed}`, off - NLA_HDRLEN);
  }
  switch (spec.kind) {
    case 'u8':
      into[spec.field] = buf.readUInt8(off);
      return null;
    case 'be16':
      into[spec.field] = buf.readUInt16BE(off);
      return null;
    case 'be32':
      into[spec.field] = buf.readUInt32BE(off);
      return null;
    case 'be32big':
      into[spec.field] = BigInt(buf.readUInt32BE(off));
      return null;
    case 'be64':
      into[spec.field] = buf.readBigUInt64BE(off);
      return null;
    case 'ipv4':
      into[spec.field] = formatIPv4(buf, off);
      return null;
    case 'ipv6':
      into[spec.field] = formatIPv6(buf, off);
      return null;
    case 'tcpflags':
      into[spec.field] = { flags: buf.readUInt8(off), mask: buf.readUInt8(off + 1) };
      return null;
    case 'string': {
      const nul = buf.indexOf(0, off);
      const stop = nul >= 0 && nul < off + len ? nul : off + len;
      into[spec.field] = buf.toString('utf8', off, stop);
      return null;
    }
    case 'binary':
      into[spec.field] = Buffer.from(buf.subarray(off, off + len));
      return null;
    case 'pad':
      return null;
    case 'nested': {
      if (!spec.schema) return decodeError('EBADATTR', `${spec.name}: no schema`, off);
      const r = decodeObject(buf, off, off + len, spec.schema, depth + 1, ctx.limits, ctx);
      if (!r.ok) return r.error;
      into[spec.field] = r.value;
      return null;
    }
    case 'flat':
      if (!spec.schema) return decodeError('EBADATTR', `${spec.name}: no schema`, off);
      return decodeLevel(buf, off, off + len, spec.schema, depth + 1, ctx.limits, into, ctx);
  }
}

/** Calls `emit` for each (spec, value) to write at this level, in schema order. */
function forEachEmitted(obj: Obj, sc: Schema, emit: (spec: FieldSpec, value: unknown) => void): void {
  const done = new Set<string>();
  for (const spec of sc.fields) {
    if (spec.kind === 'pad') continue;
    if (spec.kind === 'flat') {
      if (spec.schema && flatPresent(obj, spec.schema)) emit(spec, obj);
      continue;
    }
    const v = obj[spec.field];
    if (v === undefined || done.has(spec.field)) continue;
    if (spec.when && !spec.when(v, obj)) continue;
    done.add(spec.field);
    emit(spec, v);
  }
}

function flatPresent(obj: Obj, sc: Schema): boolean {
  const u = obj[sc.unknownField];
  if (Array.isArray(u) && u.length > 0) return true;
  return sc.fields.some((f) => (f.kind === 'flat' ? f.schema !== undefined && flatPresent(obj, f.schema) : obj[f.field] !== undefined));
}

function unknownList(obj: Obj, sc: Schema): RawAttr[] {
  const u = obj[sc.unknownField];
  return Array.isArray(u) ? (u as RawAttr[]) : [];
}

/** Bytes needed for the attributes of one level (padding included). */
export function levelSize(obj: Obj, sc: Schema): number {
  let n = 0;
  forEachEmitted(obj, sc, (spec, v) => {
    n += attrSize(payloadSize(spec, v));
  });
  for (const u of unknownList(obj, sc)) n += attrSize(u.data.length);
  return n;
}

function payloadSize(spec: FieldSpec, v: unknown): number {
  const fixed = FIXED_SIZE[spec.kind];
  if (fixed !== undefined) return fixed;
  switch (spec.kind) {
    case 'string':
      return Buffer.byteLength(String(v), 'utf8') + 1;
    case 'binary':
      return (v as Buffer).length;
    case 'nested':
    case 'flat':
      return spec.schema ? levelSize(v as Obj, spec.schema) : 0;
    default:
      return 0;
  }
}

/** Write one level at `off` (buf must be zero-filled); returns the end offset. */
export function fillLevel(buf: Buffer, off: number, obj: Obj, sc: Schema): number {
  let p = off;
  forEachEmitted(obj, sc, (spec, v) => {
    p = fillField(buf, p, spec, v);
  });
  for (const u of unknownList(obj, sc)) {
    const d = putAttrHeader(buf, p, u.type, u.data.length);
    u.data.copy(buf, d);
    p += attrSize(u.data.length);
  }
  return p;
}

function fillField(buf: Buffer, off: number, spec: FieldSpec, v: unknown): number {
  const size = payloadSize(spec, v);
  const nested = spec.kind === 'nested' || spec.kind === 'flat';
  const d = putAttrHeader(buf, off, nested ? spec.type | NLA_F_NESTED : spec.type, size);
  switch (spec.kind) {
    case 'u8':
      buf.writeUInt8(Number(v), d);
      break;
    case 'be16':
      buf.writeUInt16BE(Number(v), d);
      break;
    case 'be32':
      buf.writeUInt32BE(Number(v), d);
      break;
    case 'be32big':
      buf.writeUInt32BE(Number(v as bigint), d);
      break;
    case 'be64':
      buf.writeBigUInt64BE(v as bigint, d);
      break;
    case 'ipv4':
    case 'ipv6': {
      const ip = spec.kind === 'ipv4' ? parseIPv4(String(v)) : parseIPv6(String(v));
      if (!ip) throw new RangeError(`${spec.name}: not an ${spec.kind} address: ${String(v)}`);
      ip.copy(buf, d);
      break;
    }
    case 'tcpflags': {
      const f = v as { flags: number; mask: number };
      buf.writeUInt8(f.flags, d);
      buf.writeUInt8(f.mask, d + 1);
      break;
    }
    case 'string':
      buf.write(String(v), d, 'utf8');
      break;
    case 'binary':
      (v as Buffer).copy(buf, d);
      break;
    case 'nested':
    case 'flat':
      if (spec.schema) fillLevel(buf, d, v as Obj, spec.schema);
      break;
    case 'pad':
      break;
  }
  return off + attrSize(size);
}

/** Encode one level into a new Buffer: size first, then one fill. */
export function encodeLevel(obj: Obj, sc: Schema): Buffer {
  const buf = Buffer.alloc(levelSize(obj, sc));
  fillLevel(buf, 0, obj, sc);
  return buf;
}

/** Encode one nested attribute `type` holding `obj` encoded with `sc`. */
export function encodeNested(type: number, obj: Obj, sc: Schema): Buffer {
  const inner = levelSize(obj, sc);
  const buf = Buffer.alloc(attrSize(inner));
  putAttrHeader(buf, 0, type | NLA_F_NESTED, inner);
  fillLevel(buf, NLA_HDRLEN, obj, sc);
  return buf;
}

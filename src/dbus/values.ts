/**
 * Argument parsing and result shaping for org.ctsync.Daemon1, independent
 * of the D-Bus library. Arguments from callers are checked strictly: an
 * unknown word is an InvalidArgs error, never a guess.
 */
import type { CacheName, CommitKind, StatsSection } from '../daemon/api';
import { CtsyncDbusError, DBUS_ERROR } from './errors';

const KINDS: readonly CommitKind[] = ['ct', 'expect', 'all'];
const CACHES: ReadonlyArray<CacheName | 'all'> = ['internal', 'external', 'all'];
const SECTIONS: readonly StatsSection[] = [
  'general', 'network', 'cache', 'runtime', 'link', 'rsqueue', 'queue', 'process', 'ct', 'expect',
];

function pick<T extends string>(what: string, allowed: readonly T[], value: unknown, empty: T): T {
  if (value === '') return empty;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new CtsyncDbusError(DBUS_ERROR.invalidArgs, `${what} must be one of ${allowed.join(', ')} (or empty), got '${String(value).slice(0, 40)}'`);
}

/** "" means both kinds, as conntrackd's -c without argument. */
export function parseKind(value: unknown): CommitKind {
  return pick('kind', KINDS, value, 'all');
}

export function parseCache(value: unknown): CacheName | 'all' {
  return pick('cache', CACHES, value, 'all');
}

export function parseSection(value: unknown): StatsSection {
  return pick('section', SECTIONS, value, 'general');
}

/** A D-Bus variant before the library wraps it: signature + JS value. */
export interface VariantValue {
  signature: 't' | 'x' | 'd' | 's' | 'b';
  value: bigint | number | string | boolean;
}

export interface FlattenLimits {
  maxEntries: number;
  maxDepth: number;
}

const DEFAULT_FLATTEN: FlattenLimits = { maxEntries: 4096, maxDepth: 8 };

/**
 * Flatten a statistics object into dotted keys ("internal.current",
 * "links.0.bytesSent") with typed leaves: non-negative integers as `t`
 * (uint64), negative integers as `x`, other numbers as `d`, strings `s`,
 * booleans `b`. Stops at the limits (extra entries are dropped, the key
 * "truncated" is set to true).
 */
export function flattenStats(obj: unknown, limits: FlattenLimits = DEFAULT_FLATTEN): Map<string, VariantValue> {
  const out = new Map<string, VariantValue>();
  let truncated = false;
  const walk = (v: unknown, key: string, depth: number): void => {
    if (out.size >= limits.maxEntries) {
      truncated = true;
      return;
    }
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) out.set(key, v >= 0 ? { signature: 't', value: BigInt(v) } : { signature: 'x', value: BigInt(v) });
      else if (Number.isFinite(v)) out.set(key, { signature: 'd', value: v });
      return;
    }
    if (typeof v === 'string') out.set(key, { signature: 's', value: v });
    else if (typeof v === 'boolean') out.set(key, { signature: 'b', value: v });
    else if (v !== null && typeof v === 'object') {
      if (depth >= limits.maxDepth) {
        truncated = true;
        return;
      }
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      for (const [k, x] of entries) walk(x, key === '' ? k : `${key}.${k}`, depth + 1);
    }
  };
  walk(obj, '', 0);
  if (truncated) out.set('truncated', { signature: 'b', value: true });
  return out;
}

/** Seeded input generators for fuzzing: random bytes and mutations of valid seeds. */

export type Rng = () => number;

/** xorshift32: small, fast, reproducible from a seed. */
export function rng(seed: number): Rng {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const int = (r: Rng, n: number): number => Math.floor(r() * n);

const TEXT_TOKENS = ['{', '}', '"', '#', '\n', ' ', 'on', 'off', '0', '65535', '999999999999', '-1', '/', '::', '.', 'Sync', 'Mode', 'include', '!'];

/** One input: random bytes, or a seed mutated 1..8 times (flip, set, insert, delete, truncate, splice). */
export function generate(r: Rng, seeds: Buffer[], text: boolean, maxLen = 4096): Buffer {
  if (seeds.length === 0 || r() < 0.1) {
    const b = Buffer.alloc(int(r, 256));
    for (let i = 0; i < b.length; i++) b[i] = int(r, 256);
    return b;
  }
  let b = Buffer.from(seeds[int(r, seeds.length)] as Buffer);
  const n = 1 + int(r, 8);
  for (let k = 0; k < n && b.length < maxLen; k++) {
    const at = int(r, b.length + 1);
    switch (int(r, text ? 7 : 6)) {
      case 0:
        if (b.length > 0) b[at % b.length] = ((b[at % b.length] ?? 0) ^ (1 << int(r, 8))) & 0xff;
        break;
      case 1:
        if (b.length > 0) b[at % b.length] = [0, 0xff, 0x7f, 0x80, 4, 8][int(r, 6)] as number;
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([int(r, 256), int(r, 256)]), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 16)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5: {
        const other = seeds[int(r, seeds.length)] as Buffer;
        const from = int(r, other.length + 1);
        b = Buffer.concat([b.subarray(0, at), other.subarray(from, from + int(r, 64))]);
        break;
      }
      case 6:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(TEXT_TOKENS[int(r, TEXT_TOKENS.length)] as string), b.subarray(at)]);
        break;
    }
  }
  return b;
}

/**
 * A benchmark section: a name and a run() that returns rows of a table.
 * Any module in src/bench/ that exports a value of this shape is picked up
 * by src/bench/main.ts, so adding a section is adding one file.
 */
export type BenchRow = Record<string, string | number>;

export interface BenchSection {
  name: string;
  /** One line for `--list`. */
  description?: string;
  run(): Promise<BenchRow[]>;
}

export function isBenchSection(x: unknown): x is BenchSection {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as BenchSection).name === 'string' &&
    typeof (x as BenchSection).run === 'function'
  );
}

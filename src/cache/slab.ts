/**
 * A slab allocator for variable-length byte records.
 *
 * Records are stored in large arena chunks (Buffer.allocUnsafeSlow, outside the
 * JS heap) split into fixed-size cells. Each size class has its own chunks and
 * a free list of cell numbers (a growable Uint32Array used as a stack), so a
 * freed cell is reused by the next record of the same class and the heap holds
 * no per-record objects.
 *
 * Size classes: 16-byte steps up to 1024 bytes (64 classes), then powers of two
 * up to maxBytes. A cell is addressed by (class, cell number); the chunk is
 * cell / cellsPerChunk and the byte offset (cell % cellsPerChunk) * cellSize.
 *
 * Memory is not returned to the OS when records are freed (cells stay in the
 * free lists) except by reset(); recycle() keeps the chunks for the next records.
 */

const STEP = 16;
const SMALL_MAX = 1024;
const SMALL_CLASSES = SMALL_MAX / STEP;

interface SizeClass {
  readonly cellSize: number;
  readonly cellsPerChunk: number;
  readonly chunks: Buffer[];
  /** Cells [0, fresh) have been handed out at least once. */
  fresh: number;
  free: Uint32Array;
  freeLen: number;
}

export interface SlabOptions {
  /** Largest record in bytes. */
  maxBytes: number;
  /** Target chunk size in bytes (a chunk holds at least one cell). */
  chunkBytes: number;
}

export interface SlabUsage {
  /** Bytes of all chunks allocated. */
  arenaBytes: number;
  /** Cells in use. */
  cells: number;
}

export class Slab {
  private readonly classes: SizeClass[] = [];
  private readonly chunkBytes: number;
  readonly maxBytes: number;

  constructor(opts: SlabOptions) {
    this.maxBytes = opts.maxBytes;
    this.chunkBytes = opts.chunkBytes;
    const n = this.classOf(opts.maxBytes) + 1;
    for (let c = 0; c < n; c++) {
      const cellSize = c < SMALL_CLASSES ? (c + 1) * STEP : SMALL_MAX << (c - SMALL_CLASSES + 1);
      this.classes.push({
        cellSize,
        cellsPerChunk: Math.max(1, Math.floor(this.chunkBytes / cellSize)),
        chunks: [],
        fresh: 0,
        free: new Uint32Array(16),
        freeLen: 0,
      });
    }
  }

  /** Size class for a record of `len` bytes (0 <= len <= maxBytes). */
  classOf(len: number): number {
    if (len <= SMALL_MAX) return len === 0 ? 0 : ((len + STEP - 1) >> 4) - 1;
    // 1025..2048 -> 64, 2049..4096 -> 65, ...
    return SMALL_CLASSES + Math.ceil(Math.log2(len)) - 11;
  }

  cellSize(cls: number): number {
    return this.cls(cls).cellSize;
  }

  /** Take a cell of class `cls`; returns its cell number. */
  alloc(cls: number): number {
    const c = this.cls(cls);
    if (c.freeLen > 0) {
      c.freeLen--;
      return c.free[c.freeLen] ?? 0;
    }
    const cell = c.fresh++;
    const chunk = Math.floor(cell / c.cellsPerChunk);
    if (chunk >= c.chunks.length) c.chunks.push(Buffer.allocUnsafeSlow(c.cellsPerChunk * c.cellSize));
    return cell;
  }

  free(cls: number, cell: number): void {
    const c = this.cls(cls);
    if (c.freeLen === c.free.length) {
      const grown = new Uint32Array(c.free.length * 2);
      grown.set(c.free);
      c.free = grown;
    }
    c.free[c.freeLen++] = cell;
  }

  /** The chunk holding a cell. */
  chunk(cls: number, cell: number): Buffer {
    const c = this.cls(cls);
    const b = c.chunks[Math.floor(cell / c.cellsPerChunk)];
    if (b === undefined) throw new RangeError(`slab: cell ${cell} of class ${cls} was never allocated`);
    return b;
  }

  /** Byte offset of a cell inside its chunk. */
  offset(cls: number, cell: number): number {
    const c = this.cls(cls);
    return (cell % c.cellsPerChunk) * c.cellSize;
  }

  usage(): SlabUsage {
    let arenaBytes = 0;
    let cells = 0;
    for (const c of this.classes) {
      arenaBytes += c.chunks.length * c.cellsPerChunk * c.cellSize;
      cells += c.fresh - c.freeLen;
    }
    return { arenaBytes, cells };
  }

  /**
   * Forget every cell but keep the chunks: the next records reuse memory that
   * is already mapped (no page fault per new page, as after reset()), e.g.
   * when a flushed cache is refilled by a bulk transfer.
   */
  recycle(): void {
    for (const c of this.classes) {
      c.fresh = 0;
      c.freeLen = 0;
    }
  }

  /** Drop every chunk and free list. */
  reset(): void {
    for (const c of this.classes) {
      c.chunks.length = 0;
      c.fresh = 0;
      c.free = new Uint32Array(16);
      c.freeLen = 0;
    }
  }

  private cls(cls: number): SizeClass {
    const c = this.classes[cls];
    if (c === undefined) throw new RangeError(`slab: no size class ${cls}`);
    return c;
  }
}

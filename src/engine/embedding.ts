/**
 * Sparse embedding tables.
 *
 * A recommender's embedding tables are large (10⁵–10⁷ rows) while a batch touches a few thousand
 * rows, so the gradient is kept compact: `rows[r]` is the table row whose gradient is
 * `grad[r*dim .. (r+1)*dim)`. `slotOf` is a table-sized map id → compact row (−1 = untouched),
 * initialised once; `zeroGrad()` resets only the touched entries, so a step costs O(touched ids),
 * never O(vocab). Every lookup of the same table within a step (shared teacher/student
 * embeddings, a history field pooled from the item table) accumulates into the same compact
 * gradient. The optimiser (lazy SparseAdam / SparseAdagrad) reads `sparseGrad()` and then calls
 * `zeroGrad()`.
 *
 * Data-parallel training (parallel.ts) splits the compact gradient by owner instead
 * (`partitionGrad`): the rows of ids with id mod P = p go to region p of buffers the other threads
 * can read, so the rank that owns those ids reads them in place, with no copy and no filtering.
 */
import { Tensor } from './tensor.js';

export interface SparseGrad {
  /** Table row of each compact gradient row; only the first nRows entries are meaningful. */
  rows: Int32Array;
  nRows: number;
  /** Compact gradient, row r at [r*dim, (r+1)*dim); only the first nRows*dim values are meaningful. */
  grad: Float32Array;
}

export class EmbeddingTable {
  /** The table, [vocab, dim]. requiresGrad is false: it never gets a dense gradient. */
  readonly weight: Tensor;
  /** False freezes the table (e.g. a pre-trained teacher's): lookups then record no gradient. */
  trainable = true;
  /**
   * Where `Graph.embeddingBag`'s forward reads these ids' rows from instead of `weight` (null: no
   * hook, or the hook returns null: `weight`): `rows` [r, dim] and, per id position, its row in
   * `rows` (−1 = padding). A row-sharded table (rowShard.ts) sets it during a training step: it
   * fetches the rows from the ranks that own them into a compact cache. The backward is unchanged
   * (the compact gradient is by table id).
   */
  lookupRows: ((ids: Int32Array, count: number) => { rows: Float32Array; ids: Int32Array } | null) | null =
    null;
  private readonly slotOf: Int32Array;
  private rows: Int32Array;
  private grad: Float32Array;
  private nRows = 0;
  /** partitionGrad: number of regions P, rows per region, rows used per region; parts = 1 otherwise. */
  private parts = 1;
  private partCap = 0;
  private partCounts: Int32Array = new Int32Array(0);
  private partViews: SparseGrad[] = [];
  /** The table's own buffers while partitioned (unpartitionGrad returns to them). */
  private ownRows: Int32Array | null = null;
  private ownGrad: Float32Array | null = null;

  constructor(
    readonly name: string,
    readonly vocab: number,
    readonly dim: number,
    initFn?: (w: Float32Array) => void,
  ) {
    if (!Number.isInteger(vocab) || vocab < 1) {
      throw new Error(`EmbeddingTable '${name}': vocab must be a positive integer, got ${vocab}`);
    }
    if (!Number.isInteger(dim) || dim < 1) {
      throw new Error(`EmbeddingTable '${name}': dim must be a positive integer, got ${dim}`);
    }
    this.weight = new Tensor(new Float32Array(vocab * dim), [vocab, dim], false, name);
    if (initFn) initFn(this.weight.data);
    else defaultInit(name, this.weight.data);
    this.slotOf = new Int32Array(vocab).fill(-1);
    const cap = Math.min(vocab, 1024);
    this.rows = new Int32Array(cap);
    this.grad = new Float32Array(cap * dim);
  }

  sparseGrad(): SparseGrad {
    if (this.parts !== 1) {
      throw new Error(
        `EmbeddingTable '${this.name}': the gradient is split in ${this.parts} parts (data-parallel training); read it with sparseGradPart()`,
      );
    }
    return { rows: this.rows, nRows: this.nRows, grad: this.grad };
  }

  /**
   * After partitionGrad: the compact gradient of the ids with id mod P = p (views into the shared
   * buffers; valid until the next zeroGrad()).
   */
  sparseGradPart(p: number): SparseGrad {
    const v = this.partViews[p];
    if (v === undefined)
      throw new Error(
        `EmbeddingTable '${this.name}': no gradient part ${p} (the gradient has ${this.parts})`,
      );
    v.nRows = this.partCounts[p]!;
    return v;
  }

  /**
   * Keeps the compact gradient in `parts` regions of the given buffers from now on: the ids with
   * id mod parts = p get slots [p·cap, p·cap + counts[p]), cap = ⌈vocab / parts⌉ rows, so a region
   * never overflows and the buffers never regrow. `rows` (cap·parts values), `grad` (cap·parts·dim,
   * zero) and `counts` (parts values) may live in shared memory; other threads may read region p
   * while this one writes another. Clears any pending gradient first.
   */
  partitionGrad(parts: number, rows: Int32Array, grad: Float32Array, counts: Int32Array): void {
    if (!Number.isInteger(parts) || parts < 1)
      throw new Error(
        `EmbeddingTable '${this.name}': partitionGrad needs an integer parts ≥ 1, got ${parts}`,
      );
    const cap = Math.ceil(this.vocab / parts);
    if (rows.length < cap * parts || grad.length < cap * parts * this.dim || counts.length < parts)
      throw new Error(
        `EmbeddingTable '${this.name}': partitionGrad needs ${cap * parts} rows, ${cap * parts * this.dim} values and ${parts} counts, got ${rows.length}, ${grad.length} and ${counts.length}`,
      );
    this.zeroGrad();
    if (this.parts === 1) {
      this.ownRows = this.rows;
      this.ownGrad = this.grad;
    }
    this.parts = parts;
    this.partCap = cap;
    this.rows = rows;
    this.grad = grad;
    this.partCounts = counts;
    counts.fill(0, 0, parts);
    this.partViews = Array.from({ length: parts }, (_, p) => ({
      rows: rows.subarray(p * cap, (p + 1) * cap),
      nRows: 0,
      grad: grad.subarray(p * cap * this.dim, (p + 1) * cap * this.dim),
    }));
  }

  /** Clears the gradient and goes back to one compact gradient in the table's own buffers. */
  unpartitionGrad(): void {
    this.zeroGrad();
    if (this.parts === 1) return;
    this.parts = 1;
    this.rows = this.ownRows!;
    this.grad = this.ownGrad!;
    this.ownRows = this.ownGrad = null;
    this.partViews = [];
  }

  /** Clears the compact gradient; O(touched rows). */
  zeroGrad(): void {
    if (this.parts !== 1) {
      for (let p = 0; p < this.parts; p++) {
        const start = p * this.partCap;
        const end = start + this.partCounts[p];
        for (let r = start; r < end; r++) this.slotOf[this.rows[r]] = -1;
        this.grad.fill(0, start * this.dim, end * this.dim);
        this.partCounts[p] = 0;
      }
      return;
    }
    const n = this.nRows;
    for (let r = 0; r < n; r++) this.slotOf[this.rows[r]] = -1;
    this.grad.fill(0, 0, n * this.dim);
    this.nRows = 0;
  }

  /**
   * Throws if any id is ≥ vocab (ids < 0 are padding). Called by the graph on every lookup so a
   * bad id is reported by position instead of reading another table's memory or NaN.
   */
  checkIds(ids: Int32Array, count: number, op: string): void {
    const v = this.vocab;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id >= v) {
        throw new Error(`${op}: table '${this.name}' has vocab ${v}, but ids[${i}] = ${id}`);
      }
    }
  }

  /**
   * Maps each id position to its compact gradient row, appending rows for ids not yet touched
   * this step; padding positions get −1. Returns the (possibly regrown) compact gradient buffer to
   * scatter into. Used by `Graph.embeddingBag`'s backward.
   */
  assignSlots(ids: Int32Array, count: number, slotOfPos: Int32Array): Float32Array {
    const slotOf = this.slotOf;
    for (let i = 0; i < count; i++) {
      const id = ids[i];
      if (id < 0) {
        slotOfPos[i] = -1;
        continue;
      }
      let s = slotOf[id];
      if (s < 0) {
        if (this.parts === 1) {
          s = this.nRows++;
          if (s >= this.rows.length) this.growTo(s + 1);
        } else {
          const p = id % this.parts;
          s = p * this.partCap + this.partCounts[p]++;
        }
        slotOf[id] = s;
        this.rows[s] = id;
      }
      slotOfPos[i] = s;
    }
    return this.grad;
  }

  private growTo(minRows: number): void {
    let cap = this.rows.length * 2;
    while (cap < minRows) cap *= 2;
    cap = Math.min(cap, this.vocab);
    const rows = new Int32Array(cap);
    rows.set(this.rows);
    const grad = new Float32Array(cap * this.dim);
    grad.set(this.grad);
    this.rows = rows;
    this.grad = grad;
  }
}

/**
 * Default initialiser when none is given: uniform in [−0.01, 0.01) from a 32-bit LCG
 * (Numerical Recipes constants) seeded by an FNV-1a hash of the table name, so a table's start is
 * reproducible without an Rng. Models normally pass a proper initialiser from init.ts.
 */
function defaultInit(name: string, w: Float32Array): void {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let s = h;
  for (let i = 0; i < w.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = (s / 4294967296) * 0.02 - 0.01;
  }
}

/**
 * Adds sparse rows (row ids `rows`, values row-major in `values`) into a table's compact gradient,
 * in the order given — e.g. every rank's rows, rank 0's first, so that each row's sum is formed in
 * the same order wherever it is formed (replicated and row-sharded MPI training both use this).
 * `scratch.slots` is regrown as needed.
 */
export function addSparseRows(
  t: EmbeddingTable,
  rows: Int32Array,
  values: Float32Array,
  nRows: number,
  scratch: { slots: Int32Array },
): void {
  if (nRows === 0) return;
  if (scratch.slots.length < nRows) scratch.slots = new Int32Array(nRows * 2);
  const grad = t.assignSlots(rows, nRows, scratch.slots);
  const D = t.dim;
  for (let i = 0; i < nRows; i++) {
    const s = scratch.slots[i]! * D;
    for (let d = 0; d < D; d++) grad[s + d]! += values[i * D + d]!;
  }
}

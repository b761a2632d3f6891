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
  private readonly slotOf: Int32Array;
  private rows: Int32Array;
  private grad: Float32Array;
  private nRows = 0;

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
    return { rows: this.rows, nRows: this.nRows, grad: this.grad };
  }

  /** Clears the compact gradient; O(touched rows). */
  zeroGrad(): void {
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
        s = this.nRows++;
        if (s >= this.rows.length) this.growTo(s + 1);
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

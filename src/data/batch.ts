/**
 * The columnar batch every model consumes, and the dataset that yields it.
 *
 * A dataset is a set of whole columns (typed arrays). A contiguous slice is a batch of `subarray`
 * views (no copy); a shuffled mini-batch gathers rows into buffers allocated once per iterator and
 * reused for every batch, so an epoch creates no per-row JS objects and no per-batch arrays.
 * Consequence for callers: a batch yielded by `batches()` is only valid until the next one is
 * requested; copy what you keep.
 *
 * Conventions: `cat` holds embedding-table rows (0 = OOV/missing); `seq` holds `size × maxLen` ids
 * padded with −1; `num` holds values ALREADY normalised with train-split statistics; `labels` are
 * 0/1 (or soft) targets; `extra` carries precomputed per-row columns such as teacher logits,
 * sampling probabilities (logQ correction) and weights. `userKey`/`itemKey` are identities (row of
 * the dataset's user/item table), not features; `requestId` groups rows into lists; `sampleId` is
 * the row's position in the dataset's time-ordered event log (prepared and streamed datasets carry
 * it, so a sample can be traced through shuffles, shards and resumed runs).
 */
import type { Rng } from '../engine/rng.js';

export interface SeqColumn {
  ids: Int32Array;
  maxLen: number;
}

export interface Batch {
  size: number;
  cat: Record<string, Int32Array>;
  seq: Record<string, SeqColumn>;
  num: Record<string, Float32Array>;
  labels: Record<string, Float32Array>;
  extra: Record<string, Float32Array>;
  userKey?: Int32Array;
  itemKey?: Int32Array;
  requestId?: Int32Array;
  ts?: Float64Array;
  /** Row of the time-ordered event log (exact up to 2^53 rows). */
  sampleId?: Float64Array;
}

/** Whole columns of a dataset; same shape as a Batch. */
export type Columns = Batch;

type Key = 'userKey' | 'itemKey' | 'requestId' | 'ts' | 'sampleId';
const KEYS: readonly Key[] = ['userKey', 'itemKey', 'requestId', 'ts', 'sampleId'];

/** Throws unless every column has `size` rows (seq: size × maxLen). */
export function checkColumns(c: Columns, where: string): void {
  const bad: string[] = [];
  const chk = (name: string, len: number, want: number) => {
    if (len !== want) bad.push(`${name}: length ${len}, expected ${want}`);
  };
  for (const [k, v] of Object.entries(c.cat)) chk(`cat.${k}`, v.length, c.size);
  for (const [k, v] of Object.entries(c.seq)) chk(`seq.${k}`, v.ids.length, c.size * v.maxLen);
  for (const [k, v] of Object.entries(c.num)) chk(`num.${k}`, v.length, c.size);
  for (const [k, v] of Object.entries(c.labels)) chk(`labels.${k}`, v.length, c.size);
  for (const [k, v] of Object.entries(c.extra)) chk(`extra.${k}`, v.length, c.size);
  for (const k of KEYS) {
    const v = c[k];
    if (v) chk(k, v.length, c.size);
  }
  if (bad.length)
    throw new Error(`${where}: column lengths disagree with size ${c.size}:\n  ${bad.join('\n  ')}`);
}

function mapRecord<A, B>(r: Record<string, A>, f: (a: A) => B): Record<string, B> {
  const out: Record<string, B> = {};
  for (const k of Object.keys(r)) out[k] = f(r[k]!);
  return out;
}

/** Allocates empty columns shaped like `c` with `n` rows. */
export function allocLike(c: Columns, n: number): Columns {
  const out: Columns = {
    size: n,
    cat: mapRecord(c.cat, () => new Int32Array(n)),
    seq: mapRecord(c.seq, (s) => ({ ids: new Int32Array(n * s.maxLen), maxLen: s.maxLen })),
    num: mapRecord(c.num, () => new Float32Array(n)),
    labels: mapRecord(c.labels, () => new Float32Array(n)),
    extra: mapRecord(c.extra, () => new Float32Array(n)),
  };
  if (c.userKey) out.userKey = new Int32Array(n);
  if (c.itemKey) out.itemKey = new Int32Array(n);
  if (c.requestId) out.requestId = new Int32Array(n);
  if (c.ts) out.ts = new Float64Array(n);
  if (c.sampleId) out.sampleId = new Float64Array(n);
  return out;
}

/**
 * out[at + i] = src[rows[i]] for every column of `out` (i < count); `out` must have room for
 * `at + count` rows, and `src` every column `out` has.
 */
export function gatherRows(src: Columns, rows: Int32Array, count: number, out: Columns, at = 0): void {
  for (const k of Object.keys(out.cat)) {
    const s = src.cat[k]!;
    const o = out.cat[k]!;
    for (let i = 0; i < count; i++) o[at + i] = s[rows[i]!]!;
  }
  for (const k of Object.keys(out.seq)) {
    const s = src.seq[k]!;
    const o = out.seq[k]!;
    const L = s.maxLen;
    for (let i = 0; i < count; i++) o.ids.set(s.ids.subarray(rows[i]! * L, rows[i]! * L + L), (at + i) * L);
  }
  for (const group of ['num', 'labels', 'extra'] as const) {
    for (const k of Object.keys(out[group])) {
      const s = src[group][k]!;
      const o = out[group][k]!;
      for (let i = 0; i < count; i++) o[at + i] = s[rows[i]!]!;
    }
  }
  for (const k of KEYS) {
    const s = src[k];
    const o = out[k];
    if (s && o) for (let i = 0; i < count; i++) o[at + i] = s[rows[i]!]!;
  }
}

/** Copies rows [start, start + count) of `src` to rows [at, at + count) of `out` (same layout). */
export function copyRows(src: Columns, start: number, count: number, out: Columns, at: number): void {
  for (const k of Object.keys(out.cat)) out.cat[k]!.set(src.cat[k]!.subarray(start, start + count), at);
  for (const k of Object.keys(out.seq)) {
    const L = out.seq[k]!.maxLen;
    out.seq[k]!.ids.set(src.seq[k]!.ids.subarray(start * L, (start + count) * L), at * L);
  }
  for (const group of ['num', 'labels', 'extra'] as const)
    for (const k of Object.keys(out[group]))
      out[group][k]!.set(src[group][k]!.subarray(start, start + count), at);
  for (const k of KEYS) {
    const s = src[k];
    const o = out[k];
    if (s && o) o.set(s.subarray(start, start + count), at);
  }
}

/** A view of rows [start, end) of `c` (subarrays, no copy). */
export function sliceColumns(c: Columns, start: number, end: number): Columns {
  const n = end - start;
  const out: Columns = {
    size: n,
    cat: mapRecord(c.cat, (a) => a.subarray(start, end)),
    seq: mapRecord(c.seq, (s) => ({
      ids: s.ids.subarray(start * s.maxLen, end * s.maxLen),
      maxLen: s.maxLen,
    })),
    num: mapRecord(c.num, (a) => a.subarray(start, end)),
    labels: mapRecord(c.labels, (a) => a.subarray(start, end)),
    extra: mapRecord(c.extra, (a) => a.subarray(start, end)),
  };
  if (c.userKey) out.userKey = c.userKey.subarray(start, end);
  if (c.itemKey) out.itemKey = c.itemKey.subarray(start, end);
  if (c.requestId) out.requestId = c.requestId.subarray(start, end);
  if (c.ts) out.ts = c.ts.subarray(start, end);
  if (c.sampleId) out.sampleId = c.sampleId.subarray(start, end);
  return out;
}

/** Truncates a (reused, gathered) buffer set to its first n rows without copying. */
export function headView(buf: Columns, n: number): Columns {
  return n === buf.size ? buf : sliceColumns(buf, 0, n);
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle rows each epoch with this generator; omit for file order (contiguous views, no copies). */
  rng?: Rng;
  /** Drop a final batch smaller than batchSize. */
  dropLast?: boolean;
  /**
   * In-batch negatives: keep `itemKey` unique within a batch. A row whose item is already in the
   * current batch is deferred to the next batch (it is not dropped), so every row is still seen once
   * per epoch; `dupDeferred` on the iterator counts them.
   */
  uniqueItems?: boolean;
}

/** Iterator over one epoch; the yielded Batch is reused between iterations. */
export interface EpochIterator extends IterableIterator<Batch> {
  /** Rows deferred to a later batch because their item was already in the batch (uniqueItems). */
  readonly dupDeferred: number;
}

export class ColumnarDataset {
  readonly columns: Columns;

  constructor(columns: Columns, where = 'dataset') {
    checkColumns(columns, where);
    this.columns = columns;
  }

  get size(): number {
    return this.columns.size;
  }

  /** Rows [start, end) as a batch of views (no copy). */
  slice(start: number, end: number): Batch {
    if (start < 0 || end > this.size || start > end)
      throw new Error(`slice [${start}, ${end}) outside dataset of ${this.size} rows`);
    return sliceColumns(this.columns, start, end);
  }

  /** A new dataset holding copies of the given rows, in that order. */
  select(rows: Int32Array): ColumnarDataset {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r < 0 || r >= this.size) throw new Error(`select: row ${r} outside dataset of ${this.size} rows`);
    }
    const out = allocLike(this.columns, rows.length);
    gatherRows(this.columns, rows, rows.length, out);
    return new ColumnarDataset(out);
  }

  /** Adds (or replaces) a precomputed per-row column, e.g. teacher logits. */
  setExtra(name: string, values: Float32Array): void {
    if (values.length !== this.size)
      throw new Error(`extra column '${name}': ${values.length} values for ${this.size} rows`);
    this.columns.extra[name] = values;
  }

  /** One epoch of mini-batches. */
  batches(opts: BatchOptions): EpochIterator {
    const { batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const n = this.size;
    const cols = this.columns;
    if (opts.uniqueItems && !cols.itemKey) throw new Error('uniqueItems needs an itemKey column');
    if (!opts.rng && !opts.uniqueItems) {
      // Contiguous views: zero copies.
      let start = 0;
      const it = {
        dupDeferred: 0,
        next(): IteratorResult<Batch> {
          if (start >= n) return { done: true, value: undefined };
          const end = Math.min(n, start + batchSize);
          if (opts.dropLast && end - start < batchSize) return { done: true, value: undefined };
          const b = sliceColumns(cols, start, end);
          start = end;
          return { done: false, value: b };
        },
        [Symbol.iterator]() {
          return this;
        },
      };
      return it;
    }
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (opts.rng) {
      // Fisher–Yates with the caller's seeded generator.
      for (let i = n - 1; i > 0; i--) {
        const j = opts.rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    const buf = allocLike(cols, batchSize);
    const rows = new Int32Array(batchSize);
    const itemKey = cols.itemKey;
    // uniqueItems bookkeeping: a stamp per item key marks "in the current batch".
    let maxItem = -1;
    if (opts.uniqueItems && itemKey)
      for (let i = 0; i < n; i++) if (itemKey[i]! > maxItem) maxItem = itemKey[i]!;
    const stamp = new Int32Array(maxItem + 1).fill(-1);
    let deferred = new Int32Array(0);
    let deferredLen = 0;
    let pos = 0;
    let batchNo = 0;
    const state = { dupDeferred: 0 };
    const it: EpochIterator = {
      get dupDeferred() {
        return state.dupDeferred;
      },
      next(): IteratorResult<Batch> {
        let count = 0;
        if (!opts.uniqueItems) {
          while (count < batchSize && pos < n) rows[count++] = order[pos++]!;
        } else {
          // Duplicates found while filling this batch; unbounded (many rows may share one item).
          const nextDeferred: number[] = [];
          const take = (r: number) => {
            const k = itemKey![r]!;
            if (stamp[k] === batchNo) {
              nextDeferred.push(r);
              state.dupDeferred++;
            } else {
              stamp[k] = batchNo;
              rows[count++] = r;
            }
          };
          let d = 0;
          while (count < batchSize && d < deferredLen) take(deferred[d++]!);
          // Deferred rows that did not fit wait for the next batch, ahead of new rows.
          const carry = deferred.subarray(d, deferredLen);
          while (count < batchSize && pos < n) take(order[pos++]!);
          const merged = new Int32Array(carry.length + nextDeferred.length);
          merged.set(carry, 0);
          merged.set(nextDeferred, carry.length);
          deferred = merged;
          deferredLen = merged.length;
          // The tail: only duplicates of one another remain; they form batches of their own.
          batchNo++;
        }
        if (count === 0 || (opts.dropLast && count < batchSize)) return { done: true, value: undefined };
        gatherRows(cols, rows, count, buf);
        return { done: false, value: headView(buf, count) };
      },
      [Symbol.iterator]() {
        return this;
      },
    };
    return it;
  }
}

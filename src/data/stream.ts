/**
 * The batch stream: the one way every consumer reads rows (training, teacher scoring, teacher rank,
 * evaluation, prediction), whether the rows sit in memory (`ColumnarDataset`, small data and tests)
 * or in Parquet files larger than memory (./parquetSource.ts).
 *
 * A source is cut into UNITS: a Parquet row group, or a fixed-size row range of an in-memory
 * dataset. Units are what shards, shuffles and resume positions are made of:
 *
 * - Shards (`--shard i/n`): unit k belongs to shard k mod n. The n shards are disjoint and together
 *   hold every unit, hence every row, exactly once; the split is a function of the unit list only,
 *   so every rank of a distributed job computes the same split without talking to the others.
 * - Shuffle (per epoch): the shard's units are permuted with a generator forked from (seed, epoch);
 *   consecutive units are then grouped into WINDOWS of at least `bufferRows` rows, and each window's
 *   rows are permuted (Fisher–Yates) before they are cut into batches. This is a shuffle buffer of
 *   `bufferRows` rows that is filled and drained whole ("block shuffle"), rather than TF's
 *   sliding buffer that replaces one row at a time: both mix each row only with the rows of nearby
 *   units, but the block form makes a position exact and cheap to restore (see below). How close to
 *   a full shuffle it gets: a batch draws its rows from the ≈ bufferRows / unitRows units of one
 *   window, picked at random from the whole shard, so with 256k-row buffers and 16k-row row groups a
 *   batch mixes ~16 random slices of the log; two rows of the same unit still land in the same
 *   window (BENCHMARKS.md, "Out-of-core data", measures the effect on quality). A buffer at least as
 *   large as the shard is one window: the full shuffle, drawn exactly as `ColumnarDataset.batches`
 *   draws it (same generator, same permutation), which is what the in-memory path trains with.
 * - Position: after each batch, `(epoch, window, offset)` = rows of the current window already
 *   yielded. Windows are a function of (units, seed, epoch, bufferRows), so resuming reloads one
 *   window, re-permutes it with the same generator and skips `offset` rows: no sample of the epoch is
 *   repeated or skipped, and nothing is replayed. A position is only valid for the same units,
 *   shard, bufferRows and seed; `StreamPlan.signature` names them so a checkpoint can refuse a
 *   mismatch.
 *
 * Batches may span two windows (a window's tail and the next one's head), so every batch but the
 * epoch's last is full. The next window is loaded while the current one is drained (`prefetch`), so
 * an asynchronous source (Parquet through DuckDB) overlaps reading and decoding with training.
 */
import type { Rng } from '../engine/rng.js';
import {
  allocLike,
  type Batch,
  type ColumnarDataset,
  type Columns,
  copyRows,
  gatherRows,
  headView,
  sliceColumns,
} from './batch.js';

export interface StreamUnit {
  /** Position in the source's unit list (file order, then row group). */
  index: number;
  /** File the rows come from; '' for an in-memory dataset. */
  file: string;
  /** Row group of the file (in-memory: the range number). */
  rowGroup: number;
  /** First row of the unit within its file. */
  fileRow: number;
  rows: number;
}

export interface ShardSpec {
  /** 0-based. */
  index: number;
  count: number;
}

/** Parses `i/n` (0 ≤ i < n), as every streaming command's `--shard` takes it. */
export function parseShard(s: string, what = '--shard'): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  if (!m) throw new Error(`${what}: '${s}' must look like i/n, e.g. 0/4 (shard i of n, 0-based)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!(count >= 1) || !(index < count)) throw new Error(`${what}: '${s}' needs n >= 1 and 0 <= i < n`);
  return { index, count };
}

export function formatShard(s: ShardSpec): string {
  return `${s.index}/${s.count}`;
}

/** The units of shard i of n: unit k goes to shard k mod n. */
export function shardUnits(units: readonly StreamUnit[], shard: ShardSpec | undefined): StreamUnit[] {
  if (shard === undefined || shard.count === 1) return [...units];
  return units.filter((u) => u.index % shard.count === shard.index);
}

export interface ShuffleSpec {
  /** Parent generator: epoch e uses `rng.fork('epoch-' + e)` (the trainer passes its data stream). */
  rng: Rng;
  /** Rows of a shuffle window; Infinity (or ≥ the shard's rows) = one window, the full shuffle. */
  bufferRows: number;
}

export interface StreamPosition {
  epoch: number;
  /** Window of the epoch the next row comes from. */
  window: number;
  /** Rows of that window already yielded. */
  offset: number;
}

export interface OpenOptions {
  batchSize: number;
  epoch?: number;
  /** Omitted: file order, no permutation (prediction, scoring, evaluation). */
  shuffle?: ShuffleSpec;
  shard?: ShardSpec;
  /** Continue an epoch from a position a reader of the same plan returned. */
  start?: StreamPosition;
  /** Drop the epoch's last batch when it is smaller than batchSize. */
  dropLast?: boolean;
  /** Windows loaded ahead of the one being drained (default 1; 0 = load on demand). */
  prefetch?: number;
}

/** Iterator over one epoch of one shard; a yielded Batch is only valid until the next one. */
export interface BatchReader extends AsyncIterableIterator<Batch> {
  /** Where the next batch starts: pass it back as `start` to continue from here. */
  position(): StreamPosition;
  /** Rows this reader yields over the whole epoch (its shard's rows, from the start). */
  readonly rows: number;
  /** The plan's signature (`StreamPlan.signature`): a position is only valid for the same one. */
  readonly signature: string;
  close(): Promise<void>;
}

/** What a loader returns: the window's columns, and the buffer they live in (to reuse), if any. */
export interface LoadedUnits {
  cols: Columns;
  /** An allocated buffer the reader may hand back to `load` later; null for views of source data. */
  buffer: Columns | null;
}

/** Loads the rows of some units, concatenated in the given order. */
export interface UnitLoader {
  /** `into` is a buffer an earlier load returned, free for reuse (capacity `into.size` rows). */
  load(units: readonly StreamUnit[], rows: number, into: Columns | null): Promise<LoadedUnits>;
}

export interface BatchSource {
  readonly name: string;
  /** Rows over every unit. */
  readonly rows: number;
  readonly units: readonly StreamUnit[];
  /** The column layout: a Columns of size 0 with every column the batches carry. */
  readonly layout: Columns;
  open(opts: OpenOptions): BatchReader;
  close(): Promise<void>;
}

/** Rows of a shard. */
export function shardRows(source: BatchSource, shard?: ShardSpec): number {
  let n = 0;
  for (const u of shardUnits(source.units, shard)) n += u.rows;
  return n;
}

/** The windows of one epoch: which units, in which order, and each window's generator. */
export interface StreamPlan {
  windows: { units: StreamUnit[]; rows: number; rng: Rng | null }[];
  rows: number;
  /** What a position depends on besides the epoch: refuse to resume a position with another plan. */
  signature: string;
}

export function planEpoch(
  units: readonly StreamUnit[],
  opts: Pick<OpenOptions, 'shuffle' | 'shard' | 'epoch'>,
): StreamPlan {
  const own = shardUnits(units, opts.shard);
  let rows = 0;
  for (const u of own) rows += u.rows;
  const shard = opts.shard ? formatShard(opts.shard) : '0/1';
  const total = units.reduce((s, u) => s + u.rows, 0);
  if (opts.shuffle === undefined) {
    return {
      windows: own.map((u) => ({ units: [u], rows: u.rows, rng: null })),
      rows,
      signature: `units=${units.length} rows=${total} shard=${shard} order=file`,
    };
  }
  const { bufferRows } = opts.shuffle;
  if (!(bufferRows >= 1)) throw new Error(`shuffle buffer must hold at least 1 row, got ${bufferRows}`);
  const epochRng = opts.shuffle.rng.fork(`epoch-${opts.epoch ?? 0}`);
  const signature = `units=${units.length} rows=${total} shard=${shard} buffer=${bufferRows >= rows ? 'all' : bufferRows}`;
  if (bufferRows >= rows) {
    // One window: the full shuffle, drawn with the epoch generator itself (ColumnarDataset.batches).
    return { windows: rows > 0 ? [{ units: own, rows, rng: epochRng }] : [], rows, signature };
  }
  const order = epochRng.fork('units').shuffle([...own]);
  const windows: StreamPlan['windows'] = [];
  let cur: StreamUnit[] = [];
  let curRows = 0;
  for (const u of order) {
    cur.push(u);
    curRows += u.rows;
    if (curRows >= bufferRows) {
      windows.push({ units: cur, rows: curRows, rng: epochRng.fork(`window-${windows.length}`) });
      cur = [];
      curRows = 0;
    }
  }
  if (cur.length > 0)
    windows.push({ units: cur, rows: curRows, rng: epochRng.fork(`window-${windows.length}`) });
  return { windows, rows, signature };
}

/** Fisher–Yates over 0..n−1 exactly as ColumnarDataset.batches draws it. */
function permutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

interface LoadedWindow {
  cols: Columns;
  buffer: Columns | null;
  /** Row order within the window; null = file order. */
  order: Int32Array | null;
  rows: number;
}

/**
 * The reader every source shares: plans the epoch, loads windows through the source's loader
 * (one ahead), and cuts batches across window boundaries.
 */
export function openStream(
  source: { name: string; units: readonly StreamUnit[]; layout: Columns },
  loader: UnitLoader,
  opts: OpenOptions,
): BatchReader {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const epoch = opts.epoch ?? 0;
  const plan = planEpoch(source.units, opts);
  const start = opts.start ?? { epoch, window: 0, offset: 0 };
  if (start.epoch !== epoch)
    throw new Error(`${source.name}: a position of epoch ${start.epoch} cannot start epoch ${epoch}`);
  if (start.window < 0 || start.window > plan.windows.length)
    throw new Error(
      `${source.name}: position window ${start.window} is outside the epoch's ${plan.windows.length} windows`,
    );
  const startWin = plan.windows[start.window];
  if (start.offset < 0 || (startWin !== undefined ? start.offset > startWin.rows : start.offset !== 0))
    throw new Error(`${source.name}: position offset ${start.offset} is outside window ${start.window}`);
  const prefetch = opts.prefetch ?? 1;
  // Window buffers are recycled: at most 1 + prefetch are alive, and a drained window's buffer is
  // only reused after the batch that read it has been replaced (a batch is valid until next()).
  const spare: Columns[] = [];
  const loadWindow = async (w: number): Promise<LoadedWindow> => {
    const win = plan.windows[w]!;
    const got = await loader.load(win.units, win.rows, spare.pop() ?? null);
    if (got.cols.size !== win.rows)
      throw new Error(`${source.name}: window ${w} loaded ${got.cols.size} rows, its units hold ${win.rows}`);
    return {
      cols: got.cols,
      buffer: got.buffer,
      order: win.rng !== null ? permutation(win.rows, win.rng) : null,
      rows: win.rows,
    };
  };
  const pending = new Map<number, Promise<LoadedWindow>>();
  const request = (w: number) => {
    if (w >= plan.windows.length || pending.has(w)) return;
    const p = loadWindow(w);
    // A prefetch that fails is reported when its window is needed; never as an unhandled rejection.
    p.catch(() => {});
    pending.set(w, p);
  };
  let winIndex = start.window;
  let offset = start.offset;
  let cur: LoadedWindow | null = null;
  let drained: LoadedWindow[] = [];
  const out = allocLike(source.layout, batchSize);
  const rowsBuf = new Int32Array(batchSize);
  let closed = false;
  let done = false;

  const take = async (): Promise<LoadedWindow | null> => {
    if (winIndex >= plan.windows.length) return null;
    request(winIndex);
    for (let k = 1; k <= prefetch; k++) request(winIndex + k);
    const w = await pending.get(winIndex)!;
    pending.delete(winIndex);
    return w;
  };
  const finishWindow = () => {
    drained.push(cur!);
    cur = null;
    winIndex++;
    offset = 0;
  };

  const reader: BatchReader = {
    rows: plan.rows,
    signature: plan.signature,
    position: () => ({ epoch, window: winIndex, offset }),
    async next(): Promise<IteratorResult<Batch>> {
      if (closed || done) return { done: true, value: undefined };
      // The previous batch is no longer in use: its windows' buffers may be refilled.
      for (const w of drained)
        if (w.buffer !== null && spare.length < Math.max(1, prefetch)) spare.push(w.buffer);
      drained = [];
      if (pending.size > 0) {
        // Let a prefetch's I/O callbacks run: a training step never yields to the event loop, so
        // without this the next window would only load once it is awaited.
        await new Promise<void>((r) => setImmediate(r));
      }
      let count = 0;
      let view: Batch | null = null;
      while (count < batchSize) {
        if (cur === null) {
          cur = await take();
          if (cur === null) break;
        }
        const avail = cur.rows - offset;
        if (avail <= 0) {
          finishWindow();
          continue;
        }
        const n = Math.min(avail, batchSize - count);
        if (cur.order === null) {
          // A whole batch inside one window in file order: a view, no copy.
          if (count === 0 && n === batchSize) view = sliceColumns(cur.cols, offset, offset + n);
          else copyRows(cur.cols, offset, n, out, count);
        } else {
          rowsBuf.set(cur.order.subarray(offset, offset + n), 0);
          gatherRows(cur.cols, rowsBuf, n, out, count);
        }
        offset += n;
        count += n;
        if (offset >= cur.rows) finishWindow();
      }
      if (count === 0 || (opts.dropLast && count < batchSize)) {
        done = true;
        return { done: true, value: undefined };
      }
      for (let k = 1; k <= prefetch; k++) request(winIndex + k);
      return { done: false, value: view ?? headView(out, count) };
    },
    async close(): Promise<void> {
      closed = true;
      // Wait for loads in flight so a source can be closed safely after its readers.
      await Promise.allSettled([...pending.values()]);
      pending.clear();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return reader;
}

/** Default rows per unit of an in-memory dataset (what a Parquet row group holds in prepared data). */
export const MEMORY_UNIT_ROWS = 16_384;

/**
 * An in-memory dataset as a batch source: units are consecutive ranges of `unitRows` rows. With no
 * shuffle, or one window over an unsharded dataset, batches are views of its columns (no copy).
 */
export class MemorySource implements BatchSource {
  readonly units: StreamUnit[];
  readonly layout: Columns;

  constructor(
    readonly data: ColumnarDataset,
    readonly name = 'in-memory dataset',
    readonly unitRows = MEMORY_UNIT_ROWS,
  ) {
    if (!Number.isInteger(unitRows) || unitRows < 1)
      throw new Error(`${name}: unitRows must be a positive integer, got ${unitRows}`);
    this.units = [];
    for (let s = 0, k = 0; s < data.size; s += unitRows, k++)
      this.units.push({
        index: k,
        file: '',
        rowGroup: k,
        fileRow: s,
        rows: Math.min(unitRows, data.size - s),
      });
    this.layout = sliceColumns(data.columns, 0, 0);
  }

  get rows(): number {
    return this.data.size;
  }

  open(opts: OpenOptions): BatchReader {
    const cols = this.data.columns;
    const loader: UnitLoader = {
      load: async (units, rows, into) => {
        // Consecutive units are one contiguous range: a view.
        const first = units[0];
        if (first === undefined) return { cols: sliceColumns(cols, 0, 0), buffer: null };
        let contiguous = true;
        for (let i = 1; i < units.length; i++)
          if (units[i]!.fileRow !== units[i - 1]!.fileRow + units[i - 1]!.rows) contiguous = false;
        if (contiguous)
          return { cols: sliceColumns(cols, first.fileRow, first.fileRow + rows), buffer: null };
        const buf = into !== null && into.size >= rows ? into : allocLike(cols, rows);
        let at = 0;
        for (const u of units) {
          copyRows(cols, u.fileRow, u.rows, buf, at);
          at += u.rows;
        }
        return { cols: headView(buf, rows), buffer: buf };
      },
    };
    // Nothing to overlap: every load is a memory copy or a view.
    return openStream(this, loader, { ...opts, prefetch: 0 });
  }

  async close(): Promise<void> {}
}

/** Reads a whole source into memory, in file order (a small split, a validation set). */
export async function readAll(source: BatchSource, shard?: ShardSpec, batchSize = 65_536): Promise<Columns> {
  const rows = shardRows(source, shard);
  const out = allocLike(source.layout, rows);
  const reader = source.open({ batchSize, ...(shard ? { shard } : {}) });
  let at = 0;
  try {
    for await (const b of reader) {
      copyRows(b, 0, b.size, out, at);
      at += b.size;
    }
  } finally {
    await reader.close();
  }
  if (at !== rows) throw new Error(`${source.name}: read ${at} rows, its units hold ${rows}`);
  return out;
}

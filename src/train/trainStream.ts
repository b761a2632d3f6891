/**
 * Where the training loop's batches come from, and what a checkpoint records of it: one reader over
 * the source (or over one shard of it), or the global batches of a data-parallel job whose ranks
 * each read their own shard (src/data/stream.ts shards: row groups k ≡ r mod N).
 *
 * Distributed training (issue 16) makes global batch t the concatenation of batch t of every rank's
 * shard, each of B/N rows: rank r trains on its part, and the gradients are summed. Two streams give
 * exactly those batches:
 * - `rankStream`: what rank r of an MPI job reads — its shard only, B/N rows a step;
 * - `interleavedStream`: one process reading all N shards and concatenating their batches — the
 *   single-process run with the same global batches, the reference the distributed result must
 *   equal (`kdrec bench parity`, test/train/mpiTrain.test.ts).
 * Shards differ in rows, so an epoch is max_r ⌈rows_r / (B/N)⌉ steps on every rank; a rank whose
 * shard is used up contributes an empty batch until the epoch ends.
 *
 * A checkpoint's `stream` entry: one position `{ epoch, window, offset, signature }`, or for the
 * sharded streams `{ epoch, shards: [...] }` with every shard's position (gathered from the ranks),
 * so a resumed job (same N) continues every shard where it stood.
 */
import { allocLike, type Batch, type Columns, copyRows, headView } from '../data/batch.js';
import {
  type BatchReader,
  type BatchSource,
  planEpoch,
  type ShardSpec,
  type ShuffleSpec,
  type StreamPosition,
  shardRows,
} from '../data/stream.js';

export interface ShardPosition extends StreamPosition {
  signature: string;
}

export type StreamState = ShardPosition | { epoch: number; shards: ShardPosition[] };

/** The minimum of MPI a rank stream needs (src/engine/mpi.ts `Mpi`). */
export interface RankCollectives {
  readonly rank: number;
  readonly size: number;
  allgather(send: Int32Array): Int32Array;
}

export interface TrainStream {
  /** Steps of one epoch (the same on every rank of a job). */
  readonly stepsPerEpoch: number;
  /** Rows of the batch each step trains on in this process (B, or B/N on a rank). */
  readonly batchRows: number;
  /** Opens epoch `epoch`, at `start` (a state this stream's `state()` returned) or at its beginning. */
  open(epoch: number, start?: StreamState, stepInEpoch?: number): void;
  /** The next batch of the epoch; null once the epoch's steps are done. */
  next(): Promise<Batch | null>;
  /** Rows of each shard in the last batch (an interleaved stream's parts, in shard order). */
  partRows?(): readonly number[];
  /** Where the stream stands (after the last batch), for a checkpoint. A collective on a rank stream. */
  state(): StreamState;
  close(): Promise<void>;
}

interface StreamOptions {
  batchSize: number;
  shuffle: ShuffleSpec;
}

function checkSignature(where: string, saved: string, now: string): void {
  if (saved !== now)
    throw new Error(
      `${where}: its training stream was laid out as '${saved}', this run's is '${now}'; ` +
        'resume with the same dataset, shard and shuffle buffer',
    );
}

/** One reader: the whole source, or one shard of it (`--shard i/n`). */
export function singleStream(
  source: BatchSource,
  opts: StreamOptions & { shard?: ShardSpec; where?: string },
): TrainStream {
  const rows = shardRows(source, opts.shard);
  let reader: BatchReader | null = null;
  const shardOpt = opts.shard !== undefined ? { shard: opts.shard } : {};
  return {
    stepsPerEpoch: Math.ceil(rows / opts.batchSize),
    batchRows: opts.batchSize,
    open(epoch, start) {
      let pos: StreamPosition | undefined;
      if (start !== undefined) {
        if ('shards' in start)
          throw new Error(
            `${opts.where ?? 'resume'}: the checkpoint holds ${start.shards.length} shard positions (a distributed run); resume it with as many ranks`,
          );
        pos = start;
      }
      reader = source.open({
        batchSize: opts.batchSize,
        epoch,
        shuffle: opts.shuffle,
        ...shardOpt,
        ...(pos ? { start: pos } : {}),
      });
      if (start !== undefined && !('shards' in start))
        checkSignature(opts.where ?? 'resume', start.signature, reader.signature);
    },
    async next() {
      const nx = await reader!.next();
      return nx.done ? null : nx.value;
    },
    state() {
      return { ...reader!.position(), signature: reader!.signature };
    },
    async close() {
      await reader?.close();
    },
  };
}

/** The signature of shard `index` of `count` under this shuffle (any process can compute any shard's). */
function shardSignature(source: BatchSource, shuffle: ShuffleSpec, index: number, count: number): string {
  return planEpoch(source.units, { shuffle, shard: { index, count }, epoch: 0 }).signature;
}

function stepsOfShards(source: BatchSource, count: number, localBatch: number): number {
  let steps = 0;
  for (let i = 0; i < count; i++)
    steps = Math.max(steps, Math.ceil(shardRows(source, { index: i, count }) / localBatch));
  return steps;
}

function localBatchOf(batchSize: number, count: number): number {
  if (batchSize % count !== 0)
    throw new Error(
      `batchSize ${batchSize} must be a multiple of the ${count} ranks: every rank trains on batchSize / ranks rows of each global batch`,
    );
  return batchSize / count;
}

function emptyBatch(layout: Columns): Batch {
  return headView(allocLike(layout, 0), 0);
}

/**
 * The global batches of an N-rank job, read by one process: batch t is batch t of shard 0, then of
 * shard 1, …, each of batchSize / N rows.
 */
export function interleavedStream(source: BatchSource, opts: StreamOptions & { ways: number }): TrainStream {
  const N = opts.ways;
  const b = localBatchOf(opts.batchSize, N);
  const steps = stepsOfShards(source, N, b);
  const out = allocLike(source.layout, opts.batchSize);
  const parts: number[] = new Array(N).fill(0);
  let readers: BatchReader[] = [];
  let epochNow = 0;
  let step = 0;
  return {
    stepsPerEpoch: steps,
    batchRows: opts.batchSize,
    open(epoch, start, stepInEpoch = 0) {
      epochNow = epoch;
      step = start !== undefined ? stepInEpoch : 0;
      if (start !== undefined && !('shards' in start))
        throw new Error(
          'resume: the checkpoint holds one stream position, this run reads interleaved shards',
        );
      if (start !== undefined && start.shards.length !== N)
        throw new Error(
          `resume: the checkpoint holds ${start.shards.length} shard positions, this run interleaves ${N}`,
        );
      readers = Array.from({ length: N }, (_, i) => {
        const pos = start?.shards[i];
        const r = source.open({
          batchSize: b,
          epoch,
          shuffle: opts.shuffle,
          shard: { index: i, count: N },
          ...(pos ? { start: pos } : {}),
        });
        if (pos !== undefined) checkSignature('resume', pos.signature, r.signature);
        return r;
      });
    },
    async next() {
      if (step >= steps) return null;
      let at = 0;
      for (let i = 0; i < N; i++) {
        const nx = await readers[i]!.next();
        parts[i] = nx.done ? 0 : nx.value.size;
        if (nx.done) continue;
        copyRows(nx.value, 0, nx.value.size, out, at);
        at += nx.value.size;
      }
      step++;
      return headView(out, at);
    },
    partRows: () => parts,
    state() {
      return {
        epoch: epochNow,
        shards: readers.map((r) => ({ ...r.position(), signature: r.signature })),
      };
    },
    async close() {
      for (const r of readers) await r.close();
    },
  };
}

/** What rank r of an N-rank job reads: its shard, batchSize / N rows a step. */
export function rankStream(source: BatchSource, opts: StreamOptions & { mpi: RankCollectives }): TrainStream {
  const { rank, size } = opts.mpi;
  const b = localBatchOf(opts.batchSize, size);
  const steps = stepsOfShards(source, size, b);
  const shard = { index: rank, count: size };
  const empty = emptyBatch(source.layout);
  let reader: BatchReader | null = null;
  let epochNow = 0;
  let step = 0;
  return {
    stepsPerEpoch: steps,
    batchRows: b,
    open(epoch, start, stepInEpoch = 0) {
      epochNow = epoch;
      step = start !== undefined ? stepInEpoch : 0;
      let pos: ShardPosition | undefined;
      if (start !== undefined) {
        if (!('shards' in start))
          throw new Error(
            `resume: the checkpoint holds one stream position (a single-process run); this job has ${size} ranks`,
          );
        if (start.shards.length !== size)
          throw new Error(
            `resume: the checkpoint was written by a job of ${start.shards.length} ranks; this one has ${size}`,
          );
        pos = start.shards[rank]!;
      }
      reader = source.open({
        batchSize: b,
        epoch,
        shuffle: opts.shuffle,
        shard,
        ...(pos ? { start: pos } : {}),
      });
      if (pos !== undefined) checkSignature(`rank ${rank}: resume`, pos.signature, reader.signature);
    },
    async next() {
      if (step >= steps) return null;
      step++;
      const nx = await reader!.next();
      return nx.done ? empty : nx.value;
    },
    state() {
      const p = reader!.position();
      const all = opts.mpi.allgather(Int32Array.of(p.epoch, p.window, p.offset));
      return {
        epoch: epochNow,
        shards: Array.from({ length: size }, (_, r) => ({
          epoch: all[3 * r]!,
          window: all[3 * r + 1]!,
          offset: all[3 * r + 2]!,
          signature: r === rank ? reader!.signature : shardSignature(source, opts.shuffle, r, size),
        })),
      };
    },
    async close() {
      await reader?.close();
    },
  };
}

/**
 * Row-sharded embedding tables for MPI training (issue 16), in the design of TorchRec's row-wise
 * sharding (torchrec.distributed.sharding.rw_sharding) and HugeCTR's model-parallel ("distributed")
 * embedding: every rank owns a disjoint part of a table's rows, and a training step moves ids and
 * rows between the ranks instead of replicating the table and its optimiser state everywhere.
 *
 * Ownership: rank id mod N owns row id, stored as local row ⌊id / N⌋. The ids are already dense
 * (the data preparation maps every categorical value to [0, vocab) through a vocabulary or a
 * hash), so id mod N is the hash: it spreads the rows evenly and, unlike contiguous blocks
 * (TorchRec's default for row-wise), does not give one rank all the popular low ids of a
 * frequency-sorted vocabulary.
 *
 * One step (RowShardExchange):
 * - Forward: each `Graph.embeddingBag` lookup of a row-sharded table is one exchange round
 *   (`EmbeddingTable.lookupRows`): the distinct ids not yet fetched this step go to their owners
 *   (MPI_Alltoall of a [table, count] header, MPI_Alltoallv of the ids), the owners answer with
 *   the rows (MPI_Alltoallv of floats), and they land in a compact per-step cache (one row per
 *   distinct id the rank looked up); the forward gathers from it through remapped ids. A rank
 *   whose forward has ended (or that has an empty batch and runs none) keeps answering in `drain()`
 *   until no rank has a request, so the ranks' collectives always match even when they look up
 *   different numbers of tables. The header carries the table per requesting rank, so ranks may
 *   even ask for different tables in the same round.
 * - Backward: the table's compact gradient (global ids, from the usual backward) goes to the
 *   owners with `Mpi.alltoallSparseRows`; each owner adds what it receives in rank order into the
 *   compact gradient of its `local` table (rank 0's rows first: the same sums in the same order as
 *   the replicated mode, which rebuilds each row's gradient from the gathered rows in rank order),
 *   and the ordinary sparse optimiser (SparseAdam / SparseAdagrad) updates `local` — weights and
 *   moments exist only for the owned rows.
 * - Rank 0 validates and writes checkpoints from full tables: `gatherRows` assembles a full
 *   [vocab, dim] array on rank 0 (a gatherv built on MPI_Alltoallv; the Mpi class has no gatherv),
 *   for the weights and for the optimiser's state, so checkpoints keep the format of the
 *   replicated mode (and a row-sharded checkpoint can be resumed replicated, with the same N).
 *
 * Memory, honestly. Per rank: the owned weights and their optimiser state (1/N of the table each;
 * SparseAdam's two moments), the step's cache (the distinct rows the rank looked up), and three
 * int32 per table row (the table's slot map for its compact gradient, and the cache's fetched-step
 * and slot maps: 12 bytes a row, 9% of a dim-32 float table). Rank 0 also keeps the full [vocab,
 * dim] weights, which validation and checkpoints read, and while a checkpoint is written a full
 * array per optimiser state buffer (the assembly itself is in place: `unpackRanks`); ranks ≠ 0 drop
 * their full weights (`release`) once training starts.
 * Every rank builds the full table once at start (the model creates and initialises it, so that
 * both modes start from the same weights whatever N is) and when it loads a checkpoint.
 *
 * Bytes: `stats` counts the payload this rank sends to OTHER ranks (what crosses the network;
 * MPI copies the part addressed to itself locally).
 *
 * Imports: engine modules only.
 */
import { addSparseRows, EmbeddingTable } from './embedding.js';
import type { Mpi, SparseRows } from './mpi.js';
import type { Optimizer, OptimizerState, StateBuffer } from './optim.js';

/** The rank that owns row `id` of a row-sharded table over `size` ranks. */
export function ownerOf(id: number, size: number): number {
  return id % size;
}

/** Where the owner stores row `id`: its local row ⌊id / size⌋. */
export function localRowOf(id: number, size: number): number {
  return Math.floor(id / size);
}

/** How many of a table's `vocab` rows rank `rank` of `size` owns: ⌈(vocab − rank) / size⌉. */
export function ownedRowCount(vocab: number, rank: number, size: number): number {
  return rank < vocab ? Math.floor((vocab - 1 - rank) / size) + 1 : 0;
}

/** Copies the rows rank `rank` of `size` owns from a full [vocab, dim] array into a local one. */
export function takeOwnedRows(
  full: Float32Array,
  local: Float32Array,
  vocab: number,
  dim: number,
  rank: number,
  size: number,
): void {
  const owned = ownedRowCount(vocab, rank, size);
  for (let j = 0; j < owned; j++) {
    const id = j * size + rank;
    local.set(full.subarray(id * dim, (id + 1) * dim), j * dim);
  }
}

/**
 * Reorders a [vocab, dim] array holding the ranks' owned rows packed in rank order (rank 0's
 * ⌈vocab/size⌉ rows, then rank 1's, …) into table order, in place: packed row p is row id of the
 * table (rank s's local row j is id j·size + s), and the permutation is applied cycle by cycle
 * with a visited map of one byte per row and two row buffers.
 */
export function unpackRanks(a: Float32Array, vocab: number, dim: number, size: number): void {
  const q = Math.floor(vocab / size);
  const r0 = vocab % size; // ranks < r0 own q + 1 rows, the others q
  const big = r0 * (q + 1);
  const dest = (p: number): number => {
    if (p < big) return (p % (q + 1)) * size + Math.floor(p / (q + 1));
    const p2 = p - big;
    return (p2 % q) * size + r0 + Math.floor(p2 / q);
  };
  const visited = new Uint8Array(vocab);
  let x = new Float32Array(dim);
  let y = new Float32Array(dim);
  for (let p0 = 0; p0 < vocab; p0++) {
    if (visited[p0] === 1) continue;
    visited[p0] = 1;
    let d = dest(p0);
    if (d === p0) continue;
    x.set(a.subarray(p0 * dim, (p0 + 1) * dim));
    for (;;) {
      // x holds the row that belongs at d.
      y.set(a.subarray(d * dim, (d + 1) * dim));
      a.set(x, d * dim);
      visited[d] = 1;
      if (d === p0) break;
      [x, y] = [y, x];
      d = dest(d);
    }
  }
}

/** Bytes this rank sent to other ranks in the last step, by kind. */
export interface RowShardStats {
  /** Forward: the ids sent to their owners. */
  lookupIds: number;
  /** Forward: the rows sent back to the ranks that asked for them. */
  lookupRows: number;
  /** Backward: the gradient rows (ids and values) sent to their owners. */
  grads: number;
  /** Headers: [table, count] per round and the counts of the gradient exchange. */
  control: number;
  /** Exchange rounds in the forward (lookups plus the final empty round). */
  rounds: number;
}

/** One row-sharded table: the model's table, this rank's owned rows and the step's lookup cache. */
export class RowShardedTable {
  /** This rank's rows, local row j = global row j·size + rank; what the sparse optimiser updates. */
  readonly local: EmbeddingTable;
  /** Rows this rank owns (local.vocab is at least 1, as an EmbeddingTable needs a row). */
  readonly owned: number;
  /** fetched[id] === epoch: the row was fetched in this step (ids are fetched once per step)… */
  readonly fetched: Int32Array;
  /** …into cache row slot[id]. */
  readonly slot: Int32Array;
  /** This step's fetched rows, [cacheRows, dim] (grows; never shrinks). */
  cache: Float32Array;
  cacheRows = 0;
  /** Most rows fetched in one step so far. */
  peakCacheRows = 0;
  /** The lookup's ids remapped to cache rows (valid until the next lookup). */
  remap = new Int32Array(1024);
  epoch = 0;

  constructor(
    readonly table: EmbeddingTable,
    readonly rank: number,
    readonly size: number,
  ) {
    this.owned = ownedRowCount(table.vocab, rank, size);
    // Starts from the model's (full, identically initialised) table, so that the row-sharded and the
    // replicated runs start from the same weights whatever N is.
    this.local = new EmbeddingTable(table.name, Math.max(1, this.owned), table.dim, (w) =>
      takeOwnedRows(table.weight.data, w, table.vocab, table.dim, rank, size),
    );
    this.fetched = new Int32Array(table.vocab).fill(-1);
    this.slot = new Int32Array(table.vocab);
    this.cache = new Float32Array(Math.min(table.vocab, 1024) * table.dim);
  }

  /** Whether the model's full weight array is still held (rank 0 always; others until release). */
  get holdsFullTable(): boolean {
    return this.table.weight.data.length === this.table.vocab * this.table.dim;
  }

  /**
   * Drops the model's full [vocab, dim] array (ranks ≠ 0, once training starts: their forward reads
   * the cache, and validation and checkpoints are rank 0's). The tensor keeps its shape.
   */
  release(): void {
    if (this.rank !== 0) this.table.weight.data = new Float32Array(0);
  }

  /** After the model's table was overwritten (a checkpoint loaded): take the owned rows again. */
  reloadOwned(): void {
    if (!this.holdsFullTable)
      throw new Error(
        `row sharding: '${this.table.name}' no longer holds its full table on rank ${this.rank}`,
      );
    takeOwnedRows(
      this.table.weight.data,
      this.local.weight.data,
      this.table.vocab,
      this.table.dim,
      this.rank,
      this.size,
    );
  }
}

/** Row-sharded tables of one width whose gradients travel together: table shards[g]'s row id as base[g] + id. */
interface GradGroup {
  dim: number;
  shards: number[];
  base: number[];
  received: SparseRows | undefined;
}

const INT32_MAX = 2 ** 31 - 1;

/** Grows a typed array to at least n elements (1.5× headroom), keeping nothing. */
function atLeast<T extends Int32Array | Float32Array>(a: T, n: number): T {
  if (a.length >= n) return a;
  return new (a.constructor as new (n: number) => T)(Math.max(n, Math.ceil(a.length * 1.5)));
}

/**
 * The per-step exchange of a job's row-sharded tables. Every rank must create it with the same
 * tables in the same order and call, every step: begin(); the forward (lookups run rounds);
 * drain(); the backward; pushGrads() — whether or not its batch is empty.
 */
export class RowShardExchange {
  readonly shards: RowShardedTable[];
  stats: RowShardStats = { lookupIds: 0, lookupRows: 0, grads: 0, control: 0, rounds: 0 };
  private active = false;
  private readonly P: number;
  private readonly header: Int32Array;
  private readonly headerIn: Int32Array;
  private readonly counts: Int32Array;
  private readonly pos: Int32Array;
  private readonly recvCounts: Int32Array;
  private readonly valCounts: Int32Array;
  private readonly backCounts: Int32Array;
  private req = new Int32Array(1024);
  private sorted = new Int32Array(1024);
  private idsIn = new Int32Array(1024);
  private answers = new Float32Array(1024);
  private rowsIn = new Float32Array(1024);
  private gradRows = new Int32Array(1024);
  private gradVals = new Float32Array(1024);
  private localIds = new Int32Array(1024);
  private splitVals = new Float32Array(1024);
  private readonly groups: GradGroup[] = [];
  private readonly scratch = { slots: new Int32Array(1024) };

  constructor(
    private readonly mpi: Mpi,
    tables: readonly EmbeddingTable[],
  ) {
    this.P = mpi.size;
    this.shards = tables.map((t) => new RowShardedTable(t, mpi.rank, mpi.size));
    this.shards.forEach((sh, k) => {
      const { dim, vocab } = sh.table;
      // A group's combined ids must stay int32: a new group when they would not.
      const gr = this.groups.find((x) => {
        const last = x.shards.length - 1;
        return (
          x.dim === dim && x.base[last]! + this.shards[x.shards[last]!]!.table.vocab + vocab <= INT32_MAX
        );
      });
      if (gr === undefined) this.groups.push({ dim, shards: [k], base: [0], received: undefined });
      else {
        const last = gr.shards.length - 1;
        gr.base.push(gr.base[last]! + this.shards[gr.shards[last]!]!.table.vocab);
        gr.shards.push(k);
      }
    });
    this.header = new Int32Array(2 * this.P);
    this.headerIn = new Int32Array(2 * this.P);
    this.counts = new Int32Array(this.P);
    this.pos = new Int32Array(this.P);
    this.recvCounts = new Int32Array(this.P);
    this.valCounts = new Int32Array(this.P);
    this.backCounts = new Int32Array(this.P);
    this.shards.forEach((sh, k) => {
      // Only inside a training step: rank 0's validation reads the assembled full table locally.
      sh.table.lookupRows = (ids, n) => {
        if (!this.active) {
          if (sh.holdsFullTable) return null;
          throw new Error(
            `row sharding: table '${sh.table.name}' is looked up on rank ${sh.rank} outside a training step; ` +
              'only rank 0 holds the full table (for validation and checkpoints)',
          );
        }
        this.round(k, ids, n);
        sh.remap = atLeast(sh.remap, n);
        const slot = sh.slot;
        for (let i = 0; i < n; i++) {
          const id = ids[i]!;
          sh.remap[i] = id < 0 ? -1 : slot[id]!;
        }
        return { rows: sh.cache, ids: sh.remap.subarray(0, n) };
      };
    });
  }

  /** Starts a step: lookups of row-sharded tables become exchange rounds. */
  begin(): void {
    this.active = true;
    this.stats = { lookupIds: 0, lookupRows: 0, grads: 0, control: 0, rounds: 0 };
    for (const sh of this.shards) {
      sh.epoch++;
      sh.cacheRows = 0;
    }
  }

  /** Answers the other ranks' lookups until no rank has one left; ends the step's forward. */
  drain(): void {
    if (!this.active) throw new Error('RowShardExchange.drain: no step begun');
    while (this.round(-1, null, 0)) {
      // Another rank is still in its forward: keep serving its rounds.
    }
    this.active = false;
  }

  /**
   * One round: this rank asks for the rows of `ids` of table k (k = −1: nothing to ask) and
   * answers what the others ask of it. Returns whether any rank asked.
   */
  private round(k: number, ids: Int32Array | null, n: number): boolean {
    const { P, mpi, counts } = this;
    const me = mpi.rank;
    counts.fill(0);
    let m = 0;
    if (k >= 0 && ids !== null) {
      const sh = this.shards[k]!;
      const seen = sh.fetched;
      const e = sh.epoch;
      this.req = atLeast(this.req, n);
      const req = this.req;
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        if (id < 0 || seen[id] === e) continue;
        seen[id] = e;
        sh.slot[id] = sh.cacheRows + m;
        req[m++] = id;
        counts[id % P]!++;
      }
      sh.cacheRows += m;
      sh.peakCacheRows = Math.max(sh.peakCacheRows, sh.cacheRows);
      if (sh.cache.length < sh.cacheRows * sh.table.dim) {
        const grown = new Float32Array(
          Math.max(sh.cacheRows, Math.ceil((sh.cache.length / sh.table.dim) * 1.5)) * sh.table.dim,
        );
        grown.set(sh.cache);
        sh.cache = grown;
      }
      // Grouped by owner (a stable counting sort), as MPI_Alltoallv's packed layout wants them.
      this.sorted = atLeast(this.sorted, m);
      let at = 0;
      for (let r = 0; r < P; r++) {
        this.pos[r] = at;
        at += counts[r]!;
      }
      for (let j = 0; j < m; j++) {
        const id = req[j]!;
        this.sorted[this.pos[id % P]!++] = id;
      }
    }
    for (let r = 0; r < P; r++) {
      this.header[2 * r] = k;
      this.header[2 * r + 1] = counts[r]!;
    }
    mpi.alltoall(this.header, this.headerIn);
    this.stats.control += 8 * (P - 1);
    this.stats.rounds++;
    let any = false;
    let inTotal = 0;
    for (let s = 0; s < P; s++) {
      const ks = this.headerIn[2 * s]!;
      if (ks >= this.shards.length)
        throw new Error(
          `row sharding: rank ${s} asked for row-sharded table ${ks}, this rank has ${this.shards.length}`,
        );
      if (ks >= 0) any = true;
      this.recvCounts[s] = this.headerIn[2 * s + 1]!;
      inTotal += this.recvCounts[s]!;
    }
    if (!any) return false;
    this.idsIn = atLeast(this.idsIn, inTotal);
    mpi.alltoallv(this.sorted.subarray(0, m), counts, this.idsIn.subarray(0, inTotal), this.recvCounts);
    this.stats.lookupIds += 4 * (m - counts[me]!);
    // Answer from the owned rows: rank s asked for rows of its table ks.
    let ansTotal = 0;
    for (let s = 0; s < P; s++) {
      const ks = this.headerIn[2 * s]!;
      this.valCounts[s] = ks >= 0 ? this.recvCounts[s]! * this.shards[ks]!.table.dim : 0;
      ansTotal += this.valCounts[s]!;
    }
    this.answers = atLeast(this.answers, ansTotal);
    let off = 0;
    let a = 0;
    for (let s = 0; s < P; s++) {
      const c = this.recvCounts[s]!;
      if (c === 0) continue;
      const sh = this.shards[this.headerIn[2 * s]!]!;
      const D = sh.table.dim;
      const w = sh.local.weight.data;
      for (let j = 0; j < c; j++) {
        const id = this.idsIn[off + j]!;
        if (id % P !== me || id >= sh.table.vocab)
          throw new Error(
            `row sharding: rank ${s} asked rank ${me} for row ${id} of '${sh.table.name}', which it does not own`,
          );
        const lr = (id - me) / P;
        this.answers.set(w.subarray(lr * D, (lr + 1) * D), a);
        a += D;
      }
      if (s !== me) this.stats.lookupRows += 4 * c * D;
      off += c;
    }
    const D = k >= 0 ? this.shards[k]!.table.dim : 0;
    for (let r = 0; r < P; r++) this.backCounts[r] = counts[r]! * D;
    this.rowsIn = atLeast(this.rowsIn, m * D);
    mpi.alltoallv(
      this.answers.subarray(0, ansTotal),
      this.valCounts,
      this.rowsIn.subarray(0, m * D),
      this.backCounts,
    );
    if (k >= 0) {
      // The rows come back in the order the ids were sent (grouped by owner): into their cache rows.
      const sh = this.shards[k]!;
      for (let j = 0; j < m; j++) {
        const id = this.sorted[j]!;
        sh.cache.set(this.rowsIn.subarray(j * D, (j + 1) * D), sh.slot[id]! * D);
      }
    }
    return true;
  }

  /**
   * After the backward: sends every row-sharded table's compact gradient to the owners, which sum
   * it in rank order into their local table's compact gradient (ready for the sparse optimiser).
   * Clears the model tables' gradients. Tables of the same width go in one alltoallSparseRows (row
   * id of table k travels as base_k + id), so a step costs three collectives per width, not per
   * table: the owner splits what it receives by table again, keeping the order (rank 0's rows first).
   */
  pushGrads(): void {
    const { P, mpi, counts } = this;
    const me = mpi.rank;
    for (const gr of this.groups) {
      const D = gr.dim;
      counts.fill(0);
      let n = 0;
      for (const k of gr.shards) {
        const sg = this.shards[k]!.table.sparseGrad();
        for (let i = 0; i < sg.nRows; i++) counts[sg.rows[i]! % P]!++;
        n += sg.nRows;
      }
      let at = 0;
      for (let r = 0; r < P; r++) {
        this.pos[r] = at;
        at += counts[r]!;
      }
      this.gradRows = atLeast(this.gradRows, n);
      this.gradVals = atLeast(this.gradVals, n * D);
      // Stable: each owner gets this rank's rows table by table, in the order of each compact gradient.
      gr.shards.forEach((k, g) => {
        const sg = this.shards[k]!.table.sparseGrad();
        const base = gr.base[g]!;
        for (let i = 0; i < sg.nRows; i++) {
          const id = sg.rows[i]!;
          const j = this.pos[id % P]!++;
          this.gradRows[j] = base + id;
          this.gradVals.set(sg.grad.subarray(i * D, (i + 1) * D), j * D);
        }
      });
      const got = mpi.alltoallSparseRows(this.gradRows, this.gradVals, D, counts, gr.received);
      gr.received = got;
      this.stats.grads += 4 * (1 + D) * (n - counts[me]!);
      this.stats.control += 4 * (P - 1);
      // Split by table (a stable counting sort: every table's rows stay in rank order).
      const G = gr.shards.length;
      const perTable = new Int32Array(G + 1);
      for (let i = 0; i < got.nRows; i++) perTable[this.tableOf(gr, got.rows[i]!) + 1]!++;
      for (let g = 0; g < G; g++) perTable[g + 1]! += perTable[g]!;
      const next = perTable.slice(0, G);
      this.localIds = atLeast(this.localIds, got.nRows);
      this.splitVals = atLeast(this.splitVals, got.nRows * D);
      for (let i = 0; i < got.nRows; i++) {
        const cid = got.rows[i]!;
        const g = this.tableOf(gr, cid);
        const id = cid - gr.base[g]!;
        if (id % P !== me)
          throw new Error(
            `row sharding: rank ${me} received a gradient for row ${id} of '${this.shards[gr.shards[g]!]!.table.name}', which it does not own`,
          );
        const p = next[g]!++;
        this.localIds[p] = (id - me) / P;
        this.splitVals.set(got.values.subarray(i * D, (i + 1) * D), p * D);
      }
      gr.shards.forEach((k, g) => {
        const sh = this.shards[k]!;
        sh.table.zeroGrad();
        sh.local.zeroGrad();
        const from = perTable[g]!;
        const rows = perTable[g + 1]! - from;
        addSparseRows(
          sh.local,
          this.localIds.subarray(from, from + rows),
          this.splitVals.subarray(from * D, (from + rows) * D),
          rows,
          this.scratch,
        );
      });
    }
  }

  /** Which table of a width group a combined row id (base + id) belongs to. */
  private tableOf(gr: GradGroup, cid: number): number {
    let g = gr.base.length - 1;
    while (g > 0 && gr.base[g]! > cid) g--;
    if (cid < 0 || cid >= gr.base[g]! + this.shards[gr.shards[g]!]!.table.vocab)
      throw new Error(`row sharding: received gradient row ${cid}, outside every table of width ${gr.dim}`);
    return g;
  }

  /**
   * Assembles a full [vocab, dim] array of shard k on rank 0 from every rank's local [owned, dim]
   * rows (a gatherv over MPI_Alltoallv: every rank sends its rows to rank 0 only). A collective;
   * `full` is only written on rank 0 (other ranks may pass null). Returns the bytes this rank sent
   * to another rank.
   */
  gatherRows(k: number, local: Float32Array, full: Float32Array | null): number {
    const { P, mpi } = this;
    const sh = this.shards[k]!;
    const { vocab, dim } = sh.table;
    const me = mpi.rank;
    const send = new Int32Array(P);
    send[0] = sh.owned * dim;
    const recv = new Int32Array(P);
    if (me === 0) {
      if (full === null || full.length !== vocab * dim)
        throw new Error(
          `row sharding: gatherRows of '${sh.table.name}' needs a [${vocab}, ${dim}] array on rank 0`,
        );
      for (let s = 0; s < P; s++) recv[s] = ownedRowCount(vocab, s, P) * dim;
    }
    // Rank 0 receives the ranks' blocks packed in rank order into `full` itself, then moves every
    // row to its place in place (no second table-sized array).
    mpi.alltoallv(local.subarray(0, sh.owned * dim), send, me === 0 ? full! : new Float32Array(0), recv);
    if (me === 0) unpackRanks(full!, vocab, dim, P);
    return me === 0 ? 0 : send[0]! * 4;
  }

  /** Every shard's weights into rank 0's model tables (before validation, checkpoints, the end). */
  gatherWeights(): number {
    let bytes = 0;
    this.shards.forEach((sh, k) => {
      bytes += this.gatherRows(k, sh.local.weight.data, this.mpi.rank === 0 ? sh.table.weight.data : null);
    });
    return bytes;
  }

  /** Removes the lookup hooks (the tables become plain local tables again). */
  close(): void {
    for (const sh of this.shards) sh.table.lookupRows = null;
  }
}

/**
 * The sparse optimiser of a job with row-sharded tables: `inner` runs over the replicated tables
 * and the shards' local tables (so the update rule is the ordinary SparseAdam / SparseAdagrad), and
 * `state()` shows each row-sharded table's state buffers with the full [vocab, dim] shape, so that
 * checkpoints keep the replicated format: rank 0 fills them with `gatherState` before a checkpoint
 * is written, and after a checkpoint is loaded into them (on every rank) `scatterState` keeps the
 * owned rows. The full buffers exist only around a checkpoint (`dropStaging`).
 */
export class RowShardedOptimizer implements Optimizer {
  private staging = new Map<string, Float32Array>();

  constructor(
    private readonly inner: Optimizer,
    private readonly exchange: RowShardExchange,
  ) {}

  step(): void {
    this.inner.step();
  }

  currentLr(): number {
    return this.inner.currentLr();
  }

  setStepCount(step: number): void {
    this.inner.setStepCount(step);
  }

  /** The shard a state buffer ('m/emb.item_id') belongs to, or −1 (a replicated table's). */
  private shardOf(key: string): number {
    const name = key.slice(key.indexOf('/') + 1);
    return this.exchange.shards.findIndex((sh) => sh.table.name === name);
  }

  private full(key: string, k: number): Float32Array {
    let f = this.staging.get(key);
    if (f === undefined) {
      const t = this.exchange.shards[k]!.table;
      f = new Float32Array(t.vocab * t.dim);
      this.staging.set(key, f);
    }
    return f;
  }

  state(): OptimizerState {
    const st = this.inner.state();
    const buffers: Record<string, StateBuffer> = {};
    for (const [key, buf] of Object.entries(st.buffers)) {
      const k = this.shardOf(key);
      buffers[key] =
        k < 0 ? buf : { shape: this.exchange.shards[k]!.table.weight.shape, data: this.full(key, k) };
    }
    return { step: st.step, buffers };
  }

  /** A collective: every row-sharded state buffer assembled on rank 0. Returns bytes sent. */
  gatherState(rank: number): number {
    let bytes = 0;
    for (const [key, buf] of Object.entries(this.inner.state().buffers)) {
      const k = this.shardOf(key);
      if (k >= 0) bytes += this.exchange.gatherRows(k, buf.data, rank === 0 ? this.full(key, k) : null);
    }
    return bytes;
  }

  /** After a checkpoint was loaded into the full buffers: keep the owned rows, drop the rest. */
  scatterState(): void {
    for (const [key, buf] of Object.entries(this.inner.state().buffers)) {
      const k = this.shardOf(key);
      const f = this.staging.get(key);
      if (k < 0 || f === undefined) continue;
      const sh = this.exchange.shards[k]!;
      takeOwnedRows(f, buf.data, sh.table.vocab, sh.table.dim, sh.rank, sh.size);
    }
    this.dropStaging();
  }

  dropStaging(): void {
    this.staging.clear();
  }
}

/**
 * MPI collectives for training across processes and machines (issue 16): a typed layer over the
 * optional N-API addon in native/mpi (built by scripts/build-mpi.mjs against the system's MPI, e.g.
 * Open MPI 4.1). Horovod-style: the job is started by `mpirun -np N kdrec train ...` (directly or by
 * the Kubeflow MPI Operator), every process is one rank, and ranks talk only through MPI collectives;
 * kdrec has no network protocol of its own.
 *
 * Usage:
 *   const a = mpiAvailable();               // { available: false, reason } without the addon
 *   if (a.available && mpiLaunch() !== null) {
 *     const mpi = initMpi();                // MPI_Init_thread; once per process, main thread only
 *     mpi.checkSameConfig(sha256HexOfConfig);
 *     mpi.allreduce(grads);                 // in place, sum over ranks
 *     mpi.finalize();                       // every rank, at the end
 *   }
 *
 * Buffers are Float32Array, Int32Array or Float64Array, used in place (no copies); counts and
 * displacements are Int32Arrays with one entry per rank, in elements. Every argument is checked
 * before MPI is called and a bad one throws a RangeError/TypeError naming the function and argument
 * ("mpi.allgatherv: ..."). Collectives block the calling thread (the event loop does not run) until
 * every rank has joined; all ranks must call the same collectives in the same order.
 *
 * Faults. Open MPI's mpirun ends the whole job when any rank exits non-zero or dies by a signal, and
 * names the rank; the survivors, blocked in a collective, are sent SIGTERM (then SIGKILL) about one
 * second later (odls_base_sigkill_timeout). kdrec adds: an uncaught exception or unhandled rejection
 * on a rank, and process.exit() before finalize(), call MPI_Abort after printing the rank and the
 * error (so the job ends with "MPI_ABORT was invoked on rank R" under any launcher, not only
 * mpirun); and an optional watchdog (KDREC_MPI_TIMEOUT seconds, off by default) that ends a rank
 * whose collective has not returned in time with exit code 124, for a peer that is alive but stuck.
 *
 * Threads: MPI runs at MPI_THREAD_FUNNELED: only the main thread (the one that called initMpi) may
 * call collectives; worker_threads get an error. Imports: Node built-ins and ./kernels/artifacts.
 */
import { existsSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { mpiArtifactPath } from './kernels/artifacts.js';

/** A typed array MPI can carry: MPI_FLOAT, MPI_INT32_T or MPI_DOUBLE. */
export type MpiArray = Float32Array | Int32Array | Float64Array;
/** Element-wise reduction for allreduce. */
export type ReduceOp = 'sum' | 'max' | 'min';

/** Exit code of a rank ended by the collective watchdog (as timeout(1)). */
export const MPI_TIMEOUT_EXIT_CODE = 124;

interface MpiAddon {
  init(): { rank: number; size: number; threadLevel: string; libmpi: string };
  finalize(): void;
  abort(code: number): never;
  state(): 'uninitialized' | 'initialized' | 'finalized';
  libraryVersion(): { library: string; major: number; minor: number };
  processorName(): string;
  setTimeout(seconds: number): void;
  allreduce(buf: MpiArray, op: ReduceOp, out: MpiArray | null): void;
  allgather(send: MpiArray, recv: MpiArray): void;
  allgatherv(send: MpiArray, recv: MpiArray, counts: Int32Array, displs: Int32Array | null): void;
  alltoall(send: MpiArray, recv: MpiArray): void;
  alltoallv(
    send: MpiArray,
    sendCounts: Int32Array,
    sendDispls: Int32Array | null,
    recv: MpiArray,
    recvCounts: Int32Array,
    recvDispls: Int32Array | null,
  ): void;
  bcast(buf: MpiArray, root: number): void;
  barrier(): void;
}

let addon: MpiAddon | null = null;
let addonError: string | null = null;

/** Loads the addon once; null (and addonError set) when it is not built or does not load. */
function loadAddon(): MpiAddon | null {
  if (addon !== null || addonError !== null) return addon;
  const path = mpiArtifactPath();
  if (!existsSync(path)) {
    addonError =
      `${path} is missing: build it with \`node scripts/build-mpi.mjs\` ` +
      '(needs MPI, e.g. apt-get install openmpi-bin libopenmpi-dev)';
    return null;
  }
  try {
    addon = createRequire(import.meta.url)(path) as MpiAddon;
  } catch (err) {
    // Typically libmpi is no longer where the addon was linked against (MPI removed or moved).
    addonError = `cannot load ${path}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return addon;
}

export type MpiAvailability =
  | {
      available: true;
      /** MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...". */
      library: string;
      /** The MPI standard version the library implements, e.g. "3.1". */
      standard: string;
    }
  | { available: false; reason: string };

/**
 * Whether the MPI addon is built and loads here (and the library's version), or why not. Does not
 * initialise MPI: MPI_Get_library_version is allowed before MPI_Init.
 */
export function mpiAvailable(): MpiAvailability {
  const a = loadAddon();
  if (a === null) return { available: false, reason: addonError ?? 'unknown' };
  const v = a.libraryVersion();
  return { available: true, library: v.library, standard: `${v.major}.${v.minor}` };
}

/** How this process was launched, read from the launcher's environment variables. */
export interface MpiLaunch {
  /** Which variables said so: Open MPI's mpirun (OMPI_COMM_WORLD_*), PMIx (PMIX_RANK) or PMI (PMI_RANK: MPICH Hydra, Intel MPI). */
  launcher: 'open-mpi' | 'pmix' | 'pmi';
  rank: number;
  /** World size, when the launcher exports it (PMIx does not). */
  size: number | null;
  /** Rank among the processes on this machine, when exported. */
  localRank: number | null;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | null {
  const raw = env[name];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

/**
 * The launch this process is part of, or null for a plain `node` process. kdrec calls MPI_Init only
 * when this is non-null: in a plain process Open MPI would start a "singleton" runtime (forking a
 * helper daemon) for a one-rank world that is of no use.
 */
export function mpiLaunch(env: NodeJS.ProcessEnv = process.env): MpiLaunch | null {
  const ompi = envInt(env, 'OMPI_COMM_WORLD_RANK');
  if (ompi !== null) {
    return {
      launcher: 'open-mpi',
      rank: ompi,
      size: envInt(env, 'OMPI_COMM_WORLD_SIZE'),
      localRank: envInt(env, 'OMPI_COMM_WORLD_LOCAL_RANK'),
    };
  }
  const pmix = envInt(env, 'PMIX_RANK');
  if (pmix !== null) return { launcher: 'pmix', rank: pmix, size: null, localRank: null };
  const pmi = envInt(env, 'PMI_RANK');
  if (pmi !== null) {
    return {
      launcher: 'pmi',
      rank: pmi,
      size: envInt(env, 'PMI_SIZE'),
      localRank: envInt(env, 'MPI_LOCALRANKID'),
    };
  }
  return null;
}

/** KDREC_MPI_TIMEOUT: the watchdog's limit in seconds for one collective; unset, empty or 0 = off. */
export function mpiTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['KDREC_MPI_TIMEOUT'];
  if (raw === undefined || raw.trim() === '') return 0;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0) {
    throw new Error(`KDREC_MPI_TIMEOUT must be a number of seconds >= 0 (0 = off), got '${raw}'`);
  }
  return s;
}

export interface MpiInitOptions {
  /**
   * Make a fatal error on this rank end the whole job instead of leaving the other ranks waiting in
   * a collective (default true): an uncaught exception or unhandled rejection, or process.exit()
   * before finalize(), prints "kdrec: rank R of N: ..." and calls MPI_Abort. Adds listeners for
   * process 'uncaughtException' and 'exit' (removed by finalize()).
   */
  abortOnFatal?: boolean;
  /** Watchdog limit in seconds for one collective call (0 = off); default KDREC_MPI_TIMEOUT or off. */
  timeoutSeconds?: number;
  /** Initialise even when no launcher is detected (a one-rank world; tests). Default false. */
  allowSingleton?: boolean;
}

/** Rows of a sparse matrix exchanged between ranks (e.g. the touched rows of an embedding gradient). */
export interface SparseRows {
  /** Row ids; the first nRows entries are valid (a reused array may be longer). */
  rows: Int32Array;
  /** Row values, row-major: row i is values[i·dim, (i+1)·dim). */
  values: Float32Array;
  nRows: number;
  dim: number;
  /** Rows from each rank (one entry per rank); rank r's rows start at displs[r]. */
  counts: Int32Array;
  displs: Int32Array;
}

/** Ranks were started with different configurations (thrown by checkSameConfig on every rank). */
export class MpiConfigMismatchError extends Error {
  override name = 'MpiConfigMismatchError';
}

const INT32_MAX = 2 ** 31 - 1;
/** checkSameConfig's wire format: [byte length, 64 bytes of hash as 16 int32 words]. */
const HASH_WORDS = 16;

function alloc<T extends MpiArray>(like: T, n: number): T {
  return new (like.constructor as new (n: number) => T)(n);
}

/** Exclusive prefix sums of per-rank counts, times `unit` elements per count. */
function packed(
  fn: string,
  counts: Int32Array,
  unit: number,
): { counts: Int32Array; displs: Int32Array; total: number } {
  const scaled = new Int32Array(counts.length);
  const displs = new Int32Array(counts.length);
  let total = 0;
  for (let r = 0; r < counts.length; r++) {
    const c = counts[r]! * unit;
    if (total + c > INT32_MAX) {
      throw new RangeError(`mpi.${fn}: more than 2^31-1 elements in total (MPI counts are 32-bit)`);
    }
    scaled[r] = c;
    displs[r] = total;
    total += c;
  }
  return { counts: scaled, displs, total };
}

function checkCount(fn: string, name: string, n: number, max = INT32_MAX): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(`mpi.${fn}: '${name}' must be an integer in [0, ${max}], got ${n}`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}

/**
 * MPI_COMM_WORLD of this process, from initMpi(). Methods are the MPI collectives (all ranks must call
 * the same ones in the same order) and helpers built on them; they throw after finalize().
 */
export class Mpi {
  /** This process's rank in [0, size). */
  readonly rank: number;
  /** Number of ranks. */
  readonly size: number;
  /** MPI_Get_processor_name (normally the host name). */
  readonly processorName: string;
  /** MPI_Get_library_version's first line. */
  readonly library: string;
  /** The thread support MPI granted ('funneled' or better). */
  readonly threadLevel: string;
  /** The libmpi file the addon runs on (re-opened with RTLD_GLOBAL before MPI_Init). */
  readonly libmpiPath: string;
  private timeout = 0;
  private removeFatalHandlers: (() => void) | null = null;

  /** @internal Use initMpi(). */
  constructor(
    private readonly addon: MpiAddon,
    info: { rank: number; size: number; threadLevel: string; libmpi: string },
  ) {
    this.rank = info.rank;
    this.size = info.size;
    this.threadLevel = info.threadLevel;
    this.libmpiPath = info.libmpi;
    this.processorName = addon.processorName();
    this.library = addon.libraryVersion().library;
  }

  /** True after finalize(). */
  get finalized(): boolean {
    return this.addon.state() === 'finalized';
  }

  /** The watchdog limit in seconds for one collective call (0 = off). */
  get timeoutSeconds(): number {
    return this.timeout;
  }

  /**
   * Sets the watchdog: a collective call that has not returned after `seconds` ends this process
   * with exit code 124 (MPI_TIMEOUT_EXIT_CODE) and a message naming the rank and the MPI function,
   * and mpirun then ends the job. The time includes waiting for slower peers to join, so set it
   * above the longest expected skew between ranks (e.g. data loading before the first step). 0 = off.
   */
  setTimeout(seconds: number): void {
    this.addon.setTimeout(seconds);
    this.timeout = seconds;
  }

  /**
   * MPI_Allreduce: element-wise `op` over the ranks' `buf`s. In place (MPI_IN_PLACE) unless `out`
   * (same type and length, not overlapping `buf`) is given. Returns the array holding the result.
   */
  allreduce<T extends MpiArray>(buf: T, op: ReduceOp = 'sum', out?: T): T {
    this.addon.allreduce(buf, op, out ?? null);
    return out ?? buf;
  }

  /**
   * MPI_Allgather: every rank sends the same number of elements; `recv` (size × send.length,
   * allocated when omitted) holds rank 0's block, then rank 1's, and so on.
   */
  allgather<T extends MpiArray>(send: T, recv?: T): T {
    const out = recv ?? alloc(send, send.length * this.size);
    this.addon.allgather(send, out);
    return out;
  }

  /**
   * MPI_Allgatherv: rank r's `send` (recvCounts[r] elements) lands at recv[recvDispls[r]...];
   * recvDispls defaults to the packed layout (prefix sums of recvCounts). Every rank must pass the
   * same counts; use allgathervWithCounts when they are not known.
   */
  allgatherv<T extends MpiArray>(send: T, recv: T, recvCounts: Int32Array, recvDispls?: Int32Array): T {
    this.addon.allgatherv(send, recv, recvCounts, recvDispls ?? null);
    return recv;
  }

  /**
   * MPI_Alltoall: `send` is size equal blocks; block r goes to rank r, and block s of `recv`
   * (same length, allocated when omitted) comes from rank s.
   */
  alltoall<T extends MpiArray>(send: T, recv?: T): T {
    const out = recv ?? alloc(send, send.length);
    this.addon.alltoall(send, out);
    return out;
  }

  /**
   * MPI_Alltoallv: sendCounts[r] elements from send[displs.send[r]...] go to rank r; recvCounts[s]
   * elements from rank s land at recv[displs.recv[s]...]. Displacements default to the packed
   * layout. recvCounts must match what the peers send; use alltoallvWithCounts to exchange them.
   */
  alltoallv<T extends MpiArray>(
    send: T,
    sendCounts: Int32Array,
    recv: T,
    recvCounts: Int32Array,
    displs: { send?: Int32Array; recv?: Int32Array } = {},
  ): T {
    this.addon.alltoallv(send, sendCounts, displs.send ?? null, recv, recvCounts, displs.recv ?? null);
    return recv;
  }

  /** MPI_Bcast: `root`'s buf overwrites every rank's (all ranks pass the same length). */
  bcast<T extends MpiArray>(buf: T, root = 0): T {
    this.addon.bcast(buf, root);
    return buf;
  }

  /** MPI_Barrier. */
  barrier(): void {
    this.addon.barrier();
  }

  /**
   * Ends the whole job: prints "kdrec: rank R of N: aborting the MPI job: <message>" and calls
   * MPI_Abort(MPI_COMM_WORLD, code); mpirun kills every rank and exits with `code`. Never returns.
   */
  abort(code = 1, message?: string): never {
    checkCount('abort', 'code', code, 255);
    writeSync(
      2,
      `kdrec: rank ${this.rank} of ${this.size}: aborting the MPI job${message ? `: ${message}` : ''}\n`,
    );
    return this.addon.abort(code);
  }

  /**
   * MPI_Finalize; every rank must call it once at the end (it waits for the others). Removes the
   * abortOnFatal listeners. A second call does nothing.
   */
  finalize(): void {
    if (this.finalized) return;
    this.addon.finalize();
    this.removeFatalHandlers?.();
    this.removeFatalHandlers = null;
  }

  /** Each rank's `n` (MPI_Allgather of one int): the counts to size a following allgatherv. */
  allgatherCounts(n: number): Int32Array {
    checkCount('allgatherCounts', 'n', n);
    return this.allgather(Int32Array.of(n));
  }

  /**
   * Allgatherv when ranks send different lengths that are not known in advance: gathers the lengths
   * first, then the data, packed in rank order. Two collectives.
   */
  allgathervWithCounts<T extends MpiArray>(send: T): { data: T; counts: Int32Array; displs: Int32Array } {
    const counts = this.allgatherCounts(send.length);
    const p = packed('allgathervWithCounts', counts, 1);
    const data = alloc(send, p.total);
    this.addon.allgatherv(send, data, counts, p.displs);
    return { data, counts, displs: p.displs };
  }

  /**
   * Alltoallv when each rank only knows what it sends: `send` holds the blocks for rank 0, 1, ...
   * packed in order, sendCounts[r] elements each. Exchanges the counts (MPI_Alltoall), then the data;
   * `data` holds what every rank sent to this one, packed in rank order.
   */
  alltoallvWithCounts<T extends MpiArray>(
    send: T,
    sendCounts: Int32Array,
  ): { data: T; counts: Int32Array; displs: Int32Array } {
    const counts = this.alltoall(sendCounts);
    const p = packed('alltoallvWithCounts', counts, 1);
    const data = alloc(send, p.total);
    this.addon.alltoallv(send, sendCounts, null, data, counts, p.displs);
    return { data, counts, displs: p.displs };
  }

  /**
   * Every rank's sparse rows, concatenated in rank order (e.g. to apply all ranks' sparse embedding
   * gradients): the first nRows of `rows` with their `dim` values each, row-major in `values`.
   * Three collectives: the row counts, the ids, the values. Pass the previous result as `reuse` to
   * write into its row and value arrays when they are large enough (so a training step does not
   * allocate them anew every step); they grow by at least 1.5× otherwise.
   */
  allgatherSparseRows(
    rows: Int32Array,
    values: Float32Array,
    dim: number,
    nRows = rows.length,
    reuse?: SparseRows,
  ): SparseRows {
    this.checkSparse('allgatherSparseRows', rows, values, dim, nRows);
    const counts = this.allgather(
      Int32Array.of(nRows),
      reuse?.counts.length === this.size ? reuse.counts : undefined,
    );
    const idx = packed('allgatherSparseRows', counts, 1);
    const val = packed('allgatherSparseRows', counts, dim);
    const out = sparseBuffers(idx.total, dim, reuse);
    this.addon.allgatherv(rows.subarray(0, nRows), out.rows, counts, idx.displs);
    this.addon.allgatherv(values.subarray(0, nRows * dim), out.values, val.counts, val.displs);
    return { rows: out.rows, values: out.values, nRows: idx.total, dim, counts, displs: idx.displs };
  }

  /**
   * Sends sparse rows to their owners (e.g. embedding gradient rows to the rank that owns the row):
   * `rows`/`values` are grouped by destination, the first sendCounts[0] rows for rank 0, then
   * sendCounts[1] for rank 1, ... Returns the rows every rank sent to this one, in rank order.
   * Three collectives: the counts (MPI_Alltoall), the ids, the values. `reuse` as allgatherSparseRows.
   */
  alltoallSparseRows(
    rows: Int32Array,
    values: Float32Array,
    dim: number,
    sendCounts: Int32Array,
    reuse?: SparseRows,
  ): SparseRows {
    if (!(sendCounts instanceof Int32Array) || sendCounts.length !== this.size) {
      throw new TypeError(
        `mpi.alltoallSparseRows: 'sendCounts' must be an Int32Array with one entry per rank (${this.size})`,
      );
    }
    let nRows = 0;
    for (let r = 0; r < sendCounts.length; r++) {
      if (sendCounts[r]! < 0)
        throw new RangeError(`mpi.alltoallSparseRows: sendCounts[${r}] = ${sendCounts[r]} is negative`);
      nRows += sendCounts[r]!;
    }
    this.checkSparse('alltoallSparseRows', rows, values, dim, nRows);
    const counts = this.alltoall(sendCounts, reuse?.counts.length === this.size ? reuse.counts : undefined);
    const sendIdx = packed('alltoallSparseRows', sendCounts, 1);
    const sendVal = packed('alltoallSparseRows', sendCounts, dim);
    const idx = packed('alltoallSparseRows', counts, 1);
    const val = packed('alltoallSparseRows', counts, dim);
    const out = sparseBuffers(idx.total, dim, reuse);
    this.addon.alltoallv(rows, sendCounts, sendIdx.displs, out.rows, counts, idx.displs);
    this.addon.alltoallv(values, sendVal.counts, sendVal.displs, out.values, val.counts, val.displs);
    return { rows: out.rows, values: out.values, nRows: idx.total, dim, counts, displs: idx.displs };
  }

  private checkSparse(fn: string, rows: Int32Array, values: Float32Array, dim: number, nRows: number): void {
    if (!(rows instanceof Int32Array)) throw new TypeError(`mpi.${fn}: 'rows' must be an Int32Array`);
    if (!(values instanceof Float32Array)) throw new TypeError(`mpi.${fn}: 'values' must be a Float32Array`);
    checkCount(fn, 'dim', dim);
    if (dim === 0) throw new RangeError(`mpi.${fn}: 'dim' must be positive`);
    checkCount(fn, 'nRows', nRows);
    if (nRows > rows.length)
      throw new RangeError(`mpi.${fn}: 'rows' has ${rows.length} ids, needs nRows = ${nRows}`);
    if (nRows * dim > values.length) {
      throw new RangeError(
        `mpi.${fn}: 'values' has ${values.length} elements, needs nRows × dim = ${nRows} × ${dim} = ${nRows * dim}`,
      );
    }
  }

  /**
   * Checks that every rank runs the same configuration, given a hash of it (hex, up to 64 bytes, e.g.
   * sha256 of the config JSON): all ranks' hashes are gathered (one MPI_Allgather, so every rank
   * learns the outcome) and, when any differs from rank 0's, EVERY rank throws an
   * MpiConfigMismatchError naming the first differing rank (this rank when it differs), both ranks'
   * hashes and how many ranks differ. Throwing on all ranks, not only the odd one, means no rank goes
   * on to wait in a collective the others will never join; with abortOnFatal an uncaught error
   * becomes MPI_Abort and the job ends.
   */
  checkSameConfig(hashHex: string): void {
    if (typeof hashHex !== 'string' || !/^([0-9a-fA-F]{2}){1,64}$/.test(hashHex)) {
      throw new TypeError(
        `mpi.checkSameConfig: 'hashHex' must be a hex string of 1 to 64 bytes (e.g. a sha256 digest), got ${JSON.stringify(hashHex)}`,
      );
    }
    const bytes = Buffer.from(hashHex, 'hex');
    const mine = new Int32Array(1 + HASH_WORDS);
    mine[0] = bytes.length;
    new Uint8Array(mine.buffer, 4, HASH_WORDS * 4).set(bytes);
    const all = this.allgather(mine);
    const hashes: string[] = [];
    for (let r = 0; r < this.size; r++) {
      const off = r * (1 + HASH_WORDS);
      const len = Math.min(Math.max(all[off]!, 0), HASH_WORDS * 4);
      hashes.push(Buffer.from(all.buffer, all.byteOffset + (off + 1) * 4, len).toString('hex'));
    }
    const differ = hashes.flatMap((h, r) => (h !== hashes[0] ? [r] : []));
    if (differ.length === 0) return;
    const k = differ.includes(this.rank) ? this.rank : differ[0]!;
    const others =
      differ.length > 1
        ? ` (${differ.length} ranks differ from rank 0: ${differ.slice(0, 8).join(', ')}${differ.length > 8 ? ', ...' : ''})`
        : '';
    throw new MpiConfigMismatchError(
      `mpi.checkSameConfig: rank ${k} has config hash ${hashes[k]} but rank 0 has ${hashes[0]}${others}; ` +
        'every rank must be started with the same configuration',
    );
  }

  /** @internal */
  installFatalHandlers(): void {
    const prefix = `kdrec: rank ${this.rank} of ${this.size}`;
    const onUncaught = (err: unknown, origin: string) => {
      const what = origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception';
      writeSync(
        2,
        `${prefix}: ${what}: ${describe(err)}\n${prefix}: aborting the MPI job (MPI_Abort, code 1)\n`,
      );
      this.addon.abort(1);
    };
    // process.exit() (or the event loop running dry) while MPI is initialised: the other ranks may be
    // waiting for this one in a collective. mpirun would notice the exit, but other launchers (srun)
    // may not treat an exit with code 0 without MPI_Finalize as a failure, so abort explicitly.
    const onExit = (code: number) => {
      if (this.addon.state() !== 'initialized') return;
      const c = code & 255 || 1;
      writeSync(
        2,
        `${prefix}: exiting (code ${code}) without finalize(); aborting the MPI job so that no rank waits ` +
          `for this one (MPI_Abort, code ${c})\n`,
      );
      this.addon.abort(c);
    };
    process.on('uncaughtException', onUncaught);
    process.on('exit', onExit);
    this.removeFatalHandlers = () => {
      process.off('uncaughtException', onUncaught);
      process.off('exit', onExit);
    };
  }
}

/** Output arrays for nRows rows: the reused ones when large enough, else new ones with headroom. */
function sparseBuffers(
  nRows: number,
  dim: number,
  reuse?: SparseRows,
): { rows: Int32Array; values: Float32Array } {
  if (reuse === undefined) return { rows: new Int32Array(nRows), values: new Float32Array(nRows * dim) };
  const cap =
    reuse.rows.length >= nRows ? reuse.rows.length : Math.max(nRows, Math.ceil(reuse.rows.length * 1.5));
  return {
    rows: cap === reuse.rows.length ? reuse.rows : new Int32Array(cap),
    values: reuse.values.length >= cap * dim ? reuse.values : new Float32Array(cap * dim),
  };
}

let world: Mpi | null = null;

/**
 * Initialises MPI (MPI_Init_thread, MPI_THREAD_FUNNELED) and returns MPI_COMM_WORLD. Once per
 * process, from the main thread; later calls return the same object (their options are ignored).
 * Throws when the addon is unavailable (with the reason), when no launcher is detected (unless
 * allowSingleton), from a worker thread, or after finalize (MPI cannot be initialised twice).
 */
export function initMpi(options: MpiInitOptions = {}): Mpi {
  if (world !== null) {
    if (world.finalized)
      throw new Error('initMpi: MPI was finalised in this process and cannot be initialised again');
    return world;
  }
  if (!isMainThread) {
    throw new Error('initMpi: MPI must be initialised and used from the main thread (MPI_THREAD_FUNNELED)');
  }
  const a = loadAddon();
  if (a === null) throw new Error(`initMpi: MPI is not available: ${addonError}`);
  if (mpiLaunch() === null && options.allowSingleton !== true) {
    throw new Error(
      'initMpi: this process was not started by an MPI launcher (no OMPI_COMM_WORLD_RANK, PMIX_RANK or ' +
        'PMI_RANK in the environment); run it under `mpirun -np N ...`, or pass allowSingleton: true',
    );
  }
  const timeout = options.timeoutSeconds ?? mpiTimeoutFromEnv();
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new RangeError(
      `initMpi: 'timeoutSeconds' must be a number of seconds >= 0 (0 = off), got ${timeout}`,
    );
  }
  const w = new Mpi(a, a.init());
  if (timeout > 0) w.setTimeout(timeout);
  if (options.abortOnFatal !== false) w.installFatalHandlers();
  world = w;
  return w;
}

/**
 * One rank of the MPI tests (test/engine/mpi.test.ts starts it as
 * `mpirun -np 2 node dist/test/engine/mpiWorker.js <scenario>`). Each rank checks its own results and
 * prints "rank R: ok ..." at the end; a failed check is an uncaught AssertionError, which the
 * abortOnFatal handler turns into MPI_Abort, so the parent sees a non-zero exit and the message.
 *
 * Scenarios: collectives (results on f32/i32/f64, helpers, argument validation), mismatch (rank 1
 * has another config hash), exit3 / sigkill / throw / reject (rank 1 dies before a collective the
 * others are in), timeout (rank 1 arrives late; rank 0's watchdog, 1 s, must end the job).
 *
 * `node --test dist/test/` also runs every .js file under a `test` folder, this one included, with no
 * arguments and no launcher: it then does nothing.
 */
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { mpiArtifactPath } from '../../src/engine/kernels/artifacts.js';
import { initMpi, type Mpi, MpiConfigMismatchError, mpiLaunch } from '../../src/engine/mpi.js';

const scenario = process.argv[2];

/** Sleeps without returning to the event loop (a rank busy elsewhere, not in MPI). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function collectives(mpi: Mpi): number {
  const { rank, size } = mpi;
  let checks = 0;
  const tri = (size * (size + 1)) / 2;

  // allreduce, in place, f32 sum: rank r contributes (r + 1)·i/2 (exact in float32).
  const f = new Float32Array(1000).map((_, i) => ((rank + 1) * i) / 2);
  assert.equal(mpi.allreduce(f), f);
  for (let i = 0; i < f.length; i++) assert.equal(f[i], (tri * i) / 2, `allreduce f32 sum [${i}]`);
  checks++;

  // i32 max / min, in place.
  const mx = new Int32Array(17).map((_, i) => rank * 10 - i);
  mpi.allreduce(mx, 'max');
  assert.deepEqual(
    Array.from(mx),
    Array.from({ length: 17 }, (_, i) => (size - 1) * 10 - i),
  );
  const mn = new Int32Array(17).map((_, i) => rank * 10 - i);
  mpi.allreduce(mn, 'min');
  assert.deepEqual(
    Array.from(mn),
    Array.from({ length: 17 }, (_, i) => 0 - i),
  );
  checks += 2;

  // f64 into a separate output; the input is left alone.
  const d = Float64Array.of(rank + 0.25, -rank);
  const dOut = new Float64Array(2);
  assert.equal(mpi.allreduce(d, 'sum', dOut), dOut);
  assert.deepEqual(Array.from(dOut), [tri - size + 0.25 * size, -(tri - size)]);
  assert.deepEqual(Array.from(d), [rank + 0.25, -rank]);
  checks++;

  // 1M floats (the size of a dense layer's gradients): every element reduced.
  const big = new Float32Array(1 << 20).fill(rank + 1);
  mpi.allreduce(big);
  assert.ok(
    big.every((v) => v === tri),
    'allreduce 1M floats',
  );
  checks++;

  // allgather: one block per rank in rank order.
  const g = mpi.allgather(Int32Array.of(rank, rank * 2));
  assert.deepEqual(Array.from(g), Array.from({ length: size }, (_, r) => [r, r * 2]).flat());
  checks++;

  // allgatherv, f32, rank r sends r + 1 values r·100 + j; explicit displacements place the blocks in
  // reverse rank order with a one-element gap in front of each, so a layout bug shows.
  const counts = Int32Array.from({ length: size }, (_, r) => r + 1);
  const displs = new Int32Array(size);
  let at = 0;
  for (let r = size - 1; r >= 0; r--) {
    displs[r] = at + 1;
    at += counts[r]! + 1;
  }
  const recv = new Float32Array(at).fill(-1);
  const mine = Float32Array.from({ length: rank + 1 }, (_, j) => rank * 100 + j);
  mpi.allgatherv(mine, recv, counts, displs);
  const expected = new Float32Array(at).fill(-1);
  for (let r = 0; r < size; r++) for (let j = 0; j <= r; j++) expected[displs[r]! + j] = r * 100 + j;
  assert.deepEqual(Array.from(recv), Array.from(expected), 'allgatherv f32 with displacements');
  checks++;

  // allgatherv, i32, packed (default displacements).
  const packedRecv = new Int32Array(tri);
  mpi.allgatherv(
    Int32Array.from({ length: rank + 1 }, () => rank),
    packedRecv,
    counts,
  );
  assert.deepEqual(
    Array.from(packedRecv),
    Array.from({ length: size }, (_, r) => Array(r + 1).fill(r)).flat(),
  );
  checks++;

  // alltoallv, i32: rank r sends r + s + 1 values r·1000 + s·10 + j to rank s.
  const sc = Int32Array.from({ length: size }, (_, s) => rank + s + 1);
  const send = Int32Array.from(
    Array.from({ length: size }, (_, s) =>
      Array.from({ length: sc[s]! }, (_, j) => rank * 1000 + s * 10 + j),
    ).flat(),
  );
  const rc = Int32Array.from({ length: size }, (_, s) => s + rank + 1);
  const a2aRecv = new Int32Array(rc.reduce((x, y) => x + y, 0));
  mpi.alltoallv(send, sc, a2aRecv, rc);
  assert.deepEqual(
    Array.from(a2aRecv),
    Array.from({ length: size }, (_, s) =>
      Array.from({ length: rc[s]! }, (_, j) => s * 1000 + rank * 10 + j),
    ).flat(),
    'alltoallv i32',
  );
  checks++;

  // alltoallv, f32, explicit receive displacements (reverse order).
  const one = Float32Array.from({ length: size }, (_, s) => rank + s / 10);
  const ones = new Int32Array(size).fill(1);
  const rev = Int32Array.from({ length: size }, (_, s) => size - 1 - s);
  const a2aF = new Float32Array(size);
  mpi.alltoallv(one, ones, a2aF, ones, { recv: rev });
  assert.deepEqual(
    Array.from(a2aF),
    Array.from({ length: size }, (_, k) => Math.fround(size - 1 - k + rank / 10)),
  );
  checks++;

  // bcast from the last rank, f32 and i32.
  const bf = new Float32Array(5).fill(rank === size - 1 ? 2.5 : -7);
  mpi.bcast(bf, size - 1);
  assert.deepEqual(Array.from(bf), [2.5, 2.5, 2.5, 2.5, 2.5]);
  const bi = rank === 0 ? Int32Array.of(4, -5, 6) : new Int32Array(3);
  mpi.bcast(bi);
  assert.deepEqual(Array.from(bi), [4, -5, 6]);
  checks += 2;

  mpi.barrier();

  // Helpers: counts exchanged first.
  const v = mpi.allgathervWithCounts(Float32Array.from({ length: rank * 2 }, (_, j) => rank + j));
  assert.deepEqual(
    Array.from(v.counts),
    Array.from({ length: size }, (_, r) => r * 2),
  );
  assert.deepEqual(
    Array.from(v.data),
    Array.from({ length: size }, (_, r) => Array.from({ length: r * 2 }, (_, j) => r + j)).flat(),
  );
  const sendCounts = Int32Array.from({ length: size }, (_, s) => (rank + s) % 3);
  const w = mpi.alltoallvWithCounts(
    Int32Array.from(Array.from({ length: size }, (_, s) => Array(sendCounts[s]!).fill(rank * 10 + s)).flat()),
    sendCounts,
  );
  assert.deepEqual(
    Array.from(w.counts),
    Array.from({ length: size }, (_, s) => (s + rank) % 3),
  );
  assert.deepEqual(
    Array.from(w.data),
    Array.from({ length: size }, (_, s) => Array((s + rank) % 3).fill(s * 10 + rank)).flat(),
  );
  checks += 2;

  // Sparse rows, dim 3: rank r has r + 1 rows (ids r·10 + i) in arrays longer than nRows, as an
  // embedding table's sparse gradient hands them out.
  const dim = 3;
  const n = rank + 1;
  const ids = new Int32Array(n + 4).fill(-99);
  const vals = new Float32Array((n + 4) * dim).fill(-99);
  for (let i = 0; i < n; i++) {
    ids[i] = rank * 10 + i;
    for (let k = 0; k < dim; k++) vals[i * dim + k] = rank * 10 + i + k / 4;
  }
  const all = mpi.allgatherSparseRows(ids, vals, dim, n);
  assert.equal(all.nRows, tri);
  assert.deepEqual(Array.from(all.counts), Array.from(counts));
  const wantIds = Array.from({ length: size }, (_, r) =>
    Array.from({ length: r + 1 }, (_, i) => r * 10 + i),
  ).flat();
  assert.deepEqual(Array.from(all.rows.subarray(0, all.nRows)), wantIds);
  assert.deepEqual(
    Array.from(all.values.subarray(0, all.nRows * dim)),
    wantIds.flatMap((id) => [id, id + 0.25, id + 0.5]),
  );
  // Reused: same arrays when they are large enough.
  const again = mpi.allgatherSparseRows(ids, vals, dim, n, all);
  assert.equal(again.rows, all.rows);
  assert.equal(again.values, all.values);
  checks += 2;

  // alltoall of sparse rows: rank r sends row id r·10 + s (one row) to each rank s, and one extra
  // row to rank 0.
  const toCounts = Int32Array.from({ length: size }, (_, s) => (s === 0 ? 2 : 1));
  const toIds = Int32Array.from(
    Array.from({ length: size }, (_, s) => (s === 0 ? [rank * 10, 99] : [rank * 10 + s])).flat(),
  );
  const toVals = new Float32Array(toIds.length * dim).map((_, e) => toIds[Math.floor(e / dim)]! + (e % dim));
  const got = mpi.alltoallSparseRows(toIds, toVals, dim, toCounts);
  const wantGot = Array.from({ length: size }, (_, s) =>
    rank === 0 ? [s * 10, 99] : [s * 10 + rank],
  ).flat();
  assert.deepEqual(Array.from(got.rows.subarray(0, got.nRows)), wantGot);
  assert.deepEqual(
    Array.from(got.values.subarray(0, got.nRows * dim)),
    wantGot.flatMap((id) => [id, id + 1, id + 2]),
  );
  checks++;

  mpi.checkSameConfig('ab'.repeat(32));
  checks++;
  return checks;
}

/** Every bad argument throws before MPI is called, so the ranks stay in step. */
function validation(mpi: Mpi): number {
  const { size } = mpi;
  const f4 = new Float32Array(4);
  const cases: Array<[() => unknown, RegExp]> = [
    [
      () => mpi.allreduce(new Uint8Array(4) as unknown as Float32Array),
      /mpi\.allreduce: argument 'buf' must be a Float32Array, Int32Array or Float64Array/,
    ],
    [() => mpi.allreduce(f4, 'prod' as 'sum'), /mpi\.allreduce: argument 'op' must be 'sum', 'max' or 'min'/],
    [
      () => mpi.allreduce(f4, 'sum', new Float32Array(3)),
      /mpi\.allreduce: 'out' has 3 elements, 'buf' has 4/,
    ],
    [
      () => mpi.allreduce(f4, 'sum', new Int32Array(4) as unknown as Float32Array),
      /mpi\.allreduce: 'buf' is a Float32Array but 'out' is a Int32Array/,
    ],
    [
      () => {
        const shared = new Float32Array(8);
        mpi.allreduce(shared.subarray(0, 4), 'sum', shared.subarray(2, 6));
      },
      /mpi\.allreduce: 'buf' and 'out' share memory/,
    ],
    [
      () => mpi.allgather(f4, new Float32Array(4 * size + 1)),
      /mpi\.allgather: 'recv' has \d+ elements, must have size × send\.length/,
    ],
    [
      () => mpi.allgatherv(f4, new Float32Array(20), new Int32Array(size + 1)),
      new RegExp(
        `mpi\\.allgatherv: 'recvCounts' has ${size + 1} entries, must have one per rank \\(${size}\\)`,
      ),
    ],
    [
      () => mpi.allgatherv(f4, new Float32Array(20), new Float32Array(size) as unknown as Int32Array),
      /mpi\.allgatherv: argument 'recvCounts' must be an Int32Array/,
    ],
    [
      () => mpi.allgatherv(f4, new Float32Array(20), new Int32Array(size).fill(-1)),
      /mpi\.allgatherv: recvCounts\[0\] = -1 is negative/,
    ],
    [
      () => mpi.allgatherv(f4, new Float32Array(4 * size - 1), new Int32Array(size).fill(4)),
      /mpi\.allgatherv: block of rank \d+ .* past the end of 'recv'/,
    ],
    [
      () =>
        mpi.allgatherv(
          f4,
          new Float32Array(100),
          new Int32Array(size).fill(4),
          Int32Array.from({ length: size }, (_, r) => r * 2),
        ),
      /mpi\.allgatherv: the blocks of ranks \d+ and \d+ overlap in 'recv'/,
    ],
    [
      () => mpi.allgatherv(f4, new Float32Array(100), new Int32Array(size).fill(3)),
      /mpi\.allgatherv: 'send' has 4 elements but recvCounts\[\d+\] \(this rank\) = 3/,
    ],
    [
      () =>
        mpi.alltoallv(f4, new Int32Array(size).fill(1), new Float32Array(100), new Int32Array(size).fill(2)),
      /mpi\.alltoallv: sendCounts\[\d+\] = 1 but recvCounts\[\d+\] = 2 \(this rank sends to itself\)/,
    ],
    [
      () =>
        mpi.alltoallv(f4, new Int32Array(size).fill(1), new Float32Array(size), new Int32Array(size).fill(2)),
      /mpi\.alltoallv: block of rank \d+ .* past the end of 'recv'/,
    ],
    [
      () =>
        mpi.alltoallv(f4, new Int32Array(size).fill(5), new Float32Array(100), new Int32Array(size).fill(5)),
      /mpi\.alltoallv: block of rank \d+ .* past the end of 'send'/,
    ],
    [
      () => mpi.alltoall(new Int32Array(size + 1)),
      /mpi\.alltoall: 'send' \(\d+ elements\) and 'recv' \(\d+\) must have the same length, a multiple of size/,
    ],
    [() => mpi.bcast(f4, size), new RegExp(`mpi\\.bcast: 'root' = ${size} is outside \\[0, ${size - 1}\\]`)],
    [() => mpi.bcast(f4, 0.5), /mpi\.bcast: argument 'root' must be an integer/],
    [() => mpi.checkSameConfig('xyz'), /mpi\.checkSameConfig: 'hashHex' must be a hex string/],
    [
      () => mpi.allgatherSparseRows(new Int32Array(2), new Float32Array(5), 3),
      /mpi\.allgatherSparseRows: 'values' has 5 elements, needs nRows × dim = 2 × 3 = 6/,
    ],
    [
      () => mpi.allgatherSparseRows(new Int32Array(2), new Float32Array(6), 3, 3),
      /mpi\.allgatherSparseRows: 'rows' has 2 ids, needs nRows = 3/,
    ],
    [
      () => mpi.alltoallSparseRows(new Int32Array(2), new Float32Array(6), 3, new Int32Array(size + 1)),
      /mpi\.alltoallSparseRows: 'sendCounts' must be an Int32Array with one entry per rank/,
    ],
  ];
  for (const [fn, re] of cases) assert.throws(fn, re);
  return cases.length;
}

/**
 * kdrec's WebAssembly kernels rely on V8's out-of-bounds trap, a SIGSEGV handler. Open MPI installs
 * SIGSEGV handlers of its own in MPI_Init (opal_signal); it must leave V8's in place, or an
 * out-of-bounds wasm access would crash the rank instead of throwing a RuntimeError.
 */
async function wasmTrapSurvivesMpiInit(): Promise<void> {
  // (module (memory 1) (func (export "load") (param i32) (result i32) local.get 0 i32.load))
  const bytes = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 8, 1, 4, 108, 111,
    97, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 40, 2, 0, 11,
  ]);
  const { instance } = await WebAssembly.instantiate(bytes);
  const load = instance.exports['load'] as (at: number) => number;
  assert.equal(load(0), 0);
  assert.throws(() => load(1 << 30), WebAssembly.RuntimeError);
}

/** The addon refuses MPI calls from a thread other than the one that initialised MPI (FUNNELED). */
async function otherThread(): Promise<void> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const m = require(${JSON.stringify(mpiArtifactPath())});
    try { m.barrier(); parentPort.postMessage('no error'); } catch (e) { parentPort.postMessage(e.message); }`;
  const msg = await new Promise<string>((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.match(msg, /mpi\.barrier: called from a thread other than the one that initialised MPI/);
}

async function main(): Promise<void> {
  if (scenario === undefined || mpiLaunch() === null) {
    console.log('mpiWorker: not started by mpirun; nothing to do (test/engine/mpi.test.ts starts it)');
    return;
  }
  const mpi = initMpi({ timeoutSeconds: scenario === 'timeout' ? 1 : 0 });
  const { rank, size } = mpi;
  const buf = new Float32Array(8).fill(1);
  switch (scenario) {
    case 'collectives': {
      const checks = collectives(mpi);
      const invalid = validation(mpi);
      await otherThread();
      await wasmTrapSurvivesMpiInit();
      mpi.barrier();
      console.log(
        `rank ${rank}: ok, ${checks} collective checks, ${invalid} argument errors (size ${size}, ${mpi.threadLevel})`,
      );
      break;
    }
    case 'mismatch':
      try {
        mpi.checkSameConfig(rank === 1 ? 'cd'.repeat(32) : 'ab'.repeat(32));
      } catch (err) {
        // Every rank learns of the mismatch, not only rank 1; rethrown uncaught → MPI_Abort.
        assert.ok(err instanceof MpiConfigMismatchError);
        throw err;
      }
      console.log(`rank ${rank}: checkSameConfig passed although rank 1's hash differs`);
      break;
    case 'exit3':
    case 'sigkill':
    case 'throw':
    case 'reject':
      if (rank === 1) {
        if (scenario === 'exit3') process.exit(3);
        if (scenario === 'sigkill') process.kill(process.pid, 'SIGKILL');
        // 'throw': an exception outside any promise (from a timer); 'reject': main()'s promise rejects.
        if (scenario === 'throw') {
          setTimeout(() => {
            throw new Error('rank 1 failed before the allreduce');
          }, 0);
          return;
        }
        throw new Error('rank 1 failed before the allreduce');
      }
      mpi.allreduce(buf); // the others wait here for rank 1
      console.log(`rank ${rank}: allreduce returned although rank 1 is gone`);
      break;
    case 'timeout':
      if (rank === 1) sleepMs(8000); // alive, but not in the collective: only the watchdog helps
      mpi.barrier();
      console.log(`rank ${rank}: barrier returned`);
      break;
    default:
      throw new Error(`mpiWorker: unknown scenario '${scenario}'`);
  }
  mpi.finalize();
}

await main();

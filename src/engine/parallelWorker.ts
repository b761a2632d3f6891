/**
 * A data-parallel worker (rank ≥ 1) for parallel.ts: builds the model from its factory, adopts
 * rank 0's shared parameter memory, then loops: wait for the start signal, run its rank of the step
 * (forward + backward on its shard, publish, reduce and update the part of the parameters it owns;
 * see parallel.ts for the protocol), and wait for the next one.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import {
  adoptSharedParams,
  type ColumnBatch,
  columnViews,
  FAILED_DEAD,
  failedAt,
  isShutdown,
  loadFactory,
  Rank,
  type RankInit,
  SHUTDOWN,
  ShutdownSignal,
  shardRowsAt,
  waitForStart,
} from './parallel.js';

const { init, errors } = workerData as { init: RankInit; errors: MessagePort };
const ctrl = new Int32Array(init.ctrl);
let rank: Rank | null = null;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
  const factory = await loadFactory(init.factory);
  const model = factory(init.factory.config);
  adoptSharedParams(model, init);
  // A failed step is posted before this rank reaches the next barrier; rank 0 reads it after the last.
  rank = new Rank(init, model, (err) => errors.postMessage({ error: message(err) }));
  const cols = columnViews(init.cols!, init.columns);
  parentPort!.postMessage({ ready: true });

  let seen = 0;
  for (;;) {
    const seq = waitForStart(ctrl, seen);
    if (seq === SHUTDOWN) return;
    seen = seq;
    const rows = Atomics.load(ctrl, shardRowsAt(init.rank));
    const batch: ColumnBatch = { rows, cols: {} };
    for (const [name, spec] of Object.entries(init.columns))
      batch.cols[name] = cols[name]!.subarray(0, rows * spec.width);
    try {
      rank.runStep(seq, batch, Number.POSITIVE_INFINITY);
    } catch (err) {
      if (err instanceof ShutdownSignal) return;
      throw err;
    }
  }
}

// Anything escaping the step loop still reaches rank 0, which would otherwise wait at a barrier for
// a worker that never arrives: flag the worker as dead and arrive at the barriers it has not passed.
let reported = false;
function reportFatal(err: unknown): void {
  if (reported) return;
  reported = true;
  errors.postMessage({ error: message(err) });
  Atomics.store(ctrl, failedAt(init.rank), FAILED_DEAD);
  rank?.abandon();
}
process.on('uncaughtException', reportFatal);
// A thread that ends without an exception (process.exit() in model code, say) must not leave rank 0
// at a barrier until its timeout either; at shutdown the exit is expected.
process.on('exit', (code) => {
  if (!isShutdown(ctrl)) reportFatal(new Error(`worker thread exited (code ${code})`));
});

main().catch((err: unknown) => {
  reportFatal(err);
  parentPort!.postMessage({ ready: false, error: message(err) });
});

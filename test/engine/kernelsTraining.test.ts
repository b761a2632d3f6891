/**
 * Training equivalence across kernel providers (issue 8, "Equivalence"): the same seeded dssm-ref
 * model trained for 50 steps with every provider that loads gives the same losses as the TypeScript
 * provider to 1e-4 relative, and one forward/backward gives the same gradient for every parameter
 * and embedding table. Providers that are not built here are skipped with the reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import {
  getKernels,
  loadProvider,
  type ProviderName,
  providerLoadError,
  setKernels,
} from '../../src/engine/kernels/index.js';
import { jsKernels } from '../../src/engine/kernels/js.js';
import type { Kernels } from '../../src/engine/kernels/types.js';
import type { ParamStore } from '../../src/engine/nn.js';
import { Adam, SparseAdam } from '../../src/engine/optim.js';
import { ParallelTrainer } from '../../src/engine/parallel.js';
import { Rng } from '../../src/engine/rng.js';
import {
  DSSM_REF_TINY,
  DssmRef,
  type DssmRefConfig,
  dssmRefColumns,
  dssmRefFactory,
  randomDssmBatches,
} from '../../src/models/dssmRef.js';

// Tiny vocabularies and widths so 50 steps run in well under a second, but a batch large enough
// (128 rows) that every sgemm shape has ragged and full register tiles.
const CFG: DssmRefConfig = { ...DSSM_REF_TINY, tower: [24, 12, 8], seed: 7 };
const ROWS = 128;
const STEPS = 50;

/** Runs `fn` with `k` as the active provider (optimisers read getKernels() at each step). */
async function withKernels<T>(k: Kernels, fn: () => Promise<T> | T): Promise<T> {
  const before = getKernels();
  setKernels(k);
  try {
    return await fn();
  } finally {
    setKernels(before);
  }
}

async function trainLosses(k: Kernels): Promise<number[]> {
  return withKernels(k, async () => {
    const batches = randomDssmBatches(CFG, ROWS, 10, new Rng(3));
    const trainer = await ParallelTrainer.create({
      factory: dssmRefFactory(CFG),
      threads: 1,
      columns: dssmRefColumns(CFG),
      maxRows: ROWS,
      seed: 11,
      makeOptimizers: (store: ParamStore) => ({
        dense: new Adam(store.params(), { lr: 1e-2 }),
        sparse: new SparseAdam(store.tables(), { lr: 1e-2 }),
      }),
    });
    try {
      const losses: number[] = [];
      for (let s = 0; s < STEPS; s++) losses.push(trainer.step(batches[s % batches.length]!));
      return losses;
    } finally {
      await trainer.close();
    }
  });
}

/** Dense gradients by parameter name and compact table gradients (row → values) after one backward. */
function oneBackward(k: Kernels): Map<string, Float32Array> {
  const model = new DssmRef(CFG);
  const batch = randomDssmBatches(CFG, ROWS, 1, new Rng(5))[0]!;
  const g = new Graph({ training: true, kernels: k });
  g.backward(model.loss(g, batch));
  const out = new Map<string, Float32Array>();
  for (const p of model.store.params()) out.set(p.name, (p.grad ?? new Float32Array(p.size)).slice());
  for (const t of model.store.tables()) {
    const { rows, nRows, grad } = t.sparseGrad();
    const d = t.weight.shape[1]!;
    const dense = new Float32Array(t.weight.size);
    for (let r = 0; r < nRows; r++) dense.set(grad.subarray(r * d, (r + 1) * d), rows[r]! * d);
    out.set(t.name, dense);
  }
  return out;
}

for (const name of ['wasm', 'native'] as ProviderName[]) {
  const k = loadProvider(name);
  const skip = k === null ? `${name} provider not available here: ${providerLoadError(name)}` : false;

  test(`${name}: 50 seeded dssm-ref training steps give the js provider's losses to 1e-4 relative`, {
    skip,
  }, async () => {
    const want = await trainLosses(jsKernels);
    const got = await trainLosses(k!);
    assert.equal(got.length, STEPS);
    assert.ok(
      want[STEPS - 1]! < want[0]!,
      `the loss should fall over ${STEPS} steps: ${want[0]} → ${want[STEPS - 1]}`,
    );
    for (let s = 0; s < STEPS; s++) {
      const rel = Math.abs(got[s]! - want[s]!) / Math.abs(want[s]!);
      assert.ok(
        rel <= 1e-4,
        `step ${s}: ${name} loss ${got[s]} vs js ${want[s]} (relative difference ${rel})`,
      );
    }
  });

  test(`${name}: one backward pass gives the js provider's gradient for every parameter and table`, {
    skip,
  }, () => {
    const want = oneBackward(jsKernels);
    const got = oneBackward(k!);
    assert.deepEqual([...got.keys()], [...want.keys()]);
    for (const [param, w] of want) {
      const gv = got.get(param)!;
      let maxAbs = 0;
      for (const x of w) maxAbs = Math.max(maxAbs, Math.abs(x));
      for (let i = 0; i < w.length; i++) {
        // Relative to the tensor's largest gradient: sgemm summation order differs (see kernelsProviders.test.ts).
        const err = Math.abs(gv[i]! - w[i]!);
        if (err > 1e-5 * maxAbs + 1e-12)
          assert.fail(`${name} ${param}[${i}]: ${gv[i]} vs js ${w[i]} (max |g| ${maxAbs})`);
      }
    }
  });
}

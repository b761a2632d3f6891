/**
 * Row-sharded embedding tables (`sharding: row`, src/engine/rowShard.ts) in `mpirun -np 2 kdrec
 * train`, through the compiled CLI, against the replicated mode on the same data:
 * - the parameters (and the optimiser state) agree within 1e-5 per-tensor relative L2 — in fact
 *   bit for bit: each row's gradient is summed in rank order at its owner as the replicated mode
 *   sums the gathered rows, and the owner's sparse optimiser does the same arithmetic on it;
 * - also with Adam and gradient clipping, and in joint mode (teacher and student share tables,
 *   rank 0 validates mid-run on the assembled tables: the same AUCs);
 * - each rank stores about half the rows of the sharded tables (final.json), and the sparse
 *   gradients travel to the owners instead of being allgathered;
 * - a per-table record shards only the tables it names; an unknown name is refused, naming it;
 * - a killed job resumed from its checkpoint continues to the uninterrupted run's parameters;
 * - a single process ignores `sharding` and says so.
 * The data gives rank 1 the smaller shard, so it gets empty batches (about 20 of the 50 steps) and
 * then only serves rank 0's lookups. ~15 s. Skipped, with the reason, where mpirun or the MPI addon
 * is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { prepareDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { rowShardedTables } from '../../src/train/distributed.js';
import { checkpointParamDiff } from '../../src/train/parity.js';
import { tempDir } from '../data/fixtures.js';
import { mpirunContexts, mpiSkipReason, rankEnv } from '../engine/mpiHarness.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const HANG_MS = 60_000;

const skip = mpiSkipReason();

let dir = '';
let prep = '';

before(async () => {
  if (skip !== null) return;
  dir = tempDir('row-sharding');
  // ~40 steps an epoch at 240 rows: 50 steps cross an epoch end.
  await simulate({ out: join(dir, 'sim'), users: 300, items: 500, days: 2, seed: 5, requestsPerUserDay: 2 });
  prep = join(dir, 'prep');
  await prepareDataset(`sim:${join(dir, 'sim')}`, { out: prep, rowGroupRows: 2048, partRows: 3000 });
});

/** A config file; Adagrad as in mpiTrain.test.ts (Adam would amplify any reassociation). */
function config(
  name: string,
  sharding: string,
  optimizer = '{ dense: adagrad, sparse: sparse_adagrad, lr: 0.01 }',
): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    [
      `name: ${name}`,
      'seed: 3',
      `dataset: { spec: 'prepared:${prep}', shuffleBuffer: 4096, maxValidRows: 2000 }`,
      'mode: student',
      'student: { type: two-tower, embeddingDim: 8, userHidden: [32, 16], itemHidden: [32, 16] }',
      `optimizer: ${optimizer}`,
      'batchSize: 240',
      'steps: 50',
      'evalEvery: 0',
      'checkpointEvery: 25',
      `sharding: ${sharding}`,
    ].join('\n'),
  );
  return path;
}

const mpirun = (contexts: { np: number; argv: string[] }[]) => mpirunContexts(contexts, HANG_MS);

const train = (cfg: string, ...flags: string[]) => [
  process.execPath,
  CLI,
  'train',
  '--config',
  cfg,
  '--quiet',
  ...flags,
];
const ckpt = (run: string, step: number) =>
  join(run, 'checkpoints', `step-${String(step).padStart(9, '0')}.safetensors`);
const finalOf = (run: string) => JSON.parse(readFileSync(join(run, 'final.json'), 'utf8'));

/** Largest |a − b| over the optimiser state tensors of two checkpoints. */
function optStateDiff(a: string, b: string): number {
  const A = readSafetensors(a).tensors;
  const B = readSafetensors(b).tensors;
  let worst = 0;
  let n = 0;
  for (const [name, t] of Object.entries(A)) {
    if (!name.startsWith('opt/') || !(t.data instanceof Float32Array)) continue;
    const u = B[name];
    assert.ok(u !== undefined && u.data.length === t.data.length, `${b}: no matching '${name}'`);
    for (let i = 0; i < t.data.length; i++)
      worst = Math.max(worst, Math.abs(t.data[i]! - (u.data[i] as number)));
    n++;
  }
  assert.ok(n > 0, 'no optimiser state in the checkpoint');
  return worst;
}

test('sharding selects the trainable tables; a record must name existing, trainable tables', () => {
  const item = new EmbeddingTable('emb.item_id', 10, 2);
  const user = new EmbeddingTable('emb.user_id', 10, 2);
  const frozen = new EmbeddingTable('teacher.emb.item_id', 10, 2);
  frozen.trainable = false;
  const all = [item, user, frozen];
  assert.deepEqual(rowShardedTables(all, 'replicated'), []);
  assert.deepEqual(rowShardedTables(all, 'row'), [item, user]);
  assert.deepEqual(rowShardedTables(all, { 'emb.user_id': 'row', 'emb.item_id': 'replicated' }), [user]);
  assert.throws(
    () => rowShardedTables(all, { 'emb.itemid': 'row' }),
    /no trainable embedding table named 'emb\.itemid' \(the tables are: emb\.item_id, emb\.user_id, teacher\.emb\.item_id\)/,
  );
  assert.throws(() => rowShardedTables(all, { 'teacher.emb.item_id': 'row' }), /is frozen/);
});

const runs: Record<string, string> = {};
const trace = () => join(dir, 'rank1.txt');

/** The 2-rank run of `mode` (run once, shared by the tests); rank 1 traces its batches. */
function job(mode: 'replicated' | 'row'): string {
  const have = runs[mode];
  if (have !== undefined) return have;
  const run = join(dir, mode);
  const argv = train(config(mode, mode), '--run-dir', run);
  const r = mpirun([
    { np: 1, argv },
    { np: 1, argv: mode === 'row' ? ['env', `KDREC_TRACE_SAMPLES=${trace()}`, ...argv] : argv },
  ]);
  assert.equal(r.code, 0, r.out);
  runs[mode] = run;
  return run;
}

test('row-sharded tables train to the replicated parameters; each rank stores half the rows', (t) => {
  if (skip !== null) return t.skip(skip);
  job('replicated');
  job('row');
  // Rank 1's shard is the smaller one: it had empty batches (and served rank 0's lookups then).
  const empty = readFileSync(trace(), 'utf8')
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim())).length;
  t.diagnostic(`rank 1 had ${empty} empty batches of 50`);
  assert.ok(empty > 0, 'the data should give rank 1 empty batches');
  for (const step of [25, 50]) {
    const d = checkpointParamDiff(ckpt(job('replicated'), step), ckpt(job('row'), step));
    t.diagnostic(
      `step ${step}: max relative L2 ${d.maxRelL2} (${d.maxRelL2Tensor}), max-abs relative ${d.maxRelInf} (${d.maxRelInfTensor})`,
    );
    assert.ok(d.tensors > 5);
    assert.ok(d.maxRelL2 <= 1e-5, `step ${step}: ${JSON.stringify(d)}`);
    // The same sums in the same order: equal, not only close.
    assert.equal(d.maxRelInf, 0, `step ${step}: ${JSON.stringify(d)}`);
    assert.equal(optStateDiff(ckpt(job('replicated'), step), ckpt(job('row'), step)), 0);
  }
  const tables = Object.entries(readSafetensors(ckpt(job('row'), 50)).tensors).filter(([n]) =>
    n.startsWith('table/'),
  );
  const rows = tables.reduce((s, [, x]) => s + x.shape[0]!, 0);
  const row = finalOf(job('row')).distributed;
  const rep = finalOf(job('replicated')).distributed;
  t.diagnostic(`bytes/step replicated ${JSON.stringify(rep)}; row ${JSON.stringify(row)}`);
  assert.equal(row.rowShardedTables, tables.length);
  assert.equal(row.rowShardedRows, rows);
  // ⌈vocab / 2⌉ per table on rank 0, ⌊vocab / 2⌋ on rank 1.
  const half = tables.reduce((s, [, x]) => s + Math.ceil(x.shape[0]! / 2), 0);
  assert.equal(row.ownedRowsRank0, half);
  assert.equal(row.ownedRowsMax, half);
  assert.ok(half <= rows / 2 + tables.length);
  // Only rank 0 keeps the full tables; the others hold their rows and a step's lookups.
  assert.equal(row.fullTableRanks, 1);
  assert.ok(row.lookupCacheRowsMax > 0 && row.lookupCacheRowsMax < rows, JSON.stringify(row));
  // Sparse gradients go to the owners; nothing is allgathered; the dense exchange is unchanged.
  assert.equal(row.sparseBytesPerStep, 0);
  assert.ok(row.rowIdsBytesPerStep > 0 && row.rowRowsBytesPerStep > 0 && row.rowGradBytesPerStep > 0);
  assert.equal(rep.rowGradBytesPerStep, 0);
  assert.ok(rep.sparseBytesPerStep > 0);
  assert.equal(row.denseBytesPerStep, rep.denseBytesPerStep);
  assert.ok(row.syncBytes > 0, 'the tables were assembled on rank 0 for the checkpoints');
});

test('with Adam and gradient clipping, row sharding still trains to the replicated parameters', (t) => {
  if (skip !== null) return t.skip(skip);
  // clipNorm far below the gradient norm: every step is clipped, with the norm of the owners'
  // rows combined over the ranks (one allreduce).
  const adam = '{ dense: adam, sparse: sparse_adam, lr: 0.003, clipNorm: 0.05 }';
  const run = (mode: string) => {
    const dirOf = join(dir, `adam-${mode}`);
    const r = mpirun([{ np: 2, argv: train(config(`adam-${mode}`, mode, adam), '--run-dir', dirOf) }]);
    assert.equal(r.code, 0, r.out);
    return dirOf;
  };
  const rep = run('replicated');
  const row = run('row');
  const d = checkpointParamDiff(ckpt(rep, 50), ckpt(row, 50));
  t.diagnostic(`Adam: max relative L2 ${d.maxRelL2}, max-abs relative ${d.maxRelInf}`);
  // The squared norm is summed in another order (f64), which may move the clip factor by an ulp.
  assert.ok(d.maxRelL2 <= 1e-5, JSON.stringify(d));
});

test('joint mode (teacher and student look up the same tables), validating mid-run: row equals replicated', (t) => {
  if (skip !== null) return t.skip(skip);
  const run = (mode: string) => {
    const path = join(dir, `joint-${mode}.yaml`);
    writeFileSync(
      path,
      [
        'name: joint',
        'seed: 1',
        `dataset: { spec: 'prepared:${prep}', shuffleBuffer: 4096, maxValidRows: 2000 }`,
        'mode: joint',
        'teacher: { type: ranking-dnn, embeddingDim: 8, hidden: [32, 16] }',
        'student: { type: two-tower, embeddingDim: 8, userHidden: [32, 16], itemHidden: [32, 16] }',
        'distill: [{ pred: ctr, target: ctr, loss: bce_soft, weight: 1, temperature: 2 }]',
        'lambda: { kind: step, value: 0.5, startStep: 10 }',
        'optimizer: { dense: adagrad, sparse: sparse_adagrad, lr: 0.01 }',
        'batchSize: 240',
        'steps: 40',
        'evalEvery: 20',
        `sharding: ${mode}`,
      ].join('\n'),
    );
    const runDir = join(dir, `joint-${mode}`);
    const r = mpirun([{ np: 2, argv: train(path, '--run-dir', runDir) }]);
    assert.equal(r.code, 0, r.out);
    return { runDir, out: r.out };
  };
  const rep = run('replicated');
  const row = run('row');
  for (const step of [20, 40]) {
    const d = checkpointParamDiff(ckpt(rep.runDir, step), ckpt(row.runDir, step));
    assert.ok(d.maxRelL2 <= 1e-5, `step ${step}: ${JSON.stringify(d)}`);
  }
  // Rank 0 validated on the assembled tables: the same AUCs.
  const auc = (out: string) => out.match(/teacher\.ctr AUC [0-9.]+, student\.ctr AUC [0-9.]+/)?.[0];
  assert.ok(auc(rep.out) !== undefined, rep.out);
  assert.equal(auc(row.out), auc(rep.out));
});

test('a per-table record shards the tables it names; an unknown table is refused by name', (t) => {
  if (skip !== null) return t.skip(skip);
  const run = join(dir, 'some');
  const r = mpirun([
    {
      np: 2,
      argv: train(
        config('some', '{ emb.item_id: row, emb.user_id: row, emb.shop: replicated }'),
        '--run-dir',
        run,
      ),
    },
  ]);
  assert.equal(r.code, 0, r.out);
  const d = checkpointParamDiff(ckpt(job('replicated'), 50), ckpt(run, 50));
  assert.ok(d.maxRelL2 <= 1e-5, JSON.stringify(d));
  const fin = finalOf(run).distributed;
  assert.equal(fin.rowShardedTables, 2);
  assert.ok(fin.sparseBytesPerStep > 0 && fin.rowGradBytesPerStep > 0, JSON.stringify(fin));

  const bad = mpirun([
    { np: 2, argv: train(config('bad', '{ emb.itemid: row }'), '--run-dir', join(dir, 'bad')) },
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.out,
    /sharding: no trainable embedding table named 'emb\.itemid' \(the tables are: .*emb\.item_id/,
  );
});

test('a killed row-sharded job resumed from its checkpoint ends with the uninterrupted parameters; another N is refused', (t) => {
  if (skip !== null) return t.skip(skip);
  const cfg = config('row', 'row');
  const full = job('row');
  const run = join(dir, 'row-killed');
  // Rank 1 kills itself as step 30 starts (after the step-25 checkpoint).
  const dead = mpirun([
    { np: 1, argv: train(cfg, '--run-dir', run) },
    {
      np: 1,
      argv: [
        'env',
        `KDREC_TRACE_SAMPLES=${join(dir, 'trace.txt')}`,
        'KDREC_TRACE_KILL_AT=30',
        ...train(cfg, '--run-dir', run),
      ],
    },
  ]);
  assert.notEqual(dead.code, 0, dead.out);
  const three = mpirun([{ np: 3, argv: train(cfg, '--run-dir', run, '--resume') }]);
  assert.notEqual(three.code, 0);
  assert.match(
    three.out,
    /written by a job of 2 MPI rank\(s\); resume it with mpirun -np 2 \(this run has 3\)/,
  );
  const resumed = mpirun([{ np: 2, argv: train(cfg, '--run-dir', run, '--resume') }]);
  assert.equal(resumed.code, 0, resumed.out);
  assert.match(resumed.out, /after resuming at step 25/);
  const d = checkpointParamDiff(ckpt(full, 50), ckpt(run, 50));
  assert.equal(d.maxRelInf, 0, JSON.stringify(d));
  assert.equal(optStateDiff(ckpt(full, 50), ckpt(run, 50)), 0);
});

test('a single process ignores sharding (and says so); --interleave 2 equals the row-sharded job', (t) => {
  if (skip !== null) return t.skip(skip);
  const run = join(dir, 'single');
  const r = spawnSync(
    process.execPath,
    [CLI, 'train', '--config', config('row', 'row'), '--run-dir', run, '--interleave', '2'],
    {
      encoding: 'utf8',
      env: rankEnv(),
    },
  );
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.match(out, /sharding: "row" applies to MPI jobs only/);
  const d = checkpointParamDiff(ckpt(job('row'), 50), ckpt(run, 50));
  assert.equal(d.maxRelInf, 0, JSON.stringify(d));
});

/**
 * Sharded outputs (issue 16 item 4), through the compiled CLI: `teacher rank` and
 * `export --vectors-only` split by `--shard i/n` write part-I-of-N.parquet files that together hold
 * exactly the unsharded output; a folder missing a part is refused; under `mpirun -np 2` each rank
 * writes the part its `--shard rank/2` would. (`teacher score` and `eval` shards are covered by
 * test/train/streamResume.test.ts; they take the rank the same way.) Slow end-to-end (~15 s).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../src/data/loaders/index.js';
import { DuckDb, sqlStr } from '../../src/data/readers.js';
import { simulate } from '../../src/data/simulator.js';
import { readRankLists } from '../../src/distill/rankLists.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { auc } from '../../src/eval/metrics/auc.js';
import { parseConfig } from '../../src/run/config.js';
import { runFromConfig } from '../../src/train/run.js';
import { tempDir } from '../data/fixtures.js';
import { mpiSkipReason, rankEnv } from '../engine/mpiHarness.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let dir = '';
let run = '';

before(async () => {
  dir = tempDir('sharded-outputs');
  const world = join(dir, 'world');
  await simulate({ out: world, users: 200, items: 300, days: 2, seed: 4 });
  run = join(dir, 'run');
  // PFD: a ranking-dnn teacher (for `teacher rank`) and a two-tower student (for export).
  const cfg = parseConfig({
    dataset: { spec: `sim:${world}` },
    mode: 'pfd',
    teacher: { type: 'ranking-dnn', embeddingDim: 8, hidden: [16] },
    student: { type: 'two-tower', embeddingDim: 8, userHidden: [16], itemHidden: [16] },
    distill: [{ pred: 'ctr', target: 'ctr', loss: 'bce_soft' }],
    lambda: { kind: 'step', value: 0.5, startStep: 10 },
    batchSize: 128,
    steps: 20,
    seed: 1,
  });
  await runFromConfig(cfg, {
    runDir: run,
    dataset: await loadDataset(`sim:${world}`),
    auc: (y, s) => auc(y, s),
  });
});

function kdrec(args: string[], launcher: string[] = []): string {
  const argv = [...launcher, process.execPath, CLI, ...args];
  const env = rankEnv();
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env,
    timeout: 60_000,
    killSignal: 'SIGTERM',
  });
  assert.equal(r.status, 0, `${argv.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

async function parquetRows(glob: string, order: string): Promise<unknown[][]> {
  const db = await DuckDb.open();
  try {
    return await db.rows(`SELECT * FROM read_parquet(${sqlStr(glob)}) ORDER BY ${order}`);
  } finally {
    db.close();
  }
}

const rankArgs = (out: string) => [
  'teacher',
  'rank',
  '--run',
  run,
  '--out',
  out,
  '--requests',
  '40',
  '--random',
  '30',
  '--length',
  '10',
];

test('teacher rank --shard i/2: the two parts hold every sampled request once; a missing part is refused', async () => {
  const full = join(dir, 'lists.parquet');
  kdrec(rankArgs(full));
  const parts = join(dir, 'lists-parts');
  for (const i of [0, 1]) kdrec([...rankArgs(parts), '--shard', `${i}/2`]);
  const ds = await loadDataset(`sim:${join(dir, 'world')}`);
  const whole = await readRankLists(full, ds, ds.splits.train);
  const sharded = await readRankLists(parts, ds, ds.splits.train);
  assert.equal(sharded.length, 10);
  assert.deepEqual(Array.from(sharded.requestRow), Array.from(whole.requestRow));
  const a = await parquetRows(join(parts, 'part-0-of-2.parquet'), 'request_id');
  const b = await parquetRows(join(parts, 'part-1-of-2.parquet'), 'request_id');
  const reqs = (rows: unknown[][]) => new Set(rows.map((r) => Number(r[0])));
  assert.equal(reqs(a).size + reqs(b).size, whole.requestRow.length);
  rmSync(join(parts, 'part-1-of-2.parquet'));
  await assert.rejects(readRankLists(parts, ds, ds.splits.train), /part 1 of 2 is missing/);
});

test('export --vectors-only --shard i/3: the parts are the full export’s item vectors (1e-6), each row once', async () => {
  const full = join(dir, 'export');
  kdrec(['export', '--run', run, '--out', full]);
  const vec = readSafetensors(join(full, 'item_vectors.safetensors')).tensors['vectors']!;
  const [N, D] = vec.shape as [number, number];
  const data = vec.data as Float32Array;
  const parts = join(dir, 'vectors');
  for (const i of [0, 1, 2])
    kdrec(['export', '--run', run, '--out', parts, '--vectors-only', '--shard', `${i}/3`]);
  const rows = await parquetRows(join(parts, 'part-*-of-3.parquet'), '"row"');
  assert.equal(rows.length, N);
  rows.forEach((r, k) => {
    assert.equal(Number(r[1]), k);
    // The same tower on other batch sizes: equal up to float rounding.
    for (let d = 0; d < D; d++)
      assert.ok(
        Math.abs(Number(r[2 + d]) - data[k * D + d]!) <= 1e-6,
        `row ${k}, v${d}: ${r[2 + d]} vs ${data[k * D + d]}`,
      );
  });
});

test('under mpirun -np 2, each rank writes the part of its --shard rank/2', async (t) => {
  const skip = mpiSkipReason();
  if (skip !== null) return t.skip(skip);
  const mpirun = ['mpirun', '--oversubscribe', '--allow-run-as-root', '-np', '2'];
  const vByShard = join(dir, 'v2');
  for (const i of [0, 1])
    kdrec(['export', '--run', run, '--out', vByShard, '--vectors-only', '--shard', `${i}/2`]);
  const vByRank = join(dir, 'v2-mpi');
  kdrec(['export', '--run', run, '--out', vByRank, '--vectors-only'], mpirun);
  const lByShard = join(dir, 'l2');
  for (const i of [0, 1]) kdrec([...rankArgs(lByShard), '--shard', `${i}/2`]);
  const lByRank = join(dir, 'l2-mpi');
  kdrec(rankArgs(lByRank), mpirun);
  for (const i of [0, 1]) {
    const p = `part-${i}-of-2.parquet`;
    assert.deepEqual(
      await parquetRows(join(vByRank, p), '"row"'),
      await parquetRows(join(vByShard, p), '"row"'),
    );
    assert.deepEqual(
      await parquetRows(join(lByRank, p), 'request_id, "rank"'),
      await parquetRows(join(lByShard, p), 'request_id, "rank"'),
    );
  }
});

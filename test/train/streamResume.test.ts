/**
 * Streamed training from a prepared (Parquet) dataset through the compiled CLI: after `kill -9` and
 * `--resume`, no sample of the epoch is repeated or skipped (counted by sample id); a corrupt row
 * group stops training naming the file and row group, and the checkpoints written before it stay
 * loadable. Slow end-to-end (a few seconds): it runs real processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { prepareDataset } from '../../src/data/loaders/index.js';
import { loadPreparedDataset, openPrepared } from '../../src/data/prepared.js';
import { DuckDb } from '../../src/data/readers.js';
import { simulate } from '../../src/data/simulator.js';
import { planEpoch, readAll } from '../../src/data/stream.js';
import { loadCheckpoint } from '../../src/engine/checkpoint.js';
import { Rng } from '../../src/engine/rng.js';
import { evaluateRunStreamed } from '../../src/eval/streamEval.js';
import { parseConfig } from '../../src/run/config.js';
import { buildModels, combinedStore } from '../../src/run/models.js';
import { listCheckpoints, readRunConfig, runPaths } from '../../src/run/runDir.js';
import { exportRun } from '../../src/serve/exportRun.js';
import { tempDir } from '../data/fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

async function preparedWorld(): Promise<{ dir: string; prep: string }> {
  const dir = tempDir('stream-resume');
  await simulate({ out: join(dir, 'sim'), users: 300, items: 500, days: 2, seed: 3, requestsPerUserDay: 5 });
  const prep = join(dir, 'prep');
  await prepareDataset(`sim:${join(dir, 'sim')}`, { out: prep, rowGroupRows: 2048, partRows: 6000 });
  return { dir, prep };
}

function config(dir: string, prep: string, over: string[] = []): string {
  const path = join(dir, `cfg-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(
    path,
    [
      'name: stream',
      'seed: 2',
      `dataset: { spec: 'prepared:${prep}', shuffleBuffer: 5000 }`,
      'mode: student',
      'student: { type: two-tower, embeddingDim: 8, userHidden: [16], itemHidden: [16] }',
      'batchSize: 128',
      'epochs: 1',
      'checkpointEvery: 10',
      ...over,
    ].join('\n'),
  );
  return path;
}

function kdrec(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

/** step → sample ids, from a trace file. */
function readTrace(path: string): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const [step, ...ids] = line.split(' ').map(Number);
    m.set(step!, ids);
  }
  return m;
}

test('kill -9 mid-epoch, then --resume: every training sample exactly once, none repeated or skipped', async () => {
  const { dir, prep } = await preparedWorld();
  const p = await openPrepared(prep);
  const trainIds = Array.from((await readAll(p.splits.train)).sampleId!);
  const windows = p.splits.train.units.length;
  await p.close();
  assert.ok(windows >= 6, `several row groups (${windows})`);
  const cfg = config(dir, prep);
  const run = join(dir, 'run');
  const trace1 = join(dir, 'trace1');
  const trace2 = join(dir, 'trace2');
  // Checkpoints at 10, 20, 30; killed (SIGKILL, no cleanup) when step 37 is about to run.
  const first = kdrec(['train', '--config', cfg, '--run-dir', run, '--quiet'], {
    KDREC_TRACE_SAMPLES: trace1,
    KDREC_TRACE_KILL_AT: '37',
  });
  assert.equal(first.signal, 'SIGKILL', `the first run was killed: ${first.stderr}`);
  assert.ok(!existsSync(runPaths(run).final), 'the killed run wrote no final.json');
  const second = kdrec(['train', '--config', cfg, '--run-dir', run, '--resume', '--quiet'], {
    KDREC_TRACE_SAMPLES: trace2,
  });
  assert.equal(second.status, 0, second.stderr);
  const final = JSON.parse(readFileSync(runPaths(run).final, 'utf8'));
  assert.equal(final.resumedFrom, 30, 'resumed from the last checkpoint before the kill');
  const t1 = readTrace(trace1);
  const t2 = readTrace(trace2);
  assert.ok(t1.has(36) && !t1.has(37), 'the first run trained steps 0..36');
  assert.equal(Math.min(...t2.keys()), 30, 'the resumed run starts at the checkpoint step');
  // Steps 30..36 ran twice (before the kill and after the resume) and must be the same batches.
  for (let s = 30; s <= 36; s++) assert.deepEqual(t2.get(s), t1.get(s), `step ${s} replays the same batch`);
  const seen: number[] = [];
  for (const [s, ids] of t1) if (s < 30) seen.push(...ids);
  for (const ids of t2.values()) seen.push(...ids);
  assert.equal(seen.length, trainIds.length, 'as many samples as the training split holds');
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    [...trainIds].sort((a, b) => a - b),
    'each training sample exactly once in the epoch',
  );
  assert.equal(final.steps, Math.ceil(trainIds.length / 128));
  // The order is shuffled across row groups (not file order).
  assert.notDeepEqual(seen.slice(0, 128), trainIds.slice(0, 128));

  // Resuming with another shuffle buffer is refused: the position belongs to another layout.
  const other = config(dir, prep);
  writeFileSync(other, readFileSync(other, 'utf8').replace('shuffleBuffer: 5000', 'shuffleBuffer: 7000'));
  const run2 = join(dir, 'run2');
  kdrec(['train', '--config', cfg, '--run-dir', run2, '--quiet'], {
    KDREC_TRACE_SAMPLES: join(dir, 't3'),
    KDREC_TRACE_KILL_AT: '15',
  });
  const refused = kdrec(['train', '--config', other, '--run-dir', run2, '--resume', '--quiet']);
  assert.notEqual(refused.status, 0);
  assert.match(
    refused.stderr,
    /training stream was laid out as .*buffer=5000.*buffer=7000.*same dataset, shard and shuffle buffer/,
  );
});

test('a corrupt row group stops streamed training naming its file and row group; earlier checkpoints stay loadable', async () => {
  const { dir, prep } = await preparedWorld();
  const p = await openPrepared(prep);
  const schema = p.schema;
  // The row group the trainer reads last in epoch 0 (its shuffle: seed 2, data stream, 5000 rows).
  const plan = planEpoch(p.splits.train.units, {
    shuffle: { rng: new Rng(2).fork('data'), bufferRows: 5000 },
    epoch: 0,
  });
  const victim = plan.windows.at(-1)!.units.at(-1)!;
  // Its bytes, from the file's own metadata: corrupt the middle of that row group's column chunks
  // and nothing else, so the file opens (footer intact) and only this row group fails to decode.
  const db = await DuckDb.open({ threads: 1 });
  const [range] = await db.rows(
    `SELECT min(data_page_offset), max(data_page_offset + total_compressed_size) FROM parquet_metadata('${victim.file}') WHERE row_group_id = ${victim.rowGroup}`,
  );
  db.close();
  await p.close();
  const lo = Number(range![0]);
  const hi = Number(range![1]);
  const fd = openSync(victim.file, 'r+');
  const len = Math.floor((hi - lo) / 2);
  writeSync(fd, Buffer.alloc(len, 0x5a), 0, len, lo + Math.floor((hi - lo) / 4));
  closeSync(fd);
  const cfg = config(dir, prep);
  const run = join(dir, 'run');
  const r = kdrec(['train', '--config', cfg, '--run-dir', run, '--quiet']);
  assert.notEqual(r.status, 0, 'training fails');
  assert.ok(r.stderr.includes(`${victim.file}: row group ${victim.rowGroup}`), r.stderr);
  const cks = listCheckpoints(runPaths(run));
  assert.ok(cks.length >= 1, 'checkpoints were written before the bad row group');
  for (const c of cks) {
    const cfgParsed = parseConfig(readRunConfig(run), 'config.json');
    const built = buildModels(cfgParsed, schema, new Rng(cfgParsed.seed).fork('models'), {});
    const { step } = loadCheckpoint(c.path, combinedStore([built.student]), {}, {}, { weightsOnly: true });
    assert.equal(step, c.step, `${c.path} loads`);
  }
});

test('export from a prepared folder (no events read) equals the export from the same data in memory; kdrec eval streams the split', async () => {
  const { dir, prep } = await preparedWorld();
  const cfg = config(dir, prep, ['steps: 20']);
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('epochs: 1\n', ''));
  const run = join(dir, 'run');
  const t = kdrec(['train', '--config', cfg, '--run-dir', run, '--quiet']);
  assert.equal(t.status, 0, t.stderr);
  const a = join(dir, 'export-prepared');
  const b = join(dir, 'export-memory');
  await exportRun({ run, out: a });
  await exportRun({ run, out: b, dataset: await loadPreparedDataset(prep) });
  for (const f of [
    'item_vectors.safetensors',
    'item_features.safetensors',
    'user_features.safetensors',
    'item_ids.json',
    'user_ids.json',
    'weights.safetensors',
  ])
    assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} is identical`);
  // kdrec eval streams the same split the run validated on: the same AUC (to float rounding: other
  // batch sizes, other sgemm blocking); its shards cover it once.
  const final = JSON.parse(readFileSync(runPaths(run).final, 'utf8'));
  const ev = await evaluateRunStreamed({ run, split: 'valid' });
  assert.ok(
    Math.abs(ev.models['student']!['ctr']!.auc! - final.last.valid.student.ctr.auc) < 1e-5,
    `${ev.models['student']!['ctr']!.auc} vs ${final.last.valid.student.ctr.auc} (${ev.rows} vs ${final.last.valid.student.ctr.rows} rows)`,
  );
  let rows = 0;
  for (let i = 0; i < 3; i++)
    rows += (await evaluateRunStreamed({ run, split: 'valid', shard: { index: i, count: 3 } })).rows;
  assert.equal(rows, ev.rows);
  const ma = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8'));
  const mb = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8'));
  assert.deepEqual(ma.vocabs ?? ma.schema, mb.vocabs ?? mb.schema);
});

test('streamed two-stage: teacher scores per shard, attached by sample id; a missing or foreign part is refused', async () => {
  const { dir, prep } = await preparedWorld();
  const teacherCfg = join(dir, 'teacher.yaml');
  writeFileSync(
    teacherCfg,
    [
      'name: t',
      `dataset: { spec: 'prepared:${prep}' }`,
      'mode: teacher',
      'teacher: { type: ranking-dnn, embeddingDim: 8, hidden: [16] }',
      'batchSize: 256',
      'steps: 10',
    ].join('\n'),
  );
  const trun = join(dir, 'teacher');
  assert.equal(kdrec(['teacher', 'train', '--config', teacherCfg, '--run-dir', trun, '--quiet']).status, 0);
  const scores = join(dir, 'scores');
  for (const i of [0, 1]) {
    const r = kdrec(['teacher', 'score', '--run', trun, '--out', scores, '--shard', `${i}/2`]);
    assert.equal(r.status, 0, r.stderr);
  }
  const studentCfg = join(dir, 'student.yaml');
  writeFileSync(
    studentCfg,
    [
      'name: s',
      `dataset: { spec: 'prepared:${prep}', teacherScores: '${scores}' }`,
      'mode: two-stage',
      'teacher: { type: ranking-dnn, embeddingDim: 8, hidden: [16] }',
      'student: { type: two-tower, embeddingDim: 8, userHidden: [16], itemHidden: [16] }',
      "distill: [{ pred: ctr, target: 'column:teacher_ctr', loss: bce_soft }]",
      'batchSize: 256',
      'epochs: 1',
    ].join('\n'),
  );
  // The whole epoch needs a score for every training row: both parts together hold them.
  const ok = kdrec(['train', '--config', studentCfg, '--run-dir', join(dir, 's1'), '--quiet']);
  assert.equal(ok.status, 0, ok.stderr);
  renameSync(join(scores, 'part-1-of-2.parquet'), join(dir, 'p1.parquet'));
  const missing = kdrec(['train', '--config', studentCfg, '--run-dir', join(dir, 's2'), '--quiet']);
  assert.match(missing.stderr, /part 1 of 2 is missing/);
  // Part 0 alone relabelled as the whole set: rows of shard 1 have no score, named by row group.
  renameSync(join(scores, 'part-0-of-2.parquet'), join(scores, 'part-0-of-1.parquet'));
  const foreign = kdrec(['train', '--config', studentCfg, '--run-dir', join(dir, 's3'), '--quiet']);
  assert.notEqual(foreign.status, 0);
  assert.match(foreign.stderr, /teacher scores .*: 0 scores for \d+ rows for .*row group \d+/);
  rmSync(join(dir, 'p1.parquet'));
});

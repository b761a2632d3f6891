/**
 * Teacher-ranked lists on a small simulated world: candidates (random + retrieved by the student),
 * teacher order, re-ranking, the CSV/Parquet round trip with its input checks, and rank terms
 * training a student through the trainer from live lists (joint) and from a lists file (two-stage).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Batch } from '../../src/data/batch.js';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { RankDistiller } from '../../src/distill/rankDistiller.js';
import {
  buildRankLists,
  candidateItems,
  listRows,
  type RankLists,
  readRankLists,
  sampleRequestRows,
  writeRankLists,
} from '../../src/distill/rankLists.js';
import { rankDistillSchema } from '../../src/distill/rankTerms.js';
import { diversityReranker, itemAttribute, satisfiedTopK } from '../../src/distill/rerank.js';
import type { Graph } from '../../src/engine/graph.js';
import { ParamStore } from '../../src/engine/nn.js';
import { Rng } from '../../src/engine/rng.js';
import type { Model } from '../../src/models/types.js';
import { type ExperimentConfig, parseConfig } from '../../src/run/config.js';
import { runFromConfig } from '../../src/train/run.js';

let dir = '';
let ds: LoadedDataset;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kdrec-ranklists-'));
  await simulate({ out: join(dir, 'sim'), users: 200, items: 300, days: 2, seed: 5, requestsPerUserDay: 3 });
  ds = await loadDataset(`sim:${join(dir, 'sim')}`);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A scorer without parameters whose logit is a fixed function of the item (and the user, slightly). */
function fakeModel(name: string, score: (item: number, user: number) => number): Model {
  return {
    name,
    kind: 'fake',
    store: new ParamStore(),
    outputNames: ['ctr'],
    fields: [],
    supervised: { ctr: 'click' },
    forward(g: Graph, b: Batch) {
      const s = new Float32Array(b.size);
      for (let i = 0; i < b.size; i++) s[i] = score(b.itemKey![i]!, b.userKey![i]!);
      return { logits: { ctr: g.input(s, [b.size]) } };
    },
    hardLoss() {
      throw new Error('not trained');
    },
  };
}

const teacherScore = (item: number, user: number) => ((item * 37 + user) % 101) / 10;

test('candidates: the student retrieves its top items, random ones fill the rest, all distinct', () => {
  const split = ds.splits.train;
  const rows = sampleRequestRows(split, 20, new Rng(1));
  assert.equal(rows.length, 20);
  const req = split.columns.requestId!;
  assert.equal(new Set([...rows].map((r) => req[r])).size, 20, 'one row per request');
  const student = fakeModel('student', (item) => item);
  const c = candidateItems(
    ds,
    split,
    rows,
    { random: 15, retrieved: 5, retrievalPool: 10_000 },
    { model: student, output: 'ctr' },
    new Rng(2),
  );
  assert.equal(c.perRequest, 20);
  const n = ds.items.size;
  for (let q = 0; q < 20; q++) {
    const items = [...c.items.subarray(q * 20, (q + 1) * 20)];
    assert.equal(new Set(items).size, 20, `request ${q}: distinct candidates`);
    // The pool is the whole catalogue, so the student's top 5 are the 5 largest item keys.
    assert.deepEqual(items.slice(0, 5), [n - 1, n - 2, n - 3, n - 4, n - 5]);
  }
  assert.throws(
    () => candidateItems(ds, split, rows, { random: 0, retrieved: 3, retrievalPool: 10 }, null, new Rng(2)),
    /needs the current student/,
  );
});

test('lists are in teacher order, re-ranked when asked, and their rows reshape per list', () => {
  const split = ds.splits.train;
  const rows = sampleRequestRows(split, 12, new Rng(3));
  const teacher = { model: fakeModel('teacher', teacherScore), output: 'ctr' };
  const lists = buildRankLists(ds, {
    split,
    requestRows: rows,
    candidates: { random: 40, retrieved: 0, retrievalPool: 1 },
    length: 25,
    teacher,
    rng: new Rng(4),
  });
  assert.equal(lists.length, 25);
  for (let l = 0; l < 12; l++) {
    assert.equal(lists.userKey[l], split.columns.userKey![lists.requestRow[l]!]);
    for (let p = 0; p < 25; p++) {
      const i = l * 25 + p;
      const want = Math.fround(teacherScore(lists.items[i]!, lists.userKey[l]!));
      assert.equal(lists.teacherScores[i], want, 'the stored score is the teacher score of the item');
      if (p > 0)
        assert.ok(lists.teacherScores[i - 1]! >= lists.teacherScores[i]!, `list ${l} is sorted at ${p}`);
    }
  }
  const cat = itemAttribute(ds, 'category');
  const reranked = buildRankLists(ds, {
    split,
    requestRows: rows,
    candidates: { random: 40, retrieved: 0, retrievalPool: 1 },
    length: 25,
    teacher,
    rerank: diversityReranker(cat, 2, 6), // the tiny world has 4 categories
    rng: new Rng(4),
  });
  for (let l = 0; l < 12; l++) {
    assert.equal(satisfiedTopK(reranked.items.subarray(l * 25, (l + 1) * 25), cat, 2, 6), 6, `list ${l}`);
  }
  const r = listRows(
    ds,
    split,
    lists,
    Int32Array.from({ length: 12 * 3 }, (_, i) => i % ds.items.size),
    3,
  );
  assert.equal(r.size, 12 * 28);
  assert.equal(r.columns.itemKey![28 + 1], lists.items[25 + 1], 'block 1 column 1 is list 1 rank 2');
  assert.equal(r.columns.userKey![28 + 26], lists.userKey[1], 'easy negatives take the list user');
});

function sameLists(a: RankLists, b: RankLists): void {
  assert.deepEqual([...a.requestRow], [...b.requestRow]);
  assert.deepEqual([...a.userKey], [...b.userKey]);
  assert.equal(a.length, b.length);
  assert.deepEqual([...a.items], [...b.items]);
  assert.deepEqual([...a.teacherScores], [...b.teacherScores]);
}

test('lists round-trip through CSV and Parquet; bad rows are named by file, line and field', async () => {
  const split = ds.splits.train;
  const lists = buildRankLists(ds, {
    split,
    requestRows: sampleRequestRows(split, 6, new Rng(5)),
    candidates: { random: 12, retrieved: 0, retrievalPool: 1 },
    length: 8,
    teacher: { model: fakeModel('teacher', (i, u) => Math.sin(i + u)), output: 'ctr' },
    rng: new Rng(6),
  });
  const csv = join(dir, 'lists.csv');
  const pq = join(dir, 'lists.parquet');
  await writeRankLists(csv, lists, ds);
  await writeRankLists(pq, lists, ds);
  sameLists(await readRankLists(csv, ds, split), lists);
  sameLists(await readRankLists(pq, ds, split), lists);
  const text = readFileSync(csv, 'utf8');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'request_id,user,item,rank,teacher_score');
  assert.equal(lines.length, 1 + 6 * 8);

  const bad = join(dir, 'bad.csv');
  const edit = (lineIdx: number, field: number, value: string) => {
    const copy = [...lines];
    const f = copy[lineIdx]!.split(',');
    f[field] = value;
    copy[lineIdx] = f.join(',');
    writeFileSync(bad, `${copy.join('\n')}\n`);
  };
  edit(3, 3, '1');
  await assert.rejects(readRankLists(bad, ds, split), /bad\.csv:2: request \d+: field rank 1 is repeated/);
  edit(4, 2, 'no-such-item');
  await assert.rejects(
    readRankLists(bad, ds, split),
    /bad\.csv:5: field item 'no-such-item' is not in the catalogue/,
  );
  edit(2, 1, 'someone-else');
  await assert.rejects(
    readRankLists(bad, ds, split),
    /bad\.csv:3: field user is 'someone-else' but request \d+ belongs to user/,
  );
  edit(6, 4, 'NaN');
  await assert.rejects(
    readRankLists(bad, ds, split),
    /bad\.csv:7: field teacher_score is 'NaN', expected a finite number/,
  );
  edit(2, 0, 'x');
  await assert.rejects(
    readRankLists(bad, ds, split),
    /bad\.csv:3: field request_id is 'x', expected an integer/,
  );
  writeFileSync(bad, `${lines.slice(0, -1).join('\n')}\n`);
  await assert.rejects(
    readRankLists(bad, ds, split),
    /has 7 items, but request \d+ has 8; every list must have the same length/,
  );
});

test('the distiller builds lists at the first step and rebuilds them every refreshEvery steps', () => {
  const spec = rankDistillSchema.parse({
    lists: { requests: 10, length: 6, random: 8, refreshEvery: 4 },
    listsPerBatch: 3,
    terms: [{ loss: 'listwise', target: 'rank' }],
  });
  const d = new RankDistiller(spec, ds, ds.splits.train, new Rng(9));
  const teacher = fakeModel('teacher', teacherScore);
  const student = fakeModel('student', (i) => i / 100);
  assert.throws(() => d.prepare(0, null, student), /no live teacher to rank candidates with/);
  d.prepare(0, teacher, student);
  const first = d.current()!;
  d.prepare(3, teacher, student);
  assert.equal(d.current(), first, 'not rebuilt before refreshEvery steps');
  d.prepare(4, teacher, student);
  assert.notEqual(d.current(), first, 'rebuilt at step 4');
  assert.notDeepEqual([...d.current()!.requestRow], [...first.requestRow], 'new requests');
  // A file's lists are used as given and never rebuilt.
  const fileSpec = rankDistillSchema.parse({ lists: { file: 'x.csv' }, terms: [{ loss: 'bpr' }] });
  const fixed = new RankDistiller(fileSpec, ds, ds.splits.train, new Rng(9), first);
  fixed.prepare(100, null, student);
  assert.equal(fixed.current(), first);
  assert.throws(
    () => new RankDistiller(fileSpec, ds, ds.splits.train, new Rng(9)),
    /must be read with readRankLists/,
  );
});

function baseConfig(over: Record<string, unknown>): ExperimentConfig {
  return parseConfig({
    name: 'rank-test',
    seed: 3,
    dataset: { spec: `sim:${join(dir, 'sim')}`, maxTrainRows: 3000, maxValidRows: 1000 },
    teacher: { type: 'ranking-dnn', embeddingDim: 8, hidden: [16] },
    student: { type: 'two-tower', embeddingDim: 8, userHidden: [16], itemHidden: [16] },
    batchSize: 128,
    steps: 8,
    ...over,
  });
}

test('joint mode: live lists, every term type logged finite, lists refreshed on schedule', async () => {
  const cfg = baseConfig({
    mode: 'joint',
    rankDistill: {
      lists: {
        requests: 24,
        length: 12,
        random: 10,
        retrieved: 6,
        retrievalPool: 50,
        easyNegatives: 4,
        refreshEvery: 4,
      },
      rerank: { kind: 'dedup', field: 'shop' },
      listsPerBatch: 4,
      terms: [
        { loss: 'topk_bce', k: 3, easyPerHard: 0.5, hardNegatives: 6 },
        { loss: 'bpr', sampling: 'rank-gap', pairsPerList: 8 },
        { loss: 'hinge', margin: 0.5 },
        { loss: 'listwise', target: 'teacher', temperature: 2, weight: 0.5 },
        { loss: 'listwise', target: 'rank' },
        { loss: 'rd', k: 3, lambda: 2, dynamic: { mu: 0.5, startStep: 2 } },
      ],
    },
  });
  const seen: Record<string, number>[] = [];
  const res = await runFromConfig(cfg, {
    dataset: ds,
    noRunDir: true,
    onProgress: (p) => seen.push(p.losses),
  });
  assert.equal(res.final.steps, 8);
  const names = Object.keys(seen[7]!).filter((k) => k.startsWith('rank'));
  assert.deepEqual(names, [
    'rank0.topk_bce@3',
    'rank1.bpr(rank-gap)',
    'rank2.hinge(uniform)',
    'rank3.listwise(teacher)',
    'rank4.listwise(rank)',
    'rank5.rd@3',
  ]);
  for (const s of seen) for (const n of names) assert.ok(Number.isFinite(s[n]), `${n} = ${s[n]}`);
});

test('two-stage: the student learns from a lists file without a teacher; config mistakes are named', async () => {
  const split = ds.splits.train;
  const lists = buildRankLists(ds, {
    split,
    requestRows: sampleRequestRows(split, 16, new Rng(7)),
    candidates: { random: 20, retrieved: 0, retrievalPool: 1 },
    length: 10,
    teacher: { model: fakeModel('teacher', teacherScore), output: 'ctr' },
    rng: new Rng(8),
  });
  const file = join(dir, 'two-stage.parquet');
  await writeRankLists(file, lists, ds);
  const cfg = baseConfig({
    mode: 'two-stage',
    lambda: { kind: 'constant', value: 1 },
    rankDistill: { lists: { file }, listsPerBatch: 4, terms: [{ loss: 'listwise', target: 'rank' }] },
  });
  const res = await runFromConfig(cfg, { dataset: ds, noRunDir: true });
  assert.equal(res.final.steps, 8);
  assert.ok(Number.isFinite(res.history.at(-1)!.train['rank0.listwise(rank)']!));

  // Without a file, two-stage has no teacher to rank with.
  const noFile = baseConfig({ mode: 'two-stage', rankDistill: { terms: [{ loss: 'bpr' }] } });
  await assert.rejects(
    runFromConfig(noFile, { dataset: ds, noRunDir: true }),
    /no live teacher to rank candidates with/,
  );
  assert.throws(
    () => baseConfig({ mode: 'student', rankDistill: { terms: [{ loss: 'bpr' }] } }),
    /rankDistill is not used in mode 'student'/,
  );
  assert.throws(
    () =>
      baseConfig({ mode: 'joint', rankDistill: { lists: { length: 10 }, terms: [{ loss: 'rd', k: 10 }] } }),
    /rankDistill\.terms\[0\]\.k must be < lists\.length \(10\)/,
  );
  assert.throws(
    () => baseConfig({ mode: 'joint', rankDistill: { terms: [{ loss: 'listwize' }] } }),
    /rankDistill\.terms\[0\]\.loss/,
  );
});

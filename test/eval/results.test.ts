import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseResults, readResults, summarize, writeResults } from '../../src/eval/results.js';
import { syntheticResults } from './syntheticResults.js';

test('summarize: mean, sample std, per-seed values', () => {
  const s = summarize([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.deepEqual(s.perSeed, [1, 2, 3, 4]);
  assert.equal(summarize([0.7]).std, 0);
  assert.throws(() => summarize([1, Number.NaN]), /value 1 is NaN/);
});

test('writeResults / readResults round-trip', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-results-'));
  const path = join(dir, 'results.json');
  const r = syntheticResults();
  writeResults(path, r);
  assert.deepEqual(readResults(path), r);
});

test('readResults: bad files fail with the file and the field path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-results-'));
  const path = join(dir, 'results.json');
  writeFileSync(path, '{"kdrecVersion": ');
  assert.throws(
    () => readResults(path),
    new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`),
  );
  assert.throws(() => readResults(join(dir, 'missing.json')), /cannot read results file/);

  const bad = JSON.parse(JSON.stringify(syntheticResults()));
  bad.models[2].metrics.AUC.mean = 'high';
  bad.models[3].role = 'pupil';
  writeFileSync(path, JSON.stringify(bad));
  assert.throws(
    () => readResults(path),
    (err: Error) => {
      assert.match(err.message, /not a valid kdrec results file/);
      assert.match(err.message, /models\[2\]\.metrics\.AUC\.mean/);
      assert.match(err.message, /models\[3\]\.role/);
      return true;
    },
  );
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).models[2].metrics.AUC.mean, 'high');
});

test('parseResults: semantic checks beyond the schema', () => {
  const dup = syntheticResults();
  dup.models[3]!.name = 'plain';
  assert.throws(() => parseResults(dup, 'x.json'), /x.json: models\[3\]\.name 'plain' appears twice/);
  const seeds = syntheticResults();
  seeds.models[1]!.metrics['AUC']!.perSeed = [0.6];
  assert.throws(() => parseResults(seeds), /perSeed has 1 values; expected one per seed \(3\)/);
  const teachers = syntheticResults();
  teachers.models[1]!.role = 'teacher';
  assert.throws(() => parseResults(teachers), /2 models have role 'teacher'/);
  const primary = syntheticResults();
  primary.primaryMetric = 'Recall@7';
  assert.throws(() => parseResults(primary), /primaryMetric 'Recall@7' is not a metric of any model/);
  const nan = syntheticResults();
  nan.models[0]!.inferenceMsPer1k.mean = Number.NaN;
  assert.throws(() => parseResults(nan), /models\[0\]\.inferenceMsPer1k\.mean: .*NaN/);
});

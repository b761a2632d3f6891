/**
 * Issue 9: a model that does not beat item popularity on NDCG@K in every seed is marked as such in
 * results.json (assembleResults), so a weak student cannot hide behind a mean.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assembleResults,
  type CellRecord,
  pairedComparison,
  parseExperimentConfig,
} from '../../src/eval/experiment.js';

function cell(model: string, seed: number, ndcg: number): CellRecord {
  return {
    model,
    seed,
    role: model === 'popularity' || model === 'plain' ? 'baseline' : 'student',
    key: 'k',
    metrics: { 'NDCG@50': ndcg, AUC: 0.7 },
    params: 0,
    trainSeconds: 1,
    inferenceMsPer1k: 1,
    overlapAtK: [],
    flags: [],
    finishedAt: '2026-11-27T00:00:00Z',
  };
}

test('models that do not beat popularity on NDCG@K in every seed are flagged', () => {
  const cfg = parseExperimentConfig({
    train: { steps: 1 },
    teacher: { type: 'ranking-dnn', embeddingDim: 4, crossLayers: 0, hidden: [4] },
    student: { type: 'two-tower', embeddingDim: 4, userHidden: [4], itemHidden: [4] },
    students: { plain: { mode: 'student' }, 'plain-state': { mode: 'student' }, weak: { mode: 'student' } },
  });
  const cells = new Map<string, CellRecord>();
  const ndcg: Record<string, [number, number]> = {
    popularity: [0.25, 0.25],
    plain: [0.26, 0.24],
    'plain-state': [0.3, 0.29],
    weak: [0.2, 0.1],
  };
  for (const [m, v] of Object.entries(ndcg)) {
    for (let i = 0; i < v.length; i++) cells.set(`${m}/${i + 1}`, cell(m, i + 1, v[i]!));
  }
  const res = assembleResults({
    cfg,
    models: Object.keys(ndcg),
    seeds: [1, 2],
    cells,
    datasetName: 'synthetic',
    fingerprintText: 'none',
    extraConfig: {},
    primaryMetric: 'NDCG@50',
  });
  const flags = (name: string) => res.models.find((m) => m.name === name)!.flags ?? [];
  const pop = (name: string) => flags(name).filter((f) => f.includes('popularity'));
  assert.deepEqual(pop('plain'), ['beats popularity on NDCG@50 in only 1 of 2 seeds']);
  assert.deepEqual(pop('plain-state'), []);
  assert.deepEqual(pop('weak'), ['does not beat popularity on NDCG@50 (in no seed)']);
  assert.deepEqual(flags('popularity'), []);
  // The paired comparison with plain: a sign that holds in every seed, or seed noise.
  assert.deepEqual(
    flags('plain-state').filter((f) => f.startsWith('vs plain')),
    ['vs plain on NDCG@50, per seed: +0.0400, +0.0500 — better, beyond seed noise'],
  );
  assert.deepEqual(
    flags('weak').filter((f) => f.startsWith('vs plain')),
    ['vs plain on NDCG@50, per seed: -0.0600, -0.1400 — worse, beyond seed noise'],
  );
});

test('pairedComparison says better/worse only when the sign holds in every seed', () => {
  assert.equal(pairedComparison([0.3, 0.31, 0.32], [0.29, 0.3, 0.31]).verdict, 'better');
  assert.equal(pairedComparison([0.2, 0.2], [0.3, 0.25]).verdict, 'worse');
  const mixed = pairedComparison([0.35, 0.29], [0.3, 0.3]);
  assert.equal(mixed.verdict, 'within seed noise');
  assert.ok(Math.abs(mixed.mean - 0.02) < 1e-12);
  assert.equal(pairedComparison([0.3], [0.3]).verdict, 'within seed noise');
  assert.throws(() => pairedComparison([0.3, 0.2], [0.3]), /same seeds on both sides/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.js';
import { retrievalMetrics, userItemListsFromPairs } from '../../src/eval/metrics/retrieval.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('retrievalMetrics: hand-computed Recall, HitRate, NDCG, MRR with training items excluded', () => {
  // 2 users × 6 items.
  const scores = Float32Array.from([
    // user 0: ranking 5, 4, 3, 2, 1, 0 by score
    0.0, 0.1, 0.2, 0.3, 0.4, 0.5,
    // user 1: ranking 0, 1, 2, 3, 4, 5
    0.9, 0.8, 0.7, 0.6, 0.5, 0.4,
  ]);
  // user 0: relevant {3, 0}; training item 5 excluded → ranking 4, 3, 2, 1, 0
  // user 1: relevant {2}; training items 0, 1 excluded → ranking 2, 3, 4, 5
  const relevant = userItemListsFromPairs(2, Int32Array.from([0, 0, 1]), Int32Array.from([3, 0, 2]));
  const exclude = userItemListsFromPairs(2, Int32Array.from([0, 1, 1]), Int32Array.from([5, 0, 1]));
  const r = retrievalMetrics({ nUsers: 2, nItems: 6, scores, relevant, exclude, ks: [1, 2] });
  assert.equal(r.usersEvaluated, 2);
  assert.equal(r.relevantExcluded, 0);
  // @1: user 0 top [4] → 0 hits; user 1 top [2] → hit.
  close(r.metrics['Recall@1']!, (0 + 1) / 2);
  close(r.metrics['HitRate@1']!, 0.5);
  close(r.metrics['NDCG@1']!, (0 + 1) / 2);
  close(r.metrics['MRR@1']!, 0.5);
  // @2: user 0 top [4, 3] → 1 hit of 2 at rank 2: recall 0.5, NDCG (1/log2 3)/(1 + 1/log2 3).
  const ndcgU0 = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
  close(r.metrics['Recall@2']!, (0.5 + 1) / 2);
  close(r.metrics['HitRate@2']!, 1);
  close(r.metrics['NDCG@2']!, (ndcgU0 + 1) / 2);
  close(r.metrics['MRR@2']!, (0.5 + 1) / 2);
  // Untruncated MRR: user 0's first relevant item (3) is at rank 2, user 1's at rank 1.
  close(r.metrics['MRR']!, (0.5 + 1) / 2);

  // Without exclusion user 0's ranking starts 5, 4, 3 and user 1's 0, 1, 2.
  const plain = retrievalMetrics({ nUsers: 2, nItems: 6, scores, relevant, ks: [2] });
  close(plain.metrics['Recall@2']!, 0);
  close(plain.metrics['MRR']!, (1 / 3 + 1 / 3) / 2);
});

test('retrievalMetrics: relevant items that are also excluded are dropped and counted; empty users skipped', () => {
  const scores = Float32Array.from([0.3, 0.2, 0.1, 0.3, 0.2, 0.1, 0.3, 0.2, 0.1]);
  const relevant = userItemListsFromPairs(3, Int32Array.from([0, 0, 2]), Int32Array.from([0, 2, 1]));
  const exclude = userItemListsFromPairs(3, Int32Array.from([0]), Int32Array.from([0]));
  const r = retrievalMetrics({ nUsers: 3, nItems: 3, scores, relevant, exclude, ks: [1] });
  assert.equal(r.relevantExcluded, 1);
  assert.equal(r.usersEvaluated, 2);
  assert.equal(r.usersSkipped, 1);
  // user 0: ranking [1, 2], relevant {2} → miss at 1, MRR 1/2. user 2: relevant {1}, ranking [0, 1, 2] → MRR 1/2.
  close(r.metrics['HitRate@1']!, 0);
  close(r.metrics['MRR']!, 0.5);
});

test('retrievalMetrics: a scorer callback gives the same numbers as the matrix; matches a full-sort reference', () => {
  const rng = new Rng(21);
  const nUsers = 30;
  const nItems = 200;
  const m = Float32Array.from({ length: nUsers * nItems }, () => rng.int(50) / 50);
  const users: number[] = [];
  const items: number[] = [];
  const exU: number[] = [];
  const exI: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    for (let t = 0; t < 5; t++) {
      users.push(u);
      items.push(rng.int(nItems));
      exU.push(u);
      exI.push(rng.int(nItems));
    }
  }
  const relevant = userItemListsFromPairs(nUsers, Int32Array.from(users), Int32Array.from(items));
  const exclude = userItemListsFromPairs(nUsers, Int32Array.from(exU), Int32Array.from(exI));
  const ks = [5, 20];
  const a = retrievalMetrics({ nUsers, nItems, scores: m, relevant, exclude, ks });
  const b = retrievalMetrics({
    nUsers,
    nItems,
    scores: (u, out) => out.set(m.subarray(u * nItems, (u + 1) * nItems)),
    relevant,
    exclude,
    ks,
  });
  assert.deepEqual(a, b);
  // Reference: full sort per user, recall@20 and MRR.
  let recall = 0;
  let mrr = 0;
  let evaluated = 0;
  for (let u = 0; u < nUsers; u++) {
    const ex = new Set(exI.slice(u * 5, u * 5 + 5));
    const rel = new Set(items.slice(u * 5, u * 5 + 5).filter((i) => !ex.has(i)));
    if (rel.size === 0) continue;
    evaluated++;
    const order = [...Array(nItems).keys()]
      .filter((i) => !ex.has(i))
      .sort((x, y) => m[u * nItems + y]! - m[u * nItems + x]! || x - y);
    recall += order.slice(0, 20).filter((i) => rel.has(i)).length / rel.size;
    mrr += 1 / (order.findIndex((i) => rel.has(i)) + 1);
  }
  assert.equal(a.usersEvaluated, evaluated);
  close(a.metrics['Recall@20']!, recall / evaluated);
  close(a.metrics['MRR']!, mrr / evaluated);
});

test('retrievalMetrics: bad inputs name what is wrong', () => {
  const relevant = userItemListsFromPairs(1, Int32Array.from([0]), Int32Array.from([0]));
  assert.throws(
    () => retrievalMetrics({ nUsers: 1, nItems: 3, scores: new Float32Array(4), relevant, ks: [1] }),
    /score matrix has 4 values; expected nUsers × nItems = 1 × 3/,
  );
  const bad = userItemListsFromPairs(1, Int32Array.from([0]), Int32Array.from([7]));
  assert.throws(
    () => retrievalMetrics({ nUsers: 1, nItems: 3, scores: new Float32Array(3), relevant: bad, ks: [1] }),
    /relevant.items\[0\] is 7; expected 0..2/,
  );
  assert.throws(
    () =>
      retrievalMetrics({
        nUsers: 1,
        nItems: 3,
        scores: Float32Array.from([0, Number.NaN, 1]),
        relevant,
        ks: [1],
      }),
    /index 1 is NaN/,
  );
  assert.throws(
    () => userItemListsFromPairs(2, Int32Array.from([2]), Int32Array.from([0])),
    /users\[0\] is 2; expected 0..1/,
  );
});

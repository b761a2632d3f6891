import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch } from '../../src/data/batch.js';
import { Schema } from '../../src/data/schema.js';
import { checkKdTerms, type KdTermSpec, kdLoss, kdTermLoss } from '../../src/distill/kdTerms.js';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import type { ModelOutput } from '../../src/models/types.js';
import { ITEMS, PRIV, tinyPair, USERS } from '../train/tinyModels.js';

function batch(B = 16, seed = 9): Batch {
  const r = new Rng(seed);
  const ids = (n: number) => Int32Array.from({ length: B }, () => r.int(n));
  return {
    size: B,
    cat: { user: ids(USERS), item: ids(ITEMS), priv: ids(PRIV) },
    seq: {},
    num: {},
    labels: { click: Float32Array.from({ length: B }, () => (r.nextFloat() < 0.3 ? 1 : 0)) },
    extra: {
      teacher_ctr: Float32Array.from({ length: B }, () => r.normal() * 2),
      w: Float32Array.from({ length: B }, () => r.nextFloat()),
    },
  };
}

const ALL_TERMS: KdTermSpec[] = [
  { pred: 'ctr', target: 'ctr', loss: 'bce_soft', weight: 1, temperature: 1 },
  { pred: 'ctr', target: 'ctr', loss: 'bce_soft', weight: 0.5, temperature: 3 },
  { pred: 'ctr', target: 'ctr', loss: 'kl', weight: 1, temperature: 2 },
  { pred: 'multi', target: 'multi', loss: 'kl', weight: 1, temperature: 2 },
  { pred: 'ctr', target: 'ctr', loss: 'mse', weight: 2, temperature: 1, sampleWeight: 'w' },
  { pred: 'multi', target: 'multi', loss: 'mse', weight: 1, temperature: 1 },
];

for (const term of ALL_TERMS) {
  test(`kd ${term.loss} (${term.pred}, T=${term.temperature}) gives the teacher exactly zero gradient`, () => {
    const { teacher, student, teacherOnlyTables, teacherParams, shared } = tinyPair();
    const b = batch();
    const g = new Graph({ training: true });
    const tOut = teacher.forward(g, b);
    const sOut = student.forward(g, b);
    const loss = kdTermLoss(g, term, 0, sOut, tOut, b);
    assert.ok(loss.data[0]! > 0, 'the kd term is not trivially zero');
    g.backward(loss);
    for (const p of teacherParams) {
      const nonzero = p.grad === null ? 0 : p.grad.filter((x) => x !== 0).length;
      assert.equal(nonzero, 0, `teacher parameter ${p.name} got gradient from the kd term`);
    }
    for (const t of teacherOnlyTables) {
      const sg = t.sparseGrad();
      const nonzero = sg.grad.subarray(0, sg.nRows * t.dim).filter((x) => x !== 0).length;
      assert.equal(nonzero, 0, `teacher-only table ${t.name} got gradient from the kd term`);
    }
    // The check can fail: the student side does get gradient (its head and the shared table).
    const head = student.store.params()[0]!;
    assert.ok(
      head.grad?.some((x) => x !== 0),
      'student head got no gradient',
    );
    assert.ok(shared.sparseGrad().nRows > 0, 'shared table (student path) got no gradient');
  });
}

test('bce_soft equals BCE(s/T, sigmoid(t/T)) times T² by default, and without T² when t2Scale is false', () => {
  const { teacher, student } = tinyPair();
  const b = batch(8);
  const g = new Graph({ training: false });
  const tOut = teacher.forward(g, b);
  const sOut = student.forward(g, b);
  const s = sOut.logits['ctr']!.data;
  const t = tOut.logits['ctr']!.data;
  const T = 2;
  let expect = 0;
  for (let i = 0; i < 8; i++) {
    const x = s[i]! / T;
    const z = 1 / (1 + Math.exp(-t[i]! / T));
    expect += Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)));
  }
  expect /= 8;
  const term: KdTermSpec = { pred: 'ctr', target: 'ctr', loss: 'bce_soft', weight: 1, temperature: T };
  const scaled = kdTermLoss(g, term, 0, sOut, tOut, b).data[0]!;
  const plain = kdTermLoss(g, { ...term, t2Scale: false }, 0, sOut, tOut, b).data[0]!;
  assert.ok(Math.abs(plain - expect) < 1e-5, `${plain} vs ${expect}`);
  assert.ok(Math.abs(scaled - T * T * expect) < 1e-5, `${scaled} vs ${T * T * expect}`);
  const weighted = kdTermLoss(g, { ...term, weight: 0.25 }, 0, sOut, tOut, b).data[0]!;
  assert.ok(Math.abs(weighted - 0.25 * scaled) < 1e-6);
});

test('binary kl is zero when student equals teacher, and matches the two-class formula', () => {
  const b = batch(8);
  const g = new Graph({ training: false });
  const logits = Float32Array.from([0.3, -1, 2, 0, 4, -3, 0.5, 1]);
  const same: ModelOutput = { logits: { ctr: g.input(logits, [8]) } };
  const term: KdTermSpec = { pred: 'ctr', target: 'ctr', loss: 'kl', weight: 1, temperature: 1 };
  assert.ok(Math.abs(kdTermLoss(g, term, 0, same, same, b).data[0]!) < 1e-7);
  const s: ModelOutput = { logits: { ctr: g.input(new Float32Array(8), [8]) } };
  // KL([1-p, p] ‖ [0.5, 0.5]) = p log 2p + (1-p) log 2(1-p)
  let expect = 0;
  for (const x of logits) {
    const p = 1 / (1 + Math.exp(-x));
    expect += p * Math.log(2 * p) + (1 - p) * Math.log(2 * (1 - p));
  }
  expect /= 8;
  const got = kdTermLoss(g, term, 0, s, same, b).data[0]!;
  assert.ok(Math.abs(got - expect) < 1e-5, `${got} vs ${expect}`);
});

test('column targets read batch.extra and name a missing column', () => {
  const { student } = tinyPair();
  const b = batch(8);
  const g = new Graph({ training: true });
  const sOut = student.forward(g, b);
  const term: KdTermSpec = {
    pred: 'ctr',
    target: 'column:teacher_ctr',
    loss: 'bce_soft',
    weight: 1,
    temperature: 1,
  };
  const res = kdLoss(g, [term], sOut, null, b);
  assert.equal(res.terms[0]!.name, 'kd0.bce_soft(ctr<-column:teacher_ctr)');
  assert.ok(res.total!.data[0]! > 0);
  assert.throws(
    () => kdTermLoss(g, { ...term, target: 'column:nope' }, 2, sOut, null, b),
    /distill\[2\]\.target: the batch has no extra column 'nope' \(present: teacher_ctr, w\)/,
  );
  const bad = {
    ...b,
    extra: { ...b.extra, teacher_ctr: b.extra['teacher_ctr']!.map((x, i) => (i === 3 ? Number.NaN : x)) },
  };
  assert.throws(
    () => kdTermLoss(g, term, 0, sOut, null, bad),
    /row 3 is NaN, expected a finite teacher logit/,
  );
});

test('per-sample weights scale rows', () => {
  const b = batch(4);
  b.extra['w'] = Float32Array.from([1, 0, 0, 0]);
  const g = new Graph({ training: false });
  const s: ModelOutput = { logits: { ctr: g.input(Float32Array.from([1, 2, 3, 4]), [4]) } };
  const t: ModelOutput = { logits: { ctr: g.input(Float32Array.from([0, 0, 0, 0]), [4]) } };
  const term: KdTermSpec = {
    pred: 'ctr',
    target: 'ctr',
    loss: 'mse',
    weight: 1,
    temperature: 1,
    sampleWeight: 'w',
  };
  // Only row 0 counts: (1-0)² / 4 rows.
  assert.ok(Math.abs(kdTermLoss(g, term, 0, s, t, b).data[0]! - 0.25) < 1e-7);
});

test('checkKdTerms names the term and what exists', () => {
  const term: KdTermSpec = { pred: 'ctr', target: 'ctcvr', loss: 'kl', weight: 1, temperature: 1 };
  assert.throws(
    () => checkKdTerms([term], ['score'], ['ctr', 'ctcvr']),
    /distill\[0\]\.pred: the student has no output 'ctr' \(it has: score\)/,
  );
  assert.throws(
    () => checkKdTerms([term], ['ctr'], ['ctr']),
    /distill\[0\]\.target: the teacher has no output 'ctcvr'/,
  );
  assert.throws(() => checkKdTerms([term], ['ctr'], null), /no live teacher/);
  assert.throws(
    () => checkKdTerms([{ ...term, loss: 'mse', temperature: 2 }], ['ctr'], ['ctcvr']),
    /temperature must be 1/,
  );
  checkKdTerms([term], ['ctr'], ['ctr', 'ctcvr']);
});

test('with the real models (DCN-v2 teacher, two-tower student, shared registry) kd gives every teacher-only parameter zero gradient', () => {
  const schema = new Schema(
    {
      fields: [
        { name: 'user_id', kind: 'categorical', group: 'user', embedding: { share: 'user_id' } },
        { name: 'item_id', kind: 'categorical', group: 'item', embedding: { share: 'item_id' } },
        { name: 'category', kind: 'categorical', group: 'item' },
        { name: 'hour', kind: 'categorical', group: 'context' },
        { name: 'shop_seen', kind: 'categorical', group: 'privileged' },
        { name: 'cat_clicks', kind: 'numeric', group: 'privileged' },
        { name: 'click', kind: 'label' },
        { name: 'long_dwell', kind: 'label' },
      ],
    },
    {
      tableSizes: { user_id: 30, item_id: 50, category: 6, hour: 24, shop_seen: 5 },
      numericStats: { cat_clicks: { mean: 0, std: 1, min: 0, max: 5 } },
    },
  );
  const r = new Rng(21);
  const B = 32;
  const ids = (n: number) => Int32Array.from({ length: B }, () => r.int(n));
  const b: Batch = {
    size: B,
    cat: { user_id: ids(30), item_id: ids(50), category: ids(6), hour: ids(24), shop_seen: ids(5) },
    seq: {},
    num: { cat_clicks: Float32Array.from({ length: B }, () => r.normal()) },
    labels: {
      click: Float32Array.from({ length: B }, () => (r.nextFloat() < 0.3 ? 1 : 0)),
      long_dwell: Float32Array.from({ length: B }, () => (r.nextFloat() < 0.1 ? 1 : 0)),
    },
    extra: {},
  };
  for (const teacherSpec of [
    { type: 'ranking-dnn', name: 'teacher', embeddingDim: 4, hidden: [8] },
    { type: 'mmoe-esmm', name: 'teacher', embeddingDim: 4, expertHidden: [8], towerHidden: [4] },
  ]) {
    const registry = new TableRegistry();
    const teacher = createModel(teacherSpec, schema, registry, new Rng(1));
    const student = createModel(
      { type: 'two-tower', name: 'student', embeddingDim: 4, userHidden: [8], itemHidden: [8] },
      schema,
      registry,
      new Rng(2),
    );
    const studentTables = new Set(student.store.tables());
    // Every table of a field both models read is shared by name; the privileged one is the teacher's own.
    const teacherOnlyTables = teacher.store.tables().filter((t) => !studentTables.has(t));
    assert.ok(teacherOnlyTables.length >= 1, `teacher-only tables: ${teacherOnlyTables.map((t) => t.name)}`);
    assert.ok(
      teacher.store.tables().some((t) => studentTables.has(t)),
      'no shared table: the setup is wrong',
    );
    const target = teacher.outputNames.includes('ctcvr') ? 'ctcvr' : 'ctr';
    for (const loss of ['bce_soft', 'kl', 'mse'] as const) {
      const g = new Graph({ training: true });
      const tOut = teacher.forward(g, b);
      const sOut = student.forward(g, b);
      const term: KdTermSpec = { pred: 'ctr', target, loss, weight: 1, temperature: loss === 'mse' ? 1 : 2 };
      g.backward(kdTermLoss(g, term, 0, sOut, tOut, b));
      for (const p of teacher.store.params()) {
        assert.ok(
          !p.grad?.some((x) => x !== 0),
          `${teacher.kind} ${loss}: teacher parameter ${p.name} got gradient`,
        );
      }
      for (const t of teacherOnlyTables) {
        const sg = t.sparseGrad();
        assert.ok(
          !sg.grad.subarray(0, sg.nRows * t.dim).some((x) => x !== 0),
          `${teacher.kind} ${loss}: teacher-only table ${t.name} got gradient`,
        );
      }
      assert.ok(
        student.store.params().some((p) => p.grad?.some((x) => x !== 0)),
        `${loss}: the student got no gradient at all`,
      );
      teacher.store.zeroGrad();
      student.store.zeroGrad();
    }
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Schema } from '../../src/data/schema.js';
import { assertHintAllowed, HintDistiller } from '../../src/distill/hint.js';
import { Graph } from '../../src/engine/graph.js';
import { ParamStore } from '../../src/engine/nn.js';
import { Rng } from '../../src/engine/rng.js';
import { Tensor } from '../../src/engine/tensor.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import type { ModelOutput } from '../../src/models/types.js';

const schema = new Schema(
  {
    fields: [
      { name: 'user_id', kind: 'categorical', group: 'user' },
      { name: 'item_id', kind: 'categorical', group: 'item' },
      { name: 'click', kind: 'label' },
    ],
  },
  { tableSizes: { user_id: 10, item_id: 10 }, numericStats: {} },
);

test('hint is refused for a two-tower or FM student, saying why', () => {
  for (const type of ['two-tower', 'fm']) {
    const m = createModel(
      { type, name: 'student', embeddingDim: 4 },
      schema,
      new TableRegistry(),
      new Rng(1),
    );
    assert.throws(
      () => assertHintAllowed(m),
      /refused for a '(two-tower|fm)' student: its towers separate user and item until the final dot product, so no student layer matches the teacher’s joint user-item layers/,
    );
  }
  const mlp = createModel(
    { type: 'prerank-mlp', name: 'student', embeddingDim: 4 },
    schema,
    new TableRegistry(),
    new Rng(1),
  );
  assertHintAllowed(mlp);
});

test('hint loss: projection is learned, the teacher layer is detached, missing layers are named', () => {
  const mlp = createModel(
    { type: 'prerank-mlp', name: 'student', embeddingDim: 4 },
    schema,
    new TableRegistry(),
    new Rng(1),
  );
  const store = new ParamStore();
  const hint = new HintDistiller({ student: 's', teacher: 't', weight: 2 }, store, new Rng(3), mlp);
  const g = new Graph({ training: true });
  const sh = g.input(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const student: ModelOutput = { logits: {}, hidden: { s: sh } };
  // A teacher layer that would take gradient if the hint did not detach it.
  const tParam = new Tensor(Float32Array.from([1, 0, 0, 1]), [2, 2], true, 'teacher.layer');
  const teacher: ModelOutput = { logits: {}, hidden: { t: tParam } };
  hint.init(3, 2);
  const loss = hint.loss(g, student, teacher);
  assert.equal(store.params().length, 2, 'the regressor W and b are registered with the student side');
  g.backward(loss);
  assert.equal(tParam.grad, null, 'teacher layer got gradient');
  assert.ok(store.params()[0]!.grad!.some((x) => x !== 0));
  assert.throws(
    () => hint.loss(g, { logits: {}, hidden: {} }, teacher),
    /hint\.student: the student exposes no hidden layer 's' \(it has: none\)/,
  );
  assert.throws(() => hint.init(4, 2), /the regressor maps 3 → 2 but the layers are 4 → 2/);
});

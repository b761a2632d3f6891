/**
 * The models learn: on the tiny world (click logit = 1.5·⟨p_u, q_i⟩ + privileged − 0.3) a two-tower
 * student and the ranking DNN teacher each lower their held-out loss and rank clicks above
 * non-clicks. Trained with the engine's optimisers: Adam on dense parameters, lazy SparseAdam on
 * the embedding tables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Adam, SparseAdam } from '../../src/engine/optim.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import { pairwiseAuc, tinyBatch, tinySchema, tinyWorld } from './tinyWorld.js';
function heldOut(m, batch) {
    const g = new Graph({ training: false });
    const out = m.forward(g, batch);
    const loss = m.hardLoss(g, out, batch).total.data[0];
    return { loss, auc: pairwiseAuc(out.logits.ctr.data, batch.labels.click) };
}
function train(spec, steps) {
    const world = tinyWorld();
    const m = createModel(spec, tinySchema(), new TableRegistry(), new Rng(21));
    const test = tinyBatch(world, new Rng(99), 1500);
    const before = heldOut(m, test);
    const dense = new Adam(m.store.params(), { lr: 0.01 });
    const sparse = new SparseAdam(m.store.tables(), { lr: 0.03 });
    const data = new Rng(22);
    const g = new Graph({ training: true, rng: new Rng(23) });
    for (let s = 0; s < steps; s++) {
        g.reset();
        const b = tinyBatch(world, data, 128);
        const loss = m.hardLoss(g, m.forward(g, b), b).total;
        g.backward(loss);
        dense.step();
        sparse.step();
    }
    return { before, after: heldOut(m, test) };
}
test('a tiny two-tower learns the user·item signal (held-out loss falls, AUC > 0.75)', () => {
    const { before, after } = train({ type: 'two-tower', embeddingDim: 8, userHidden: [16, 8], itemHidden: [16, 8] }, 300);
    assert.ok(after.loss < before.loss - 0.05, `loss ${before.loss} → ${after.loss}`);
    assert.ok(after.auc > 0.75, `AUC ${before.auc} → ${after.auc}`);
});
test('the ranking DNN (DCN-v2) learns the signal including the privileged feature (AUC > 0.8)', () => {
    const { before, after } = train({ type: 'ranking-dnn', embeddingDim: 8, hidden: [32, 16] }, 300);
    assert.ok(after.loss < before.loss - 0.05, `loss ${before.loss} → ${after.loss}`);
    assert.ok(after.auc > 0.8, `AUC ${before.auc} → ${after.auc}`);
});
//# sourceMappingURL=learning.test.js.map
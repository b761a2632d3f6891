import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/engine/graph.js';
import { Rng } from '../../src/engine/rng.js';
import { Popularity } from '../../src/models/index.js';
import { N_ITEMS, tinyBatch, tinySchema, tinyWorld } from './tinyWorld.js';

test('popularity scores items by log(1 + clicks in the training columns), user-independent', () => {
  const train = tinyBatch(tinyWorld(), new Rng(31), 500);
  const pop = new Popularity(
    { name: 'pop', itemField: 'item_id', label: 'click', output: 'ctr' },
    tinySchema(),
    train,
  );
  const clicks = new Float64Array(N_ITEMS + 1);
  for (let r = 0; r < 500; r++) clicks[train.cat.item_id![r]!]! += train.labels.click![r]!;
  const scores = pop.itemScores();
  assert.equal(scores.length, N_ITEMS + 1);
  for (let i = 0; i <= N_ITEMS; i++) assert.ok(Math.abs(scores[i]! - Math.log1p(clicks[i]!)) < 1e-6);
  assert.equal(pop.store.params().length, 0);
  // As a two-tower-like scorer: user vector [1], item vector [score]; the logit is the item's score.
  const b = tinyBatch(tinyWorld(), new Rng(32), 8);
  const g = new Graph({ training: false });
  assert.deepEqual([...pop.userVectors(g, b).data], new Array(8).fill(1));
  const logit = pop.forward(g, b).logits.ctr!;
  for (let r = 0; r < 8; r++) assert.equal(logit.data[r], scores[b.cat.item_id![r]!]);
  // Nothing trains: the table is frozen, so backward leaves no sparse gradient.
  const g2 = new Graph({ training: true });
  const out = pop.forward(g2, b);
  assert.equal(out.logits.ctr!.requiresGrad, false);
  assert.equal(pop.exportTowers().user.kind, 'constant');
});

test('popularity counts exposures with label null, and refuses a non-item or unknown field', () => {
  const train = tinyBatch(tinyWorld(), new Rng(33), 200);
  const pop = new Popularity(
    { name: 'pop', itemField: 'item_id', label: null, output: 'ctr' },
    tinySchema(),
    train,
  );
  let total = 0;
  for (const c of pop.counts) total += c;
  assert.equal(total, 200);
  assert.throws(
    () =>
      new Popularity({ name: 'pop', itemField: 'user_id', label: null, output: 'ctr' }, tinySchema(), train),
    /may not read user field 'user_id'/,
  );
  assert.throws(
    () => new Popularity({ name: 'pop', itemField: 'tags', label: null, output: 'ctr' }, tinySchema(), train),
    /must be categorical/,
  );
  assert.throws(
    () =>
      new Popularity({ name: 'pop', itemField: 'item_id', label: 'buy', output: 'ctr' }, tinySchema(), train),
    /no label column 'buy'/,
  );
});

/**
 * Test fixture: a tiny teacher/student pair built from engine parts, and a synthetic exposure
 * dataset with a learnable user×item signal plus a privileged feature only the teacher reads.
 * Both models read the SHARED user table (shared on purpose, as a schema declares it); the teacher
 * also reads a teacher-only privileged table and its own item table.
 */
import { type Batch, ColumnarDataset } from '../../src/data/batch.js';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import type { Graph } from '../../src/engine/graph.js';
import { Linear, MLP, ParamStore } from '../../src/engine/nn.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { bceHardLoss } from '../../src/models/hardLoss.js';
import type { Model, ModelOutput } from '../../src/models/types.js';

export const USERS = 40;
export const ITEMS = 60;
export const PRIV = 8;

function init(r: Rng, std: number) {
  return (w: Float32Array) => {
    for (let i = 0; i < w.length; i++) w[i] = r.normal() * std;
  };
}

export function tinyPair(seed = 3) {
  const rng = new Rng(seed);
  const shared = new EmbeddingTable('emb.user', USERS, 4, init(rng.fork('u'), 0.1));
  const priv = new EmbeddingTable('teacher/emb.priv', PRIV, 4, init(rng.fork('p'), 0.1));
  const tItem = new EmbeddingTable('teacher/emb.item', ITEMS, 4, init(rng.fork('ti'), 0.1));
  const sItem = new EmbeddingTable('student/emb.item', ITEMS, 4, init(rng.fork('si'), 0.1));
  const tMlp = new MLP('teacher.mlp', [12, 16, 3], { activation: 'relu' }, rng);
  const sMlp = new MLP('student.mlp', [8, 8], { activation: 'relu', finalActivation: 'relu' }, rng);
  const sHead = new Linear('student.head', 8, 3, rng);
  const tStore = new ParamStore();
  for (const x of [shared, priv, tItem]) tStore.add(x);
  tStore.add(tMlp);
  const sStore = new ParamStore();
  for (const x of [shared, sItem]) sStore.add(x);
  sStore.add(sMlp);
  sStore.add(sHead);
  // Outputs: ctr ([B] logit, column 0) and `multi` ([B, 3] softmax logits).
  const split = (g: Graph, h: Tensor, B: number, hidden: Record<string, Tensor>): ModelOutput => ({
    logits: { ctr: g.reshape(g.slice(h, 0, 1), [B]), multi: h },
    hidden,
  });
  const teacher: Model = {
    name: 'teacher',
    kind: 'tiny-teacher',
    store: tStore,
    outputNames: ['ctr', 'multi'],
    fields: ['user', 'item', 'priv'],
    supervised: { ctr: 'click' },
    hardLoss: (g, out, b) => bceHardLoss(g, out, b, { ctr: 'click' }, 'teacher'),
    forward(g, b) {
      const u = g.embeddingBag(shared, b.cat['user']!, b.size, 1, 'sum');
      const i = g.embeddingBag(tItem, b.cat['item']!, b.size, 1, 'sum');
      const p = g.embeddingBag(priv, b.cat['priv']!, b.size, 1, 'sum');
      const { out, hidden } = tMlp.forwardWithHidden(g, g.concat([u, i, p]));
      return split(g, out, b.size, { 'mlp.0': hidden[0]! });
    },
  };
  const student: Model = {
    name: 'student',
    kind: 'prerank-mlp',
    store: sStore,
    outputNames: ['ctr', 'multi'],
    fields: ['user', 'item'],
    supervised: { ctr: 'click' },
    hardLoss: (g, out, b) => bceHardLoss(g, out, b, { ctr: 'click' }, 'student'),
    forward(g, b) {
      const u = g.embeddingBag(shared, b.cat['user']!, b.size, 1, 'sum');
      const i = g.embeddingBag(sItem, b.cat['item']!, b.size, 1, 'sum');
      const h = sMlp.forward(g, g.concat([u, i]));
      return split(g, sHead.forward(g, h), b.size, { 'mlp.0': h });
    },
  };
  return {
    teacher,
    student,
    shared,
    teacherOnlyTables: [priv, tItem],
    teacherParams: tMlp.parameters(),
  };
}

/** n exposure rows: click ~ Bernoulli(σ(3·⟨a_u, b_i⟩ + 1.5·(priv − 3.5)/2 − 0.5)). */
export function tinyData(n: number, seed = 11): ColumnarDataset {
  // One fixed world (latent factors); `seed` only draws the rows, so train and valid share it.
  const world = new Rng(1234);
  const a = Array.from({ length: USERS }, () => [world.normal(), world.normal()]);
  const b = Array.from({ length: ITEMS }, () => [world.normal(), world.normal()]);
  const r = new Rng(seed);
  const user = new Int32Array(n);
  const item = new Int32Array(n);
  const priv = new Int32Array(n);
  const click = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const u = r.int(USERS);
    const i = r.int(ITEMS);
    const p = r.int(PRIV);
    const z = (3 * (a[u]![0]! * b[i]![0]! + a[u]![1]! * b[i]![1]!)) / 2 + (1.5 * (p - 3.5)) / 2 - 0.5;
    user[k] = u;
    item[k] = i;
    priv[k] = p;
    click[k] = r.nextFloat() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  const cols: Batch = {
    size: n,
    cat: { user, item, priv },
    seq: {},
    num: {},
    labels: { click },
    extra: {},
    userKey: user.slice(),
    itemKey: item.slice(),
  };
  return new ColumnarDataset(cols);
}

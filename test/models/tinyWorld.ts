/**
 * A tiny synthetic world for model tests: a fitted schema covering every field kind and group, and
 * batches whose click label follows a known user·item affinity (so a model that learns must lower
 * its loss) plus a privileged numeric that is informative, as in the simulator.
 */
import type { Batch } from '../../src/data/batch.js';
import { Schema } from '../../src/data/schema.js';
import { Rng } from '../../src/engine/rng.js';

export const N_USERS = 40;
export const N_ITEMS = 60;
const LATENT = 4;

export const TINY_DECL = {
  fields: [
    { name: 'user_id', kind: 'categorical', group: 'user' },
    { name: 'age', kind: 'categorical', group: 'user' },
    { name: 'hist', kind: 'sequence', group: 'user', maxLen: 4, pooling: 'mean', poolFrom: 'item_id' },
    { name: 'activity', kind: 'numeric', group: 'user' },
    { name: 'item_id', kind: 'categorical', group: 'item' },
    { name: 'category', kind: 'categorical', group: 'item' },
    { name: 'tags', kind: 'multi_hot', group: 'item', maxLen: 3, pooling: 'sum' },
    { name: 'price', kind: 'numeric', group: 'item' },
    { name: 'hour', kind: 'categorical', group: 'context' },
    { name: 'uc_clicks', kind: 'numeric', group: 'privileged' },
    { name: 'click', kind: 'label' },
    { name: 'conversion', kind: 'label' },
  ],
};

export function tinySchema(): Schema {
  const stat = { mean: 0, std: 1, min: -3, max: 3 };
  return new Schema(TINY_DECL, {
    tableSizes: { user_id: N_USERS + 1, age: 5, item_id: N_ITEMS + 1, category: 6, tags: 10, hour: 24 },
    numericStats: { activity: stat, price: stat, uc_clicks: stat },
  });
}

export interface TinyWorld {
  userVec: Float64Array;
  itemVec: Float64Array;
  itemCat: Int32Array;
}

export function tinyWorld(seed = 7): TinyWorld {
  const rng = new Rng(seed);
  const userVec = new Float64Array((N_USERS + 1) * LATENT);
  const itemVec = new Float64Array((N_ITEMS + 1) * LATENT);
  for (let i = 0; i < userVec.length; i++) userVec[i] = rng.normal();
  for (let i = 0; i < itemVec.length; i++) itemVec[i] = rng.normal();
  const itemCat = new Int32Array(N_ITEMS + 1);
  for (let i = 1; i <= N_ITEMS; i++) itemCat[i] = 1 + (i % 5);
  return { userVec, itemVec, itemCat };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** True click logit of (user, item, privileged value). */
export function trueLogit(w: TinyWorld, u: number, i: number, priv: number): number {
  let s = 0;
  for (let d = 0; d < LATENT; d++) s += w.userVec[u * LATENT + d]! * w.itemVec[i * LATENT + d]!;
  return 1.5 * s + 1.0 * priv - 0.3;
}

/** A random batch with labels drawn from the world (all ids in range, list fields −1 padded). */
export function tinyBatch(w: TinyWorld, rng: Rng, B: number): Batch {
  const cat = {
    user_id: new Int32Array(B),
    age: new Int32Array(B),
    item_id: new Int32Array(B),
    category: new Int32Array(B),
    hour: new Int32Array(B),
  };
  const hist = new Int32Array(B * 4).fill(-1);
  const tags = new Int32Array(B * 3).fill(-1);
  const num = { activity: new Float32Array(B), price: new Float32Array(B), uc_clicks: new Float32Array(B) };
  const labels = { click: new Float32Array(B), conversion: new Float32Array(B) };
  for (let r = 0; r < B; r++) {
    const u = 1 + rng.int(N_USERS);
    const i = 1 + rng.int(N_ITEMS);
    cat.user_id[r] = u;
    cat.age[r] = u % 5;
    cat.item_id[r] = i;
    cat.category[r] = w.itemCat[i]!;
    cat.hour[r] = rng.int(24);
    const nh = rng.int(5);
    for (let j = 0; j < nh; j++) hist[r * 4 + j] = 1 + rng.int(N_ITEMS);
    tags[r * 3] = i % 10;
    if (i % 3 === 0) tags[r * 3 + 1] = (i * 7) % 10;
    num.activity[r] = rng.normal();
    num.price[r] = (i % 7) / 3 - 1;
    const priv = rng.normal();
    num.uc_clicks[r] = priv;
    const click = rng.nextFloat() < sigmoid(trueLogit(w, u, i, priv)) ? 1 : 0;
    labels.click[r] = click;
    labels.conversion[r] = click && rng.nextFloat() < 0.3 + 0.4 * ((i % 4) / 3) ? 1 : 0;
  }
  return {
    size: B,
    cat,
    seq: { hist: { ids: hist, maxLen: 4 }, tags: { ids: tags, maxLen: 3 } },
    num,
    labels,
    extra: {},
  };
}

/** AUC by pairwise counting (ties count half); the eval helper owns the real one. */
export function pairwiseAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) wins++;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return pairs === 0 ? Number.NaN : wins / pairs;
}

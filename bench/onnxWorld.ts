/**
 * A synthetic export for the ONNX benchmarks: a random (untrained) two-tower model of the dssm-ref
 * shape (issue 2: embedding dim 32, towers 256-128-64) over a schema with every input kind — ids
 * (user 100,000, item 200,000 rows), a 50-long user-state sequence of recent items (mean pooled
 * from the item-id table), a multi-hot field and numerics — plus a catalogue and a user table.
 * Latency does not depend on trained values; agreement is checked on the same weights.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch, Columns } from '../src/data/batch.js';
import { Schema } from '../src/data/schema.js';
import { Rng } from '../src/engine/rng.js';
import { Vocab } from '../src/engine/vocab.js';
import { createModel, TableRegistry } from '../src/models/index.js';
import type { TwoTowerModel } from '../src/models/types.js';
import { exportModels } from '../src/serve/export.js';

export const SIZES = {
  users: 100_000,
  items: 200_000,
  age: 100,
  city: 100,
  device: 100,
  category: 1000,
  tags: 500,
};
const HIST = 50;

function decl(userState: boolean) {
  return {
    fields: [
      { name: 'user_id', kind: 'categorical', group: 'user' },
      { name: 'age', kind: 'categorical', group: 'user' },
      { name: 'city', kind: 'categorical', group: 'user' },
      { name: 'device', kind: 'categorical', group: 'user' },
      {
        name: 'recent_items',
        kind: 'sequence',
        group: 'user',
        maxLen: HIST,
        pooling: 'mean',
        poolFrom: 'item_id',
        // The user-state source (src/data/userState.ts): serving computes it from the user's events.
        ...(userState ? { source: '_state.items:item_id' } : {}),
      },
      { name: 'activity', kind: 'numeric', group: 'user', normalize: 'standard' },
      { name: 'item_id', kind: 'categorical', group: 'item' },
      { name: 'category', kind: 'categorical', group: 'item' },
      { name: 'tags', kind: 'multi_hot', group: 'item', maxLen: 4, pooling: 'sum' },
      { name: 'price', kind: 'numeric', group: 'item', normalize: 'log1p' },
      { name: 'click', kind: 'label' },
    ],
  };
}

export function syntheticSchema(userState: boolean): Schema {
  return new Schema(decl(userState), {
    tableSizes: {
      user_id: SIZES.users + 1,
      age: SIZES.age + 1,
      city: SIZES.city + 1,
      device: SIZES.device + 1,
      item_id: SIZES.items + 1,
      category: SIZES.category + 1,
      tags: SIZES.tags + 1,
    },
    numericStats: {
      activity: { mean: 3, std: 2, min: 0, max: 20 },
      price: { mean: 2, std: 1, min: 0, max: 9 },
    },
  });
}

/** Random encoded rows of the user fields (B rows) or the item fields. */
export function randomBatch(rng: Rng, B: number, side: 'user' | 'item'): Batch {
  const b: Batch = { size: B, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  const ids = (n: number) => Int32Array.from({ length: B }, () => 1 + rng.int(n));
  if (side === 'user') {
    b.cat = {
      user_id: ids(SIZES.users),
      age: ids(SIZES.age),
      city: ids(SIZES.city),
      device: ids(SIZES.device),
    };
    const hist = new Int32Array(B * HIST).fill(-1);
    for (let r = 0; r < B; r++) {
      const n = rng.int(HIST + 1);
      for (let j = 0; j < n; j++) hist[r * HIST + j] = 1 + rng.int(SIZES.items);
    }
    b.seq = { recent_items: { ids: hist, maxLen: HIST } };
    b.num = { activity: Float32Array.from({ length: B }, () => rng.normal()) };
  } else {
    b.cat = { item_id: ids(SIZES.items), category: ids(SIZES.category) };
    const tags = new Int32Array(B * 4).fill(-1);
    for (let r = 0; r < B; r++)
      for (let j = 0; j < 1 + rng.int(4); j++) tags[r * 4 + j] = 1 + rng.int(SIZES.tags);
    b.seq = { tags: { ids: tags, maxLen: 4 } };
    b.num = { price: Float32Array.from({ length: B }, () => rng.normal()) };
  }
  return b;
}

export interface SyntheticExport {
  dir: string;
  model: TwoTowerModel;
  userIds: string[];
}

/** Writes the export (catalogue of `items` rows, `users` known users) to a temp directory. */
export function syntheticExport(opts: {
  userState: boolean;
  scoreFn: 'dot' | 'cosine';
  items: number;
  users: number;
  seed?: number;
}): SyntheticExport {
  const rng = new Rng(opts.seed ?? 1);
  const schema = syntheticSchema(opts.userState);
  const model = createModel(
    {
      type: 'two-tower',
      name: 'student',
      embeddingDim: 32,
      userHidden: [256, 128, 64],
      itemHidden: [256, 128, 64],
      scoreFn: opts.scoreFn,
      label: 'click',
    },
    schema,
    new TableRegistry({ initStd: 0.1 }),
    rng.fork('model'),
  ) as TwoTowerModel;
  const tok = (p: string) => (k: number) => `${p}${k}`;
  const vocab = (name: string, n: number, t: (k: number) => string) =>
    Vocab.fromCounts(
      name,
      Array.from({ length: n }, (_, i) => [t(i + 1), n - i] as const),
    );
  const itemBatch = randomBatch(rng.fork('items'), opts.items, 'item');
  // Catalogue row r is item id row r + 1 (token i{r+1}).
  itemBatch.cat['item_id'] = Int32Array.from({ length: opts.items }, (_, r) => r + 1);
  const items: Columns = { ...itemBatch, labels: {}, extra: {} };
  const users = randomBatch(rng.fork('users'), opts.users, 'user');
  users.cat['user_id'] = Int32Array.from({ length: opts.users }, (_, u) => u + 1);
  // Recent items of known users are catalogue items (table rows 1..items).
  const hist = users.seq['recent_items']!.ids;
  for (let i = 0; i < hist.length; i++) if (hist[i]! > opts.items) hist[i] = 1 + (hist[i]! % opts.items);
  const userIds = Array.from({ length: opts.users }, (_, u) => `u${u + 1}`);
  const dir = mkdtempSync(join(tmpdir(), 'kdrec-onnx-bench-'));
  exportModels(
    {
      schema,
      vocabs: {
        user_id: vocab('user_id', SIZES.users, tok('u')),
        item_id: vocab('item_id', SIZES.items, tok('i')),
        age: vocab('age', SIZES.age, tok('a')),
        city: vocab('city', SIZES.city, tok('c')),
        device: vocab('device', SIZES.device, tok('d')),
        category: vocab('category', SIZES.category, tok('k')),
        tags: vocab('tags', SIZES.tags, tok('t')),
      },
      items,
      itemIds: Array.from({ length: opts.items }, (_, r) => `i${r + 1}`),
      users: { ids: userIds, columns: { ...users, labels: {}, extra: {} } },
      recall: model,
      source: { bench: 'onnx synthetic' },
    },
    dir,
  );
  return { dir, model, userIds };
}

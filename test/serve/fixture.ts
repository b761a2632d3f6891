/**
 * A tiny export for the serving tests: random (untrained) two-tower and pre-ranking models over the
 * tiny schema of test/models/tinyWorld.ts (every field kind), a catalogue, vocabularies and a user
 * table, exported to a temp directory. Scores need not be meaningful, only reproducible.
 *
 * `ranker`: also export a random ranking-dnn teacher over every group, its privileged `uc_clicks`
 * declared as the user's clicks on the item's category in the trailing day (window key = the
 * catalogue's category, code = category row − 1, as a dataset's WindowCounter would code 5 values).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Columns } from '../../src/data/batch.js';
import { Rng } from '../../src/engine/rng.js';
import { Vocab } from '../../src/engine/vocab.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import type { Model, TwoTowerModel } from '../../src/models/types.js';
import { type ExportManifest, exportModels, type WindowFeatureExport } from '../../src/serve/export.js';
import { N_ITEMS, N_USERS, tinySchema } from '../models/tinyWorld.js';

const pad = (k: number) => String(k).padStart(3, '0');
export const userToken = (k: number) => `u${pad(k)}`;
export const itemToken = (k: number) => `i${pad(k)}`;

/** A vocab whose token t_k lands on row k (equal counts sort by token). */
function vocab(name: string, n: number, tok: (k: number) => string): Vocab {
  return Vocab.fromCounts(
    name,
    Array.from({ length: n }, (_, i) => [tok(i + 1), 1] as const),
  );
}

export interface TinyExport {
  dir: string;
  manifest: ExportManifest;
  recall: TwoTowerModel;
  prerank: Model;
  ranker: Model | null;
  items: Columns;
}

/** The tiny export's one window feature: uc_clicks = clicks on the item's category in [t − 1 d, t). */
export function tinyWindowFeatures(items: Columns): WindowFeatureExport[] {
  return [
    {
      field: 'uc_clicks',
      keyField: 'category',
      countLabel: 'click',
      windowSeconds: 86_400,
      keysPerItem: 1,
      keySpace: 5,
      itemKeys: Int32Array.from(items.cat['category']!, (c) => c - 1),
    },
  ];
}

/** Catalogue row r is item `itemToken(r + 1)` (table row r + 1). */
export function tinyCatalogue(seed: number): Columns {
  const rng = new Rng(seed);
  const n = N_ITEMS;
  const tags = new Int32Array(n * 3).fill(-1);
  for (let r = 0; r < n; r++) for (let j = 0; j < 1 + (r % 3); j++) tags[r * 3 + j] = 1 + rng.int(9);
  return {
    size: n,
    cat: {
      item_id: Int32Array.from({ length: n }, (_, r) => r + 1),
      category: Int32Array.from({ length: n }, (_, r) => 1 + (r % 5)),
    },
    seq: { tags: { ids: tags, maxLen: 3 } },
    num: { price: Float32Array.from({ length: n }, () => rng.normal()) },
    labels: {},
    extra: {},
  };
}

export interface TinyExportOptions {
  scoreFn: 'dot' | 'cosine';
  /** Recall model type (default two-tower; an fm recall model is always dot). */
  recall?: 'two-tower' | 'fm';
  /** Pre-ranker type (default prerank-mlp). */
  prerank?: 'prerank-mlp' | 'fm';
  seed?: number;
  dir?: string;
  /** Export a ranking-dnn ranker too, with these options (structure, cross rank...). */
  ranker?: {
    /** Default ranking-dnn; mmoe-esmm reads the same groups. */
    type?: 'ranking-dnn' | 'mmoe-esmm';
    structure?: 'parallel' | 'stacked';
    crossRank?: number;
    crossLayers?: number;
    hidden?: number[];
  };
}

export function tinyExport(opts: TinyExportOptions): TinyExport {
  const seed = opts.seed ?? 3;
  const schema = tinySchema();
  const registry = new TableRegistry({ initStd: 0.3 });
  const rng = new Rng(seed);
  const recall = createModel(
    opts.recall === 'fm'
      ? { type: 'fm', name: 'student', embeddingDim: 8, label: 'click' }
      : {
          type: 'two-tower',
          name: 'student',
          embeddingDim: 8,
          userHidden: [16, 8],
          itemHidden: [12, 8],
          scoreFn: opts.scoreFn,
          label: 'click',
        },
    schema,
    registry,
    rng.fork('recall'),
  ) as TwoTowerModel;
  const prerank = createModel(
    opts.prerank === 'fm'
      ? { type: 'fm', name: 'pre', embeddingDim: 8, label: 'click' }
      : { type: 'prerank-mlp', name: 'pre', embeddingDim: 8, crossDim: 4, hidden: [16, 8], label: 'click' },
    schema,
    registry.namespace('pre'),
    rng.fork('prerank'),
  );
  const ranker = opts.ranker
    ? createModel(
        opts.ranker.type === 'mmoe-esmm'
          ? {
              type: 'mmoe-esmm',
              name: 'teacher',
              embeddingDim: 4,
              experts: 3,
              expertHidden: [16, 8],
              towerHidden: [6],
              ctrLabel: 'click',
              ctcvrLabel: 'conversion',
            }
          : {
              type: 'ranking-dnn',
              name: 'teacher',
              embeddingDim: 4,
              crossLayers: opts.ranker.crossLayers ?? 2,
              crossRank: opts.ranker.crossRank ?? 0,
              structure: opts.ranker.structure ?? 'parallel',
              hidden: opts.ranker.hidden ?? [16, 8],
              label: 'click',
            },
        schema,
        registry.namespace('teacher'),
        rng.fork('ranker'),
      )
    : null;
  const items = tinyCatalogue(seed);
  const U = N_USERS;
  const users: Columns = {
    size: U,
    cat: {
      user_id: Int32Array.from({ length: U }, (_, u) => u + 1),
      age: Int32Array.from({ length: U }, (_, u) => 1 + (u % 4)),
    },
    seq: {
      hist: {
        ids: Int32Array.from({ length: U * 4 }, (_, i) => (i % 4 < 2 ? 1 + (i % N_ITEMS) : -1)),
        maxLen: 4,
      },
    },
    num: { activity: Float32Array.from({ length: U }, (_, u) => (u % 7) / 7) },
    labels: {},
    extra: {},
  };
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kdrec-export-'));
  const manifest = exportModels(
    {
      schema,
      vocabs: {
        user_id: vocab('user_id', U, userToken),
        item_id: vocab('item_id', N_ITEMS, itemToken),
        age: vocab('age', 4, (k) => `a${k}`),
        category: vocab('category', 5, (k) => `c${k}`),
        tags: vocab('tags', 9, (k) => `t${k}`),
        hour: vocab('hour', 23, (k) => pad(k)),
      },
      items,
      itemIds: Array.from({ length: N_ITEMS }, (_, r) => itemToken(r + 1)),
      users: { ids: Array.from({ length: U }, (_, u) => userToken(u + 1)), columns: users },
      recall,
      prerank,
      ...(ranker ? { ranker: { model: ranker, windowFeatures: tinyWindowFeatures(items) } } : {}),
      source: { test: 'tiny' },
      batchSize: 16,
    },
    dir,
  );
  return { dir, manifest, recall, prerank, ranker, items };
}

/**
 * An export whose user tower reads as-of-request user state, for the web page tests: a simulated
 * world (src/data/simulator.ts), its dataset with user state (last 5 items and categories, counts
 * and click rates over 1 h and all time), a random (untrained) two-tower student exported by
 * `exportModels`. Scores need not be meaningful, only reproducible and state-dependent.
 */
import { join } from 'node:path';
import type { LoadedDataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/loaders/index.js';
import { simulate } from '../../src/data/simulator.js';
import { Rng } from '../../src/engine/rng.js';
import { createModel, TableRegistry } from '../../src/models/index.js';
import type { TwoTowerModel } from '../../src/models/types.js';
import { exportModels, userFeatureTable } from '../../src/serve/export.js';
import { tempDir } from '../data/fixtures.js';

export interface StateExport {
  root: string;
  /** The export directory, `root/export`. */
  exportDir: string;
  ds: LoadedDataset;
  model: TwoTowerModel;
}

export async function stateExport(
  opts: { items?: number; users?: number; seed?: number; dim?: number } = {},
): Promise<StateExport> {
  const dim = opts.dim ?? 8;
  const root = tempDir('web');
  const sim = join(root, 'sim');
  const seed = opts.seed ?? 11;
  await simulate({
    out: sim,
    users: opts.users ?? 60,
    items: opts.items ?? 300,
    days: 1,
    seed,
    requestsPerUserDay: 2,
  });
  const ds = await loadDataset(`sim:${sim}`, { userState: { lastN: 5, windows: ['1h', 'all'] } });
  const model = createModel(
    {
      type: 'two-tower',
      name: 'student',
      embeddingDim: dim,
      userHidden: [2 * dim, dim],
      itemHidden: [2 * dim, dim],
      scoreFn: 'cosine',
      label: 'click',
    },
    ds.schema,
    new TableRegistry({ initStd: 0.5 }),
    new Rng(seed),
  ) as TwoTowerModel;
  const exportDir = join(root, 'export');
  exportModels(
    {
      schema: ds.schema,
      vocabs: ds.vocabs,
      items: ds.items.columns,
      itemIds: ds.itemIds,
      users: userFeatureTable(ds, model.userTowerFields),
      recall: model,
    },
    exportDir,
  );
  return { root, exportDir, ds, model };
}

/**
 * The dataset a config names, loaded (and, for a missing `sim:DIR` with a `simulate` block,
 * simulated first). Shared by training, evaluation and export.
 */
import { existsSync } from 'node:fs';
import type { LoadedDataset } from '../data/dataset.js';
import { loadDataset, parseDatasetSpec } from '../data/loaders/index.js';
import { SIMULATE_DEFAULTS, simulate } from '../data/simulator.js';
import type { ExperimentConfig } from './config.js';

/**
 * Loads the dataset of a config. For `sim:DIR` with a `simulate` block, a missing DIR is first
 * simulated (so the example configs run on a fresh clone without a separate step).
 */
export async function loadConfigDataset(
  cfg: ExperimentConfig,
  log?: (msg: string) => void,
): Promise<LoadedDataset> {
  const spec = parseDatasetSpec(cfg.dataset.spec);
  if (spec.kind === 'sim' && spec.path !== undefined && !existsSync(spec.path)) {
    if (cfg.dataset.simulate === undefined) {
      throw new Error(
        `dataset.spec: ${spec.path} does not exist; run \`kdrec simulate --out ${spec.path}\` or add a dataset.simulate block`,
      );
    }
    const s = cfg.dataset.simulate;
    const opts = {
      out: spec.path,
      users: s.users ?? SIMULATE_DEFAULTS.users,
      items: s.items ?? SIMULATE_DEFAULTS.items,
      days: s.days ?? SIMULATE_DEFAULTS.days,
      seed: s.seed ?? SIMULATE_DEFAULTS.seed,
    };
    log?.(`simulating ${opts.users} users × ${opts.items} items × ${opts.days} days into ${spec.path}`);
    await simulate(opts);
  }
  return loadDataset(spec, cfg.dataset.userState !== undefined ? { userState: cfg.dataset.userState } : {});
}

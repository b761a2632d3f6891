/**
 * Export from run directories: rebuilds the runs' models with their dataset (src/run/loadRun.ts
 * `loadRun`) and writes the serving directory (./export.ts). The recall model is the run's
 * two-tower student (or a two-tower teacher); the pre-ranker, when asked for, is the prerank-mlp
 * student of another run on the SAME dataset (the checkpoint loader refuses any shape mismatch).
 * The ranker, when asked for with `rankRun`, is that run's ranking-dnn teacher (the model
 * `kdrec cascade eval --rank-run` ranks with); its privileged inputs are the dataset's window
 * features, exported with their catalogue keys. Opt-in, unlike cascade eval's default: an export
 * made without it keeps serving recall → pre-rank only.
 */
import { join } from 'node:path';
import type { Columns } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import { PREPARED_KIND, parseDatasetSpec } from '../data/loaders/index.js';
import { openPrepared, readServingTables } from '../data/prepared.js';
import type { Schema } from '../data/schema.js';
import type { ShardSpec } from '../data/stream.js';
import type { Vocab } from '../engine/vocab.js';
import { isTwoTower, type Model, type TwoTowerModel } from '../models/types.js';
import { parseConfig } from '../run/config.js';
import { loadConfigDataset } from '../run/dataset.js';
import { loadRun } from '../run/loadRun.js';
import { readRunConfig } from '../run/runDir.js';
import {
  type ExportManifest,
  exportModels,
  type UserFeatureTable,
  userFeatureTable,
  type WindowFeatureExport,
  writeItemVectorsPart,
} from './export.js';

/** What an export reads of its dataset: the fitted schema, id maps, catalogue and user table, no events. */
interface ExportDataset {
  schema: Schema;
  vocabs: Record<string, Vocab>;
  items: Columns;
  itemIds: string[];
  users(fields: readonly string[]): UserFeatureTable;
  windowFeatures: WindowFeatureExport[];
}

function loadedExportDataset(ds: LoadedDataset): ExportDataset {
  return {
    schema: ds.schema,
    vocabs: ds.vocabs,
    items: ds.items.columns,
    itemIds: ds.itemIds,
    users: (fields) => userFeatureTable(ds, fields),
    windowFeatures: windowFeatureDecls(ds),
  };
}

/**
 * A prepared folder's export tables, read without its events: the catalogue, the users table
 * (each user's last train event, written by `kdrec data prepare`), vocabularies and window keys.
 */
async function preparedExportDataset(dir: string): Promise<ExportDataset> {
  const prep = await openPrepared(dir);
  try {
    const users = await prep.readUsers();
    const { vocabs, windowKeys } = await readServingTables(dir, prep.manifest);
    return {
      schema: prep.schema,
      vocabs,
      items: prep.items.columns,
      itemIds: prep.itemIds,
      users: (fields) => {
        const want = new Set(fields.filter((f) => prep.schema.field(f).group === 'user'));
        const pick = <T>(r: Record<string, T>) =>
          Object.fromEntries(Object.entries(r).filter(([k]) => want.has(k)));
        const c = users.columns;
        return {
          ids: users.ids,
          columns: {
            size: c.size,
            cat: pick(c.cat),
            seq: pick(c.seq),
            num: pick(c.num),
            labels: {},
            extra: {},
          },
        };
      },
      windowFeatures: windowKeys.map((w) => ({
        field: w.spec.field,
        keyField: w.spec.keyField,
        countLabel: w.spec.countLabel ?? null,
        windowSeconds: w.spec.windowSeconds,
        keysPerItem: w.keysPerItem,
        keySpace: w.keySpace,
        itemKeys: w.itemKeys,
      })),
    };
  } finally {
    await prep.close();
  }
}

export interface ExportRunOptions {
  run: string;
  prerankRun?: string;
  /** Run whose ranking-dnn teacher becomes the third (rank) stage. */
  rankRun?: string;
  out: string;
  dataset?: LoadedDataset;
  log?: (msg: string) => void;
}

/** The run's dataset (catalogue, users, vocabularies; never a prepared folder's events) and recall model. */
async function exportInputs(opts: Pick<ExportRunOptions, 'run' | 'dataset' | 'log'>) {
  const cfg = parseConfig(readRunConfig(opts.run), join(opts.run, 'config.json'));
  const spec = parseDatasetSpec(cfg.dataset.spec);
  // A prepared dataset exports from its catalogue and users files: no event is read.
  const ds: ExportDataset =
    opts.dataset !== undefined
      ? loadedExportDataset(opts.dataset)
      : spec.kind === PREPARED_KIND
        ? await preparedExportDataset(spec.path!)
        : loadedExportDataset(await loadConfigDataset(cfg, opts.log));
  const run = loadRun(opts.run, ds.schema);
  const recall = [run.student, run.teacher].find((m): m is TwoTowerModel => m !== null && isTwoTower(m));
  if (recall === undefined) {
    const kinds = [run.student, run.teacher].filter((m) => m !== null).map((m) => `${m!.name}: ${m!.kind}`);
    throw new Error(
      `${opts.run}: no two-tower model to export as the recall stage (models: ${kinds.join(', ') || 'none'}); train a two-tower student`,
    );
  }
  return { cfg, ds, run, recall };
}

/**
 * `kdrec export --vectors-only [--shard i/n]` (one part per rank under mpirun): the item vectors of
 * catalogue rows k ≡ i (mod n) as `OUT/part-I-of-N.parquet` (export.ts `writeItemVectorsPart`).
 */
export async function exportItemVectorsRun(
  opts: Pick<ExportRunOptions, 'run' | 'out' | 'dataset' | 'log'> & { shard: ShardSpec },
): Promise<{ file: string; rows: number; dim: number }> {
  const { ds, recall } = await exportInputs(opts);
  const r = await writeItemVectorsPart(
    { recall, items: ds.items, itemIds: ds.itemIds },
    opts.out,
    opts.shard,
  );
  opts.log?.(
    `wrote ${r.rows} item vectors × dim ${r.dim} (shard ${opts.shard.index}/${opts.shard.count}) to ${r.file}`,
  );
  return r;
}

export async function exportRun(opts: ExportRunOptions): Promise<ExportManifest> {
  const { cfg, ds, run, recall } = await exportInputs(opts);
  let prerank: Model | undefined;
  const source: Record<string, string> = {
    run: opts.run,
    checkpoint: run.checkpoint,
    dataset: cfg.dataset.spec,
    recallModel: `${recall.name} (${recall.kind})`,
  };
  if (opts.prerankRun !== undefined) {
    const pcfg = parseConfig(readRunConfig(opts.prerankRun), join(opts.prerankRun, 'config.json'));
    if (pcfg.dataset.spec !== cfg.dataset.spec) {
      throw new Error(
        `--prerank-run ${opts.prerankRun} trained on '${pcfg.dataset.spec}', --run ${opts.run} on '${cfg.dataset.spec}': both stages must share one dataset (vocabularies)`,
      );
    }
    const prun = loadRun(opts.prerankRun, ds.schema);
    if (prun.student === null || (prun.student.kind !== 'prerank-mlp' && prun.student.kind !== 'fm')) {
      throw new Error(
        `${opts.prerankRun}: its student is ${prun.student ? `'${prun.student.kind}'` : 'absent'}, expected a 'prerank-mlp' or 'fm' student`,
      );
    }
    prerank = prun.student;
    source['prerankRun'] = opts.prerankRun;
    source['prerankCheckpoint'] = prun.checkpoint;
  }
  let ranker: Model | undefined;
  if (opts.rankRun !== undefined) {
    const rcfg = parseConfig(readRunConfig(opts.rankRun), join(opts.rankRun, 'config.json'));
    if (rcfg.dataset.spec !== cfg.dataset.spec) {
      throw new Error(
        `--rank-run ${opts.rankRun} trained on '${rcfg.dataset.spec}', --run ${opts.run} on '${cfg.dataset.spec}': all stages must share one dataset (vocabularies, window keys)`,
      );
    }
    const rrun = loadRun(opts.rankRun, ds.schema);
    if (rrun.teacher === null || (rrun.teacher.kind !== 'ranking-dnn' && rrun.teacher.kind !== 'mmoe-esmm')) {
      throw new Error(
        `${opts.rankRun}: its teacher is ${rrun.teacher ? `'${rrun.teacher.kind}'` : 'absent'}, expected a 'ranking-dnn' or 'mmoe-esmm' teacher`,
      );
    }
    ranker = rrun.teacher;
    source['rankRun'] = opts.rankRun;
    source['rankCheckpoint'] = rrun.checkpoint;
  }
  const userFields = [...recall.userTowerFields, ...(prerank?.fields ?? []), ...(ranker?.fields ?? [])];
  opts.log?.(
    `exporting ${recall.name} (${recall.kind}, ${recall.scoreFn}) over ${ds.items.size} items to ${opts.out}`,
  );
  return exportModels(
    {
      schema: ds.schema,
      vocabs: ds.vocabs,
      items: ds.items,
      itemIds: ds.itemIds,
      users: ds.users(userFields),
      recall,
      ...(prerank ? { prerank } : {}),
      ...(ranker
        ? {
            ranker: {
              model: ranker,
              windowFeatures: ds.windowFeatures,
            },
          }
        : {}),
      source,
    },
    opts.out,
  );
}

/**
 * The export's declaration of a dataset's window features — what the ranker's privileged inputs
 * count, over which key, label and window — with each catalogue item's key codes.
 */
export function windowFeatureDecls(ds: LoadedDataset): WindowFeatureExport[] {
  return ds.windowFeatures.map((w) => ({
    field: w.spec.field,
    keyField: w.spec.keyField,
    countLabel: w.spec.countLabel ?? null,
    windowSeconds: w.counter.windowSeconds,
    keysPerItem: w.keysPerItem,
    keySpace: w.counter.keySpace,
    itemKeys: w.itemKeys,
  }));
}

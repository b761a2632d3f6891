import type { ColumnarDataset } from '../data/batch.js';
import type { LoadedDataset, SplitName } from '../data/dataset.js';
import { PREPARED_KIND, parseDatasetSpec } from '../data/loaders/index.js';
import type { ExtraColumns } from '../data/parquetSource.js';
import { openPrepared, type PreparedDataset } from '../data/prepared.js';
import { recallSamples } from '../data/samples.js';
import type { Schema } from '../data/schema.js';
import type { ShardSpec } from '../data/stream.js';
import { COLUMN_PREFIX } from '../distill/kdTerms.js';
import { readRankLists } from '../distill/rankLists.js';
import { Rng } from '../engine/rng.js';
import type { ExperimentConfig } from '../run/config.js';
import { loadConfigDataset } from '../run/dataset.js';
import { attachTeacherScores, streamedTeacherScoreParts } from './teacherScores.js';
import type { TrainData } from './trainer.js';

export type SampleKind = 'exposure' | 'recall';

/** The sample set of one split; recall samples are seeded by (run seed, split). */
export function samplesOf(
  ds: LoadedDataset,
  cfg: ExperimentConfig,
  kind: SampleKind,
  split: SplitName,
): ColumnarDataset {
  if (kind === 'exposure') return ds.splits[split];
  return recallSamples(ds, {
    split,
    negatives: cfg.dataset.negatives,
    sampler: cfg.dataset.negativeSampler,
    rng: new Rng(cfg.seed).fork(`recall-samples-${split}`),
  });
}

/** The first `max` rows (the sets are in time order, so this keeps the earliest ones). */
function head(d: ColumnarDataset, max: number | undefined): ColumnarDataset {
  if (max === undefined || d.size <= max) return d;
  return d.select(Int32Array.from({ length: max }, (_, i) => i));
}

/** Which samples a run of this config trains its models on. */
export function trainingSampleKind(cfg: ExperimentConfig): SampleKind {
  if (cfg.mode === 'teacher') return 'exposure';
  if (cfg.mode === 'two-stage') return 'recall';
  return cfg.dataset.studentSamples;
}

/** What every run needs of its dataset besides the rows (a LoadedDataset or a streamed prepared one). */
export interface DatasetMeta {
  name: string;
  schema: Schema;
  labels: LoadedDataset['labels'];
}

export interface PreparedRunData {
  dataset: DatasetMeta;
  data: TrainData;
  samples: SampleKind;
  /** Releases what the data holds open (the streamed dataset's DuckDB instance). */
  close(): Promise<void>;
}

/** Whether a config trains on a prepared folder streamed from Parquet. */
export function streamsFromParquet(cfg: ExperimentConfig): boolean {
  const spec = parseDatasetSpec(cfg.dataset.spec);
  if (spec.kind !== PREPARED_KIND) {
    if (cfg.dataset.stream === true)
      throw new Error(
        `dataset.stream: only a prepared dataset streams; run \`kdrec data prepare --dataset ${cfg.dataset.spec} --out DIR\` and use prepared:DIR`,
      );
    return false;
  }
  return cfg.dataset.stream !== false;
}

/**
 * The streamed data of a config on `prepared:DIR`: exposure samples read a window at a time. What
 * needs the whole log in memory is refused with the way out (stream: false loads it).
 */
async function streamedRunData(
  cfg: ExperimentConfig,
  opts: { shard?: ShardSpec; teacherScores?: string },
): Promise<PreparedRunData> {
  const dir = parseDatasetSpec(cfg.dataset.spec).path!;
  // A streamed two-stage student trains on the exposures the teacher scored (recall samples need
  // the catalogue negatives' privileged counts from the whole log).
  const samples = cfg.mode === 'two-stage' ? 'exposure' : trainingSampleKind(cfg);
  const inMemoryOnly = (what: string) =>
    new Error(`${what} needs the dataset in memory; set dataset.stream: false to load prepared:${dir} whole`);
  if (samples !== 'exposure')
    throw inMemoryOnly(
      `${cfg.mode === 'two-stage' ? 'mode two-stage (recall samples with teacher columns)' : 'dataset.studentSamples: recall'} (negatives drawn from the catalogue with privileged counts from the whole log)`,
    );
  if (cfg.rankDistill !== undefined)
    throw inMemoryOnly('rankDistill (candidate lists drawn from the whole log)');
  if (cfg.dataset.maxTrainRows !== undefined) throw inMemoryOnly('dataset.maxTrainRows');
  let trainExtras: ExtraColumns | undefined;
  if (cfg.mode === 'two-stage' && cfg.distill.length > 0) {
    const scores = opts.teacherScores ?? cfg.dataset.teacherScores;
    if (scores === undefined)
      throw new Error(
        'mode two-stage needs the teacher logits: set dataset.teacherScores (or pass --teacher-scores DIR) to the folder ' +
          'written by `kdrec teacher score --run TEACHER_RUN --out DIR` (one part per --shard)',
      );
    const columns = [...new Set(cfg.distill.map((t) => t.target.slice(COLUMN_PREFIX.length)))];
    trainExtras = { name: `teacher scores ${scores}`, files: streamedTeacherScoreParts(scores), columns };
  }
  const prep: PreparedDataset = await openPrepared(dir, trainExtras !== undefined ? { trainExtras } : {});
  return {
    dataset: prep,
    data: {
      schema: prep.schema,
      train: prep.splits.train,
      valid: prep.splits.valid,
      shuffleBuffer: cfg.dataset.shuffleBuffer,
      ...(cfg.dataset.maxValidRows !== undefined ? { maxValidRows: cfg.dataset.maxValidRows } : {}),
      ...(opts.shard !== undefined ? { shard: opts.shard } : {}),
    },
    samples,
    close: () => prep.close(),
  };
}

/**
 * Everything `train` needs for a config. `teacherScores` overrides `dataset.teacherScores` (the
 * CLI's --teacher-scores).
 */
export async function prepareRunData(
  cfg: ExperimentConfig,
  opts: {
    teacherScores?: string;
    log?: (msg: string) => void;
    dataset?: LoadedDataset;
    shard?: ShardSpec;
  } = {},
): Promise<PreparedRunData> {
  if (opts.dataset === undefined && streamsFromParquet(cfg))
    return streamedRunData(cfg, {
      ...(opts.shard !== undefined ? { shard: opts.shard } : {}),
      ...(opts.teacherScores !== undefined ? { teacherScores: opts.teacherScores } : {}),
    });
  const dataset = opts.dataset ?? (await loadConfigDataset(cfg, opts.log));
  const samples = trainingSampleKind(cfg);
  const train = head(samplesOf(dataset, cfg, samples, 'train'), cfg.dataset.maxTrainRows);
  const valid = head(samplesOf(dataset, cfg, samples, 'valid'), cfg.dataset.maxValidRows);
  // Two-stage logit terms read teacher columns; a two-stage run with rank terms only needs its lists.
  if (cfg.mode === 'two-stage' && cfg.distill.length > 0) {
    const file = opts.teacherScores ?? cfg.dataset.teacherScores;
    if (file === undefined) {
      throw new Error(
        'mode two-stage needs the teacher logits: set dataset.teacherScores (or pass --teacher-scores FILE) ' +
          'to the file written by `kdrec teacher score --run TEACHER_RUN --samples recall --out FILE`',
      );
    }
    attachTeacherScores(file, train);
  }
  const listsFile = cfg.rankDistill?.lists.file;
  const rankLists =
    listsFile !== undefined ? await readRankLists(listsFile, dataset, dataset.splits.train) : undefined;
  return {
    dataset,
    data: {
      schema: dataset.schema,
      train,
      valid,
      dataset,
      ...(rankLists !== undefined ? { rankLists } : {}),
      ...(opts.shard !== undefined ? { shard: opts.shard } : {}),
    },
    samples,
    close: async () => {},
  };
}

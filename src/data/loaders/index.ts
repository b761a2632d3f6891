/**
 * Dataset addressing shared by every command: `KIND:PATH`, e.g. `movielens-100k:../shared/data/movielens-100k`,
 * `ali-ccp:DIR_OR_CSV`, `kuairand:CSV`, `sim:DIR`. `parseDatasetSpec` is the only parser of that
 * syntax; `loadDataset` is the only entry from a spec to a `LoadedDataset`.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type BuildOptions,
  buildDataset,
  DATASET_KINDS,
  type DatasetKind,
  type LoadedDataset,
  type PreparedSource,
} from '../dataset.js';
import { type PreparedManifest, type PrepareOptions, prepareFromSource } from '../prepare.js';
import { loadPreparedDataset } from '../prepared.js';
import { DuckDb, type ReadOptions } from '../readers.js';
import { type UserStateOptions, type UserStateSource, withUserState } from '../userState.js';
import { prepareAliCcp } from './aliCcp.js';
import { prepareKuairand } from './kuairand.js';
import { MOVIELENS_USER_STATE, prepareMovielens100k } from './movielens100k.js';
import { prepareSim, SIM_USER_STATE } from './sim.js';

/** The loaders that declare user-state features (src/data/userState.ts). */
const USER_STATE_SOURCES: Partial<Record<DatasetKind, UserStateSource>> = {
  sim: SIM_USER_STATE,
  'movielens-100k': MOVIELENS_USER_STATE,
};

/** `prepared:DIR` addresses a folder written by `kdrec data prepare` (any source kind). */
export const PREPARED_KIND = 'prepared';
export type SpecKind = DatasetKind | typeof PREPARED_KIND;

export interface DatasetSpec {
  kind: SpecKind;
  /** Absent only for a bare `sim` (the caller simulates a default world). */
  path: string | undefined;
}

export function parseDatasetSpec(spec: string): DatasetSpec {
  const s = spec.trim();
  const colon = s.indexOf(':');
  const kind = (colon < 0 ? s : s.slice(0, colon)) as SpecKind;
  const path = colon < 0 ? '' : s.slice(colon + 1);
  const kinds: readonly SpecKind[] = [...DATASET_KINDS, PREPARED_KIND];
  if (!kinds.includes(kind)) {
    throw new Error(
      `dataset '${spec}': unknown kind '${kind}'; expected KIND:PATH with KIND one of ${kinds.join(', ')}`,
    );
  }
  if (!path) {
    if (kind === 'sim') return { kind, path: undefined };
    throw new Error(`dataset '${spec}': missing path; expected ${kind}:PATH`);
  }
  return { kind, path: resolve(path) };
}

export interface LoadOptions extends BuildOptions, ReadOptions {
  /** DuckDB worker threads (default: $KDREC_DUCKDB_THREADS, else one per core). */
  duckdbThreads?: number;
  /** Add as-of-request user-state features (last-N items and keys, trailing-window counts and rates). */
  userState?: UserStateOptions;
}

export async function prepareSource(
  db: DuckDb,
  spec: DatasetSpec,
  opts: ReadOptions = {},
): Promise<PreparedSource> {
  if (!spec.path) throw new Error(`dataset '${spec.kind}' needs a path (${spec.kind}:PATH)`);
  if (!existsSync(spec.path)) throw new Error(`dataset ${spec.kind}:${spec.path}: no such file or directory`);
  switch (spec.kind) {
    case PREPARED_KIND:
      throw new Error(
        `dataset prepared:${spec.path} is already prepared: train on it directly (it cannot be read as a raw source)`,
      );
    case 'sim':
      return prepareSim(db, spec.path, opts);
    case 'movielens-100k':
      return prepareMovielens100k(db, spec.path, opts);
    case 'ali-ccp':
      return prepareAliCcp(db, spec.path, opts);
    case 'kuairand':
      return prepareKuairand(db, spec.path, opts);
  }
}

/** Reads, validates, splits and featurises a dataset. */
export async function loadDataset(
  spec: string | DatasetSpec,
  opts: LoadOptions = {},
): Promise<LoadedDataset> {
  const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (s.kind === PREPARED_KIND) {
    // Its features (user state included) were fixed when it was prepared.
    if (opts.userState !== undefined || opts.schema !== undefined || opts.split !== undefined)
      throw new Error(
        `dataset prepared:${s.path}: user state, schema and split were fixed by \`kdrec data prepare\`; prepare again to change them`,
      );
    if (!s.path) throw new Error("dataset 'prepared' needs a path (prepared:DIR)");
    return loadPreparedDataset(s.path);
  }
  const userState = USER_STATE_SOURCES[s.kind];
  if (opts.userState !== undefined && userState === undefined) {
    throw new Error(
      `dataset ${s.kind}: user state is not declared for this loader (available for ${Object.keys(USER_STATE_SOURCES).join(', ')})`,
    );
  }
  const db = await DuckDb.open(opts.duckdbThreads === undefined ? {} : { threads: opts.duckdbThreads });
  try {
    const src = await prepareSource(db, s, opts);
    const ds = await buildDataset(db, src, { ...opts, split: opts.split ?? src.defaultSplit });
    return userState === undefined || opts.userState === undefined
      ? ds
      : withUserState(ds, userState, opts.userState);
  } finally {
    db.close();
  }
}

export interface PrepareDatasetOptions extends Omit<PrepareOptions, 'userState'>, ReadOptions {
  duckdbThreads?: number;
  /** DuckDB's memory budget for the preparation (default '4GB'); the rest spills to OUT/.work. */
  memoryLimit?: string;
  userState?: UserStateOptions;
}

/**
 * `kdrec data prepare`: reads a dataset with its loader and writes the prepared Parquet folder
 * (./../prepare.ts). DuckDB runs on a database file in OUT/.work with a memory limit, so the
 * intermediate tables of 10^8 events spill to disk instead of growing the process; the work folder
 * is removed when the preparation ends, whether it succeeded or not.
 */
export async function prepareDataset(
  spec: string | DatasetSpec,
  opts: PrepareDatasetOptions,
): Promise<PreparedManifest> {
  const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (s.kind === PREPARED_KIND) throw new Error(`dataset prepared:${s.path} is already prepared`);
  const userState = USER_STATE_SOURCES[s.kind];
  if (opts.userState !== undefined && userState === undefined) {
    throw new Error(
      `dataset ${s.kind}: user state is not declared for this loader (available for ${Object.keys(USER_STATE_SOURCES).join(', ')})`,
    );
  }
  const work = join(opts.out, '.work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const db = await DuckDb.open({
    path: join(work, 'prepare.duckdb'),
    memoryLimit: opts.memoryLimit ?? '4GB',
    tempDirectory: join(work, 'tmp'),
    ...(opts.duckdbThreads !== undefined ? { threads: opts.duckdbThreads } : {}),
  });
  try {
    // Insertion order is what keeps time order through the ordered CREATE TABLE ... AS statements.
    await db.run('SET preserve_insertion_order = true');
    const src = await prepareSource(db, s, opts);
    const { userState: us, ...rest } = opts;
    return await prepareFromSource(db, src, {
      ...rest,
      ...(us !== undefined && userState !== undefined
        ? { userState: { source: userState, options: us } }
        : {}),
    });
  } finally {
    db.close();
    rmSync(work, { recursive: true, force: true });
  }
}

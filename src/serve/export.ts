/**
 * `kdrec export`: a trained recall model (two-tower), optionally a pre-ranker, written as a
 * self-contained serving directory that ./bundle.ts loads without the training code path:
 *
 *   DIR/manifest.json              format + versions, feature schema (with train-split fit),
 *                                  score function, temperature, file names
 *   DIR/vocab.<table>.json         vocabulary of each embedding table the exported fields read
 *   DIR/weights.safetensors        every weight the graphs read (embedding tables, dense layers)
 *   DIR/user_tower.graph.json      user tower   (./graph.ts format)
 *   DIR/item_tower.graph.json      item tower   (so new items can be embedded and added incrementally)
 *   DIR/prerank.graph.json         pre-ranker   (optional)
 *   DIR/rank.graph.json            ranker       (optional: the heavy ranking teacher, privileged inputs)
 *   DIR/rank_keys.safetensors      per window feature the ranker reads, `keys/<field>` I32 [N, K]:
 *                                  each catalogue row's window keys (category, shop, genres) as the
 *                                  dataset's WindowCounter codes them (src/data/windowFeatures.ts)
 *   DIR/item_vectors.safetensors   `vectors` [N, D]: the item tower over the whole catalogue
 *   DIR/item_features.safetensors  the catalogue's item-field columns (pre-ranker inputs)
 *   DIR/item_ids.json              raw item id of each catalogue row
 *   DIR/user_features.safetensors  last train-split value of each user field per known user
 *
 * The ranker's privileged inputs are trailing-window counts (Xu et al., KDD'20) that a request does
 * not carry; the manifest's `ranker.windowFeatures` declares each one (field, key field, counted
 * label, window length) so the server can recompute them from the user's events with the training
 * definition (./onlinePrivileged.ts). A ranker reading a privileged field that is not such a window
 * count is refused: nothing online could fill it.
 *
 * The score function (dot | cosine) is recorded so that the index metric always matches training
 * (./annIndex.ts refuses a mismatch).
 *
 * The catalogue's vectors are computed by the exported item-tower graph itself (./graph.ts), so an
 * item added later by `kdrec index add` (./annIndex.ts `updateCatalogue`, same function) gets exactly
 * the vector a full export would have given it. `manifest.json` is written last and by rename: it is
 * the commit point of an export, and of every later catalogue revision.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocLike, type Columns, gatherRows } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import { DuckDb, sqlStr } from '../data/readers.js';
import { idField, type Schema } from '../data/schema.js';
import { shardPartName } from '../data/shardParts.js';
import type { ShardSpec } from '../data/stream.js';
import { kdrecVersion } from '../engine/checkpoint.js';
import { type SafetensorsTensor, writeSafetensors } from '../engine/safetensors.js';
import type { Vocab, VocabJSON } from '../engine/vocab.js';
import type { Model, TwoTowerModel } from '../models/types.js';
import {
  graphWeightNames,
  preRankGraph,
  rankGraph,
  renameGraphWeights,
  storeWeight,
  towerGraph,
} from './exportGraphs.js';
import { CompiledGraph, type GraphDesc } from './graph.js';

export const EXPORT_FORMAT = 'kdrec-export';
export const EXPORT_FORMAT_VERSION = 1;

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  formatVersion: number;
  kdrecVersion: string;
  createdAt: string;
  /** Where the models came from (run dirs, checkpoint, dataset spec). */
  source: Record<string, string>;
  schema: ReturnType<Schema['toJSON']>;
  scoreFn: 'dot' | 'cosine';
  temperature: number;
  dim: number;
  /** Catalogue rows (removed items included: see `item_vectors` `live`). */
  itemCount: number;
  /**
   * Catalogue revision: 0 as exported, +1 per `kdrec index add/remove`. With `createdAt` it
   * identifies the item table a saved index was built for (absent in exports from before it).
   */
  revision?: number;
  userCount: number;
  /** The categorical user field holding user ids (cold start = its OOV row 0), if any. */
  userIdField: string | null;
  itemIdField: string | null;
  fields: { user: string[]; item: string[]; prerank: string[] };
  /** The third cascade stage; absent or null: the export has no ranker (recall → pre-rank only). */
  ranker?: RankerManifest | null;
  files: {
    weights: string;
    userTower: string;
    itemTower: string;
    prerank: string | null;
    /** Ranker graph and its window keys (absent in exports without a ranker). */
    rank?: string | null;
    rankKeys?: string | null;
    itemVectors: string;
    itemFeatures: string;
    itemIds: string;
    userFeatures: string | null;
    userIds: string | null;
    /** Vocabulary file of each table the exported fields read (kept out of the manifest: an item vocab of 1M ids is 17 MB of JSON). */
    vocabs: Record<string, string>;
    /** The saved index's description (./annIndex.ts); absent: `index.json` when present. */
    index?: string;
  };
}

/** A privileged window count as the serving side needs it to recompute the training value. */
export interface WindowFeatureDecl {
  /** The numeric (privileged) field the count fills; normalised with its schema statistics. */
  field: string;
  /** Item field whose raw values are the keys (documentation: the codes are in the keys file). */
  keyField: string;
  /** Count only events whose label is positive; null: every event. */
  countLabel: string | null;
  windowSeconds: number;
  /** Keys per catalogue row (1 for a categorical key field, maxLen for a multi_hot one). */
  keysPerItem: number;
  /** Exclusive upper bound on key codes. */
  keySpace: number;
}

export interface RankerManifest {
  /** `name (kind)` of the exported model. */
  model: string;
  /** The model output the graph computes (its logit). */
  output: string;
  fields: string[];
  windowFeatures: WindowFeatureDecl[];
}

/** A window feature with its catalogue keys, as the exporter receives it. */
export interface WindowFeatureExport extends WindowFeatureDecl {
  /** Catalogue row · keysPerItem → key code (−1 padded). */
  itemKeys: Int32Array;
}

/** Per known user, the user-group columns a request by user id is filled from. */
export interface UserFeatureTable {
  /** Raw user id of each row. */
  ids: string[];
  columns: Columns;
}

export interface ExportInput {
  schema: Schema;
  vocabs: Record<string, Vocab>;
  /** Item catalogue: row i is item i (item-group columns). */
  items: Columns;
  itemIds: string[];
  users?: UserFeatureTable;
  recall: TwoTowerModel;
  prerank?: Model;
  /** The heavy ranker and the window features that fill its privileged inputs. */
  ranker?: { model: Model; windowFeatures: readonly WindowFeatureExport[] };
  source?: Record<string, string>;
  /** Rows per item-tower batch (default 4096). */
  batchSize?: number;
}

export const EXPORT_FILES = {
  weights: 'weights.safetensors',
  userTower: 'user_tower.graph.json',
  itemTower: 'item_tower.graph.json',
  prerank: 'prerank.graph.json',
  rank: 'rank.graph.json',
  rankKeys: 'rank_keys.safetensors',
  itemVectors: 'item_vectors.safetensors',
  itemFeatures: 'item_features.safetensors',
  itemIds: 'item_ids.json',
  userFeatures: 'user_features.safetensors',
  userIds: 'user_ids.json',
  manifest: 'manifest.json',
} as const;

/** Atomic JSON write: a temp file in the same directory, then rename over the target. */
export function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`);
  renameSync(tmp, path);
}

/**
 * The exported item tower over catalogue rows in batches: `[N, D]`. The one function behind both the
 * exporter and `kdrec index add`, so an added item's vector is bit-identical to an exported one's.
 */
export function itemTowerVectors(tower: CompiledGraph, items: Columns, batchSize = 4096): Float32Array {
  const dim = tower.outDim;
  const out = new Float32Array(items.size * dim);
  for (let s = 0; s < items.size; s += batchSize) {
    const e = Math.min(items.size, s + batchSize);
    out.set(tower.run(sliceRows(items, s, e)), s * dim);
  }
  return out;
}

function sliceRows(c: Columns, s: number, e: number): Columns {
  const rec = <T extends Int32Array | Float32Array>(r: Record<string, T>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.subarray(s, e) as T]));
  return {
    size: e - s,
    cat: rec(c.cat),
    seq: Object.fromEntries(
      Object.entries(c.seq).map(([k, v]) => [
        k,
        { ids: v.ids.subarray(s * v.maxLen, e * v.maxLen), maxLen: v.maxLen },
      ]),
    ),
    num: rec(c.num),
    labels: {},
    extra: {},
  };
}

/** Columns as safetensors entries: `cat/F` I32 [N], `seq/F` I32 [N, L], `num/F` F32 [N]. */
export function columnsToTensors(c: Columns, fields: ReadonlySet<string>): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [k, v] of Object.entries(c.cat))
    if (fields.has(k)) out[`cat/${k}`] = { dtype: 'I32', shape: [c.size], data: v };
  for (const [k, v] of Object.entries(c.seq))
    if (fields.has(k)) out[`seq/${k}`] = { dtype: 'I32', shape: [c.size, v.maxLen], data: v.ids };
  for (const [k, v] of Object.entries(c.num))
    if (fields.has(k)) out[`num/${k}`] = { dtype: 'F32', shape: [c.size], data: v };
  return out;
}

/**
 * The user table of a dataset: for each user key, the user-group columns of that user's LAST
 * train-split event (events are in time order), so no later period's value leaks into serving state
 * that offline evaluation on valid/test would then read.
 */
export function userFeatureTable(ds: LoadedDataset, fields: readonly string[]): UserFeatureTable {
  const ev = ds.events.columns;
  const keys = ev.userKey;
  if (keys === undefined) throw new Error(`${ds.name}: events carry no userKey`);
  const U = ds.userIds.length;
  const last = new Int32Array(U).fill(-1);
  for (let r = 0; r < ev.size; r++) if (ds.split[r] === 0) last[keys[r]!] = r;
  const userFields = fields.filter((f) => ds.schema.field(f).group === 'user');
  const cols: Columns = { size: U, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  for (const f of userFields) {
    const kind = ds.schema.field(f).kind;
    if (kind === 'categorical') {
      const src = ev.cat[f]!;
      cols.cat[f] = Int32Array.from(last, (r) => (r < 0 ? 0 : src[r]!));
    } else if (kind === 'numeric') {
      const src = ev.num[f]!;
      cols.num[f] = Float32Array.from(last, (r) => (r < 0 ? 0 : src[r]!));
    } else {
      const src = ev.seq[f]!;
      const L = src.maxLen;
      const ids = new Int32Array(U * L).fill(-1);
      last.forEach((r, u) => {
        if (r >= 0) ids.set(src.ids.subarray(r * L, r * L + L), u * L);
      });
      cols.seq[f] = { ids, maxLen: L };
    }
  }
  return { ids: ds.userIds, columns: cols };
}

/** Writes an export directory; returns its manifest. */
export function exportModels(input: ExportInput, outDir: string): ExportManifest {
  const { recall, schema } = input;
  const towers = recall.exportTowers();
  const user = towerGraph(towers.user, 'user_tower', recall.store);
  const item = towerGraph(towers.item, 'item_tower', recall.store);
  if (user.outDim !== item.outDim)
    throw new Error(`export: user tower width ${user.outDim} differs from item tower width ${item.outDim}`);
  let prerank = input.prerank ? preRankGraph(input.prerank) : null;
  const ranker = input.ranker ? rankerExport(input.ranker, schema, input.items.size) : null;
  if (input.items.size !== input.itemIds.length) {
    throw new Error(`export: catalogue has ${input.items.size} rows but ${input.itemIds.length} item ids`);
  }
  mkdirSync(outDir, { recursive: true });

  // Weights: the stages may share embedding tables (joint training), and then one copy serves every
  // graph. But stages from DIFFERENT runs reuse the same names for different values (every run's
  // tables are `emb.<field>`): a name already taken by other values is stored under
  // `<graph>/<name>` and the graph is rewritten to read that, never the other stage's table.
  const weights: Record<string, SafetensorsTensor> = {};
  /** Model weight name → the names it is stored under (one per distinct value set). */
  const storedAs = new Map<string, string[]>();
  const addWeights = (g: GraphDesc, m: Model): GraphDesc => {
    const renamed = new Map<string, string>();
    for (const n of graphWeightNames(g)) {
      const w = storeWeight(m.store, n);
      const names = storedAs.get(n) ?? [];
      // The pre-ranker and ranker of one joint run share tables that the recall run names alike.
      const same = names.find((s) => sameValues(weights[s]!.data, w.data));
      const name = same ?? (names.length === 0 ? n : `${g.name}/${n}`);
      if (same === undefined) {
        weights[name] = { dtype: 'F32', shape: w.shape, data: w.data };
        storedAs.set(n, [...names, name]);
      }
      if (name !== n) renamed.set(n, name);
    }
    return renamed.size > 0 ? renameGraphWeights(g, renamed) : g;
  };
  addWeights(user, recall);
  addWeights(item, recall);
  if (prerank && input.prerank) prerank = addWeights(prerank, input.prerank);
  if (ranker && input.ranker) ranker.graph = addWeights(ranker.graph, input.ranker.model);
  writeSafetensors(join(outDir, EXPORT_FILES.weights), weights, { format: EXPORT_FORMAT });
  writeJson(join(outDir, EXPORT_FILES.userTower), user);
  writeJson(join(outDir, EXPORT_FILES.itemTower), item);
  if (prerank) writeJson(join(outDir, EXPORT_FILES.prerank), prerank);
  if (ranker) {
    writeJson(join(outDir, EXPORT_FILES.rank), ranker.graph);
    const keys: Record<string, SafetensorsTensor> = {};
    for (const w of ranker.windowFeatures)
      keys[`keys/${w.field}`] = { dtype: 'I32', shape: [input.items.size, w.keysPerItem], data: w.itemKeys };
    writeSafetensors(join(outDir, EXPORT_FILES.rankKeys), keys, { format: EXPORT_FORMAT });
  }

  const dim = user.outDim;
  const lookup = (name: string) => {
    const w = weights[name];
    return w && w.data instanceof Float32Array ? { data: w.data, shape: w.shape } : undefined;
  };
  const vectors = itemTowerVectors(new CompiledGraph(item, lookup), input.items, input.batchSize);
  writeSafetensors(join(outDir, EXPORT_FILES.itemVectors), {
    vectors: { dtype: 'F32', shape: [input.items.size, dim], data: vectors },
  });
  const prerankFields = input.prerank?.fields ?? [];
  const rankFields = ranker?.manifest.fields ?? [];
  const itemFields = new Set([...recall.itemTowerFields, ...prerankFields, ...rankFields]);
  writeSafetensors(join(outDir, EXPORT_FILES.itemFeatures), columnsToTensors(input.items, itemFields));
  writeJson(join(outDir, EXPORT_FILES.itemIds), input.itemIds);
  const userFields = new Set([...recall.userTowerFields, ...prerankFields, ...rankFields]);
  if (input.users) {
    writeSafetensors(
      join(outDir, EXPORT_FILES.userFeatures),
      columnsToTensors(input.users.columns, userFields),
    );
    writeJson(join(outDir, EXPORT_FILES.userIds), input.users.ids);
  }

  const readFields = new Set([...recall.fields, ...prerankFields, ...rankFields]);
  const vocabFiles: Record<string, string> = {};
  for (const f of readFields) {
    const t = schema.field(f).table;
    const v = input.vocabs[t];
    if (v === undefined || vocabFiles[t] !== undefined) continue;
    vocabFiles[t] = `vocab.${t}.json`;
    writeJson(join(outDir, vocabFiles[t]!), v.toJSON() satisfies VocabJSON);
  }
  const readSpecs = [...readFields].map((f) => schema.field(f));
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    kdrecVersion: kdrecVersion(),
    createdAt: new Date().toISOString(),
    source: input.source ?? {},
    schema: schema.toJSON(),
    scoreFn: towers.scoreFn,
    temperature: towers.temperature,
    dim,
    itemCount: input.items.size,
    userCount: input.users?.ids.length ?? 0,
    userIdField: idField(readSpecs, 'user', false),
    itemIdField: idField(readSpecs, 'item', false),
    fields: { user: recall.userTowerFields, item: recall.itemTowerFields, prerank: prerankFields },
    ranker: ranker?.manifest ?? null,
    files: {
      weights: EXPORT_FILES.weights,
      userTower: EXPORT_FILES.userTower,
      itemTower: EXPORT_FILES.itemTower,
      prerank: prerank ? EXPORT_FILES.prerank : null,
      rank: ranker ? EXPORT_FILES.rank : null,
      rankKeys: ranker ? EXPORT_FILES.rankKeys : null,
      itemVectors: EXPORT_FILES.itemVectors,
      itemFeatures: EXPORT_FILES.itemFeatures,
      itemIds: EXPORT_FILES.itemIds,
      userFeatures: input.users ? EXPORT_FILES.userFeatures : null,
      userIds: input.users ? EXPORT_FILES.userIds : null,
      vocabs: vocabFiles,
    },
  };
  // The manifest goes last: a directory with a manifest is a complete export.
  writeJson(join(outDir, EXPORT_FILES.manifest), manifest);
  return manifest;
}

function sameValues(a: SafetensorsTensor['data'], b: Float32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The ranker's graph and manifest entry; checks every privileged input is a declared window count. */
function rankerExport(
  r: NonNullable<ExportInput['ranker']>,
  schema: Schema,
  items: number,
): { graph: GraphDesc; manifest: RankerManifest; windowFeatures: readonly WindowFeatureExport[] } {
  const graph = rankGraph(r.model);
  const byField = new Map(r.windowFeatures.map((w) => [w.field, w]));
  const used: WindowFeatureExport[] = [];
  for (const f of r.model.fields) {
    const spec = schema.field(f);
    if (spec.group !== 'privileged') continue;
    const w = byField.get(f);
    if (w === undefined) {
      throw new Error(
        `export: ranker ${r.model.name} reads privileged field '${f}', which is no window feature of the dataset (window features: ${[...byField.keys()].join(', ') || 'none'}); the server can only recompute trailing-window counts`,
      );
    }
    if (spec.kind !== 'numeric')
      throw new Error(`export: window feature '${f}' must be a numeric field, is ${spec.kind}`);
    if (w.itemKeys.length !== items * w.keysPerItem) {
      throw new Error(
        `export: window feature '${f}' has ${w.itemKeys.length} item keys, expected ${items} items × ${w.keysPerItem}`,
      );
    }
    used.push(w);
  }
  return {
    graph,
    windowFeatures: used,
    manifest: {
      model: `${r.model.name} (${r.model.kind})`,
      output: r.model.outputNames[0]!,
      fields: r.model.fields,
      windowFeatures: used.map(({ itemKeys: _keys, ...decl }) => decl),
    },
  };
}

/**
 * One shard's item vectors (`kdrec export --vectors-only --shard i/n`, or one part per rank under
 * mpirun): the catalogue rows k ≡ i (mod n) through the same compiled item tower as the full
 * export (equal to its row of item_vectors.safetensors up to float rounding: the sgemm sees other
 * batch sizes), written as
 * `OUT/part-I-of-N.parquet` with columns `item_id`, `row` (catalogue row) and `v0 … v{D−1}` —
 * plain FLOAT columns that any index builder (FAISS via pyarrow, a vector database's loader) reads.
 */
export async function writeItemVectorsPart(
  input: Pick<ExportInput, 'recall' | 'items' | 'itemIds' | 'batchSize'>,
  out: string,
  shard: ShardSpec,
): Promise<{ file: string; rows: number; dim: number }> {
  const item = towerGraph(input.recall.exportTowers().item, 'item_tower', input.recall.store);
  const store = input.recall.store;
  const tower = new CompiledGraph(item, (name) => storeWeight(store, name));
  const N = input.items.size;
  if (N !== input.itemIds.length)
    throw new Error(`export: catalogue has ${N} rows but ${input.itemIds.length} item ids`);
  const rows = Int32Array.from(
    { length: Math.ceil((N - shard.index) / shard.count) },
    (_, j) => j * shard.count + shard.index,
  );
  const part = allocLike(input.items, rows.length);
  gatherRows(input.items, rows, rows.length, part);
  const vectors = itemTowerVectors(tower, part, input.batchSize);
  const dim = item.outDim;
  mkdirSync(out, { recursive: true });
  const file = join(out, shardPartName(shard, 'parquet'));
  const tmp = `${file}.partial`;
  const db = await DuckDb.open({ memoryLimit: '512MB', threads: 1 });
  try {
    const cols = Array.from({ length: dim }, (_, d) => `v${d} FLOAT`).join(', ');
    await db.run(`CREATE TABLE v (item_id VARCHAR, "row" INTEGER, ${cols})`);
    const app = await db.conn.createAppender('v');
    for (let j = 0; j < rows.length; j++) {
      app.appendVarchar(input.itemIds[rows[j]!]!);
      app.appendInteger(rows[j]!);
      for (let d = 0; d < dim; d++) app.appendFloat(vectors[j * dim + d]!);
      app.endRow();
    }
    app.closeSync();
    await db.run(`COPY v TO ${sqlStr(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    renameSync(tmp, file);
  } finally {
    db.close();
  }
  return { file, rows: rows.length, dim };
}

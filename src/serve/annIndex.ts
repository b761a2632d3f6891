/**
 * Retrieval indexes over the item-tower vectors: an HNSW graph (usearch; Malkov & Yashunin,
 * "Efficient and robust approximate nearest neighbor search using Hierarchical Navigable Small World
 * graphs", TPAMI 2020) and an exact brute-force index with partial top-K selection (the shared
 * TopKSelector of src/engine/topK.ts, no full sort).
 *
 * Metric follows the model's training score, never the other way round: 'dot' ⇒ inner product,
 * 'cosine' ⇒ cosine (the exported item vectors are already unit-norm, so 'ip' ranks identically).
 * An L2 index over dot-trained vectors ranks by |u − v|² = |u|² + |v|² − 2u·v, which rewards small
 * item norms and returns a different top-K: it is refused.
 *
 * Maximum inner product is not a metric, and an HNSW graph built on raw inner products of
 * vectors with unequal norms links everything to a few large-norm hubs, so greedy search misses the
 * best items (measured on a trained two-tower export: recall@100 ≈ 0.05). For 'dot' models the
 * graph is therefore built on the exact MIPS → nearest-neighbour reduction of Bachrach et al.,
 * "Speeding Up the Xbox Recommender System Using a Euclidean Transformation for Inner-Product
 * Spaces", RecSys'14, §3: item v ↦ [v, √(Φ² − |v|²)], query u ↦ [u, 0], with Φ ≥ every item norm.
 * Every augmented item then has norm Φ and ⟨ũ, ṽ⟩ = ⟨u, v⟩, so the 'ip' graph ranks by exactly the
 * trained score while behaving like a cosine graph. Φ is fixed at build time with head-room for
 * later additions; an added item above it is refused (rebuild). On i.i.d. Gaussian vectors (equal
 * norms in expectation, no structure) the transform costs recall instead of helping; `phi: 0`
 * (`--raw-ip` on the CLI) builds the plain inner-product graph for such data.
 *
 * Norm ranges (Yan et al., "Norm-Ranging LSH for Maximum Inner Product Search", NeurIPS 2018, §4):
 * one Φ for the whole catalogue gives every small-norm item a large extra coordinate √(Φ² − |v|²),
 * which crowds their angles together (measured on a 1M-item trained export: median |v| 1.6, Φ 3.5;
 * recall@100 0.87 at ef 512). With `normRanges: B` the items are split by norm into B ranges of
 * about equal size, each its own graph with its own Φ_b (the range's largest norm), so the extra
 * coordinate stays small within each range. A query searches every range for k and the candidates
 * are merged by their exact score (B searches per query). An item belongs to the lowest range whose
 * Φ_b is at least its norm, the rule used both to build and to add.
 *
 * Both indexes return the model's own score dot(u, v) for the returned items: HNSW is only used to
 * find candidates, the score is recomputed from the stored vectors so every stage sees exact scores.
 * Keys are catalogue rows. Add and remove work on a live index without a rebuild.
 *
 * Saved index (format 3): the usearch graph and a small JSON description; the vectors it rescores
 * with are the export's own `item_vectors` (with its `live` mask), so they are stored once. A
 * server maps the graph read-only (usearch `view`: an mmap, ~0.1 s at 1M items instead of ~0.6–1.7 s
 * for `load`, and the page cache is shared between processes); a viewed index refuses add/remove.
 *
 * Catalogue updates (`updateCatalogue`, behind `kdrec index add/remove`) are appended to the
 * revision's catalogue log (./catalogueLog.ts) in O(changed items): new item rows are encoded as
 * the dataset builder encodes them and embedded by the export's own item-tower graph (./export.ts
 * `itemTowerVectors`, the exporter's function), removed rows are masked (rows never move, because
 * rows are the index's keys). Loaders apply the log; a loaded HnswIndex searches the log's written
 * rows exactly beside its saved graph and drops the graph's hits for rows the log removed or
 * rewrote. Compaction (`compactCatalogue`, `kdrec index compact`, or automatic once the log has
 * touched COMPACT_FRACTION of the catalogue) changes the item table and the saved graph together:
 * every changed file is written under a new revision name before `manifest.json` is renamed over —
 * the one commit point. A reader therefore sees the old or the new revision, never a
 * mix; the index description records `exportCreatedAt` AND `exportRevision`, so an index saved for
 * another revision of the item table is refused.
 */
import { closeSync, existsSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Columns } from '../data/batch.js';
import { normalizeInPlace } from '../data/schema.js';
import { getKernels } from '../engine/kernels/index.js';
import { writeSafetensors } from '../engine/safetensors.js';
import { TopKSelector } from '../engine/topK.js';
import type { Vocab } from '../engine/vocab.js';
import {
  hashedId,
  itemVectorsLoader,
  type Loader,
  loadExport,
  pause,
  readJson,
  readTensors,
  runLoaderSync,
  type ServingBundle,
  vocabLoader,
} from './bundle.js';
import {
  appendCatalogueLog,
  CATALOGUE_LOG_PATTERN,
  type CatalogueDelta,
  catalogueLogFile,
  type LogUpdate,
} from './catalogueLog.js';
import {
  columnsToTensors,
  EXPORT_FORMAT_VERSION,
  type ExportManifest,
  itemTowerVectors,
  writeJson,
} from './export.js';
import type { IndexTuning } from './indexEval.js';

export type IndexMetric = 'ip' | 'cos' | 'l2sq';
export type ScoreFn = 'dot' | 'cosine';

/** The metric an index must use for a model trained with `scoreFn`; throws for a mismatch. */
export function metricFor(scoreFn: ScoreFn, requested?: IndexMetric): IndexMetric {
  const allowed: Record<ScoreFn, IndexMetric[]> = { dot: ['ip'], cosine: ['cos', 'ip'] };
  const metric = requested ?? (scoreFn === 'dot' ? 'ip' : 'cos');
  if (!allowed[scoreFn].includes(metric)) {
    throw new Error(
      `refusing a '${metric}' index for a model trained with score function '${scoreFn}': ` +
        (scoreFn === 'dot'
          ? 'an L2 or cosine index does not rank by the inner product the model was trained on (it favours items by norm), so its top-K would be wrong; use metric ip'
          : "use metric 'cos' (or 'ip': the exported item vectors are unit-norm)"),
    );
  }
  return metric;
}

export interface SearchResult {
  /** Catalogue rows, best first. */
  keys: Int32Array;
  /** Model scores dot(u, v), best first. */
  scores: Float32Array;
}

export interface VectorIndex {
  readonly dim: number;
  /** Live (not removed) items. */
  size(): number;
  search(query: Float32Array, k: number): SearchResult;
  add(keys: Int32Array, vectors: Float32Array): void;
  remove(keys: Int32Array): void;
}

/**
 * Row storage shared by both indexes: vectors by key, grown on add, a `live` mask for removals.
 */
class VectorStore {
  vectors: Float32Array;
  live: Uint8Array;
  capacity: number;
  count = 0;

  constructor(
    readonly dim: number,
    vectors: Float32Array,
    live: Uint8Array | null = null,
  ) {
    if (vectors.length % dim !== 0)
      throw new Error(`index: ${vectors.length} values are not rows of width ${dim}`);
    this.capacity = vectors.length / dim;
    this.vectors = vectors;
    if (live !== null && live.length !== this.capacity)
      throw new Error(`index: live mask has ${live.length} rows, the vectors ${this.capacity}`);
    this.live = live === null ? new Uint8Array(this.capacity).fill(1) : Uint8Array.from(live);
    let count = 0;
    for (let i = 0; i < this.capacity; i++) count += this.live[i]!;
    this.count = count;
  }

  put(keys: Int32Array, vectors: Float32Array): void {
    const D = this.dim;
    if (vectors.length !== keys.length * D)
      throw new Error(`index add: ${keys.length} keys but ${vectors.length / D} vectors of width ${D}`);
    let max = this.capacity;
    for (const k of keys) {
      if (!Number.isInteger(k) || k < 0)
        throw new Error(`index add: key ${k} must be a non-negative integer`);
      max = Math.max(max, k + 1);
    }
    if (max > this.capacity) {
      const cap = Math.max(max, Math.ceil(this.capacity * 1.5));
      const v = new Float32Array(cap * D);
      v.set(this.vectors);
      const l = new Uint8Array(cap);
      l.set(this.live);
      this.vectors = v;
      this.live = l;
      this.capacity = cap;
    }
    keys.forEach((k, j) => {
      this.vectors.set(vectors.subarray(j * D, (j + 1) * D), k * D);
      if (!this.live[k]) this.count++;
      this.live[k] = 1;
    });
  }

  drop(keys: Int32Array): void {
    for (const k of keys) {
      if (k >= 0 && k < this.capacity && this.live[k]) {
        this.live[k] = 0;
        this.count--;
      }
    }
  }

  dot(q: Float32Array, k: number): number {
    const D = this.dim;
    let s = 0;
    for (let d = 0; d < D; d++) s += q[d]! * this.vectors[k * D + d]!;
    return s;
  }
}

/** Rows `rows` of row-major `[n, dim]` vectors, packed `[rows.length, dim]`. */
export function vectorRows(vectors: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++)
    out.set(vectors.subarray(rows[i]! * dim, (rows[i]! + 1) * dim), i * dim);
  return out;
}

/** Brute force: all scores by one matrix-vector product, then partial top-K. */
export class ExactIndex implements VectorIndex {
  private readonly store: VectorStore;
  private scores: Float32Array;
  private dead: Uint8Array;
  /** The dead mask is rebuilt only after an add/remove, not per query (1M bytes per query at 1M items). */
  private deadStale = true;
  private selector: TopKSelector;

  /** `live`: the export's mask of served rows (null: all). */
  constructor(dim: number, vectors: Float32Array, maxK = 1000, live: Uint8Array | null = null) {
    this.store = new VectorStore(dim, vectors, live);
    this.scores = new Float32Array(this.store.capacity);
    this.dead = new Uint8Array(this.store.capacity);
    this.selector = new TopKSelector(maxK);
  }

  get dim(): number {
    return this.store.dim;
  }
  size(): number {
    return this.store.count;
  }

  search(query: Float32Array, k: number): SearchResult {
    const s = this.store;
    if (query.length !== s.dim)
      throw new Error(`index search: query has ${query.length} values, index dim ${s.dim}`);
    const N = s.capacity;
    if (this.scores.length < N) {
      this.scores = new Float32Array(N);
      this.dead = new Uint8Array(N);
      this.deadStale = true;
    }
    if (k > this.selector.maxK) this.selector = new TopKSelector(k);
    const scores = this.scores.subarray(0, N);
    // scores[N×1] = V[N×D] · q[D×1]
    getKernels().sgemm(false, false, N, 1, s.dim, 1, s.vectors, query, 0, scores);
    if (this.deadStale && s.count < N) {
      for (let i = 0; i < N; i++) this.dead[i] = s.live[i] ? 0 : 1;
      this.deadStale = false;
    }
    const exclude = s.count < N ? this.dead : undefined;
    const n = this.selector.select(scores, Math.min(k, this.selector.maxK), 0, N, exclude);
    return {
      keys: this.selector.indices.slice(0, n),
      scores: Float32Array.from(this.selector.scores.subarray(0, n)),
    };
  }

  add(keys: Int32Array, vectors: Float32Array): void {
    this.store.put(keys, vectors);
    this.deadStale = true;
  }
  remove(keys: Int32Array): void {
    this.store.drop(keys);
    this.deadStale = true;
  }
}

/** The usearch API kdrec uses (its ESM entry is broken, so it is loaded through require). */
interface UsearchMatches {
  keys: BigUint64Array;
  distances: Float32Array;
}
interface UsearchIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(vectors: Float32Array, k: number, threads: number): UsearchMatches;
  remove(keys: BigUint64Array): number | number[];
  size(): number;
  save(path: string): void;
  load(path: string): void;
  view(path: string): void;
}
interface UsearchModule {
  Index: new (cfg: {
    dimensions: number;
    metric: string;
    quantization: string;
    connectivity: number;
    expansion_add: number;
    expansion_search: number;
    multi: boolean;
  }) => UsearchIndex;
}

let usearchModule: UsearchModule | null = null;
function usearch(): UsearchModule {
  usearchModule ??= createRequire(import.meta.url)('usearch') as UsearchModule;
  return usearchModule;
}

export interface HnswOptions {
  /** M: graph degree (default 16). */
  connectivity?: number;
  /** efConstruction (default 128). */
  expansionAdd?: number;
  /** ef at query time (default 256); usearch searches with max(ef, k). */
  expansionSearch?: number;
  /** Threads for batch add (0 = usearch's choice). */
  threads?: number;
  /** Dot models: graphs over this many norm ranges (see the file header; default 1). */
  normRanges?: number;
}

export const HNSW_DEFAULTS = {
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 256,
  normRanges: 1,
} as const;

/** Squared-norm tolerance of the Φ checks (float32 rounding of |v|²). */
const PHI_SLACK = 1 + 1e-6;

/**
 * Φ of each of `ranges` norm ranges over the live rows' `norms` (removed rows: 0): range b ends at
 * the norm of the item at quantile (b + 1) / ranges, and the top range's Φ has 5% head-room for
 * items added later without a rebuild. A larger Φ adds a large shared coordinate that crowds every
 * item's angle together (measured: recall falls as Φ grows), so the lower ranges get none; an added
 * item above a range's Φ simply belongs to a higher range.
 */
function rangeBounds(norms: Float32Array, ranges: number): number[] {
  const live = norms.filter((x) => x > 0).sort();
  if (live.length === 0) return [1e-6];
  const bounds: number[] = [];
  for (let b = 1; b < ranges; b++) {
    const x = live[Math.min(live.length - 1, Math.ceil((b * live.length) / ranges) - 1)]!;
    // Equal norms at a boundary all belong to the lower range; an empty range is dropped.
    if (bounds.length === 0 || x > bounds[bounds.length - 1]!) bounds.push(x);
  }
  const top = Math.max(1.05 * live[live.length - 1]!, 1e-6);
  return [...bounds.filter((x) => x < top), top];
}

function toKeys(keys: Int32Array): BigUint64Array {
  const out = new BigUint64Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = BigInt(keys[i]!);
  return out;
}

export class HnswIndex implements VectorIndex {
  readonly metric: IndexMetric;
  readonly scoreFn: ScoreFn;
  readonly opts: Required<HnswOptions>;
  /** What `kdrec index build` chose and measured (./indexEval.ts `tuneIndex`); null for an untuned build. */
  tuning: IndexTuning | null = null;
  /**
   * Norm bound Φ_b of the MIPS augmentation of each norm range, ascending (one entry without norm
   * ranges); [0] = no augmentation (cosine, or a raw inner-product graph).
   */
  readonly phis: readonly number[];
  /** The graph files this index is a read-only memory map of (usearch `view`), else null. */
  readonly viewOf: string | null;
  /** One usearch graph per norm range. */
  private readonly parts: UsearchIndex[];
  /** Norm range of each key (−1: none), built on the first add/remove of a loaded index. */
  private partOf: Int8Array | null = null;
  private readonly store: VectorStore;
  private readonly queryBuf: Float32Array;
  /**
   * Updates from the catalogue log not in the saved graph (./catalogueLog.ts): the rows it wrote,
   * searched exactly (the log is at most about a tenth of the catalogue before compaction), and a
   * mask of those rows so the graph's hits for their old vectors are dropped. Null: none.
   */
  private readonly logged: {
    rows: Int32Array;
    exact: ExactIndex;
    changed: Uint8Array;
    hiddenFrac: number;
  } | null;

  /**
   * Builds over the live rows of `vectors` (row i gets key i), or reads the graphs saved at `loadFrom`
   * (one per norm range; `view`: memory-mapped read-only); `scoreFn` fixes the metric (a mismatching
   * `metric` is refused). `phi: 0` builds a raw inner-product graph; `phis` are a saved index's.
   */
  constructor(
    dim: number,
    vectors: Float32Array,
    scoreFn: ScoreFn,
    opts: HnswOptions & {
      metric?: IndexMetric;
      loadFrom?: string | readonly string[];
      view?: boolean;
      live?: Uint8Array | null;
      phi?: number;
      phis?: readonly number[];
      /** With `loadFrom`: the log applied on top of the saved graph's item table. */
      catalogueDelta?: CatalogueDelta | null;
    } = {},
  ) {
    this.metric = metricFor(scoreFn, opts.metric);
    this.scoreFn = scoreFn;
    const ranges = opts.phis?.length ?? opts.normRanges ?? HNSW_DEFAULTS.normRanges;
    if (!Number.isInteger(ranges) || ranges < 1 || ranges > 64)
      throw new Error(`index: normRanges must be an integer in 1..64, got ${ranges}`);
    if (ranges > 1 && (scoreFn !== 'dot' || opts.phi === 0))
      throw new Error(
        'index: norm ranges apply to dot models with the MIPS transform (not cosine, not a raw inner-product graph)',
      );
    this.opts = {
      connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
      expansionAdd: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
      expansionSearch: opts.expansionSearch ?? HNSW_DEFAULTS.expansionSearch,
      threads: opts.threads ?? 0,
      normRanges: ranges,
    };
    this.store = new VectorStore(dim, vectors, opts.live ?? null);
    const files =
      opts.loadFrom === undefined
        ? null
        : typeof opts.loadFrom === 'string'
          ? [opts.loadFrom]
          : [...opts.loadFrom];
    if (files !== null && files.length !== ranges)
      throw new Error(`index: ${files.length} graph files for ${ranges} norm ranges`);
    // Norms are needed to build (ranges, Φ); a saved index brings its Φs.
    const norms =
      files === null && scoreFn === 'dot' && opts.phi === undefined && opts.phis === undefined
        ? this.liveNorms()
        : null;
    if (scoreFn !== 'dot') this.phis = [0];
    else if (opts.phis !== undefined) this.phis = [...opts.phis];
    else if (opts.phi !== undefined) this.phis = [opts.phi];
    else this.phis = rangeBounds(norms!, ranges);
    this.viewOf = files !== null && opts.view ? files.join(', ') : null;
    const graphDim = this.phis[0]! > 0 ? dim + 1 : dim;
    this.queryBuf = new Float32Array(graphDim);
    this.parts = this.phis.map(
      () =>
        new (usearch().Index)({
          dimensions: graphDim,
          metric: this.metric,
          quantization: 'f32',
          connectivity: this.opts.connectivity,
          expansion_add: this.opts.expansionAdd,
          expansion_search: this.opts.expansionSearch,
          multi: false,
        }),
    );
    const delta = files !== null ? (opts.catalogueDelta ?? null) : null;
    this.logged = null;
    if (delta !== null) {
      const rows = delta.changedRows;
      const v = vectorRows(this.store.vectors, dim, rows);
      const l = Uint8Array.from(rows, (r) => this.store.live[r]!);
      const changed = new Uint8Array(this.store.capacity);
      for (const r of rows) changed[r] = 1;
      const hiddenFrac = delta.baseLiveCount > 0 ? delta.graphHidden / delta.baseLiveCount : 0;
      this.logged = { rows, exact: new ExactIndex(dim, v, 1000, l), changed, hiddenFrac };
    }
    if (files !== null) {
      files.forEach((f, b) => {
        if (opts.view) this.parts[b]!.view(f);
        else this.parts[b]!.load(f);
      });
      const expected = delta?.baseLiveCount ?? this.store.count;
      if (this.graphSize() !== expected) {
        throw new Error(
          `${files.join(', ')}: index holds ${this.graphSize()} items, the export's vectors ${expected} (the index is not the one saved with this item table: rebuild it with \`kdrec index build\`)`,
        );
      }
    } else if (this.store.count > 0) {
      const keys = new Int32Array(this.store.count);
      let c = 0;
      for (let i = 0; i < this.store.capacity; i++) if (this.store.live[i]) keys[c++] = i;
      // Removed rows of the export (its live mask) are not indexed.
      this.insert(keys, this.store.vectors, keys);
    }
  }

  /** Norms of the live rows (by key; removed rows 0). */
  private liveNorms(): Float32Array {
    const D = this.store.dim;
    const out = new Float32Array(this.store.capacity);
    for (let i = 0; i < this.store.capacity; i++)
      if (this.store.live[i])
        out[i] = Math.sqrt(this.store.dot(this.store.vectors.subarray(i * D, (i + 1) * D), i));
    return out;
  }

  /** Lowest norm range whose Φ holds a vector of squared norm `ss` (refuses one above every Φ). */
  private rangeOf(ss: number, key: number): number {
    if (this.phis[0] === 0) return 0;
    for (let b = 0; b < this.phis.length; b++) if (ss <= this.phis[b]! ** 2 * PHI_SLACK) return b;
    const top = this.phis[this.phis.length - 1]!;
    throw new Error(
      `index add: item vector norm ${Math.sqrt(ss).toFixed(4)} (key ${key}) exceeds the index's bound Φ = ${top.toFixed(4)} (set at build time); rebuild the index`,
    );
  }

  /** Key → norm range of every live key (a loaded index learns it on its first change). */
  private ranges(): Int8Array {
    if (this.partOf !== null && this.partOf.length >= this.store.capacity) return this.partOf;
    const D = this.store.dim;
    const p = new Int8Array(Math.max(this.store.capacity, this.partOf?.length ?? 0)).fill(-1);
    if (this.partOf !== null) p.set(this.partOf);
    else
      for (let i = 0; i < this.store.capacity; i++)
        if (this.store.live[i])
          p[i] = this.rangeOf(this.store.dot(this.store.vectors.subarray(i * D, (i + 1) * D), i), i);
    this.partOf = p;
    return p;
  }

  /** Adds rows `rows` of `vectors` (row-major, dim wide) under `keys` to their norm ranges' graphs. */
  private insert(keys: Int32Array, vectors: Float32Array, rows: Int32Array | null): void {
    const D = this.store.dim;
    const row = (j: number) => (rows === null ? j : rows[j]!);
    const partOf = this.ranges();
    const byRange: number[][] = this.phis.map(() => []);
    for (let j = 0; j < keys.length; j++) {
      const v = vectors.subarray(row(j) * D, (row(j) + 1) * D);
      let ss = 0;
      for (let d = 0; d < D; d++) ss += v[d]! * v[d]!;
      const b = this.rangeOf(ss, keys[j]!);
      byRange[b]!.push(j);
    }
    byRange.forEach((js, b) => {
      if (js.length === 0) return;
      const rowsB = new Float32Array(js.length * D);
      const keysB = new Int32Array(js.length);
      js.forEach((j, i) => {
        rowsB.set(vectors.subarray(row(j) * D, (row(j) + 1) * D), i * D);
        keysB[i] = keys[j]!;
        partOf[keys[j]!] = b;
      });
      this.parts[b]!.add(toKeys(keysB), this.augment(rowsB, this.phis[b]!), this.opts.threads);
    });
  }

  /** Removes `keys` (all present) from their norm ranges' graphs. */
  private erase(keys: Int32Array): void {
    const partOf = this.ranges();
    this.phis.forEach((_, b) => {
      const inB = keys.filter((k) => partOf[k] === b);
      if (inB.length > 0) this.parts[b]!.remove(toKeys(inB));
    });
    for (const k of keys) partOf[k] = -1;
  }

  /** Largest Φ (the whole index's bound; 0 without the MIPS transform). */
  get phi(): number {
    return this.phis[this.phis.length - 1]!;
  }

  /** Throws for an index memory-mapped read-only (serving): usearch cannot change a viewed graph. */
  private writable(op: string): void {
    if (this.logged !== null)
      throw new Error(
        `index ${op}: this index serves a catalogue log on top of its saved graph; change the catalogue with \`kdrec index add/remove\` (or fold the log in with \`kdrec index compact\`)`,
      );
    if (this.viewOf !== null) {
      throw new Error(
        `index ${op}: this index is a read-only memory map of ${this.viewOf} (a server's view); change the saved index with \`kdrec index add/remove\` (or HnswIndex.load with mode 'load') and reload`,
      );
    }
  }

  /** [v, √(Φ² − |v|²)] per row for dot models (see the file header); the rows unchanged when Φ = 0. */
  private augment(vectors: Float32Array, phi: number): Float32Array {
    if (phi === 0) return vectors;
    const D = this.store.dim;
    const n = vectors.length / D;
    const out = new Float32Array(n * (D + 1));
    const phi2 = phi * phi;
    for (let r = 0; r < n; r++) {
      let ss = 0;
      for (let d = 0; d < D; d++) {
        const x = vectors[r * D + d]!;
        out[r * (D + 1) + d] = x;
        ss += x * x;
      }
      out[r * (D + 1) + D] = Math.sqrt(Math.max(phi2 - ss, 0));
    }
    return out;
  }

  get dim(): number {
    return this.store.dim;
  }
  /** Items search can return (with a catalogue log: the live rows, graphs' and log's). */
  size(): number {
    return this.logged === null ? this.graphSize() : this.store.count;
  }

  /** Items the graphs hold. */
  private graphSize(): number {
    let n = 0;
    for (const p of this.parts) n += p.size();
    return n;
  }

  search(query: Float32Array, k: number): SearchResult {
    if (query.length !== this.dim)
      throw new Error(`index search: query has ${query.length} values, index dim ${this.dim}`);
    this.queryBuf.set(query);
    const logged = this.logged;
    // Graph hits of removed or rewritten rows are dropped: ask for enough more that k remain.
    const kGraph = logged === null ? k : k + Math.min(k, Math.ceil(3 * k * logged.hiddenFrac) + 8);
    const found = this.parts.map((p) => p.search(this.queryBuf, kGraph, 1));
    const fromLog =
      logged === null || logged.rows.length === 0
        ? null
        : logged.exact.search(query, Math.min(k, logged.rows.length));
    let n = fromLog?.keys.length ?? 0;
    for (const m of found) n += m.keys.length;
    const keys = new Int32Array(n);
    const scores = new Float32Array(n);
    let c = 0;
    const capacity = BigInt(this.store.capacity);
    for (const m of found) {
      for (let i = 0; i < m.keys.length; i++) {
        const key = m.keys[i]!;
        // usearch pads missing results with the max key; only live keys are results.
        if (key >= capacity) continue;
        const kk = Number(key);
        if (!this.store.live[kk] || logged?.changed[kk]) continue;
        keys[c] = kk;
        scores[c++] = this.store.dot(query, kk);
      }
    }
    if (fromLog !== null && logged !== null) {
      for (let i = 0; i < fromLog.keys.length; i++) {
        keys[c] = logged.rows[fromLog.keys[i]!]!;
        scores[c++] = fromLog.scores[i]!;
      }
    }
    // Exact rescoring can reorder near-ties the approximate distances had swapped, and it merges
    // the norm ranges' candidates on one scale.
    const order = Array.from({ length: c }, (_, i) => i)
      .sort((a, b) => scores[b]! - scores[a]! || keys[a]! - keys[b]!)
      .slice(0, k);
    return {
      keys: Int32Array.from(order, (i) => keys[i]!),
      scores: Float32Array.from(order, (i) => scores[i]!),
    };
  }

  add(keys: Int32Array, vectors: Float32Array): void {
    this.writable('add');
    const D = this.store.dim;
    if (vectors.length !== keys.length * D)
      throw new Error(`index add: ${keys.length} keys but ${vectors.length / D} vectors of width ${D}`);
    // Refuse a vector above every Φ before anything changes.
    for (let j = 0; j < keys.length; j++) {
      let ss = 0;
      for (let d = 0; d < D; d++) ss += vectors[j * D + d]! ** 2;
      this.rangeOf(ss, keys[j]!);
    }
    // A key already present is replaced: usearch (multi = false) needs it removed first.
    const present = keys.filter((k) => k < this.store.capacity && this.store.live[k] === 1);
    if (present.length > 0) this.erase(present);
    this.store.put(keys, vectors);
    this.insert(keys, vectors, null);
  }

  remove(keys: Int32Array): void {
    this.writable('remove');
    const present = keys.filter((k) => k < this.store.capacity && this.store.live[k] === 1);
    if (present.length > 0) this.erase(present);
    this.store.drop(present);
  }

  /** Graph file of norm range `b` given range 0's name (`index.usearch` → `index.b1.usearch`). */
  static rangeFile(graphFile: string, b: number): string {
    return b === 0 ? graphFile : graphFile.replace(/\.usearch$/, '') + `.b${b}.usearch`;
  }

  /** Writes the usearch graphs alone (index eval reloads them with other ef values); returns their paths. */
  saveGraphs(path: string): string[] {
    return this.parts.map((p, b) => {
      const f = HnswIndex.rangeFile(path, b);
      p.save(f);
      return f;
    });
  }

  /** Writes the graph to `DIR/graphFile` and its description (for `manifest`'s item table) to `DIR/metaFile`. */
  writeFiles(dir: string, manifest: ExportManifest, graphFile: string, metaFile: string): void {
    if (this.dim !== manifest.dim)
      throw new Error(`index save: index dim ${this.dim}, the export's ${manifest.dim}`);
    const graphs = this.parts.map((p, b) => {
      const name = HnswIndex.rangeFile(graphFile, b);
      const tmp = join(dir, `${name}.tmp-${process.pid}`);
      p.save(tmp);
      renameSync(tmp, join(dir, name));
      return name;
    });
    const meta: IndexMeta = {
      format: INDEX_FORMAT,
      exportFormatVersion: manifest.formatVersion,
      exportCreatedAt: manifest.createdAt,
      exportRevision: manifest.revision ?? 0,
      scoreFn: manifest.scoreFn,
      metric: this.metric,
      dim: this.dim,
      size: this.graphSize(),
      connectivity: this.opts.connectivity,
      expansionAdd: this.opts.expansionAdd,
      phi: this.phis[0]!,
      graph: graphFile,
      ...(this.tuning !== null ? { tuning: this.tuning } : {}),
      ...(graphs.length > 1 ? { ranges: this.phis.map((phi, b) => ({ phi, graph: graphs[b]! })) } : {}),
    };
    writeJson(join(dir, metaFile), meta);
  }

  /**
   * Saves the index next to the export's manifest. It must index the export's own item vectors
   * (what `kdrec index build` does): they are not saved a second time. A fresh export (revision 0,
   * no index yet) gets `index.usearch` + `index.json`; otherwise the files get new names and
   * `manifest.json` is rewritten to point at them (the commit), so a server reloading meanwhile reads
   * a consistent pair. Returns the manifest in effect afterwards.
   */
  save(dir: string, manifest: ExportManifest): ExportManifest {
    if (manifest.files.index === undefined && (manifest.revision ?? 0) === 0) {
      this.writeFiles(dir, manifest, INDEX_FILE, INDEX_META);
      removeUnreferenced(dir, [manifest]);
      return manifest;
    }
    const names = revisionFileNames(manifest.revision ?? 0);
    this.writeFiles(dir, manifest, names.indexGraph, names.indexMeta);
    const next: ExportManifest = { ...manifest, files: { ...manifest.files, index: names.indexMeta } };
    commitManifest(dir, manifest, next);
    return next;
  }

  /**
   * Loads the index saved for this export's item table: refused when it was built for another export
   * (creation time), another revision of its item table, another export format version, or another
   * score function. `mode: 'view'` maps the graph read-only (serving), 'load' (default) reads it
   * into memory so that add/remove work.
   */
  static load(
    dir: string,
    source: IndexSource,
    opts: HnswOptions & { mode?: 'load' | 'view' } = {},
  ): HnswIndex {
    return runLoaderSync(HnswIndex.loader(dir, source, opts));
  }

  /** `load` as a loader (./bundle.ts), for the asynchronous serving path. */
  static *loader(
    dir: string,
    source: IndexSource,
    opts: HnswOptions & { mode?: 'load' | 'view' } = {},
  ): Loader<HnswIndex> {
    const manifest = source.manifest;
    const metaPath = join(dir, indexMetaFile(manifest));
    let meta: IndexMeta;
    try {
      meta = yield* readJson<IndexMeta>(metaPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`${dir}: no saved index (run \`kdrec index build --export ${dir}\`)`);
      throw err;
    }
    if (meta.format !== INDEX_FORMAT && meta.format !== LEGACY_INDEX_FORMAT)
      throw new Error(`${metaPath}: format '${meta.format}', expected '${INDEX_FORMAT}'`);
    if (
      meta.exportFormatVersion !== EXPORT_FORMAT_VERSION ||
      meta.exportFormatVersion !== manifest.formatVersion
    ) {
      throw new Error(
        `${metaPath}: built for export format version ${meta.exportFormatVersion}, the manifest is version ${manifest.formatVersion} (this kdrec: ${EXPORT_FORMAT_VERSION}); rebuild the index`,
      );
    }
    if (meta.exportCreatedAt !== manifest.createdAt) {
      throw new Error(
        `${metaPath}: built for the export of ${meta.exportCreatedAt}, but manifest.json is from ${manifest.createdAt}; rebuild the index`,
      );
    }
    const revision = manifest.revision ?? 0;
    if ((meta.exportRevision ?? 0) !== revision) {
      throw new Error(
        `${metaPath}: built for revision ${meta.exportRevision ?? 0} of the export's item table, manifest.json is at revision ${revision}; rebuild the index (\`kdrec index build\`)`,
      );
    }
    if (meta.scoreFn !== manifest.scoreFn) {
      throw new Error(
        `${metaPath}: built for score function '${meta.scoreFn}', the manifest says '${manifest.scoreFn}'`,
      );
    }
    if (meta.dim !== manifest.dim)
      throw new Error(`${metaPath}: dim ${meta.dim}, the manifest's ${manifest.dim}`);
    let vectors = source.itemVectors;
    let live = source.itemLive;
    if (meta.format === LEGACY_INDEX_FORMAT) {
      // Format 2 kept its own copy of the vectors and live mask.
      const path = join(dir, LEGACY_INDEX_VECTORS);
      const f = (yield* readTensors(path)).tensors;
      const v = f['vectors']?.data;
      const l = f['live']?.data;
      if (!(v instanceof Float32Array) || !(l instanceof Int32Array) || v.length !== l.length * meta.dim)
        throw new Error(`${path}: expected F32 vectors [n, ${meta.dim}] and I32 live [n]`);
      vectors = v;
      live = Uint8Array.from(l);
    }
    yield* pause();
    const graphs = meta.ranges?.map((r) => join(dir, r.graph)) ?? [join(dir, meta.graph ?? INDEX_FILE)];
    let idx: HnswIndex;
    try {
      idx = new HnswIndex(meta.dim, vectors, manifest.scoreFn, {
        // A tuned index searches with the ef tuned for the serving N unless the caller sets one.
        ...(meta.tuning !== undefined ? { expansionSearch: meta.tuning.servingEf } : {}),
        ...opts,
        metric: meta.metric,
        connectivity: meta.connectivity,
        phis: meta.ranges?.map((r) => r.phi) ?? [meta.phi],
        expansionAdd: meta.expansionAdd,
        loadFrom: meta.ranges !== undefined ? graphs : graphs[0]!,
        view: opts.mode === 'view',
        live,
        catalogueDelta: meta.format === LEGACY_INDEX_FORMAT ? null : (source.catalogueDelta ?? null),
      });
    } catch (err) {
      // usearch's own messages ("No such file or directory", "File is corrupted...") name no file.
      throw Object.assign(new Error(`${graphs.join(', ')}: ${(err as Error).message}`), {
        code: (err as NodeJS.ErrnoException).code,
      });
    }
    idx.tuning = meta.tuning ?? null;
    return idx;
  }
}

/** What a saved index rescores with: the export's manifest, item vectors and live mask (a ServingBundle). */
export interface IndexSource {
  manifest: ExportManifest;
  itemVectors: Float32Array;
  itemLive: Uint8Array | null;
  /** The catalogue log applied to the vectors (ServingBundle), searched beside the saved graph. */
  catalogueDelta?: CatalogueDelta | null;
}

export const INDEX_FILE = 'index.usearch';
export const INDEX_META = 'index.json';
export const INDEX_FORMAT = 'kdrec-index-3';
/** Format 2 (before catalogue revisions) is still read: it carried its own vectors file. */
const LEGACY_INDEX_FORMAT = 'kdrec-index-2';
const LEGACY_INDEX_VECTORS = 'index_vectors.safetensors';

export interface IndexMeta {
  format: typeof INDEX_FORMAT | typeof LEGACY_INDEX_FORMAT;
  exportFormatVersion: number;
  exportCreatedAt: string;
  /** Revision of the export's item table the index was saved for (absent: 0). */
  exportRevision?: number;
  scoreFn: ScoreFn;
  metric: IndexMetric;
  dim: number;
  size: number;
  connectivity: number;
  expansionAdd: number;
  /** MIPS augmentation bound (0: none); of the first norm range when there are several. */
  phi: number;
  /** The usearch graph file (absent in format 2: `index.usearch`); of the first norm range. */
  graph?: string;
  /** With norm ranges (more than one): each range's Φ (ascending) and graph file. */
  ranges?: { phi: number; graph: string }[];
  /** The build's tuning (graph kind, ef, measured recall and q/s); absent for an untuned build. */
  tuning?: IndexTuning;
}

/** The saved index's description file for this manifest. */
export function indexMetaFile(m: ExportManifest): string {
  return m.files.index ?? INDEX_META;
}

/** Whether an index is saved for this export (it may still be refused as stale when loaded). */
export function hasSavedIndex(dir: string, m: ExportManifest): boolean {
  return existsSync(join(dir, indexMetaFile(m)));
}

/** File names of catalogue revision `r`; the index's carry a time stamp (a rebuild at the same revision gets new names). */
function revisionFileNames(r: number) {
  const stamp = `r${r}-${Date.now().toString(36)}`;
  return {
    itemIds: `item_ids.r${r}.json`,
    itemFeatures: `item_features.r${r}.safetensors`,
    itemVectors: `item_vectors.r${r}.safetensors`,
    indexGraph: `index.${stamp}.usearch`,
    indexMeta: `index.${stamp}.json`,
  };
}

/** Item-table and index files a manifest refers to (the index description names its graph). */
function referencedFiles(dir: string, m: ExportManifest): Set<string> {
  const files = new Set([
    m.files.itemIds,
    m.files.itemFeatures,
    m.files.itemVectors,
    catalogueLogFile(m.revision ?? 0),
  ]);
  const metaFile = indexMetaFile(m);
  if (!existsSync(join(dir, metaFile))) return files;
  files.add(metaFile);
  try {
    const meta = runLoaderSync(readJson<IndexMeta>(join(dir, metaFile)));
    files.add(meta.graph ?? INDEX_FILE);
    for (const r of meta.ranges ?? []) files.add(r.graph);
    if (meta.format === LEGACY_INDEX_FORMAT) files.add(LEGACY_INDEX_VECTORS);
  } catch {
    // An unreadable description keeps nothing else alive; the load that needs it reports it.
  }
  return files;
}

/** Names kdrec gives item-table and index files: as exported, per revision, and format 2's vectors. */
const ITEM_TABLE_FILE =
  /^(item_ids\.json|item_features\.safetensors|item_vectors\.safetensors|index\.json|index\.usearch|index\.b\d+\.usearch|index_vectors\.safetensors|(item_ids|item_features|item_vectors)\.r\d+\.(json|safetensors)|index\.r\d+-[a-z0-9]+\.(json|usearch)|index\.r\d+-[a-z0-9]+\.b\d+\.usearch)$/;

/**
 * Deletes item-table and index files that neither of `keep` (the new and the previous manifest)
 * refers to. The previous revision's files stay, so a server that read the previous manifest a moment
 * ago can still finish loading it.
 */
function removeUnreferenced(dir: string, keep: readonly ExportManifest[]): void {
  const live = new Set<string>();
  for (const m of keep) for (const f of referencedFiles(dir, m)) live.add(f);
  for (const f of readdirSync(dir)) {
    if ((ITEM_TABLE_FILE.test(f) || CATALOGUE_LOG_PATTERN.test(f)) && !live.has(f)) unlinkSync(join(dir, f));
  }
}

/** Renames the new manifest over the old one (the commit point), then drops files no reader needs. */
function commitManifest(dir: string, prev: ExportManifest, next: ExportManifest): void {
  writeJson(join(dir, 'manifest.json'), next);
  removeUnreferenced(dir, [next, prev]);
}

/**
 * Raw item rows as a file gives them: one value per source column (the schema field's `source`),
 * strings for id and list fields (lists joined by `|`, as the dataset loaders read them), numbers
 * for numeric fields; null or '' is a missing value.
 */
export interface RawItemRows {
  /** Where the rows come from (a file path), for error messages. */
  source: string;
  ids: string[];
  /** 1-based line (csv/jsonl) or row (parquet) of each row in `source`. */
  lines: number[];
  columns: Record<string, (string | number | null)[]>;
}

export interface CatalogueUpdate {
  add?: RawItemRows;
  remove?: readonly string[];
  /** Skip ids to remove that are not in the catalogue (default: an error naming them). */
  ignoreMissing?: boolean;
  /**
   * Rebuild the saved HNSW index over the new item table (same graph parameters, Φ recomputed)
   * instead of updating it: for an added item whose vector exceeds Φ. O(catalogue), like `index build`.
   * Implies a compaction.
   */
  rebuildIndex?: boolean;
  /** Fold the catalogue log into a new revision now (else: once it reaches `compactFraction`). */
  compact?: boolean;
  /** Fold the log in once it has written or removed this fraction of the base catalogue (default COMPACT_FRACTION). */
  compactFraction?: number;
}

export interface CatalogueUpdateReport {
  revision: number;
  /** Rows appended for ids new to the catalogue. */
  added: number;
  /** Ids already in the catalogue (served or removed before) whose row was replaced. */
  replaced: number;
  removed: number;
  /** Ids to remove that were not served (only with ignoreMissing). */
  missing: string[];
  itemCount: number;
  liveItems: number;
  /** Whether there is a saved HNSW index (served with the log beside it; updated at compaction). */
  indexUpdated: boolean;
  /** Whether the log was folded into a new revision by this update. */
  compacted: boolean;
  /** Update records in the catalogue log after this update (0 after a compaction). */
  logRecords: number;
  /** Bytes of a torn log tail (an interrupted earlier update) cut off before appending. */
  truncatedBytes: number;
  /** Added or replaced items with no window keys for the ranker's privileged window counts (./catalogueLog.ts). */
  withoutWindowKeys: number;
}

/** List fields in raw item rows join their values with this (the dataset loaders' default). */
export const LIST_SEPARATOR = '|';

/**
 * Encodes raw item rows into the export's item columns exactly as the dataset builder encodes the
 * catalogue (src/data/dataset.ts step 4): vocab row (0 = missing/unseen) or 1 + hash bucket for ids,
 * the LAST maxLen entries of a list (−1 padded), numerics normalised with the train-split stats.
 */
export function encodeItemRows(
  bundle: ServingBundle,
  vocabs: ReadonlyMap<string, Vocab>,
  rows: RawItemRows,
): Columns {
  const n = rows.ids.length;
  const out: Columns = { size: n, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  const items = bundle.items;
  const fields = [...Object.keys(items.cat), ...Object.keys(items.seq), ...Object.keys(items.num)];
  for (const name of fields) {
    const f = bundle.schema.field(name);
    const col = rows.columns[f.source] ?? (name === bundle.manifest.itemIdField ? rows.ids : undefined);
    if (col === undefined) {
      throw new Error(
        `${rows.source}: no column '${f.source}' (item field '${name}' of export ${bundle.dir}); columns given: ${Object.keys(rows.columns).join(', ')}`,
      );
    }
    const at = (i: number) => `${rows.source}: line ${rows.lines[i]}, column '${f.source}'`;
    const idOf = (token: string): number => {
      if (f.hashBuckets !== undefined) return hashedId(token, f.hashBuckets);
      return vocabs.get(f.table)!.lookup(token);
    };
    if (f.kind === 'numeric') {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = col[i];
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw new Error(`${at(i)}: expected a finite number, got ${JSON.stringify(x)}`);
        if (f.normalize === 'log1p' && x < 0)
          throw new Error(`${at(i)}: log1p-normalised field '${name}' needs values >= 0, got ${x}`);
        v[i] = x;
      }
      out.num[name] = normalizeInPlace(v, f.normalize, bundle.schema.numericStats(name));
    } else if (f.kind === 'categorical') {
      out.cat[name] = Int32Array.from({ length: n }, (_, i) => {
        const x = col[i];
        return x === null || x === undefined || x === '' ? 0 : idOf(String(x));
      });
    } else {
      const L = items.seq[name]!.maxLen;
      const ids = new Int32Array(n * L).fill(-1);
      for (let i = 0; i < n; i++) {
        const x = col[i];
        if (x === null || x === undefined || x === '') continue;
        const parts = String(x)
          .split(LIST_SEPARATOR)
          .filter((p) => p !== '');
        // Keep the LAST maxLen entries, as the dataset builder does.
        const start = Math.max(0, parts.length - L);
        for (let j = start; j < parts.length; j++) ids[i * L + (j - start)] = idOf(parts[j]!);
      }
      out.seq[name] = { ids, maxLen: L };
    }
  }
  return out;
}

/** The vocabularies `encodeItemRows` needs: every non-hashed id table of the item columns. */
function itemVocabs(bundle: ServingBundle): Map<string, Vocab> {
  const out = new Map<string, Vocab>();
  for (const name of [...Object.keys(bundle.items.cat), ...Object.keys(bundle.items.seq)]) {
    const f = bundle.schema.field(name);
    if (f.hashBuckets !== undefined || out.has(f.table)) continue;
    out.set(f.table, runLoaderSync(vocabLoader(bundle.dir, bundle.manifest, f.table, name)));
  }
  return out;
}

/** Runs `fn` holding `DIR/.kdrec-update.lock` (two concurrent updates would both write revision r + 1). */
function withUpdateLock<T>(dir: string, fn: () => T): T {
  const lock = join(dir, '.kdrec-update.lock');
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(
        `${lock} exists: another \`kdrec index add/remove\` is updating ${dir} (delete the file if none is running)`,
      );
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return fn();
  } finally {
    unlinkSync(lock);
  }
}

/** The log is folded into a new revision once it has written or removed this fraction of the base catalogue. */
export const COMPACT_FRACTION = 0.1;

/** Columns of one encoded batch as plain arrays (a log record's). */
function columnsToArrays(c: Columns | null): Pick<LogUpdate, 'cat' | 'num' | 'seq'> {
  const out: Pick<LogUpdate, 'cat' | 'num' | 'seq'> = { cat: {}, num: {}, seq: {} };
  if (c === null) return out;
  for (const [k, v] of Object.entries(c.cat)) out.cat[k] = Array.from(v);
  for (const [k, v] of Object.entries(c.num)) out.num[k] = Array.from(v);
  for (const [k, v] of Object.entries(c.seq)) out.seq[k] = Array.from(v.ids);
  return out;
}

/** The saved index's largest MIPS bound Φ (0: none, or no saved index). */
function savedIndexPhi(dir: string, m: ExportManifest): number {
  if (!hasSavedIndex(dir, m)) return 0;
  const meta = runLoaderSync(readJson<IndexMeta>(join(dir, indexMetaFile(m))));
  return meta.ranges?.[meta.ranges.length - 1]?.phi ?? meta.phi;
}

/**
 * Adds, replaces and removes catalogue items of an export without a rebuild: the update is encoded
 * (item columns as the dataset builder encodes them, vectors by the export's item tower) and
 * appended as one record to the revision's catalogue log (./catalogueLog.ts), which every loader
 * applies; once the log has touched COMPACT_FRACTION of the catalogue (or `compact` / `rebuildIndex`
 * asks) it is folded into revision r + 1 by `compactCatalogue`. An added id that exists takes its row
 * back (replaced); an id both added and removed is refused.
 */
export function updateCatalogue(dir: string, update: CatalogueUpdate): CatalogueUpdateReport {
  return withUpdateLock(dir, () => {
    const bundle = loadExport(dir);
    const m = bundle.manifest;
    const N = m.itemCount;
    const D = m.dim;
    const live = bundle.itemLive ? bundle.itemLive : new Uint8Array(N).fill(1);

    const addIds = update.add?.ids ?? [];
    const adding = new Map<string, number>();
    addIds.forEach((id, i) => {
      const prev = adding.get(id);
      if (prev !== undefined)
        throw new Error(
          `${update.add!.source}: item '${id}' appears twice (lines ${update.add!.lines[prev]} and ${update.add!.lines[i]})`,
        );
      adding.set(id, i);
    });
    const missing: string[] = [];
    const removeRows: number[] = [];
    for (const id of new Set(update.remove ?? [])) {
      if (adding.has(id)) throw new Error(`item '${id}' is both added and removed in one update`);
      const r = bundle.itemRow.get(id);
      if (r === undefined || !live[r]) missing.push(id);
      else removeRows.push(r);
    }
    if (missing.length > 0 && !update.ignoreMissing) {
      throw new Error(
        `index remove: ${missing.length} item id(s) not in the catalogue of ${dir} (or removed already): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''} (--ignore-missing skips them)`,
      );
    }

    let added = 0;
    const addRows = new Int32Array(addIds.length);
    addIds.forEach((id, i) => {
      const r = bundle.itemRow.get(id);
      addRows[i] = r ?? N + added++;
    });
    let addCols: Columns | null = null;
    let addVectors: Float32Array = new Float32Array(0);
    if (update.add !== undefined && addIds.length > 0) {
      addCols = encodeItemRows(bundle, itemVocabs(bundle), update.add);
      addVectors = itemTowerVectors(bundle.itemTower, addCols);
    }

    // An added vector above the saved graph's MIPS bound Φ could not join it at compaction: refused
    // here, before anything is written, unless the index is to be rebuilt.
    const phi = savedIndexPhi(dir, bundle.baseManifest);
    if (phi > 0 && !update.rebuildIndex) {
      const norms = addIds.map((_, i) => Math.hypot(...addVectors.subarray(i * D, (i + 1) * D)));
      const over = addIds.filter((_, i) => norms[i]! ** 2 > phi * phi * PHI_SLACK);
      if (over.length > 0)
        throw new Error(
          `index add: item vector norm ${Math.max(...norms).toFixed(4)} exceeds the index's bound Φ = ${phi.toFixed(4)} (set at build time): item(s) ${over.slice(0, 10).join(', ')}; nothing was written — rerun with --rebuild-index (a full index build) to add them`,
        );
    }

    let truncatedBytes = 0;
    if (addIds.length > 0 || removeRows.length > 0) {
      ({ truncatedBytes } = appendCatalogueLog(
        dir,
        bundle.baseManifest,
        { type: 'update', ids: addIds, rows: Array.from(addRows), removeRows, ...columnsToArrays(addCols) },
        addVectors,
      ));
    }
    const touched = (bundle.catalogueDelta?.touchedRows ?? 0) + addIds.length + removeRows.length;
    const baseLive = bundle.catalogueDelta?.baseLiveCount ?? bundle.itemLive?.reduce((a, b) => a + b, 0) ?? N;
    const compact =
      update.compact === true ||
      update.rebuildIndex === true ||
      touched > (update.compactFraction ?? COMPACT_FRACTION) * Math.max(baseLive, 1);
    const folded = compact ? compactLocked(dir, update.rebuildIndex ?? false) : null;
    // Served rows after the update: the live ones, minus those removed, plus those (re)written.
    const liveAfter = Uint8Array.from({ length: N + added }, (_, r) => (r < N ? live[r]! : 0));
    for (const r of removeRows) liveAfter[r] = 0;
    for (const r of addRows) liveAfter[r] = 1;
    const appended = addIds.length > 0 || removeRows.length > 0;
    return {
      revision: folded?.manifest.revision ?? m.revision ?? 0,
      added,
      replaced: addIds.length - added,
      removed: removeRows.length,
      missing,
      itemCount: N + added,
      liveItems: liveAfter.reduce((a, b) => a + b, 0),
      indexUpdated: hasSavedIndex(dir, folded?.manifest ?? m),
      compacted: folded !== null,
      logRecords: folded !== null ? 0 : (bundle.catalogueDelta?.records ?? 0) + (appended ? 1 : 0),
      truncatedBytes,
      withoutWindowKeys: (m.ranker?.windowFeatures.length ?? 0) > 0 ? addIds.length : 0,
    };
  });
}

/**
 * Folds the catalogue log into revision r + 1 (`kdrec index compact`): the item ids, item features,
 * item vectors + live mask and, when one is saved, the HNSW index move together (the index's graph
 * is loaded, the log's removed and rewritten rows taken out and its written rows added — O(log), or
 * rebuilt over the whole table with `rebuildIndex`), every file under a new revision name, then
 * `manifest.json` renamed over: the one commit point. Returns the new revision's bundle, or null
 * when there was nothing to fold (no log and no rebuild asked).
 */
export function compactCatalogue(dir: string, opts: { rebuildIndex?: boolean } = {}): ServingBundle | null {
  return withUpdateLock(dir, () => compactLocked(dir, opts.rebuildIndex ?? false));
}

function compactLocked(dir: string, rebuildIndex: boolean): ServingBundle | null {
  const bundle = loadExport(dir);
  const delta = bundle.catalogueDelta;
  if (delta === null && !rebuildIndex) return null;
  const base = bundle.baseManifest;
  const m = bundle.manifest;
  const N2 = m.itemCount;
  const D = m.dim;
  const vectors = bundle.itemVectors;
  const live2 = bundle.itemLive ?? new Uint8Array(N2).fill(1);
  let index: HnswIndex | null = null;
  if (hasSavedIndex(dir, base)) {
    // The saved graph holds the revision's own vectors: load it over them, not over the log's.
    const baseVectors = runLoaderSync(itemVectorsLoader(dir, base));
    index = HnswIndex.load(
      dir,
      { manifest: base, itemVectors: baseVectors.vectors, itemLive: baseVectors.live },
      {
        mode: 'load',
      },
    );
    if (rebuildIndex) {
      const rebuilt = new HnswIndex(D, vectors, m.scoreFn, {
        metric: index.metric,
        connectivity: index.opts.connectivity,
        expansionAdd: index.opts.expansionAdd,
        live: live2,
        // A graph built without the MIPS transform (--raw-ip) stays without it; norm ranges stay.
        ...(index.phi === 0 ? { phi: 0 } : { normRanges: index.phis.length }),
      });
      // The rebuilt graph keeps the tuned kind and ef (the figures are the build's measurement).
      rebuilt.tuning = index.tuning;
      index = rebuilt;
    } else if (delta !== null) {
      const out: number[] = [];
      const baseLive = baseVectors.live;
      const changed = new Uint8Array(N2);
      for (const r of delta.changedRows) changed[r] = 1;
      for (let r = 0; r < delta.baseItemCount; r++)
        if ((baseLive === null || baseLive[r]) && (changed[r] || !live2[r])) out.push(r);
      if (out.length > 0) index.remove(Int32Array.from(out));
      const inRows = Array.from(delta.changedRows).filter((r) => live2[r]);
      if (inRows.length > 0) index.add(Int32Array.from(inRows), vectorRows(vectors, D, inRows));
    }
  }
  const revision = (base.revision ?? 0) + 1;
  const names = revisionFileNames(revision);
  const items = bundle.items;
  writeJson(join(dir, names.itemIds), bundle.itemIds);
  const fields = new Set([...Object.keys(items.cat), ...Object.keys(items.seq), ...Object.keys(items.num)]);
  writeSafetensors(join(dir, names.itemFeatures), columnsToTensors(items, fields));
  writeSafetensors(join(dir, names.itemVectors), {
    vectors: { dtype: 'F32', shape: [N2, D], data: vectors },
    live: { dtype: 'I32', shape: [N2], data: Int32Array.from(live2) },
  });
  const next: ExportManifest = {
    ...base,
    revision,
    itemCount: N2,
    files: {
      ...base.files,
      itemIds: names.itemIds,
      itemFeatures: names.itemFeatures,
      itemVectors: names.itemVectors,
    },
  };
  if (index !== null) {
    index.writeFiles(dir, next, names.indexGraph, names.indexMeta);
    next.files.index = names.indexMeta;
  } else delete next.files.index;
  commitManifest(dir, base, next);
  return loadExport(dir);
}

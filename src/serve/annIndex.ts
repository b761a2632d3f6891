/**
 * Retrieval indexes over the item-tower vectors: an HNSW graph (usearch; Malkov & Yashunin,
 * "Efficient and robust approximate nearest neighbor search using Hierarchical Navigable Small World
 * graphs", TPAMI 2020) and an exact brute-force index with partial top-K selection (the shared
 * TopKSelector of src/eval/metrics/topk.ts, no full sort).
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
 * Both indexes return the model's own score dot(u, v) for the returned items: HNSW is only used to
 * find candidates, the score is recomputed from the stored vectors so every stage sees exact scores.
 * Keys are catalogue rows. Add and remove work on a live index without a rebuild.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { getKernels } from '../engine/kernels/index.js';
import { readSafetensors, writeSafetensors } from '../engine/safetensors.js';
import { TopKSelector } from '../eval/metrics/topk.js';
import { EXPORT_FORMAT_VERSION, type ExportManifest } from './export.js';

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
  ) {
    if (vectors.length % dim !== 0)
      throw new Error(`index: ${vectors.length} values are not rows of width ${dim}`);
    this.capacity = vectors.length / dim;
    this.vectors = vectors;
    this.live = new Uint8Array(this.capacity).fill(1);
    this.count = this.capacity;
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

/** Brute force: all scores by one matrix-vector product, then partial top-K. */
export class ExactIndex implements VectorIndex {
  private readonly store: VectorStore;
  private scores: Float32Array;
  private dead: Uint8Array;
  /** The dead mask is rebuilt only after an add/remove, not per query (1M bytes per query at 1M items). */
  private deadStale = true;
  private selector: TopKSelector;

  constructor(dim: number, vectors: Float32Array, maxK = 1000) {
    this.store = new VectorStore(dim, vectors);
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
}

export const HNSW_DEFAULTS = { connectivity: 16, expansionAdd: 128, expansionSearch: 256 } as const;

function toKeys(keys: Int32Array): BigUint64Array {
  const out = new BigUint64Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = BigInt(keys[i]!);
  return out;
}

export class HnswIndex implements VectorIndex {
  readonly metric: IndexMetric;
  readonly opts: Required<HnswOptions>;
  /** Norm bound Φ of the MIPS augmentation (dot models); 0 = no augmentation (cosine). */
  readonly phi: number;
  private readonly index: UsearchIndex;
  private readonly store: VectorStore;
  private readonly queryBuf: Float32Array;

  /**
   * Builds over `vectors` (row i gets key i) unless `empty`; `scoreFn` fixes the metric (a
   * mismatching `metric` is refused).
   */
  constructor(
    dim: number,
    vectors: Float32Array,
    scoreFn: ScoreFn,
    opts: HnswOptions & { metric?: IndexMetric; loadFrom?: string; live?: Uint8Array; phi?: number } = {},
  ) {
    this.metric = metricFor(scoreFn, opts.metric);
    this.opts = {
      connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
      expansionAdd: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
      expansionSearch: opts.expansionSearch ?? HNSW_DEFAULTS.expansionSearch,
      threads: opts.threads ?? 0,
    };
    this.store = new VectorStore(dim, vectors);
    if (opts.live !== undefined) {
      this.store.live.set(opts.live);
      this.store.count = opts.live.reduce((a, b) => a + b, 0);
    }
    if (scoreFn === 'dot') {
      let maxNorm = 0;
      for (let i = 0; i < this.store.capacity; i++) {
        if (!this.store.live[i]) continue;
        maxNorm = Math.max(maxNorm, Math.sqrt(this.store.dot(vectors.subarray(i * dim, (i + 1) * dim), i)));
      }
      // 5% head-room for items added later without a rebuild; a larger Φ adds a large shared
      // coordinate that crowds every item's angle together (measured: recall falls as Φ grows).
      this.phi = opts.phi ?? Math.max(1.05 * maxNorm, 1e-6);
    } else this.phi = 0;
    const graphDim = this.phi > 0 ? dim + 1 : dim;
    this.queryBuf = new Float32Array(graphDim);
    this.index = new (usearch().Index)({
      dimensions: graphDim,
      metric: this.metric,
      quantization: 'f32',
      connectivity: this.opts.connectivity,
      expansion_add: this.opts.expansionAdd,
      expansion_search: this.opts.expansionSearch,
      multi: false,
    });
    if (opts.loadFrom !== undefined) {
      this.index.load(opts.loadFrom);
      if (this.index.size() !== this.store.count) {
        throw new Error(
          `${opts.loadFrom}: index holds ${this.index.size()} items, the export's vectors ${this.store.count}`,
        );
      }
    } else if (this.store.capacity > 0) {
      const keys = new Int32Array(this.store.capacity);
      for (let i = 0; i < keys.length; i++) keys[i] = i;
      this.index.add(toKeys(keys), this.augment(vectors), this.opts.threads);
    }
  }

  /** [v, √(Φ² − |v|²)] per row for dot models (see the file header); the rows unchanged otherwise. */
  private augment(vectors: Float32Array): Float32Array {
    if (this.phi === 0) return vectors;
    const D = this.store.dim;
    const n = vectors.length / D;
    const out = new Float32Array(n * (D + 1));
    const phi2 = this.phi * this.phi;
    for (let r = 0; r < n; r++) {
      let ss = 0;
      for (let d = 0; d < D; d++) {
        const x = vectors[r * D + d]!;
        out[r * (D + 1) + d] = x;
        ss += x * x;
      }
      if (ss > phi2 * (1 + 1e-6)) {
        throw new Error(
          `index add: item vector norm ${Math.sqrt(ss).toFixed(4)} exceeds the index's bound Φ = ${this.phi.toFixed(4)} (set at build time); rebuild the index`,
        );
      }
      out[r * (D + 1) + D] = Math.sqrt(Math.max(phi2 - ss, 0));
    }
    return out;
  }

  get dim(): number {
    return this.store.dim;
  }
  size(): number {
    return this.index.size();
  }

  search(query: Float32Array, k: number): SearchResult {
    if (query.length !== this.dim)
      throw new Error(`index search: query has ${query.length} values, index dim ${this.dim}`);
    this.queryBuf.set(query);
    const m = this.index.search(this.queryBuf, k, 1);
    const n = m.keys.length;
    const keys = new Int32Array(n);
    const scores = new Float32Array(n);
    let c = 0;
    for (let i = 0; i < n; i++) {
      const key = m.keys[i]!;
      // usearch pads missing results with the max key; only live keys are results.
      if (key >= BigInt(this.store.capacity)) continue;
      const kk = Number(key);
      if (!this.store.live[kk]) continue;
      keys[c] = kk;
      scores[c++] = this.store.dot(query, kk);
    }
    // Exact rescoring can reorder near-ties the approximate distances had swapped.
    const order = Array.from({ length: c }, (_, i) => i).sort(
      (a, b) => scores[b]! - scores[a]! || keys[a]! - keys[b]!,
    );
    return {
      keys: Int32Array.from(order, (i) => keys[i]!),
      scores: Float32Array.from(order, (i) => scores[i]!),
    };
  }

  add(keys: Int32Array, vectors: Float32Array): void {
    // A key already present is replaced: usearch (multi = false) needs it removed first.
    const present = keys.filter((k) => k < this.store.capacity && this.store.live[k] === 1);
    const augmented = this.augment(vectors);
    if (present.length > 0) this.index.remove(toKeys(present));
    this.store.put(keys, vectors);
    this.index.add(toKeys(keys), augmented, this.opts.threads);
  }

  remove(keys: Int32Array): void {
    const present = keys.filter((k) => k < this.store.capacity && this.store.live[k] === 1);
    if (present.length > 0) this.index.remove(toKeys(present));
    this.store.drop(present);
  }

  /** Writes the usearch graph alone (index eval reloads it with other ef values). */
  saveGraph(path: string): void {
    this.index.save(path);
  }

  /**
   * Saves the graph to `DIR/index.usearch`, the vectors it scores with (added items included) and
   * the live mask to `DIR/index_vectors.safetensors`, and its description to `DIR/index.json`.
   */
  save(dir: string, manifest: ExportManifest): void {
    const tmp = join(dir, `${INDEX_FILE}.tmp-${process.pid}`);
    this.index.save(tmp);
    renameSync(tmp, join(dir, INDEX_FILE));
    const s = this.store;
    writeSafetensors(join(dir, INDEX_VECTORS), {
      vectors: { dtype: 'F32', shape: [s.capacity, s.dim], data: s.vectors.subarray(0, s.capacity * s.dim) },
      live: { dtype: 'I32', shape: [s.capacity], data: Int32Array.from(s.live.subarray(0, s.capacity)) },
    });
    const meta: IndexMeta = {
      format: INDEX_FORMAT,
      exportFormatVersion: manifest.formatVersion,
      exportCreatedAt: manifest.createdAt,
      scoreFn: manifest.scoreFn,
      metric: this.metric,
      dim: this.dim,
      size: this.size(),
      connectivity: this.opts.connectivity,
      expansionAdd: this.opts.expansionAdd,
      phi: this.phi,
    };
    const mtmp = join(dir, `${INDEX_META}.tmp-${process.pid}`);
    writeFileSync(mtmp, `${JSON.stringify(meta)}\n`);
    renameSync(mtmp, join(dir, INDEX_META));
  }

  /**
   * Loads the index saved next to this export's manifest: refused when it was built for another
   * export (creation time), another export format version, or another score function.
   */
  static load(dir: string, manifest: ExportManifest, opts: HnswOptions = {}): HnswIndex {
    const metaPath = join(dir, INDEX_META);
    if (!existsSync(metaPath) || !existsSync(join(dir, INDEX_FILE)))
      throw new Error(`${dir}: no saved index (run \`kdrec index build --export ${dir}\`)`);
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as IndexMeta;
    if (meta.format !== INDEX_FORMAT)
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
    if (meta.scoreFn !== manifest.scoreFn) {
      throw new Error(
        `${metaPath}: built for score function '${meta.scoreFn}', the manifest says '${manifest.scoreFn}'`,
      );
    }
    const f = readSafetensors(join(dir, INDEX_VECTORS)).tensors;
    const vectors = f['vectors']?.data;
    const live = f['live']?.data;
    if (
      !(vectors instanceof Float32Array) ||
      !(live instanceof Int32Array) ||
      vectors.length !== live.length * meta.dim
    )
      throw new Error(`${join(dir, INDEX_VECTORS)}: expected F32 vectors [n, ${meta.dim}] and I32 live [n]`);
    return new HnswIndex(meta.dim, vectors, manifest.scoreFn, {
      ...opts,
      metric: meta.metric,
      connectivity: meta.connectivity,
      phi: meta.phi,
      expansionAdd: meta.expansionAdd,
      loadFrom: join(dir, INDEX_FILE),
      live: Uint8Array.from(live),
    });
  }
}

export const INDEX_FILE = 'index.usearch';
export const INDEX_META = 'index.json';
export const INDEX_VECTORS = 'index_vectors.safetensors';
export const INDEX_FORMAT = 'kdrec-index-2';

export interface IndexMeta {
  format: typeof INDEX_FORMAT;
  exportFormatVersion: number;
  exportCreatedAt: string;
  scoreFn: ScoreFn;
  metric: IndexMetric;
  dim: number;
  size: number;
  connectivity: number;
  expansionAdd: number;
  /** MIPS augmentation bound (0: none). */
  phi: number;
}

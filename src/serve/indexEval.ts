/**
 * `kdrec index eval`: how much of the exact top-100 the HNSW index returns (recall@100 against
 * brute force over the same vectors, the standard ANN-benchmarks measure, Aumüller et al., Inf.
 * Syst. 2020) and how many single-thread queries per second it answers, for a few ef settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import { ExactIndex, HNSW_DEFAULTS, HnswIndex, type ScoreFn } from './annIndex.js';

export interface IndexEvalRow {
  ef: number;
  recallAt100: number;
  qps: number;
}

export interface IndexEvalResult {
  items: number;
  dim: number;
  queries: number;
  scoreFn: ScoreFn;
  connectivity: number;
  expansionAdd: number;
  normRanges: number;
  buildSeconds: number;
  /** Φ of the MIPS transform used (0: plain inner-product graph); the largest with norm ranges. */
  phi: number;
  exactQps: number;
  rows: IndexEvalRow[];
  /** The row of the default ef (HNSW_DEFAULTS.expansionSearch). */
  default: IndexEvalRow;
}

/** Seeded N(0, 1) vectors, row-major `[n, dim]`; unit-norm rows when `normalize`. */
export function syntheticVectors(n: number, dim: number, seed: number, normalize = false): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n * dim);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  if (normalize) {
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += v[r * dim + d]! ** 2;
      const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
      for (let d = 0; d < dim; d++) v[r * dim + d]! *= inv;
    }
  }
  return v;
}

export interface IndexEvalOptions {
  scoreFn: ScoreFn;
  efs?: number[];
  k?: number;
  connectivity?: number;
  expansionAdd?: number;
  /** Dot models: graphs over this many norm ranges (./annIndex.ts). */
  normRanges?: number;
  threads?: number;
  /** Build the plain inner-product graph (no MIPS transform) for dot models. */
  rawIp?: boolean;
  log?: (msg: string) => void;
}

/** Recall@k of HNSW vs exact and queries/s, per ef. `queries` is `[Q, dim]`. */
export function evaluateIndex(
  vectors: Float32Array,
  dim: number,
  queries: Float32Array,
  opts: IndexEvalOptions,
): IndexEvalResult {
  const k = opts.k ?? 100;
  const efs = [...new Set([...(opts.efs ?? [64, 128, 256, 512]), HNSW_DEFAULTS.expansionSearch])].sort(
    (a, b) => a - b,
  );
  const n = vectors.length / dim;
  const Q = queries.length / dim;
  const exact = new ExactIndex(dim, vectors, k);
  const truth: Set<number>[] = [];
  let t = performance.now();
  for (let q = 0; q < Q; q++)
    truth.push(new Set(exact.search(queries.subarray(q * dim, (q + 1) * dim), k).keys));
  const exactQps = Q / ((performance.now() - t) / 1000);
  opts.log?.(`exact: ${Q} queries over ${n} items, ${exactQps.toFixed(0)} q/s`);
  t = performance.now();
  const built = new HnswIndex(dim, vectors, opts.scoreFn, {
    connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
    expansionAdd: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
    threads: opts.threads ?? 0,
    ...(opts.rawIp ? { phi: 0 } : { normRanges: opts.normRanges ?? 1 }),
  });
  const buildSeconds = (performance.now() - t) / 1000;
  opts.log?.(`hnsw build: ${n} items in ${buildSeconds.toFixed(1)} s`);
  // usearch fixes ef at construction: save the graph once and reload it per ef.
  const tmp = mkdtempSync(join(tmpdir(), 'kdrec-index-eval-'));
  const rows: IndexEvalRow[] = [];
  try {
    const files = built.saveGraphs(join(tmp, 'index.usearch'));
    for (const ef of efs) {
      const idx = new HnswIndex(dim, vectors, opts.scoreFn, {
        connectivity: built.opts.connectivity,
        expansionAdd: built.opts.expansionAdd,
        expansionSearch: ef,
        loadFrom: files,
        phis: built.phis,
      });
      let hit = 0;
      const t0 = performance.now();
      const found: Int32Array[] = [];
      for (let q = 0; q < Q; q++) found.push(idx.search(queries.subarray(q * dim, (q + 1) * dim), k).keys);
      const qps = Q / ((performance.now() - t0) / 1000);
      for (let q = 0; q < Q; q++) for (const key of found[q]!) if (truth[q]!.has(key)) hit++;
      const row = { ef, recallAt100: hit / (Q * k), qps };
      opts.log?.(`ef ${ef}: recall@${k} ${row.recallAt100.toFixed(4)}, ${qps.toFixed(0)} q/s`);
      rows.push(row);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return {
    items: n,
    dim,
    queries: Q,
    scoreFn: opts.scoreFn,
    connectivity: built.opts.connectivity,
    expansionAdd: built.opts.expansionAdd,
    normRanges: built.phis.length,
    buildSeconds,
    phi: built.phi,
    exactQps,
    rows,
    default: rows.find((r) => r.ef === HNSW_DEFAULTS.expansionSearch)!,
  };
}

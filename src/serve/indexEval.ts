/**
 * `kdrec index eval`: how much of the exact top-100 the HNSW index returns (recall@100 against
 * brute force over the same vectors, the standard ANN-benchmarks measure, Aumüller et al., Inf.
 * Syst. 2020) and how many single-thread queries per second it answers, for a few ef settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import { ExactIndex, HNSW_DEFAULTS, HnswIndex, type ScoreFn, vectorRows } from './annIndex.js';

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

/** Exact top-`k` rows per query (`queries` is `[Q, dim]`) and the exact index's queries/s. */
function exactTruth(
  exact: ExactIndex,
  dim: number,
  queries: Float32Array,
  k: number,
): { truth: Set<number>[]; qps: number } {
  const Q = queries.length / dim;
  const truth: Set<number>[] = [];
  const t = performance.now();
  for (let q = 0; q < Q; q++)
    truth.push(new Set(exact.search(queries.subarray(q * dim, (q + 1) * dim), k).keys));
  return { truth, qps: Q / ((performance.now() - t) / 1000) };
}

/**
 * Recall@k and single-thread queries/s of `built` at each ef of `efs` (ascending), against `truth`.
 * usearch fixes ef at construction, so the graphs are saved once and reloaded per ef. `stopAt`: stop
 * after the first ef whose recall reaches it (a larger ef is only slower).
 */
function efSweep(
  built: HnswIndex,
  vectors: Float32Array,
  live: Uint8Array | null,
  queries: Float32Array,
  truth: Set<number>[],
  k: number,
  efs: readonly number[],
  stopAt: number | null,
  log?: (msg: string) => void,
  label = '',
): IndexEvalRow[] {
  const dim = built.dim;
  const Q = queries.length / dim;
  const tmp = mkdtempSync(join(tmpdir(), 'kdrec-index-eval-'));
  const rows: IndexEvalRow[] = [];
  try {
    const files = built.saveGraphs(join(tmp, 'index.usearch'));
    for (const ef of efs) {
      const idx = new HnswIndex(dim, vectors, built.scoreFn, {
        metric: built.metric,
        connectivity: built.opts.connectivity,
        expansionAdd: built.opts.expansionAdd,
        expansionSearch: ef,
        loadFrom: files,
        phis: built.phis,
        live,
      });
      let hit = 0;
      // Warm-up (page faults of a freshly loaded graph, JIT) outside the timed loop.
      for (let q = 0; q < Math.min(Q, 20); q++) idx.search(queries.subarray(q * dim, (q + 1) * dim), k);
      // The faster of two timed passes: the machine is shared, and a pause is not the index's cost.
      let found: Int32Array[] = [];
      let qps = 0;
      for (let pass = 0; pass < 2; pass++) {
        const t0 = performance.now();
        found = [];
        for (let q = 0; q < Q; q++) found.push(idx.search(queries.subarray(q * dim, (q + 1) * dim), k).keys);
        qps = Math.max(qps, Q / ((performance.now() - t0) / 1000));
      }
      // Out of the exact top k (fewer when the catalogue holds fewer than k items).
      let want = 0;
      for (let q = 0; q < Q; q++) {
        want += truth[q]!.size;
        for (const key of found[q]!) if (truth[q]!.has(key)) hit++;
      }
      const row = { ef, recallAt100: hit / Math.max(want, 1), qps };
      log?.(`${label}ef ${ef}: recall@${k} ${row.recallAt100.toFixed(4)}, ${qps.toFixed(0)} q/s`);
      rows.push(row);
      if (stopAt !== null && row.recallAt100 >= stopAt) break;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
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
  const { truth, qps: exactQps } = exactTruth(new ExactIndex(dim, vectors, k), dim, queries, k);
  opts.log?.(`exact: ${Q} queries over ${n} items, ${exactQps.toFixed(0)} q/s`);
  const t = performance.now();
  const built = new HnswIndex(dim, vectors, opts.scoreFn, {
    connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
    expansionAdd: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
    threads: opts.threads ?? 0,
    ...(opts.rawIp ? { phi: 0 } : { normRanges: opts.normRanges ?? 1 }),
  });
  const buildSeconds = (performance.now() - t) / 1000;
  opts.log?.(`hnsw build: ${n} items in ${buildSeconds.toFixed(1)} s`);
  const rows = efSweep(built, vectors, null, queries, truth, k, efs, null, opts.log);
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

/**
 * Graph types the tuner tries: for dot models the plain inner-product graph, the MIPS transform
 * (Bachrach et al., RecSys'14) and norm ranges (Yan et al., NeurIPS'18) with 2 or 4 ranges; which
 * is best depends on the data (measured: the transform wins by far on trained embeddings with
 * unequal norms, the plain graph on i.i.d. Gaussian vectors), so it is measured, not assumed.
 * Cosine models have one graph (unit-norm vectors: there is nothing to transform).
 */
export const GRAPH_KINDS = ['ip', 'mips', 'ranges2', 'ranges4', 'cos'] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

/** HnswIndex build options of a graph kind. */
export function graphKindOptions(kind: GraphKind): { phi?: number; normRanges?: number } {
  switch (kind) {
    case 'ip':
      return { phi: 0 };
    case 'ranges2':
      return { normRanges: 2 };
    case 'ranges4':
      return { normRanges: 4 };
    default:
      return { normRanges: 1 };
  }
}

/** The graph kind of a built index (the inverse of `graphKindOptions`). */
export function graphKindOf(idx: HnswIndex): GraphKind {
  if (idx.scoreFn === 'cosine') return 'cos';
  if (idx.phi === 0) return 'ip';
  const b = idx.phis.length;
  return b === 1 ? 'mips' : b === 2 ? 'ranges2' : b === 4 ? 'ranges4' : 'mips';
}

/** Where the tuner's held-out queries come from. */
export type QuerySource = 'users' | 'items' | 'synthetic';

/** One graph kind measured on the tuning sample: the first ef that reached the target (or the last tried). */
export interface TuningCandidate {
  graph: GraphKind;
  buildSeconds: number;
  ef: number;
  recallAt100: number;
  qps: number;
  reachedTarget: boolean;
}

/** What `kdrec index build` chose and measured; saved in the index description (index.json). */
export interface IndexTuning {
  targetRecall: number;
  querySource: QuerySource;
  queries: number;
  /** Items the graph kinds were compared on (a random sample of the catalogue when it is large). */
  sampleItems: number;
  candidates: TuningCandidate[];
  graph: GraphKind;
  connectivity: number;
  expansionAdd: number;
  /** ef for k = 100 and what it measured on the full graph. */
  ef: number;
  recallAt100: number;
  qps: number;
  /** Whether recallAt100 reached targetRecall (if not: the best recall the ef ladder reached). */
  reachedTarget: boolean;
  /** The candidate count a server recalls (N) and the ef tuned for it: recall@N and q/s at that ef. */
  servingN: number;
  servingEf: number;
  recallAtServingN: number;
  qpsAtServingN: number;
  servingReachedTarget: boolean;
  /** Kinds built over the whole catalogue (the sample's best, and its runner-up when needed). */
  fullCandidates: TuningCandidate[];
  /** Full-graph build and the whole tuning (sample builds, sweeps), seconds. */
  buildSeconds: number;
  tuneSeconds: number;
}

export interface TuneOptions {
  scoreFn: ScoreFn;
  /** The export's live mask (removed rows are not indexed). */
  live?: Uint8Array | null;
  querySource: QuerySource;
  targetRecall?: number;
  /** Graph kinds are compared on this many sampled items when the catalogue is larger (0: never sample). */
  sampleItems?: number;
  efs?: number[];
  servingN?: number;
  connectivity?: number;
  expansionAdd?: number;
  threads?: number;
  seed?: number;
  log?: (msg: string) => void;
}

export const TUNE_DEFAULTS = {
  targetRecall: 0.95,
  sampleItems: 100_000,
  efs: [128, 256, 512, 1024, 2048],
  servingN: 500,
} as const;

/** The best row: the highest q/s among rows reaching `target`, else the highest recall. */
function bestRow(rows: readonly IndexEvalRow[], target: number): IndexEvalRow & { reachedTarget: boolean } {
  const ok = rows.filter((r) => r.recallAt100 >= target);
  if (ok.length > 0) {
    const r = ok.reduce((a, b) => (b.qps > a.qps ? b : a));
    return { ...r, reachedTarget: true };
  }
  return { ...rows.reduce((a, b) => (b.recallAt100 > a.recallAt100 ? b : a)), reachedTarget: false };
}

/** `n` distinct live rows chosen at random (seeded), ascending. */
function sampleRows(live: Uint8Array | null, total: number, n: number, seed: number): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < total; i++) if (live === null || live[i]) rows.push(i);
  const rng = new Rng(seed);
  for (let i = 0; i < Math.min(n, rows.length); i++) {
    const j = i + rng.int(rows.length - i);
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  return Int32Array.from(rows.slice(0, n)).sort();
}

/**
 * Builds the HNSW index that reaches `targetRecall` (recall@100 against exact search on held-out
 * queries) at the highest single-thread q/s:
 *  1. each graph kind (GRAPH_KINDS for the score function) is built on a random sample of the
 *     catalogue (all of it when small) and its ef ladder walked until the target is reached; the
 *     kind with the highest q/s at its first ef reaching the target wins (none reaching it: the best
 *     recall at the largest ef);
 *  2. the chosen kind is built over the whole catalogue and its ef ladder walked again, for k = 100
 *     and for the serving N (a server recalls N = 500 candidates, and usearch searches with
 *     max(ef, N)), each choosing the fastest ef that reaches the target.
 * A sample's graph is smaller than the full one, so it reaches a given recall at a smaller ef; the
 * kind it ranks first is what the sample is used for, the ef is tuned on the full graph.
 */
export function tuneIndex(
  vectors: Float32Array,
  dim: number,
  queries: Float32Array,
  opts: TuneOptions,
): { index: HnswIndex; tuning: IndexTuning } {
  const t0 = performance.now();
  const target = opts.targetRecall ?? TUNE_DEFAULTS.targetRecall;
  if (!(target > 0 && target <= 1))
    throw new Error(`--target-recall: expected a number in (0, 1], got ${target}`);
  const k = 100;
  // usearch searches with max(ef, k): an ef below k is ef = k.
  const ladder = (kk: number) => [
    ...new Set([kk, ...(opts.efs ?? TUNE_DEFAULTS.efs).filter((e) => e > kk)].sort((a, b) => a - b)),
  ];
  const efs = ladder(k);
  const servingN = opts.servingN ?? TUNE_DEFAULTS.servingN;
  const live = opts.live ?? null;
  const total = vectors.length / dim;
  const Q = queries.length / dim;
  if (Q === 0) throw new Error('index tuning: no queries');
  const log = opts.log;
  const build = {
    connectivity: opts.connectivity ?? HNSW_DEFAULTS.connectivity,
    expansionAdd: opts.expansionAdd ?? HNSW_DEFAULTS.expansionAdd,
    threads: opts.threads ?? 0,
  };
  const liveCount = live === null ? total : live.reduce((a, b) => a + b, 0);
  const sampleLimit = opts.sampleItems ?? TUNE_DEFAULTS.sampleItems;
  const kinds: GraphKind[] = opts.scoreFn === 'cosine' ? ['cos'] : ['ip', 'mips', 'ranges2', 'ranges4'];

  // 1. Graph kind, on a sample when the catalogue is large.
  let sampleVectors = vectors;
  let sampleLive = live;
  let sampleItems = liveCount;
  if (sampleLimit > 0 && liveCount > sampleLimit) {
    const rows = sampleRows(live, total, sampleLimit, opts.seed ?? 1);
    sampleVectors = vectorRows(vectors, dim, rows);
    sampleLive = null;
    sampleItems = rows.length;
  }
  const candidates: TuningCandidate[] = [];
  if (kinds.length > 1) {
    const { truth } = exactTruth(new ExactIndex(dim, sampleVectors, k, sampleLive), dim, queries, k);
    for (const graph of kinds) {
      const tb = performance.now();
      const built = new HnswIndex(dim, sampleVectors, opts.scoreFn, {
        ...build,
        ...graphKindOptions(graph),
        live: sampleLive,
      });
      const buildSeconds = (performance.now() - tb) / 1000;
      const rows = efSweep(
        built,
        sampleVectors,
        sampleLive,
        queries,
        truth,
        k,
        efs,
        target,
        log,
        `sample ${sampleItems} ${graph} `,
      );
      candidates.push({ graph, buildSeconds, ...bestRow(rows, target) });
    }
  }
  // Sample ranking: kinds reaching the target by q/s, then the rest by recall.
  const ranked = [...candidates].sort((a, b) =>
    a.reachedTarget !== b.reachedTarget
      ? Number(b.reachedTarget) - Number(a.reachedTarget)
      : a.reachedTarget
        ? b.qps - a.qps
        : b.recallAt100 - a.recallAt100,
  );
  if (ranked.length > 0 && !ranked[0]!.reachedTarget)
    log?.(`no graph kind reached recall ${target} on the sample: ranked by recall`);

  // 2. The sample's best kind over the whole catalogue; ef for k = 100 and for the serving N.
  // A larger graph needs a larger ef for the same recall, and not equally for every kind (measured
  // on a 1M trained export: one MIPS graph needs ef 2048 where 4 norm ranges need 512, while on a
  // 100k sample the single graph was fastest). When the full graph needs more than twice the
  // sample's ef, or misses the target, the runner-up is built at full size too and the faster kept.
  const exact = new ExactIndex(dim, vectors, Math.max(k, servingN), live);
  const truth100 = exactTruth(exact, dim, queries, k).truth;
  const fullCandidates: TuningCandidate[] = [];
  const fullBuild = (graph: GraphKind) => {
    const tb = performance.now();
    const idx = new HnswIndex(dim, vectors, opts.scoreFn, { ...build, ...graphKindOptions(graph), live });
    const buildSeconds = (performance.now() - tb) / 1000;
    log?.(`full graph ${graph}: ${idx.size()} items in ${buildSeconds.toFixed(1)} s`);
    const row = bestRow(
      efSweep(idx, vectors, live, queries, truth100, k, efs, target, log, `full ${graph} `),
      target,
    );
    const c: TuningCandidate = { graph, buildSeconds, ...row };
    fullCandidates.push(c);
    return { idx, c };
  };
  let best = fullBuild(kinds.length === 1 ? kinds[0]! : ranked[0]!.graph);
  const sampled = sampleItems < liveCount;
  if (sampled && ranked.length > 1 && (!best.c.reachedTarget || best.c.ef > 2 * ranked[0]!.ef)) {
    const second = fullBuild(ranked[1]!.graph);
    const better =
      second.c.reachedTarget !== best.c.reachedTarget
        ? second.c.reachedTarget
        : second.c.reachedTarget
          ? second.c.qps > best.c.qps
          : second.c.recallAt100 > best.c.recallAt100;
    if (better) best = second;
  }
  const index = best.idx;
  const graph = best.c.graph;
  const buildSeconds = best.c.buildSeconds;
  const at100 = best.c;
  log?.(`graph kind: ${graph}`);
  const servingEfs = ladder(servingN);
  const atN = bestRow(
    efSweep(
      index,
      vectors,
      live,
      queries,
      exactTruth(exact, dim, queries, servingN).truth,
      servingN,
      servingEfs,
      target,
      log,
      `full, recall@${servingN}: `,
    ),
    target,
  );
  const tuning: IndexTuning = {
    targetRecall: target,
    querySource: opts.querySource,
    queries: Q,
    sampleItems,
    candidates,
    fullCandidates,
    graph,
    connectivity: build.connectivity,
    expansionAdd: build.expansionAdd,
    ef: at100.ef,
    recallAt100: at100.recallAt100,
    qps: at100.qps,
    reachedTarget: at100.reachedTarget,
    servingN,
    servingEf: atN.ef,
    recallAtServingN: atN.recallAt100,
    qpsAtServingN: atN.qps,
    servingReachedTarget: atN.reachedTarget,
    buildSeconds,
    tuneSeconds: (performance.now() - t0) / 1000,
  };
  index.tuning = tuning;
  return { index, tuning };
}

/** One line saying what the tuner chose and measured (CLI output; never claims a missed target). */
export function describeTuning(t: IndexTuning): string {
  const miss = (ok: boolean) => (ok ? '' : ` — target ${t.targetRecall} NOT reached (best ef of the ladder)`);
  return (
    `tuned: graph ${t.graph} (compared on ${t.sampleItems} items; built in full: ${t.fullCandidates.map((c) => c.graph).join(', ')}), M ${t.connectivity}, ef_construction ${t.expansionAdd}; ` +
    `ef ${t.ef}: recall@100 ${t.recallAt100.toFixed(4)} at ${t.qps.toFixed(0)} q/s${miss(t.reachedTarget)}; ` +
    `serving N ${t.servingN}: ef ${t.servingEf}, recall@${t.servingN} ${t.recallAtServingN.toFixed(4)} at ${t.qpsAtServingN.toFixed(0)} q/s${miss(t.servingReachedTarget)}; ` +
    `${t.queries} held-out queries (${t.querySource}); build ${t.buildSeconds.toFixed(1)} s, tuning ${t.tuneSeconds.toFixed(1)} s in all`
  );
}

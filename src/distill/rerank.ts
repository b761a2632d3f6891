/**
 * Re-ranking a teacher-sorted list before it is distilled (issue 5, item 1): the final list a user
 * sees is the ranker's order after business rules, and distilling THAT list teaches the cheap stages
 * the rules too. A re-ranker is a pure function from a list (items in teacher order, their scores)
 * to a permutation of its positions; new ones are added with `registerReranker`.
 *
 * Shipped:
 * - `diversity` — at most `maxPerCategory` items of one category among the first `topK` positions
 *   (a greedy pass in teacher order: an item whose category is full is deferred; deferred items
 *   follow the top K in teacher order). When the list holds too few categories to fill the top K
 *   under the cap, the remaining top-K slots are filled with the best deferred items, so the
 *   constraint holds for every prefix that can satisfy it (`satisfiedTopK` says how far).
 * - `dedup` — de-duplication by shop: the first (best) item of each shop keeps its relative order;
 *   every further item of an already-seen shop is moved behind all first-of-shop items.
 */
import type { LoadedDataset } from '../data/dataset.js';

export interface RerankInput {
  /** itemKeys in teacher order (best first). */
  items: Int32Array;
  scores: Float32Array;
}

/** Returns positions of `input.items` in the new order (a permutation of 0..n−1). */
export type Reranker = (input: RerankInput) => Int32Array;

export type RerankSpec =
  | { kind: 'diversity'; field: string; maxPerCategory: number; topK: number }
  | { kind: 'dedup'; field: string };

/** Category (or shop) of every catalogue item from an item-group categorical field. */
export function itemAttribute(ds: LoadedDataset, field: string, where = 'rerank.field'): Int32Array {
  const col = ds.items.columns.cat[field];
  if (col === undefined) {
    const have = Object.keys(ds.items.columns.cat);
    throw new Error(
      `${where}: '${field}' is not a categorical item field of ${ds.name} (item fields: ${have.join(', ') || 'none'})`,
    );
  }
  return col;
}

export function diversityReranker(categoryOf: Int32Array, maxPerCategory: number, topK: number): Reranker {
  if (!Number.isInteger(maxPerCategory) || maxPerCategory < 1) {
    throw new Error(`rerank diversity: maxPerCategory must be an integer >= 1, got ${maxPerCategory}`);
  }
  if (!Number.isInteger(topK) || topK < 1)
    throw new Error(`rerank diversity: topK must be an integer >= 1, got ${topK}`);
  return ({ items }) => {
    const n = items.length;
    const order = new Int32Array(n);
    const counts = new Map<number, number>();
    const deferred: number[] = [];
    let filled = 0;
    let p = 0;
    for (; p < n && filled < topK; p++) {
      const c = categoryOf[items[p]!]!;
      const have = counts.get(c) ?? 0;
      if (have < maxPerCategory) {
        counts.set(c, have + 1);
        order[filled++] = p;
      } else deferred.push(p);
    }
    // Rest in teacher order: deferred items (all ranked before p) first, then the unvisited tail.
    for (const d of deferred) order[filled++] = d;
    for (; p < n; p++) order[filled++] = p;
    return order;
  };
}

export function dedupReranker(shopOf: Int32Array): Reranker {
  return ({ items }) => {
    const n = items.length;
    const order = new Int32Array(n);
    const seen = new Set<number>();
    const dups: number[] = [];
    let o = 0;
    for (let p = 0; p < n; p++) {
      const s = shopOf[items[p]!]!;
      if (seen.has(s)) dups.push(p);
      else {
        seen.add(s);
        order[o++] = p;
      }
    }
    for (const d of dups) order[o++] = d;
    return order;
  };
}

/** Length of the longest prefix (up to topK) in which no category exceeds maxPerCategory. */
export function satisfiedTopK(
  items: Int32Array,
  categoryOf: Int32Array,
  maxPerCategory: number,
  topK: number,
): number {
  const counts = new Map<number, number>();
  for (let p = 0; p < Math.min(topK, items.length); p++) {
    const c = categoryOf[items[p]!]!;
    const have = (counts.get(c) ?? 0) + 1;
    if (have > maxPerCategory) return p;
    counts.set(c, have);
  }
  return Math.min(topK, items.length);
}

type RerankerFactory = (spec: Record<string, unknown>, ds: LoadedDataset) => Reranker;

const registry = new Map<string, RerankerFactory>([
  [
    'diversity',
    (spec, ds) =>
      diversityReranker(
        itemAttribute(ds, String(spec['field'])),
        Number(spec['maxPerCategory']),
        Number(spec['topK']),
      ),
  ],
  ['dedup', (spec, ds) => dedupReranker(itemAttribute(ds, String(spec['field'])))],
]);

/** Adds a re-ranker kind (a pluggable business rule) usable as `rerank: { kind: NAME, ... }`. */
export function registerReranker(kind: string, factory: RerankerFactory): void {
  if (registry.has(kind)) throw new Error(`rerank: a re-ranker named '${kind}' is already registered`);
  registry.set(kind, factory);
}

export function rerankerFromSpec(
  spec: { kind: string } & Record<string, unknown>,
  ds: LoadedDataset,
): Reranker {
  const f = registry.get(spec.kind);
  if (f === undefined) {
    throw new Error(
      `rerank.kind: '${spec.kind}' is not a known re-ranker (known: ${[...registry.keys()].join(', ')})`,
    );
  }
  return f(spec, ds);
}

/** Applies a re-ranker and checks it returned a permutation (a plug-in bug must not corrupt lists). */
export function applyReranker(
  rerank: Reranker,
  items: Int32Array,
  scores: Float32Array,
): { items: Int32Array; scores: Float32Array } {
  const order = rerank({ items, scores });
  const n = items.length;
  if (order.length !== n) throw new Error(`rerank: returned ${order.length} positions for a list of ${n}`);
  const seen = new Uint8Array(n);
  const outItems = new Int32Array(n);
  const outScores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = order[i]!;
    if (!(p >= 0 && p < n) || seen[p])
      throw new Error(
        `rerank: the returned order is not a permutation of 0..${n - 1} (position ${i} is ${p})`,
      );
    seen[p] = 1;
    outItems[i] = items[p]!;
    outScores[i] = scores[p]!;
  }
  return { items: outItems, scores: outScores };
}

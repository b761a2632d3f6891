/**
 * Partial top-K selection over a score vector: the one implementation of "the K best items" used by
 * the retrieval metrics, the consistency metrics, the ground-truth utility and the serving path.
 *
 * A bounded min-heap of size K keeps the K best seen so far; each further item costs one comparison
 * with the heap root and, only when it beats the root, an O(log K) sift. Selecting K of N costs
 * O(N + M·log K) where M ≤ N is the number of root replacements (small for random order), and the
 * final K are sorted in O(K log K). No full sort of the N scores, and with a reused `TopKSelector`
 * no allocation per call.
 *
 * Order is total and deterministic: higher score first, and equal scores by lower index first, so
 * two models that tie give the same list on every run and the metrics never depend on sort
 * stability. NaN scores are rejected (a NaN would make the order undefined and the metric silently
 * wrong).
 */

export type ScoreVector = Float32Array | Float64Array;

/** True when (scoreA, a) ranks strictly before (scoreB, b): higher score, or equal score and lower index. */
export function ranksBefore(scoreA: number, a: number, scoreB: number, b: number): boolean {
  return scoreA > scoreB || (scoreA === scoreB && a < b);
}

/**
 * Reusable top-K selector: allocate once with the largest K needed, then call `select` per row.
 * `indices[0..count)` and `scores[0..count)` hold the result, best first, until the next call.
 */
export class TopKSelector {
  readonly indices: Int32Array;
  readonly scores: Float64Array;
  /** Number of valid entries after the last `select` (min(k, number of non-excluded items)). */
  count = 0;

  constructor(readonly maxK: number) {
    if (!Number.isInteger(maxK) || maxK < 1)
      throw new Error(`TopKSelector: k must be a positive integer, got ${maxK}`);
    this.indices = new Int32Array(maxK);
    this.scores = new Float64Array(maxK);
  }

  /**
   * Selects the best min(k, available) items of `values[offset .. offset+length)`; returned indices
   * are relative to `offset` (so a row of a row-major matrix gives item ids directly).
   * `exclude[i] !== 0` removes item i (relative index) from consideration.
   */
  select(
    values: ScoreVector,
    k: number,
    offset = 0,
    length = values.length - offset,
    exclude?: Uint8Array,
  ): number {
    if (!Number.isInteger(k) || k < 1 || k > this.maxK) {
      throw new Error(`TopKSelector.select: k must be an integer in [1, ${this.maxK}], got ${k}`);
    }
    if (offset < 0 || length < 0 || offset + length > values.length) {
      throw new Error(
        `TopKSelector.select: range [${offset}, ${offset + length}) outside a vector of ${values.length}`,
      );
    }
    if (exclude !== undefined && exclude.length < length) {
      throw new Error(`TopKSelector.select: exclusion mask has ${exclude.length} entries, need ${length}`);
    }
    const hi = this.indices;
    const hs = this.scores;
    let n = 0;
    // Min-heap on rank order: the root is the worst of the current K best.
    for (let i = 0; i < length; i++) {
      const s = values[offset + i]!;
      if (Number.isNaN(s)) throw new Error(`top-K: score at index ${i} is NaN`);
      if (exclude !== undefined && exclude[i] !== 0) continue;
      if (n < k) {
        // Sift up.
        let c = n++;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!ranksBefore(hs[p]!, hi[p]!, s, i)) break;
          hs[c] = hs[p]!;
          hi[c] = hi[p]!;
          c = p;
        }
        hs[c] = s;
        hi[c] = i;
      } else {
        // Fast path once the heap is full: indices only grow, so a later item with a score equal
        // to the root's never ranks before it (ties go to the lower index), and `s > root` alone
        // decides. Most items of a large catalogue fail this one comparison.
        let root = hs[0]!;
        for (; i < length; i++) {
          const t = values[offset + i]!;
          if (t > root) {
            if (exclude !== undefined && exclude[i] !== 0) continue;
            siftDown(hs, hi, n, t, i);
            root = hs[0]!;
          } else if (Number.isNaN(t)) {
            throw new Error(`top-K: score at index ${i} is NaN`);
          }
        }
      }
    }
    // Heap-sort in place: repeatedly move the worst to the end, giving best-first order.
    for (let end = n - 1; end > 0; end--) {
      const ws = hs[0]!;
      const wi = hi[0]!;
      siftDown(hs, hi, end, hs[end]!, hi[end]!);
      hs[end] = ws;
      hi[end] = wi;
    }
    this.count = n;
    return n;
  }
}

/** Places (s, i) at the root of a heap of size n and sifts it down to its place. */
function siftDown(hs: Float64Array, hi: Int32Array, n: number, s: number, i: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= n) break;
    const r = l + 1;
    // Child that ranks last (the smaller in rank order) moves up.
    let w = l;
    if (r < n && ranksBefore(hs[l]!, hi[l]!, hs[r]!, hi[r]!)) w = r;
    if (!ranksBefore(s, i, hs[w]!, hi[w]!)) break;
    hs[c] = hs[w]!;
    hi[c] = hi[w]!;
    c = w;
  }
  hs[c] = s;
  hi[c] = i;
}

/**
 * The indices of the k best scores, best first (ties: lower index first). Returns fewer than k when
 * fewer items are available after exclusion. For a hot loop, reuse a `TopKSelector` instead.
 */
export function topK(scores: ScoreVector, k: number, exclude?: Uint8Array): Int32Array {
  if (!Number.isInteger(k) || k < 1) throw new Error(`topK: k must be a positive integer, got ${k}`);
  const sel = new TopKSelector(Math.min(k, Math.max(1, scores.length)));
  const n = sel.select(scores, Math.min(k, sel.maxK), 0, scores.length, exclude);
  return sel.indices.slice(0, n);
}

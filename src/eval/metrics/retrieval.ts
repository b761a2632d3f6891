/**
 * Full-corpus retrieval metrics for the recall stage: every item of the corpus is scored for every
 * user, the user's training items are optionally removed from the ranking (the usual protocol of
 * e.g. He et al., "Neural Collaborative Filtering", WWW 2017, and Krichene & Rendle, "On Sampled
 * Metrics for Item Recommendation", KDD 2020, which argues for full-corpus over sampled
 * evaluation), and the top K is compared with the user's held-out items. Binary relevance:
 *   Recall@K  = |top-K ∩ R| / |R|
 *   HitRate@K = [ |top-K ∩ R| > 0 ]
 *   NDCG@K    = Σ_{r ≤ K, item_r ∈ R} 1/log2(r + 1)  /  Σ_{r ≤ min(K, |R|)} 1/log2(r + 1)
 *   MRR@K     = 1 / rank of the first relevant item if it is in the top K, else 0
 *   MRR       = 1 / rank of the first relevant item in the full ranking (untruncated)
 * each averaged over users with at least one relevant item. Ranks follow `topk.ts`' total order
 * (ties broken by lower item id), so results are deterministic. Per user the cost is one O(N)
 * top-K pass plus one O(N) pass for the untruncated MRR: 10k items × 1k users is ~20M steps.
 */
import { ranksBefore, type ScoreVector, TopKSelector } from '../../engine/topK.js';

/**
 * Scores for every (user, item): a row-major [nUsers × nItems] matrix, or a callback that fills
 * `out` (length nItems) with one user's scores (for models that score a user's row on demand).
 */
export type UserScores = ScoreVector | ((user: number, out: Float32Array) => void);

/** Per-user item lists in CSR form: user u's items are items[offsets[u] .. offsets[u+1]). */
export interface UserItemLists {
  offsets: Int32Array;
  items: Int32Array;
}

/** Builds CSR lists from aligned (user, item) pairs in any order. */
export function userItemListsFromPairs(nUsers: number, users: Int32Array, items: Int32Array): UserItemLists {
  if (users.length !== items.length) {
    throw new Error(
      `userItemListsFromPairs: ${users.length} users but ${items.length} items; they must be aligned`,
    );
  }
  const offsets = new Int32Array(nUsers + 1);
  for (let i = 0; i < users.length; i++) {
    const u = users[i]!;
    if (u < 0 || u >= nUsers)
      throw new Error(`userItemListsFromPairs: users[${i}] is ${u}; expected 0..${nUsers - 1}`);
    offsets[u + 1]!++;
  }
  for (let u = 0; u < nUsers; u++) offsets[u + 1]! += offsets[u]!;
  const fill = offsets.slice(0, nUsers);
  const out = new Int32Array(items.length);
  for (let i = 0; i < users.length; i++) out[fill[users[i]!]!++] = items[i]!;
  return { offsets, items: out };
}

/** Checks a CSR list's shape and item range; `name` is used in messages. */
export function checkUserItemLists(
  what: string,
  name: string,
  lists: UserItemLists,
  nUsers: number,
  nItems: number,
): void {
  const { offsets, items } = lists;
  if (offsets.length !== nUsers + 1) {
    throw new Error(
      `${what}: ${name}.offsets has ${offsets.length} entries; expected nUsers + 1 = ${nUsers + 1}`,
    );
  }
  if (offsets[0] !== 0 || offsets[nUsers] !== items.length) {
    throw new Error(`${what}: ${name}.offsets must start at 0 and end at items.length (${items.length})`);
  }
  for (let u = 0; u < nUsers; u++) {
    if (offsets[u + 1]! < offsets[u]!) throw new Error(`${what}: ${name}.offsets decreases at user ${u}`);
  }
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (!(it >= 0 && it < nItems))
      throw new Error(`${what}: ${name}.items[${i}] is ${it}; expected 0..${nItems - 1}`);
  }
}

/**
 * Reads user u's scores: returns the vector and the offset of the row within it (the matrix itself
 * for a matrix source, `buffer` filled by the callback otherwise). No copy for a matrix.
 */
export function userRow(
  what: string,
  source: UserScores,
  user: number,
  nUsers: number,
  nItems: number,
  buffer: Float32Array,
): { values: ScoreVector; offset: number } {
  if (typeof source === 'function') {
    source(user, buffer);
    return { values: buffer, offset: 0 };
  }
  if (source.length !== nUsers * nItems) {
    throw new Error(
      `${what}: score matrix has ${source.length} values; expected nUsers × nItems = ${nUsers} × ${nItems}`,
    );
  }
  return { values: source, offset: user * nItems };
}

export interface RetrievalInput {
  nUsers: number;
  nItems: number;
  scores: UserScores;
  /** Held-out (test) items per user. */
  relevant: UserItemLists;
  /** Items removed from each user's ranking, typically the user's training items. */
  exclude?: UserItemLists;
  /** Cut-offs, e.g. [10, 50, 100]. */
  ks: number[];
}

export interface RetrievalResult {
  /** 'Recall@K', 'HitRate@K', 'NDCG@K', 'MRR@K' per K, and 'MRR' (untruncated). */
  metrics: Record<string, number>;
  /** Users with ≥ 1 relevant item (after removing relevant items that are also excluded). */
  usersEvaluated: number;
  usersSkipped: number;
  /**
   * Relevant items that were also in the user's exclusion list: they cannot be retrieved, so they
   * are dropped from the relevant set (counted so a leaky split is visible, not silently scored 0).
   */
  relevantExcluded: number;
}

export function retrievalMetrics(input: RetrievalInput): RetrievalResult {
  const what = 'retrievalMetrics';
  const { nUsers, nItems, ks } = input;
  if (!Number.isInteger(nUsers) || nUsers < 1 || !Number.isInteger(nItems) || nItems < 1) {
    throw new Error(`${what}: nUsers and nItems must be positive integers, got ${nUsers} and ${nItems}`);
  }
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1)) {
    throw new Error(`${what}: ks must be positive integers, got [${ks.join(', ')}]`);
  }
  checkUserItemLists(what, 'relevant', input.relevant, nUsers, nItems);
  if (input.exclude) checkUserItemLists(what, 'exclude', input.exclude, nUsers, nItems);
  const maxK = Math.min(nItems, Math.max(...ks));
  const selector = new TopKSelector(maxK);
  const buffer = new Float32Array(typeof input.scores === 'function' ? nItems : 0);
  const excludeMask = new Uint8Array(nItems);
  // relevantStamp[item] === user + 1 marks item as relevant for the current user (no clearing needed).
  const relevantStamp = new Int32Array(nItems);
  // Discounts 1/log2(r + 1) for ranks r = 1..maxK and their prefix sums (ideal DCG).
  const discount = new Float64Array(maxK);
  const idealDcg = new Float64Array(maxK + 1);
  for (let r = 0; r < maxK; r++) {
    discount[r] = 1 / Math.log2(r + 2);
    idealDcg[r + 1] = idealDcg[r]! + discount[r]!;
  }
  const sums = new Float64Array(ks.length * 4);
  let mrrSum = 0;
  let usersEvaluated = 0;
  let relevantExcluded = 0;

  for (let u = 0; u < nUsers; u++) {
    if (input.exclude) {
      const { offsets, items } = input.exclude;
      for (let i = offsets[u]!; i < offsets[u + 1]!; i++) excludeMask[items[i]!] = 1;
    }
    let nRel = 0;
    let firstRel = -1;
    let firstRelScore = 0;
    const row = userRow(what, input.scores, u, nUsers, nItems, buffer);
    const { offsets, items } = input.relevant;
    for (let i = offsets[u]!; i < offsets[u + 1]!; i++) {
      const it = items[i]!;
      if (relevantStamp[it] === u + 1 || relevantStamp[it] === -(u + 1)) continue; // duplicate
      if (excludeMask[it] !== 0) {
        relevantStamp[it] = -(u + 1);
        relevantExcluded++;
        continue;
      }
      relevantStamp[it] = u + 1;
      nRel++;
      const s = row.values[row.offset + it]!;
      if (firstRel < 0 || ranksBefore(s, it, firstRelScore, firstRel)) {
        firstRel = it;
        firstRelScore = s;
      }
    }
    if (nRel > 0) {
      usersEvaluated++;
      const n = selector.select(
        row.values,
        maxK,
        row.offset,
        nItems,
        input.exclude ? excludeMask : undefined,
      );
      // Untruncated rank of the first relevant item: 1 + non-excluded items ranked before it.
      let before = 0;
      for (let j = 0; j < nItems; j++) {
        const s = row.values[row.offset + j]!;
        if (ranksBefore(s, j, firstRelScore, firstRel) && excludeMask[j] === 0) before++;
      }
      mrrSum += 1 / (before + 1);
      for (let q = 0; q < ks.length; q++) {
        const k = Math.min(ks[q]!, n);
        let hits = 0;
        let dcg = 0;
        let firstHit = -1;
        for (let r = 0; r < k; r++) {
          if (relevantStamp[selector.indices[r]!] === u + 1) {
            hits++;
            dcg += discount[r]!;
            if (firstHit < 0) firstHit = r;
          }
        }
        sums[q * 4] += hits / nRel;
        sums[q * 4 + 1] += hits > 0 ? 1 : 0;
        sums[q * 4 + 2] += dcg / idealDcg[Math.min(ks[q]!, nRel, maxK)]!;
        sums[q * 4 + 3] += firstHit >= 0 ? 1 / (firstHit + 1) : 0;
      }
    }
    if (input.exclude) {
      const { offsets: eo, items: ei } = input.exclude;
      for (let i = eo[u]!; i < eo[u + 1]!; i++) excludeMask[ei[i]!] = 0;
    }
  }
  if (usersEvaluated === 0) {
    throw new Error(`${what}: none of the ${nUsers} users has a relevant item to retrieve`);
  }
  const metrics: Record<string, number> = {};
  for (let q = 0; q < ks.length; q++) {
    const k = ks[q]!;
    metrics[`Recall@${k}`] = sums[q * 4]! / usersEvaluated;
    metrics[`HitRate@${k}`] = sums[q * 4 + 1]! / usersEvaluated;
    metrics[`NDCG@${k}`] = sums[q * 4 + 2]! / usersEvaluated;
    metrics[`MRR@${k}`] = sums[q * 4 + 3]! / usersEvaluated;
  }
  metrics['MRR'] = mrrSum / usersEvaluated;
  return { metrics, usersEvaluated, usersSkipped: nUsers - usersEvaluated, relevantExcluded };
}

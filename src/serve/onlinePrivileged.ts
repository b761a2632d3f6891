/**
 * The ranker's privileged inputs at request time: per (user, candidate item), the user's count of
 * (clicked) events on the candidate's category / shop / genres in the trailing window [t − W, t) —
 * the privileged cross features of Xu et al., "Privileged Features Distillation at Taobao
 * Recommendations", KDD 2020, which the ranking teacher was trained on.
 *
 * One definition offline and online: the training columns are built by src/data/dataset.ts from a
 * `WindowCounter` over the whole log exploded over each event's item keys, evaluated by
 * `BoundWindowFeature.compute` and normalised by `normalizeInPlace` with the train-split statistics.
 * Here the log is one user's history (the /events store plus the request's own events), the keys are
 * the export's `rank_keys` (the dataset's own key codes per catalogue row, so two raw values never
 * merge the way vocabulary OOV rows would), and the same three functions run. An event in the
 * request's second is invisible (window excludes t; the store truncates to seconds, as the logs are),
 * and an event on an item outside the catalogue has no keys and counts nowhere, as offline.
 * test/serve/rankOnline.test.ts checks online = offline row by row on a simulator dataset.
 *
 * Cost: one sort of the user's history (≤ the store's per-user bound) per request and window
 * feature, then two binary searches per candidate and key.
 */
import type { Schema } from '../data/schema.js';
import { normalizeInPlace } from '../data/schema.js';
import { BoundWindowFeature, WindowCounter } from '../data/windowFeatures.js';
import type { WindowFeatureDecl } from './export.js';
import type { UserEvent } from './userStateStore.js';

export class OnlinePrivileged {
  constructor(
    private readonly schema: Schema,
    readonly decls: readonly WindowFeatureDecl[],
    /** Per window field: catalogue row · keysPerItem → key code (−1 padded). */
    private readonly itemKeys: Readonly<Record<string, Int32Array>>,
    private readonly itemRow: ReadonlyMap<string, number>,
    where: string,
  ) {
    for (const d of decls) {
      const keys = itemKeys[d.field];
      if (keys === undefined) throw new Error(`${where}: no catalogue keys for window feature '${d.field}'`);
      if (keys.length % d.keysPerItem !== 0)
        throw new Error(
          `${where}: keys of '${d.field}' (${keys.length}) are not a multiple of keysPerItem ${d.keysPerItem}`,
        );
      // A code past keySpace would make WindowCounter throw inside a request: refuse it at load.
      for (let i = 0; i < keys.length; i++) {
        if (keys[i]! >= d.keySpace)
          throw new Error(
            `${where}: window key ${keys[i]} of '${d.field}' (catalogue row ${Math.floor(i / d.keysPerItem)}) is >= keySpace ${d.keySpace}`,
          );
      }
      const f = schema.field(d.field);
      if (f.kind !== 'numeric')
        throw new Error(`${where}: window feature '${d.field}' must be a numeric field, is ${f.kind}`);
    }
  }

  /**
   * Whether catalogue `row` has window keys for every window feature. Items added or replaced by
   * `kdrec index add` have none (./catalogueLog.ts `withoutLoggedKeys`): their counts are 0, and
   * /recommend flags them.
   */
  hasKeys(row: number): boolean {
    return this.decls.every((d) => {
      const keys = this.itemKeys[d.field]!;
      const K = d.keysPerItem;
      if ((row + 1) * K > keys.length) return false;
      for (let j = 0; j < K; j++) if (keys[row * K + j]! >= 0) return true;
      return false;
    });
  }

  /**
   * Normalised privileged columns for candidate catalogue `rows` of one user as of time `t` (unix
   * seconds), from the user's `history` (any order; later events are ignored by the window).
   */
  columns(history: readonly UserEvent[], t: number, rows: Int32Array): Record<string, Float32Array> {
    if (!Number.isFinite(t)) throw new Error(`ranker: request time must be finite unix seconds, got ${t}`);
    const now = Math.floor(t);
    const out: Record<string, Float32Array> = {};
    const n = history.length;
    for (const d of this.decls) {
      const keys = this.itemKeys[d.field]!;
      const K = d.keysPerItem;
      const catalogueRows = keys.length / K;
      // The user's history exploded over each event's item keys, as dataset.ts builds the offline one.
      const hk = new Int32Array(n * K).fill(-1);
      const ht = new Float64Array(n * K);
      const hinc = new Float32Array(n * K);
      history.forEach((e, i) => {
        const r = this.itemRow.get(e.itemId);
        const inc = d.countLabel === null ? 1 : (e.labels?.[d.countLabel] ?? 0);
        for (let j = 0; j < K; j++) {
          // Items added to the catalogue after export have no keys row: they count nowhere.
          hk[i * K + j] = r !== undefined && r < catalogueRows ? keys[r * K + j]! : -1;
          ht[i * K + j] = Math.floor(e.ts);
          hinc[i * K + j] = inc;
        }
      });
      const counter = new WindowCounter(new Int32Array(n * K), hk, ht, d.keySpace, d.windowSeconds, hinc);
      const bound = new BoundWindowFeature(
        { field: d.field, keyField: d.keyField, windowSeconds: d.windowSeconds },
        counter,
        keys,
        K,
      );
      const itemKey = Int32Array.from(rows, (r) => (r < catalogueRows ? r : -1));
      const vals = bound.compute(
        new Int32Array(rows.length),
        itemKey,
        new Float64Array(rows.length).fill(now),
      );
      const f = this.schema.field(d.field);
      out[d.field] = normalizeInPlace(vals, f.normalize, this.schema.numericStats(d.field));
    }
    return out;
  }
}

/**
 * Leak-free trailing-window counts: how many (click) events a user had on a key (a category, a shop,
 * a genre) in the window [t − W, t) before a sample at time t. These are the privileged cross features
 * of privileged features distillation (Xu et al., "Privileged Features Distillation at Taobao
 * Recommendations", KDD 2020): cheap offline, too expensive for recall/pre-ranking online.
 *
 * "Strictly before": an event at exactly t (same second) is invisible, as is the sample itself. The
 * window includes t − W and excludes t, so a count never sees the label being predicted.
 *
 * Implementation choice: an exact in-memory index rather than a SQL window function. History events
 * are grouped by (user, key) with their timestamps sorted; a query is two binary searches
 * (lower_bound(t − W) and lower_bound(t)), so it is exact for integer or fractional timestamps and
 * answers ANY (user, key, t) — not only the logged events, but also the random negatives of recall
 * samples and the candidates of teacher-ranked lists, which never appear in the log. One code path
 * for all three is what keeps train-time and scoring-time features identical. Build cost is one sort
 * of the history (O(n log n)); memory is 16 bytes per history event.
 */

export const DEFAULT_WINDOW_SECONDS = 24 * 3600;

export class WindowCounter {
  /** Sorted unique composite keys (user · keySpace + key). */
  private readonly groupKeys: Float64Array;
  /** groupStart[g] .. groupStart[g+1] index `times` for group g. */
  private readonly groupStart: Int32Array;
  /** Event times grouped by composite key, ascending within a group. */
  private readonly times: Float64Array;
  readonly events: number;

  /**
   * @param users user identity per history event
   * @param keys key id per history event (a category, shop, genre...), >= 0; negative = skip
   * @param ts event time (unix seconds) per history event
   * @param keySpace an upper bound (exclusive) on key ids
   * @param include optional mask: only events with include[i] > 0 are counted (e.g. click == 1)
   */
  constructor(
    users: Int32Array,
    keys: Int32Array,
    ts: Float64Array,
    readonly keySpace: number,
    readonly windowSeconds = DEFAULT_WINDOW_SECONDS,
    include?: ArrayLike<number>,
  ) {
    if (!(windowSeconds > 0)) throw new Error(`window length must be > 0 seconds, got ${windowSeconds}`);
    const n = users.length;
    if (keys.length !== n || ts.length !== n || (include && include.length !== n)) {
      throw new Error(
        `WindowCounter: users (${n}), keys (${keys.length}), ts (${ts.length}) and include must have equal lengths`,
      );
    }
    let m = 0;
    for (let i = 0; i < n; i++) if (keys[i]! >= 0 && (!include || include[i]! > 0)) m++;
    const comp = new Float64Array(m);
    const t = new Float64Array(m);
    let j = 0;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      if (k < 0 || (include && !(include[i]! > 0))) continue;
      if (k >= keySpace) throw new Error(`WindowCounter: key ${k} >= keySpace ${keySpace}`);
      if (!Number.isFinite(ts[i]!))
        throw new Error(`WindowCounter: event ${i} has a non-finite time ${ts[i]}`);
      comp[j] = users[i]! * keySpace + k;
      t[j] = ts[i]!;
      j++;
    }
    const order = new Int32Array(m);
    for (let i = 0; i < m; i++) order[i] = i;
    order.sort((a, b) => comp[a]! - comp[b]! || t[a]! - t[b]!);
    this.times = new Float64Array(m);
    const gk: number[] = [];
    const gs: number[] = [];
    for (let i = 0; i < m; i++) {
      const o = order[i]!;
      this.times[i] = t[o]!;
      if (i === 0 || comp[o] !== gk[gk.length - 1]) {
        gk.push(comp[o]!);
        gs.push(i);
      }
    }
    gs.push(m);
    this.groupKeys = Float64Array.from(gk);
    this.groupStart = Int32Array.from(gs);
    this.events = m;
  }

  /** Number of counted events of (user, key) with time in [t − W, t). */
  count(user: number, key: number, t: number): number {
    if (key < 0) return 0;
    const g = findSorted(this.groupKeys, user * this.keySpace + key);
    if (g < 0) return 0;
    const lo = this.groupStart[g]!;
    const hi = this.groupStart[g + 1]!;
    return lowerBound(this.times, lo, hi, t) - lowerBound(this.times, lo, hi, t - this.windowSeconds);
  }

  /** Sum of counts over the keys of a padded list (−1 = padding), e.g. a movie's genres. */
  countList(user: number, keys: Int32Array, t: number): number {
    let s = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i]! >= 0) s += this.count(user, keys[i]!, t);
    return s;
  }
}

function findSorted(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid]!;
    if (v === x) return mid;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** First index in [lo, hi) with a[i] >= x. */
export function lowerBound(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Declares one privileged window feature for the dataset pipeline: a numeric field whose value is
 * the user's count of events on the sample item's key(s) in the trailing window.
 */
export interface WindowFeatureSpec {
  /** The numeric field (group privileged, or user for per-user activity) the counts fill. */
  field: string;
  /** Item-side field whose raw values are the keys: a categorical (category, shop) or multi_hot (genres). */
  keyField: string;
  /** Count only history events whose label is positive (e.g. 'click'); all events when absent. */
  countLabel?: string;
  windowSeconds?: number;
}

/**
 * Binds a window feature to an event log: the history is every event (or every event whose
 * `include` value is positive) exploded over its item's keys. The one construction of the counter,
 * for the in-memory loader and for a prepared dataset loaded into memory.
 */
export function bindWindowFeature(
  spec: WindowFeatureSpec & { windowSeconds: number },
  itemKeys: Int32Array,
  keysPerItem: number,
  keySpace: number,
  events: { userKey: Int32Array; itemKey: Int32Array; ts: Float64Array; include?: ArrayLike<number> },
): BoundWindowFeature {
  const K = keysPerItem;
  const n = events.userKey.length;
  const hu = new Int32Array(n * K);
  const hk = new Int32Array(n * K).fill(-1);
  const ht = new Float64Array(n * K);
  const hinc = new Float32Array(n * K);
  const inc = events.include;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K; j++) {
      hu[i * K + j] = events.userKey[i]!;
      hk[i * K + j] = itemKeys[events.itemKey[i]! * K + j]!;
      ht[i * K + j] = events.ts[i]!;
      hinc[i * K + j] = inc ? inc[i]! : 1;
    }
  }
  const counter = new WindowCounter(hu, hk, ht, Math.max(1, keySpace), spec.windowSeconds, hinc);
  return new BoundWindowFeature(spec, counter, itemKeys, K);
}

/**
 * A window feature bound to a dataset: the counter plus each item's keys, so it can be evaluated for
 * any (userKey, itemKey, t), including pairs never logged.
 */
export class BoundWindowFeature {
  constructor(
    readonly spec: WindowFeatureSpec,
    readonly counter: WindowCounter,
    /** itemKey · keysPerItem → key id (−1 padded): the item's category, or its genres. */
    readonly itemKeys: Int32Array,
    readonly keysPerItem: number,
  ) {}

  /** Raw (unnormalised) counts for rows of (user, item, time). */
  compute(
    userKey: Int32Array,
    itemKey: Int32Array,
    ts: Float64Array,
    out = new Float32Array(userKey.length),
  ): Float32Array {
    const K = this.keysPerItem;
    for (let i = 0; i < userKey.length; i++) {
      const ik = itemKey[i]!;
      out[i] =
        ik < 0 ? 0 : this.counter.countList(userKey[i]!, this.itemKeys.subarray(ik * K, ik * K + K), ts[i]!);
    }
    return out;
  }
}

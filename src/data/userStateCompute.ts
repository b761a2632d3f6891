/**
 * The computation of as-of-request user state (./userState.ts has the definition and the dataset
 * side): events strictly before the request time → last-N items and keys, trailing-window counts
 * and positive-label rates, normalised with the train-split statistics. Kept free of Node and of
 * every other kdrec module but ./windowFeatures.ts and ./normalize.ts, so the in-browser page of
 * `kdrec export --web` (src/serve/webExport.ts) loads this very compiled file: training, the
 * server (src/serve/userStateStore.ts) and the page run one implementation.
 */
import { type Normalization, type NumericStats, normalizeInPlace } from './normalize.js';
import { lowerBound, WindowCounter } from './windowFeatures.js';

const WINDOW_RE = /^(\d+)(s|m|h|d|w)$/;
/** Window length in seconds (`all` = unbounded). */
export function windowSeconds(w: string): number {
  if (w === 'all') return Number.POSITIVE_INFINITY;
  const m = WINDOW_RE.exec(w);
  if (!m) throw new Error(`user state: window '${w}' must look like '1h', '1d', '7d' or 'all'`);
  const n = Number(m[1]);
  if (!(n > 0)) throw new Error(`user state: window '${w}' must be longer than 0`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return n * unit;
}

/** The user-state features a schema declares, recovered from their `_state.*` sources. */
export interface UserStateLayout {
  items: { field: string; itemField: string; maxLen: number } | null;
  keys: { field: string; keyField: string; maxLen: number } | null;
  counts: { field: string; window: string; seconds: number }[];
  rates: { field: string; label: string; window: string; seconds: number }[];
}

/** Per catalogue row: its item-id table row and its key ids (−1 padded), from catalogue columns. */
export interface UserStateCatalog {
  size: number;
  itemTableRow: Int32Array;
  keys: Int32Array | null;
  keysPerItem: number;
}

/** Events of any users in any order: the history user state is computed from. */
export interface UserEventLog {
  user: Int32Array;
  /** Unix seconds. */
  ts: Float64Array;
  /** Catalogue row of the event's item; −1 = an item the catalogue does not hold (OOV row, no keys). */
  itemRow: Int32Array;
  /** Label values per event, by label name (only those the layout's rates need). */
  labels: Record<string, ArrayLike<number>>;
}

/** Raw (unnormalised) user-state columns for query rows. */
export interface UserStateColumns {
  size: number;
  seq: Record<string, { ids: Int32Array; maxLen: number }>;
  num: Record<string, Float32Array>;
}

/**
 * The user-state features of each query (user, t), from the log's events strictly before t. Same
 * function offline (whole dataset) and online (one user's stored history).
 */
export function computeUserState(
  layout: UserStateLayout,
  catalog: UserStateCatalog,
  log: UserEventLog,
  queryUser: Int32Array,
  queryTs: Float64Array,
): UserStateColumns {
  const n = log.user.length;
  if (log.ts.length !== n || log.itemRow.length !== n)
    throw new Error(
      `user state: event log columns differ in length (user ${n}, ts ${log.ts.length}, itemRow ${log.itemRow.length})`,
    );
  if (queryTs.length !== queryUser.length)
    throw new Error(`user state: ${queryUser.length} query users but ${queryTs.length} query times`);
  for (let i = 0; i < n; i++) {
    const r = log.itemRow[i]!;
    if (r >= catalog.size)
      throw new Error(`user state: event ${i} has catalogue row ${r}, the catalogue has ${catalog.size}`);
  }
  const Q = queryUser.length;
  const out: UserStateColumns = { size: Q, seq: {}, num: {} };

  // Window counts: WindowCounter with one key per user (every event), and one per rate label
  // counting positive events only.
  const zeros = new Int32Array(n);
  const allCounters = new Map<number, WindowCounter>();
  const counterAll = (seconds: number) => {
    let c = allCounters.get(seconds);
    if (c === undefined) {
      c = new WindowCounter(log.user, zeros, log.ts, 1, seconds);
      allCounters.set(seconds, c);
    }
    return c;
  };
  for (const c of layout.counts) {
    const counter = counterAll(c.seconds);
    const col = new Float32Array(Q);
    for (let q = 0; q < Q; q++) col[q] = counter.count(queryUser[q]!, 0, queryTs[q]!);
    out.num[c.field] = col;
  }
  for (const r of layout.rates) {
    const lab = log.labels[r.label];
    if (lab === undefined)
      throw new Error(`user state: ${r.field} needs label '${r.label}', which the event log lacks`);
    if (lab.length !== n)
      throw new Error(`user state: label '${r.label}' has ${lab.length} values for ${n} events`);
    const all = counterAll(r.seconds);
    const pos = new WindowCounter(log.user, zeros, log.ts, 1, r.seconds, lab);
    const col = new Float32Array(Q);
    for (let q = 0; q < Q; q++) {
      const d = all.count(queryUser[q]!, 0, queryTs[q]!);
      col[q] = d > 0 ? pos.count(queryUser[q]!, 0, queryTs[q]!) / d : 0;
    }
    out.num[r.field] = col;
  }

  if (layout.items === null && layout.keys === null) return out;
  // Last N: the log grouped by user, each group in time order (ties in log order), then per query
  // the events before lowerBound(t) in that group.
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => log.user[a]! - log.user[b]! || log.ts[a]! - log.ts[b]! || a - b);
  const times = Float64Array.from(order, (i) => log.ts[i]!);
  const groupUser: number[] = [];
  const groupStart: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = log.user[order[i]!]!;
    if (i === 0 || u !== groupUser[groupUser.length - 1]) {
      groupUser.push(u);
      groupStart.push(i);
    }
  }
  groupStart.push(n);
  const findGroup = (u: number): number => {
    let lo = 0;
    let hi = groupUser.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = groupUser[mid]!;
      if (v === u) return mid;
      if (v < u) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };
  const it = layout.items;
  const ky = layout.keys;
  const itemIds = it ? new Int32Array(Q * it.maxLen).fill(-1) : null;
  const keyIds = ky ? new Int32Array(Q * ky.maxLen).fill(-1) : null;
  const K = catalog.keysPerItem;
  const keys = catalog.keys;
  for (let q = 0; q < Q; q++) {
    const g = findGroup(queryUser[q]!);
    if (g < 0) continue;
    const lo = groupStart[g]!;
    const end = lowerBound(times, lo, groupStart[g + 1]!, queryTs[q]!);
    if (it && itemIds) {
      // Oldest first, newest last; left-aligned and −1 padded like the dataset's list columns.
      const start = Math.max(lo, end - it.maxLen);
      for (let j = start; j < end; j++) {
        const row = log.itemRow[order[j]!]!;
        itemIds[q * it.maxLen + (j - start)] = row < 0 ? 0 : catalog.itemTableRow[row]!;
      }
    }
    if (ky && keyIds && keys) {
      // Walk back from the newest event collecting keys until maxLen are found, then write in time order.
      const L = ky.maxLen;
      const buf: number[] = [];
      for (let j = end - 1; j >= lo && buf.length < L; j--) {
        const row = log.itemRow[order[j]!]!;
        if (row < 0) continue;
        for (let k = K - 1; k >= 0 && buf.length < L; k--) {
          const id = keys[row * K + k]!;
          if (id >= 0) buf.push(id);
        }
      }
      for (let j = 0; j < buf.length; j++) keyIds[q * L + j] = buf[buf.length - 1 - j]!;
    }
  }
  if (it && itemIds) out.seq[it.field] = { ids: itemIds, maxLen: it.maxLen };
  if (ky && keyIds) out.seq[ky.field] = { ids: keyIds, maxLen: ky.maxLen };
  return out;
}

/** What normalising needs of a schema: each field's normalisation and train-split statistics. */
export interface NumericNormalization {
  field(name: string): { normalize: Normalization };
  numericStats(name: string): NumericStats;
}

/** Normalises the numeric user-state columns in place with the schema's train-split statistics. */
export function normalizeUserState(cols: UserStateColumns, schema: NumericNormalization): UserStateColumns {
  for (const [name, col] of Object.entries(cols.num)) {
    const f = schema.field(name);
    normalizeInPlace(col, f.normalize, schema.numericStats(name));
  }
  return cols;
}

/** One event of a single user's history, its item already resolved to a catalogue row (−1: unknown). */
export interface HistoryEvent {
  itemRow: number;
  /** Unix seconds; truncated to whole seconds, the logs' resolution. */
  ts: number;
  /** Label values by name; absent labels count as 0. */
  labels?: Readonly<Record<string, number>>;
}

/**
 * Normalised user-state columns (one row) of one user's history as of time `t` (unix seconds):
 * the online query (server and page), built on the offline computation.
 */
export function userStateOfHistory(
  layout: UserStateLayout,
  catalog: UserStateCatalog,
  history: readonly HistoryEvent[],
  t: number,
  norm: NumericNormalization,
): UserStateColumns {
  if (!Number.isFinite(t)) throw new Error(`user state: request time must be finite unix seconds, got ${t}`);
  const n = history.length;
  const ts = new Float64Array(n);
  const itemRow = new Int32Array(n);
  const names = [...new Set(layout.rates.map((r) => r.label))];
  const labels: Record<string, Float32Array> = {};
  for (const l of names) labels[l] = new Float32Array(n);
  history.forEach((e, i) => {
    ts[i] = Math.floor(e.ts);
    itemRow[i] = e.itemRow;
    for (const l of names) labels[l]![i] = e.labels?.[l] ?? 0;
  });
  const cols = computeUserState(
    layout,
    catalog,
    { user: new Int32Array(n), ts, itemRow, labels },
    Int32Array.of(0),
    Float64Array.of(Math.floor(t)),
  );
  return normalizeUserState(cols, norm);
}

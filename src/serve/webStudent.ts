/**
 * The in-browser student of `kdrec export --web` (./webExport.ts writes the page): the recall
 * stage — the two-tower user tower (ONNX, run by onnxruntime-web) and an exact dot-product top-K
 * over the exported item vectors — with the as-of-request user state computed in the page from
 * the clicks made there.
 *
 * This module runs unchanged in the browser and in Node (the tests drive it with
 * onnxruntime-node), so its only runtime imports are dependency-free: the user-state computation
 * (src/data/userStateCompute.ts), the very function training and `kdrec serve` use, and the ONNX
 * feeds of the converter (src/serve/onnx/onnxFeeds.ts). The page loads the compiled files as they
 * are; the exporter checks that no other import creeps in.
 *
 * What it reproduces of the server (src/serve/server.ts, /recommend on an export without a
 * pre-ranker, exact index): the user row of `ServingBundle.encodeUser` for the chosen user
 * (encoded at export time by that very function), its user-state fields replaced by the state
 * of the page's events strictly before the request time (`OnlineUserState.features`), the user
 * tower, and scores `V·q` ranked best first with ties to the lower catalogue row
 * (src/eval/metrics/topk.ts `ranksBefore`). Removed catalogue rows are never recommended.
 */
import type { Batch } from '../data/batch.js';
import type { Normalization, NumericStats } from '../data/normalize.js';
import {
  type HistoryEvent,
  type UserStateCatalog,
  type UserStateColumns,
  type UserStateLayout,
  userStateOfHistory,
  windowSeconds,
} from '../data/userStateCompute.js';
import { type OnnxFeed, type OnnxIo, onnxFeeds } from './onnx/onnxFeeds.js';

export const WEB_FORMAT = 'kdrec-web';
export const WEB_FORMAT_VERSION = 1;

/** One request row of the user tower's inputs, as plain JSON (ids are table rows, numerics normalised). */
export interface UserRow {
  cat: Record<string, number>;
  /** −1 padded, length = the field's maxLen. */
  seq: Record<string, number[]>;
  num: Record<string, number>;
}

/** A user the page offers: a known user of the export's user table, or the cold-start user. */
export interface WebUser {
  /** Raw user id (null: an unknown user, the OOV row). */
  id: string | null;
  label: string;
  /** `ServingBundle.encodeUser` of this user without events; user-state fields are recomputed. */
  row: UserRow;
}

/** User state as the page rebuilds it: the schema's layout and each numeric field's normalisation. */
export interface WebUserState {
  /** `UserStateLayout` without window seconds (`all` is unbounded, which JSON cannot hold). */
  layout: {
    items: UserStateLayout['items'];
    keys: UserStateLayout['keys'];
    counts: { field: string; window: string }[];
    rates: { field: string; label: string; window: string }[];
  };
  /** Keys per catalogue row in `item_state.i32` (0: no key field). */
  keysPerItem: number;
  normalization: Record<string, { normalize: Normalization; stats: NumericStats }>;
}

/** `DIR/data/web.json`: what the page loads first. */
export interface WebManifest {
  format: typeof WEB_FORMAT;
  formatVersion: number;
  kdrecVersion: string;
  createdAt: string;
  /** The export the page was built from (`manifest.json` `createdAt`), as /recommend reports it. */
  exportCreatedAt: string;
  scoreFn: 'dot' | 'cosine';
  dim: number;
  itemCount: number;
  /** Recommendations shown. */
  k: number;
  /** The ONNX user tower's inputs and output (src/serve/onnx `graphToOnnx`). */
  tower: OnnxIo;
  /** Labels of an event the page records for a click on an item (absent labels count as 0). */
  clickLabels: Record<string, number>;
  userState: WebUserState | null;
  files: {
    /** ONNX user tower. */
    model: string;
    /** Float32 little-endian [itemCount, dim], row-major: catalogue row r at r·dim. */
    vectors: string;
    /** Int32 little-endian: item-id table row [itemCount], then keys [itemCount · keysPerItem]. */
    itemState: string;
    /** `{ ids, titles, removed }`. */
    items: string;
    /** `WebUser[]`. */
    users: string;
  };
}

export interface WebItems {
  ids: string[];
  titles: string[];
  /** Catalogue rows removed by `kdrec index remove` (never recommended). */
  removed: number[];
}

/** An event recorded by the page: a click on a catalogue row at a time. */
export interface WebClick {
  itemRow: number;
  /** Unix seconds (whole). */
  ts: number;
}

export interface Recommendation {
  row: number;
  id: string;
  title: string;
  score: number;
}

/** Runs the user tower on one request row; returns its `[dim]` output. */
export type TowerRunner = (row: UserRow) => Promise<Float32Array>;

/**
 * The earliest request time at which every click is visible: user state sees events strictly
 * before the request, at whole-second resolution, so a click at second s is seen from s + 1.
 */
export function requestTimeAfter(clicks: readonly WebClick[], now: number): number {
  let t = Math.floor(now);
  for (const c of clicks) t = Math.max(t, Math.floor(c.ts) + 1);
  return t;
}

/** Checks a fetched binary's size against the manifest, naming the file. */
export function checkLength(file: string, got: number, want: number, what: string): void {
  if (got !== want)
    throw new Error(`${file}: ${got} values, expected ${want} (${what}); re-run kdrec export --web`);
}

export class WebStudent {
  private readonly layout: UserStateLayout | null;
  private readonly catalog: UserStateCatalog | null;
  private readonly norm: {
    field(name: string): { normalize: Normalization };
    numericStats(name: string): NumericStats;
  } | null;
  private readonly removed: Uint8Array;
  readonly rowOf: Map<string, number>;

  constructor(
    readonly manifest: WebManifest,
    readonly vectors: Float32Array,
    itemState: Int32Array,
    readonly items: WebItems,
    private readonly runTower: TowerRunner,
  ) {
    const m = manifest;
    const N = m.itemCount;
    checkLength(m.files.vectors, vectors.length, N * m.dim, `${N} items × dim ${m.dim}`);
    checkLength(m.files.items, items.ids.length, N, 'item ids');
    checkLength(m.files.items, items.titles.length, N, 'item titles');
    this.removed = new Uint8Array(N);
    for (const r of items.removed) {
      if (!Number.isInteger(r) || r < 0 || r >= N)
        throw new Error(`${m.files.items}: removed row ${r} is not a catalogue row (0..${N - 1})`);
      this.removed[r] = 1;
    }
    this.rowOf = new Map(items.ids.map((id, r) => [id, r]));
    const us = m.userState;
    if (us === null) {
      this.layout = null;
      this.catalog = null;
      this.norm = null;
      return;
    }
    const K = us.keysPerItem;
    checkLength(m.files.itemState, itemState.length, N * (1 + K), `${N} items × (1 + ${K} keys)`);
    this.layout = {
      items: us.layout.items,
      keys: us.layout.keys,
      counts: us.layout.counts.map((c) => ({ ...c, seconds: windowSeconds(c.window) })),
      rates: us.layout.rates.map((r) => ({ ...r, seconds: windowSeconds(r.window) })),
    };
    this.catalog = {
      size: N,
      itemTableRow: itemState.subarray(0, N),
      keys: K > 0 ? itemState.subarray(N, N + N * K) : null,
      keysPerItem: K,
    };
    const normOf = (name: string) => {
      const n = us.normalization[name];
      if (n === undefined) throw new Error(`web.json: no normalisation for user-state field '${name}'`);
      return n;
    };
    this.norm = {
      field: (name) => ({ normalize: normOf(name).normalize }),
      numericStats: (name) => normOf(name).stats,
    };
  }

  /** The user-state columns of the clicks as of `t` (null when the tower reads none). */
  userState(clicks: readonly WebClick[], t: number): UserStateColumns | null {
    if (this.layout === null || this.catalog === null || this.norm === null) return null;
    const history: HistoryEvent[] = clicks.map((c) => ({
      itemRow: c.itemRow,
      ts: c.ts,
      labels: this.manifest.clickLabels,
    }));
    return userStateOfHistory(this.layout, this.catalog, history, t, this.norm);
  }

  /** The user's request row as of `t`: the exported row with its user-state fields recomputed. */
  userRow(user: WebUser, clicks: readonly WebClick[], t: number): UserRow {
    const row: UserRow = { cat: { ...user.row.cat }, seq: { ...user.row.seq }, num: { ...user.row.num } };
    const state = this.userState(clicks, t);
    if (state !== null) {
      for (const [f, col] of Object.entries(state.seq)) row.seq[f] = Array.from(col.ids);
      for (const [f, col] of Object.entries(state.num)) row.num[f] = col[0]!;
    }
    return row;
  }

  /** The k best catalogue rows for the user tower output `q`: scores V·q, ties to the lower row. */
  topK(q: Float32Array, k: number): Recommendation[] {
    const { dim, itemCount: N } = this.manifest;
    if (q.length !== dim) throw new Error(`user tower returned ${q.length} values, web.json says dim ${dim}`);
    const v = this.vectors;
    const best: { row: number; score: number }[] = [];
    for (let r = 0; r < N; r++) {
      if (this.removed[r]) continue;
      let s = 0;
      for (let d = 0, o = r * dim; d < dim; d++) s += v[o + d]! * q[d]!;
      s = Math.fround(s);
      if (best.length === k && !(s > best[k - 1]!.score)) continue;
      // Insert after every kept row that ranks before it (equal score: the lower row, kept earlier).
      let i = best.length;
      while (i > 0 && s > best[i - 1]!.score) i--;
      best.splice(i, 0, { row: r, score: s });
      if (best.length > k) best.pop();
    }
    return best.map((b) => ({
      row: b.row,
      id: this.items.ids[b.row]!,
      title: this.items.titles[b.row]!,
      score: b.score,
    }));
  }

  /** Recommendations for the user as of `t`, having clicked `clicks`. */
  async recommend(user: WebUser, clicks: readonly WebClick[], t: number, k = this.manifest.k) {
    const row = this.userRow(user, clicks, t);
    return this.topK(await this.runTower(row), k);
  }
}

/** What the runner needs of onnxruntime (web or node: the same API). */
export interface OrtLike {
  Tensor: new (type: OnnxFeed['type'], data: OnnxFeed['data'], dims: number[]) => unknown;
}
export interface OrtSessionLike {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
}

/** A `TowerRunner` over an onnxruntime session of the exported user tower (feeds: `onnxFeeds`). */
export function ortTowerRunner(ort: OrtLike, session: OrtSessionLike, io: OnnxIo): TowerRunner {
  const output = io.outputs[0]!.name;
  return async (row) => {
    const feeds: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(onnxFeeds(io, rowBatch(row))))
      feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
    const out = (await session.run(feeds))[output]?.data;
    if (!(out instanceof Float32Array))
      throw new Error(`user tower: the ONNX output '${output}' is not a float32 tensor`);
    return out;
  };
}

/** A request row as a one-row batch (the layout the graph interpreter and the ONNX feeds read). */
export function rowBatch(row: UserRow): Batch {
  return {
    size: 1,
    cat: Object.fromEntries(Object.entries(row.cat).map(([f, v]) => [f, Int32Array.of(v)])),
    seq: Object.fromEntries(
      Object.entries(row.seq).map(([f, v]) => [f, { ids: Int32Array.from(v), maxLen: v.length }]),
    ),
    num: Object.fromEntries(Object.entries(row.num).map(([f, v]) => [f, Float32Array.of(v)])),
    labels: {},
    extra: {},
  };
}

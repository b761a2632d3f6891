/**
 * As-of-request user-state features: what the user did just before a request, computed from their
 * own event history STRICTLY before the request time. These are user-side only (no item of the
 * request, no user×item cross), so they are legal inputs to a two-tower user tower, unlike the
 * privileged cross counts of ./windowFeatures.ts (Xu et al., "Privileged Features Distillation at
 * Taobao Recommendations", KDD 2020), which need the candidate item.
 *
 * Features (issue 9, item 1):
 *   recent_items            the last N item ids (a `sequence` pooled from the item-id embedding table
 *                           the item tower also reads: the "watch history" input of Covington et
 *                           al., "Deep Neural Networks for YouTube Recommendations", RecSys'16, §3.1,
 *                           mean-pooled);
 *   recent_<key>            the keys (category, or genres) of those events, newest last, the last N kept;
 *   recent_events_<w>       the user's own event count in the trailing window w (log1p);
 *   recent_<label>_rate_<w> the share of those events with a positive label (0 without events).
 *
 * Leak rules are the privileged features': an event at time t′ is visible to a request at t only if
 * t′ < t, so the request's own event and every event of the same second are invisible (logs are at
 * second resolution; the online store truncates to seconds for the same reason). Window counts are
 * the `WindowCounter` of ./windowFeatures.ts (window [t − W, t)), the one implementation of a
 * trailing count.
 *
 * One code path offline and online: `computeUserState` takes an event log (any users, any order) and
 * query rows (user, time). Offline the log is the whole dataset and the queries are its rows
 * (`withUserState`); online the log is one user's stored history and the query is the request
 * (src/serve/userStateStore.ts). Both map items through the catalogue's own columns (row → item-id
 * table row, row → key ids), and both normalise with `normalizeUserState` and the train-split
 * statistics, so a feature cannot mean one thing in training and another in serving.
 *
 * The schema carries the whole layout: each user-state field's `source` is a `_state.*` pseudo
 * column (`_state.items:item_id`, `_state.keys:genres`, `_state.count:7d`, `_state.rate:click:1d`),
 * so an export's manifest schema is enough to rebuild it online (`userStateLayout`).
 */
import { z } from 'zod';
import { ColumnarDataset, type Columns, sliceColumns } from './batch.js';
import { fitNumeric, type LoadedDataset, SPLIT_NAMES, type SplitName } from './dataset.js';
import { type FieldDecl, Schema, type SchemaDecl } from './schema.js';
import {
  computeUserState,
  normalizeUserState,
  type UserEventLog,
  type UserStateCatalog,
  type UserStateLayout,
  windowSeconds,
} from './userStateCompute.js';

// The computation lives in ./userStateCompute.ts (dependency-free, loaded by the web page too).
export {
  computeUserState,
  type HistoryEvent,
  type NumericNormalization,
  normalizeUserState,
  type UserEventLog,
  type UserStateCatalog,
  type UserStateColumns,
  type UserStateLayout,
  userStateOfHistory,
  windowSeconds,
} from './userStateCompute.js';

/** What a loader says about its data for user state: which item fields and labels to use. */
export interface UserStateSource {
  /** Categorical item field with the item ids; the last-N items are embedded with its table. */
  itemField: string;
  /** Item field (categorical or multi_hot) whose ids form the last-N keys (category, genres). */
  keyField?: string;
  /** Labels whose trailing-window positive rate is a feature (e.g. click, long_dwell). */
  rateLabels: string[];
}

export const userStateOptionsSchema = z.strictObject({
  /** How many of the latest events (items, keys) the user tower sees. */
  lastN: z.int().min(1).max(500).default(20),
  /** Trailing windows of the counts and rates: `<n><s|m|h|d|w>` or `all` (everything before t). */
  windows: z
    .array(z.string().regex(/^(\d+(s|m|h|d|w)|all)$/, { error: "must look like '1h', '1d', '7d' or 'all'" }))
    .min(1)
    .default(['1d', '7d']),
});
export type UserStateOptions = z.output<typeof userStateOptionsSchema>;

const STATE_PREFIX = '_state.';

/** True for a field computed by this module (its source is a `_state.*` pseudo column). */
export function isUserStateSource(source: string): boolean {
  return source.startsWith(STATE_PREFIX);
}

/**
 * Field declarations for the user-state features of a dataset, all in group `user`. The last-N keys
 * read the key field's own table (shared with the item side), like the last-N items read the
 * item-id table.
 */
export function userStateFieldDecls(
  base: SchemaDecl,
  source: UserStateSource,
  opts: UserStateOptions,
  where: string,
): FieldDecl[] {
  const schema = new Schema(base, null, where);
  const need = (name: string, what: string) => {
    if (!schema.has(name))
      throw new Error(`${where}: user state needs ${what} '${name}', which the schema does not declare`);
    const f = schema.field(name);
    if (f.group !== 'item')
      throw new Error(`${where}: user state ${what} '${name}' must be an item field (it is ${f.group})`);
    return f;
  };
  const item = need(source.itemField, 'item-id field');
  if (item.kind !== 'categorical')
    throw new Error(`${where}: user state item-id field '${item.name}' must be categorical, is ${item.kind}`);
  const decls: FieldDecl[] = [
    {
      name: 'recent_items',
      kind: 'sequence',
      group: 'user',
      source: `${STATE_PREFIX}items:${item.name}`,
      maxLen: opts.lastN,
      pooling: 'mean',
      poolFrom: item.name,
      description: `the user's last ${opts.lastN} items before the request (item-id table shared with the item tower)`,
    },
  ];
  if (source.keyField !== undefined) {
    const key = need(source.keyField, 'key field');
    if (key.kind !== 'categorical' && key.kind !== 'multi_hot')
      throw new Error(
        `${where}: user state key field '${key.name}' must be categorical or multi_hot, is ${key.kind}`,
      );
    decls.push({
      name: `recent_${key.name}`,
      kind: 'sequence',
      group: 'user',
      source: `${STATE_PREFIX}keys:${key.name}`,
      maxLen: opts.lastN,
      pooling: 'mean',
      ...(key.kind === 'categorical'
        ? { poolFrom: key.name }
        : {
            embedding: {
              share: key.table,
              ...(key.embeddingDim !== undefined ? { dim: key.embeddingDim } : {}),
            },
          }),
      description: `the ${key.name} of the user's latest events before the request, the last ${opts.lastN} kept`,
    });
  }
  const labels = new Set(schema.labels.map((f) => f.name));
  for (const l of source.rateLabels)
    if (!labels.has(l))
      throw new Error(`${where}: user state rate label '${l}' is not a label of the schema`);
  for (const w of opts.windows) {
    windowSeconds(w);
    decls.push({
      name: `recent_events_${w}`,
      kind: 'numeric',
      group: 'user',
      source: `${STATE_PREFIX}count:${w}`,
      normalize: 'log1p',
      description: `the user's events in the ${w} before the request`,
    });
    for (const l of source.rateLabels) {
      decls.push({
        name: `recent_${l}_rate_${w}`,
        kind: 'numeric',
        group: 'user',
        source: `${STATE_PREFIX}rate:${l}:${w}`,
        normalize: 'none',
        description: `share of the user's events in the ${w} before the request with ${l} > 0 (0 without events)`,
      });
    }
  }
  for (const d of decls)
    if (schema.has(d.name)) throw new Error(`${where}: user state field '${d.name}' is already declared`);
  return decls;
}

/** The user-state layout of a schema, or null when it declares none. */
export function userStateLayout(schema: Schema): UserStateLayout | null {
  const layout: UserStateLayout = { items: null, keys: null, counts: [], rates: [] };
  let any = false;
  for (const f of schema.features) {
    if (!isUserStateSource(f.source)) continue;
    any = true;
    const bad = (why: string) => new Error(`schema field '${f.name}': source '${f.source}' ${why}`);
    if (f.group !== 'user') throw bad(`is a user-state feature, so its group must be 'user' (is ${f.group})`);
    const [kind, ...rest] = f.source.slice(STATE_PREFIX.length).split(':');
    if (kind === 'items' && rest.length === 1 && f.kind === 'sequence')
      layout.items = { field: f.name, itemField: rest[0]!, maxLen: f.maxLen };
    else if (kind === 'keys' && rest.length === 1 && f.kind === 'sequence')
      layout.keys = { field: f.name, keyField: rest[0]!, maxLen: f.maxLen };
    else if (kind === 'count' && rest.length === 1 && f.kind === 'numeric')
      layout.counts.push({ field: f.name, window: rest[0]!, seconds: windowSeconds(rest[0]!) });
    else if (kind === 'rate' && rest.length === 2 && f.kind === 'numeric')
      layout.rates.push({
        field: f.name,
        label: rest[0]!,
        window: rest[1]!,
        seconds: windowSeconds(rest[1]!),
      });
    else
      throw bad(
        'is not a user-state source: expected _state.items:FIELD or _state.keys:FIELD (sequence), _state.count:W or _state.rate:LABEL:W (numeric)',
      );
  }
  return any ? layout : null;
}

/** Reads the catalogue columns the layout needs (the dataset's `items`, or an export's). */
export function userStateCatalog(layout: UserStateLayout, items: Columns, where: string): UserStateCatalog {
  let itemTableRow: Int32Array = new Int32Array(0);
  if (layout.items !== null) {
    const col = items.cat[layout.items.itemField];
    if (col === undefined)
      throw new Error(
        `${where}: the item catalogue has no categorical column '${layout.items.itemField}' (needed by ${layout.items.field})`,
      );
    itemTableRow = col;
  }
  let keys: Int32Array | null = null;
  let K = 0;
  if (layout.keys !== null) {
    const name = layout.keys.keyField;
    const cat = items.cat[name];
    const seq = items.seq[name];
    if (cat !== undefined) {
      keys = cat;
      K = 1;
    } else if (seq !== undefined) {
      keys = seq.ids;
      K = seq.maxLen;
    } else
      throw new Error(
        `${where}: the item catalogue has no column '${name}' (needed by ${layout.keys.field})`,
      );
  }
  return { size: items.size, itemTableRow, keys, keysPerItem: K };
}

/** The dataset's events as a user-state event log (every split: the queries decide what is visible). */
export function datasetEventLog(ds: LoadedDataset, labels: readonly string[]): UserEventLog {
  const ev = ds.events.columns;
  if (!ev.userKey || !ev.itemKey || !ev.ts)
    throw new Error(`${ds.name}: events need userKey, itemKey and ts for user state`);
  const lab: Record<string, Float32Array> = {};
  for (const l of labels) {
    const col = ev.labels[l];
    if (col === undefined)
      throw new Error(`${ds.name}: user state needs label '${l}', which the events lack`);
    lab[l] = col;
  }
  return { user: ev.userKey, ts: ev.ts, itemRow: ev.itemKey, labels: lab };
}

/**
 * The dataset with user-state features added: fields declared in the schema (group `user`),
 * computed for every event row as of its own time, numeric statistics fitted on the train split,
 * and the splits rebuilt over the new columns. Samples built later (recall negatives, candidate
 * rows) copy user fields from their source row, so they carry the state as of that row's time.
 */
export function withUserState(
  ds: LoadedDataset,
  source: UserStateSource,
  opts: UserStateOptions,
): LoadedDataset {
  const where = `${ds.name}: user state`;
  const decls = userStateFieldDecls(ds.schema.decl, source, opts, where);
  const decl: SchemaDecl = { fields: [...ds.schema.decl.fields, ...decls] };
  const fit = ds.schema.fit;
  if (fit === null) throw new Error(`${where}: the dataset's schema is not fitted`);
  const unfitted = new Schema(decl, null, where);
  const layout = userStateLayout(unfitted)!;
  const catalog = userStateCatalog(layout, ds.items.columns, where);
  const log = datasetEventLog(ds, source.rateLabels);
  const ev = ds.events.columns;
  const cols = computeUserState(layout, catalog, log, ev.userKey!, ev.ts!);
  const numericStats = { ...fit.numericStats };
  for (const [name, col] of Object.entries(cols.num))
    numericStats[name] = fitNumeric(col, ds.split, unfitted.field(name));
  const schema = new Schema(decl, { tableSizes: fit.tableSizes, numericStats }, where);
  normalizeUserState(cols, schema);
  const events: Columns = {
    ...ev,
    seq: { ...ev.seq, ...cols.seq },
    num: { ...ev.num, ...cols.num },
  };
  const splits = {} as Record<SplitName, ColumnarDataset>;
  SPLIT_NAMES.forEach((name, s) => {
    const rows: number[] = [];
    for (let i = 0; i < ds.split.length; i++) if (ds.split[i] === s) rows.push(i);
    const contiguous = rows.length > 0 && rows[rows.length - 1]! - rows[0]! === rows.length - 1;
    const prev = ds.splits[name].columns;
    // Keep every column the split already has (including extras set on it) and add the new ones.
    const added: Columns = contiguous
      ? sliceColumns(
          { size: ev.size, cat: {}, seq: cols.seq, num: cols.num, labels: {}, extra: {} },
          rows[0]!,
          rows[0]! + rows.length,
        )
      : new ColumnarDataset({
          size: ev.size,
          cat: {},
          seq: cols.seq,
          num: cols.num,
          labels: {},
          extra: {},
        }).select(Int32Array.from(rows)).columns;
    splits[name] = new ColumnarDataset(
      { ...prev, seq: { ...prev.seq, ...added.seq }, num: { ...prev.num, ...added.num } },
      `${ds.name} ${name} split`,
    );
  });
  return {
    ...ds,
    schema,
    events: new ColumnarDataset(events, `${ds.name} events`),
    splits,
  };
}

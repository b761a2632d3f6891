/**
 * From prepared DuckDB tables to a `LoadedDataset`: the one pipeline every loader ends in.
 *
 * Order of operations is what keeps it leak-free:
 *   1. events are ordered by time and split (global time fractions, or per-user leave-last-out)
 *      BEFORE anything is fitted;
 *   2. vocabularies and numeric statistics are fitted on the train split only;
 *   3. privileged window counts are computed per row from events strictly before that row's time
 *      (./windowFeatures.ts), whatever split the row is in.
 * Each split is a `ColumnarDataset` of exposure samples; `items` is the whole item catalogue
 * (row i = itemKey i) for negative sampling and full-corpus retrieval.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { hashBucket, Vocab } from '../engine/vocab.js';
import { ColumnarDataset, type Columns, sliceColumns } from './batch.js';
import { type ColumnSpec, type DuckDb, type ReadReport, sqlId, sqlStr } from './readers.js';
import {
  type Field,
  type NumericStats,
  normalizeInPlace,
  Schema,
  type SchemaDecl,
  type SchemaFit,
} from './schema.js';
import {
  type BoundWindowFeature,
  bindWindowFeature,
  DEFAULT_WINDOW_SECONDS,
  type WindowFeatureSpec,
} from './windowFeatures.js';

export const DATASET_KINDS = ['sim', 'movielens-100k', 'ali-ccp', 'kuairand'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export type SplitSpec =
  /** Global temporal split: the first `train` fraction of events by time, then `valid`, then the rest. */
  | { kind: 'time'; train: number; valid: number }
  /** Per user: the last event is test, the one before is valid, the rest train (users with >= 3 events). */
  | { kind: 'leave-last-out' }
  /** Use a split the files already define (Ali-CCP train/val/test files). */
  | { kind: 'given' };

export const DEFAULT_SPLIT: SplitSpec = { kind: 'time', train: 0.8, valid: 0.1 };
export const SPLIT_NAMES = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface FileFingerprint {
  path: string;
  bytes: number;
  sha256: string;
}

export interface DatasetFingerprint {
  files: FileFingerprint[];
  /** sha256 over the files' hashes (in path order). */
  sha256: string;
}

/** What the labels mean, so trainers and eval do not guess by name. */
export interface LabelRoles {
  /** The click (or interaction) label. */
  click: string;
  /** Long engagement given a click (dwell > 50 s, rating >= 4, KuaiRand long_view). */
  long?: string;
  /** Conversion (Ali-CCP purchase). */
  conversion?: string;
}

export interface FieldCoverage {
  /** Rows whose value was present but not in the train vocab (mapped to row 0). */
  oov: number;
  /** Rows (or list entries) with no value (mapped to row 0, or −1 padding for lists). */
  missing: number;
}

export interface DatasetStats {
  rows: number;
  splitRows: Record<SplitName, number>;
  /** Mean of each label per split. */
  labelRates: Record<SplitName, Record<string, number>>;
  users: number;
  items: number;
  /** Per categorical/list field, over all events. */
  coverage: Record<string, FieldCoverage>;
  reads: ReadReport[];
}

export interface LoadedDataset {
  name: string;
  kind: DatasetKind;
  path: string;
  /** Fitted on the train split: table sizes and numeric stats filled in. */
  schema: Schema;
  /** Vocabulary per embedding table (hashed tables have none). */
  vocabs: Record<string, Vocab>;
  /** Every exposure, in time order, with userKey/itemKey/requestId/ts. */
  events: ColumnarDataset;
  /** Split of each events row: 0 train, 1 valid, 2 test. */
  split: Uint8Array;
  splitSpec: SplitSpec;
  /**
   * Exposure samples per split, in time order: views of the events columns when the split is
   * contiguous (time split), copies otherwise (leave-last-out). `setExtra` on one split does not
   * touch the others.
   */
  splits: Record<SplitName, ColumnarDataset>;
  /** Item catalogue: row i is itemKey i; item-group fields only. */
  items: ColumnarDataset;
  /** Raw ids by key. */
  userIds: string[];
  itemIds: string[];
  labels: LabelRoles;
  /** Privileged window features, evaluable for any (user, item, time). */
  windowFeatures: BoundWindowFeature[];
  stats: DatasetStats;
  fingerprint: DatasetFingerprint;
}

/** What a loader hands to `buildDataset`. */
export interface PreparedSource {
  name: string;
  kind: DatasetKind;
  path: string;
  schemaDecl: SchemaDecl;
  /** Files read (for the fingerprint). */
  files: string[];
  reads: ReadReport[];
  /**
   * DuckDB table `events` with `_ts` (DOUBLE unix seconds), `_user`, `_item` (VARCHAR), optional
   * `_request` (VARCHAR), optional `_given_split` (INTEGER 0/1/2), `_line` and field sources.
   */
  events: string;
  /** Optional table with `_item` and item field sources (the catalogue). */
  items?: string;
  /** Optional table with `_user` and user field sources. */
  users?: string;
  /** Separator of multi_hot / sequence values inside a VARCHAR source. */
  listSeparator?: string;
  windowFeatures: WindowFeatureSpec[];
  labels: LabelRoles;
  /** Split used when the caller gives none (e.g. the files' own split for Ali-CCP). */
  defaultSplit?: SplitSpec;
}

export interface BuildOptions {
  split?: SplitSpec;
  /** Overrides every window feature's length (seconds). */
  windowSeconds?: number;
  /**
   * Replaces the loader's default schema (e.g. from a config file): fields may be dropped, regrouped,
   * hashed or given minCount/embedding options. Sources must be columns the loader provides (see its
   * default schema); a dropped window-feature field is simply not computed.
   */
  schema?: SchemaDecl;
}

export async function fingerprintFiles(paths: string[]): Promise<DatasetFingerprint> {
  const files: FileFingerprint[] = [];
  for (const path of [...paths].sort()) {
    const h = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      createReadStream(path)
        .on('data', (d) => h.update(d))
        .on('end', () => resolve())
        .on('error', reject);
    });
    files.push({ path, bytes: statSync(path).size, sha256: h.digest('hex') });
  }
  const all = createHash('sha256');
  for (const f of files) all.update(f.sha256);
  return { files, sha256: all.digest('hex') };
}

function checkSplit(s: SplitSpec): void {
  if (s.kind !== 'time') return;
  if (!(s.train > 0 && s.valid >= 0 && s.train + s.valid < 1)) {
    throw new Error(
      `time split fractions must satisfy train > 0, valid >= 0, train + valid < 1; got train ${s.train}, valid ${s.valid}`,
    );
  }
}

/** Column source names per field, resolved to the table that holds them. */
function findSource(f: Field, tables: { name: string; cols: string[] }[]): string {
  for (const t of tables) if (t.cols.includes(f.source)) return t.name;
  const all = tables
    .map((t) => `${t.name}: ${t.cols.filter((c) => !c.startsWith('_')).join(', ')}`)
    .join('; ');
  throw new Error(`field '${f.name}' reads column '${f.source}', which no input table has (${all})`);
}

export async function buildDataset(
  db: DuckDb,
  src: PreparedSource,
  opts: BuildOptions = {},
): Promise<LoadedDataset> {
  const baseSchema = new Schema(
    opts.schema ?? src.schemaDecl,
    null,
    opts.schema ? `${src.kind} schema (override)` : `${src.kind} schema`,
  );
  const windowSpecs = src.windowFeatures.filter((w) => baseSchema.has(w.field));
  const splitSpec = opts.split ?? DEFAULT_SPLIT;
  checkSplit(splitSpec);
  const sep = src.listSeparator ?? '|';
  const evCols = await db.columnNames(src.events);
  const itemCols = src.items ? await db.columnNames(src.items) : [];
  const userCols = src.users ? await db.columnNames(src.users) : [];
  if (splitSpec.kind === 'given' && !evCols.includes('_given_split')) {
    throw new Error(
      `${src.kind}: this dataset defines no split of its own; use a time or leave-last-out split`,
    );
  }

  // Unknown ids in events are an error (a join would silently drop the rows).
  for (const [tab, key, cols] of [
    [src.items, '_item', itemCols],
    [src.users, '_user', userCols],
  ] as const) {
    if (!tab || !cols.length) continue;
    const bad = await db.rows(
      `SELECT e._line, e.${key} FROM ${sqlId(src.events)} e ANTI JOIN ${sqlId(tab)} t USING (${key}) ORDER BY e._line LIMIT 3`,
    );
    if (bad.length) {
      const n = await db.scalar(
        `SELECT count(*) FROM ${sqlId(src.events)} e ANTI JOIN ${sqlId(tab)} t USING (${key})`,
      );
      throw new Error(
        `${src.kind}: ${n} event(s) reference a ${key.slice(1)} missing from the ${key.slice(1)}s table, e.g. line ${String(bad[0]![0])}: '${String(bad[0]![1])}'`,
      );
    }
  }

  // 1. Join, order by time, split.
  const joinItems = src.items
    ? `LEFT JOIN (SELECT * EXCLUDE (_line) FROM ${sqlId(src.items)}) i USING (_item)`
    : '';
  const joinUsers = src.users
    ? `LEFT JOIN (SELECT * EXCLUDE (_line) FROM ${sqlId(src.users)}) u USING (_user)`
    : '';
  await db.run(
    `CREATE OR REPLACE TEMP TABLE _ev0 AS SELECT * FROM ${sqlId(src.events)} e ${joinItems} ${joinUsers} ORDER BY e._ts, e._line`,
  );
  // A table created from an ORDER BY keeps that order (insertion order), so rowid is the time rank.
  const n = await db.scalar('SELECT count(*) FROM _ev0');
  if (n === 0) throw new Error(`${src.kind}: no events to load`);
  const noKey = await db.rows(
    "SELECT _line, CASE WHEN _user IS NULL OR _user = '' THEN 'user id' WHEN _item IS NULL OR _item = '' THEN 'item id' ELSE 'time' END " +
      "FROM _ev0 WHERE _user IS NULL OR _user = '' OR _item IS NULL OR _item = '' OR _ts IS NULL OR isnan(_ts) ORDER BY _line LIMIT 1",
  );
  if (noKey.length)
    throw new Error(`${src.kind}: event at line ${String(noKey[0]![0])} has no ${String(noKey[0]![1])}`);
  let splitSql: string;
  let splitJoin = '';
  if (splitSpec.kind === 'time') {
    const nTrain = Math.floor(n * splitSpec.train);
    const nValid = Math.floor(n * (splitSpec.train + splitSpec.valid)) - nTrain;
    splitSql = `CASE WHEN e.rowid < ${nTrain} THEN 0 WHEN e.rowid < ${nTrain + nValid} THEN 1 ELSE 2 END`;
  } else if (splitSpec.kind === 'leave-last-out') {
    await db.run(
      'CREATE OR REPLACE TEMP TABLE _llo AS SELECT rowid AS _row, row_number() OVER (PARTITION BY _user ORDER BY _ts DESC, _line DESC) AS k, ' +
        'count(*) OVER (PARTITION BY _user) AS cnt FROM _ev0',
    );
    splitSql = 'CASE WHEN l.cnt >= 3 AND l.k = 1 THEN 2 WHEN l.cnt >= 3 AND l.k = 2 THEN 1 ELSE 0 END';
    splitJoin = 'JOIN _llo l ON l._row = e.rowid';
  } else {
    const undefinedRows = await db.scalar(
      'SELECT count(*) FROM _ev0 WHERE _given_split IS NULL OR _given_split NOT IN (0, 1, 2)',
    );
    if (undefinedRows > 0) {
      throw new Error(
        `${src.kind}: --split given, but ${undefinedRows} events have no split of their own (a single file?); use a time or leave-last-out split`,
      );
    }
    splitSql = 'e._given_split';
  }
  // Time and given splits are a function of the row, so _evs is a view (no copy of the events).
  await db.run(
    `CREATE OR REPLACE TEMP ${splitJoin ? 'TABLE' : 'VIEW'} _evs AS SELECT e.rowid::BIGINT AS _row, ${splitSql}::INTEGER AS _split, e.* FROM _ev0 e ${splitJoin}${splitJoin ? ' ORDER BY e.rowid' : ''}`,
  );
  if (splitJoin) await db.run('DROP TABLE _ev0; DROP TABLE _llo');
  const split = new Uint8Array(n);
  const splitF = new Float32Array(n);
  await db.fetchColumns('SELECT _split FROM _evs ORDER BY _row', [{ kind: 'number', out: splitF }]);
  for (let i = 0; i < n; i++) split[i] = splitF[i]!;

  // Catalogue: the items table, or distinct items of the events with their item-group columns.
  const itemFields = baseSchema.features.filter((f) => f.group === 'item');
  let catalog = src.items;
  if (!catalog) {
    const cols = itemFields
      .filter((f) => evCols.includes(f.source))
      .map((f) => `any_value(${sqlId(f.source)}) AS ${sqlId(f.source)}`);
    await db.run(
      `CREATE OR REPLACE TEMP TABLE _items AS SELECT _item${cols.length ? `, ${cols.join(', ')}` : ''}, min(_line) AS _line FROM _evs GROUP BY _item`,
    );
    catalog = '_items';
  }
  const nItems = await db.scalar(`SELECT count(*) FROM ${sqlId(catalog)}`);

  // 2. Keys: identities, not features. Mapped by joins inside DuckDB so a million events do not
  // become a million JS strings: catalogue order for items, users-table order then first
  // appearance for users, first appearance for requests.
  for (const [tab, key] of [
    [catalog, '_item'],
    [src.users, '_user'],
  ] as const) {
    if (!tab) continue;
    const dup = await db.rows(
      `SELECT ${key}, min(_line), max(_line) FROM ${sqlId(tab)} GROUP BY ${key} HAVING count(*) > 1 LIMIT 1`,
    );
    if (dup.length) {
      throw new Error(
        `${src.kind}: ${key.slice(1)} '${String(dup[0]![0])}' appears twice in the ${key.slice(1)}s table (lines ${String(dup[0]![1])} and ${String(dup[0]![2])})`,
      );
    }
  }
  await db.run(
    `CREATE OR REPLACE TEMP TABLE _ikey AS SELECT _item AS tok, (row_number() OVER (ORDER BY _line, _item) - 1)::INTEGER AS idx FROM ${sqlId(catalog)}`,
  );
  if (src.users) {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE _ukey AS SELECT _user AS tok, (row_number() OVER (ORDER BY _line) - 1)::INTEGER AS idx FROM ${sqlId(src.users)}`,
    );
  } else {
    await db.run('CREATE OR REPLACE TEMP TABLE _ukey (tok VARCHAR, idx INTEGER)');
  }
  const knownUsers = await db.scalar('SELECT count(*) FROM _ukey');
  await db.run(
    `INSERT INTO _ukey SELECT _user, (${knownUsers} + row_number() OVER (ORDER BY min(_row)) - 1)::INTEGER FROM _evs ` +
      'WHERE _user NOT IN (SELECT tok FROM _ukey) GROUP BY _user',
  );
  const hasRequest = evCols.includes('_request');
  if (hasRequest) {
    await db.run(
      "CREATE OR REPLACE TEMP TABLE _rkey AS SELECT coalesce(_request, '#' || _row) AS tok, (row_number() OVER (ORDER BY min(_row)) - 1)::INTEGER AS idx " +
        "FROM _evs GROUP BY coalesce(_request, '#' || _row)",
    );
  }
  const itemIds: string[] = [];
  await db.fetchColumns('SELECT tok FROM _ikey ORDER BY idx', [
    { kind: 'string', onString: (r, v) => (itemIds[r] = v ?? '') },
  ]);
  const userIds: string[] = [];
  await db.fetchColumns('SELECT tok FROM _ukey ORDER BY idx', [
    { kind: 'string', onString: (r, v) => (userIds[r] = v ?? '') },
  ]);
  const userKey = new Int32Array(n);
  const itemKey = new Int32Array(n).fill(-1);
  const ts = new Float64Array(n);
  const requestId = hasRequest ? new Int32Array(n) : undefined;
  const keyRows = await db.fetchColumns(
    `SELECT e._ts, uk.idx, ik.idx${hasRequest ? ', rk.idx' : ''} FROM _evs e JOIN _ukey uk ON uk.tok = e._user ` +
      `LEFT JOIN _ikey ik ON ik.tok = e._item${hasRequest ? " JOIN _rkey rk ON rk.tok = coalesce(e._request, '#' || e._row)" : ''} ORDER BY e._row`,
    [
      { kind: 'number', out: ts },
      { kind: 'number', out: userKey },
      { kind: 'number', out: itemKey, nullValue: -1 },
      ...(requestId ? [{ kind: 'number' as const, out: requestId }] : []),
    ],
  );
  if (keyRows !== n)
    throw new Error(`${src.kind}: internal error: key join returned ${keyRows} of ${n} events`);
  for (let i = 0; i < n; i++) {
    if (itemKey[i]! < 0)
      throw new Error(`${src.kind}: event row ${i}: its item is not in the item catalogue`);
  }

  // 3. Vocabularies per table, from train rows of every field reading that table.
  const tables: { name: string; cols: string[] }[] = [{ name: '_evs', cols: await db.columnNames('_evs') }];
  const vocabs: Record<string, Vocab> = {};
  const vocabTables = new Map<string, string>();
  const tableSizes: Record<string, number> = {};
  const idFields = baseSchema.features.filter((f) => f.kind !== 'numeric');
  const byTable = new Map<string, Field[]>();
  for (const f of idFields) byTable.set(f.table, [...(byTable.get(f.table) ?? []), f]);
  for (const [table, fields] of byTable) {
    const hashed = fields[0]!.hashBuckets;
    if (hashed) {
      tableSizes[table] = hashed + 1;
      continue;
    }
    const parts: string[] = [];
    for (const f of fields) {
      const where = findSource(f, tables);
      const col = sqlId(f.source);
      if (f.kind === 'categorical')
        parts.push(`SELECT ${col}::VARCHAR AS v FROM ${where} WHERE _split = 0 AND ${col} IS NOT NULL`);
      else
        parts.push(
          `SELECT unnest(string_split(${col}::VARCHAR, ${sqlStr(sep)})) AS v FROM ${where} WHERE _split = 0 AND ${col} IS NOT NULL`,
        );
    }
    const minCount = Math.max(...fields.map((f) => f.minCount));
    const counts = await db.rows(
      `SELECT v, count(*) FROM (${parts.join(' UNION ALL ')}) WHERE v <> '' GROUP BY v`,
    );
    const vocab = Vocab.fromCounts(
      table,
      counts.map((r) => [String(r[0]), Number(r[1])] as const),
      minCount,
    );
    vocabs[table] = vocab;
    tableSizes[table] = vocab.size;
    // The same mapping as a DuckDB table, so categorical columns are mapped by a join in SQL.
    const vt = `_voc_${vocabTables.size}`;
    vocabTables.set(table, vt);
    await db.run(`CREATE OR REPLACE TABLE ${vt} (tok VARCHAR, idx INTEGER)`);
    const app = await db.conn.createAppender(vt);
    vocab.tokens.forEach((tok, i) => {
      app.appendVarchar(tok);
      app.appendInteger(i + 1);
      app.endRow();
    });
    app.closeSync();
  }

  // 4. Materialise columns for the events and the catalogue.
  const coverage: Record<string, FieldCoverage> = {};
  const numericStats: Record<string, NumericStats> = {};
  const windowFieldNames = new Set(windowSpecs.map((w) => w.field));
  const evColumns: Columns = {
    size: n,
    cat: {},
    seq: {},
    num: {},
    labels: {},
    extra: {},
    userKey,
    itemKey,
    ts,
  };
  if (requestId) evColumns.requestId = requestId;
  const itemColumns: Columns = { size: nItems, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  itemColumns.itemKey = Int32Array.from({ length: nItems }, (_, i) => i);
  const catalogCols = await db.columnNames(catalog);

  const idOf = (f: Field, v: string, cov: FieldCoverage | null): number => {
    if (f.hashBuckets) return 1 + hashBucket(v, f.hashBuckets);
    const k = vocabs[f.table]!.lookup(v);
    if (k === 0 && cov) cov.oov++;
    return k;
  };
  // Each column is a (SQL expression, chunk consumer) pair; all columns of a table are fetched in ONE
  // ordered scan, so the sort by time happens once, not once per field.
  // A vocab categorical is mapped by a LEFT JOIN on its vocab table (no JS string per value); hashed
  // and list fields go through JS (hashing must match serving's FNV-1a; lists need splitting).
  type Plan = { expr: string; spec: ColumnSpec; join?: string; cov?: { field: Field; cov: FieldCoverage } };
  let joinNo = 0;
  const idPlan = (f: Field, rows: number, cov: FieldCoverage | null): { plan: Plan; out: Int32Array } => {
    const expr = `b.${sqlId(f.source)}::VARCHAR`;
    if (f.kind === 'categorical' && !f.hashBuckets) {
      const out = new Int32Array(rows);
      const j = `j${joinNo++}`;
      // −2 = missing, −1 = OOV (counted and set to row 0 after the fetch).
      const plan: Plan = {
        expr: `CASE WHEN ${expr} IS NULL OR ${expr} = '' THEN -2 ELSE coalesce(${j}.idx, -1) END`,
        join: `LEFT JOIN ${vocabTables.get(f.table)!} ${j} ON ${j}.tok = ${expr}`,
        spec: { kind: 'number', out },
      };
      // The catalogue's columns are not counted (cov null) but still map OOV/missing to row 0.
      plan.cov = { field: f, cov: cov ?? { oov: 0, missing: 0 } };
      return { plan, out };
    }
    if (f.kind === 'categorical') {
      const out = new Int32Array(rows);
      const onString = (r: number, v: string | null) => {
        if (v === null || v === '') {
          if (cov) cov.missing++;
          out[r] = 0;
        } else out[r] = idOf(f, v, cov);
      };
      return { plan: { expr, spec: { kind: 'string', onString } }, out };
    }
    const L = f.maxLen;
    const out = new Int32Array(rows * L).fill(-1);
    const onString = (r: number, v: string | null) => {
      if (v === null || v === '') {
        if (cov) cov.missing++;
        return;
      }
      const parts = v.split(sep).filter((p) => p !== '');
      // Keep the LAST maxLen entries: for histories, the most recent ones.
      const start = Math.max(0, parts.length - L);
      for (let j = start; j < parts.length; j++) out[r * L + (j - start)] = idOf(f, parts[j]!, cov);
    };
    return { plan: { expr, spec: { kind: 'string', onString } }, out };
  };
  const numPlan = (col: string, rows: number): { plan: Plan; out: Float32Array } => {
    const out = new Float32Array(rows);
    return { plan: { expr: `b.${sqlId(col)}::DOUBLE`, spec: { kind: 'number', out } }, out };
  };
  const runPlans = async (table: string, order: string, plans: Plan[], expected: number) => {
    if (!plans.length) return;
    const joins = plans.map((p) => p.join ?? '').join(' ');
    const got = await db.fetchColumns(
      `SELECT ${plans.map((p) => p.expr).join(', ')} FROM ${sqlId(table)} b ${joins} ORDER BY ${order}`,
      plans.map((p) => p.spec),
    );
    if (got !== expected)
      throw new Error(`${src.kind}: internal error: read ${got} of ${expected} rows of ${table}`);
    for (const p of plans) {
      if (!p.cov || p.spec.kind !== 'number') continue;
      const out = p.spec.out;
      const cov = p.cov.cov;
      for (let i = 0; i < out.length; i++) {
        const v = out[i]!;
        if (v < 0) {
          if (v === -2) cov.missing++;
          else cov.oov++;
          out[i] = 0;
        }
      }
    }
  };

  const evPlans: Plan[] = [];
  const itemPlans: Plan[] = [];
  const numericRaw: { f: Field; ev: Float32Array; item?: Float32Array }[] = [];
  for (const f of baseSchema.fields) {
    if (windowFieldNames.has(f.name)) continue;
    findSource(f, tables);
    const inCatalog = f.group === 'item' && catalogCols.includes(f.source);
    if (f.kind === 'categorical' || f.kind === 'multi_hot' || f.kind === 'sequence') {
      const cov: FieldCoverage = { oov: 0, missing: 0 };
      coverage[f.name] = cov;
      const ev = idPlan(f, n, cov);
      evPlans.push(ev.plan);
      if (f.kind === 'categorical') evColumns.cat[f.name] = ev.out;
      else evColumns.seq[f.name] = { ids: ev.out, maxLen: f.maxLen };
      if (inCatalog) {
        const it = idPlan(f, nItems, null);
        itemPlans.push(it.plan);
        if (f.kind === 'categorical') itemColumns.cat[f.name] = it.out;
        else itemColumns.seq[f.name] = { ids: it.out, maxLen: f.maxLen };
      }
    } else if (f.kind === 'numeric') {
      const ev = numPlan(f.source, n);
      evPlans.push(ev.plan);
      const entry: { f: Field; ev: Float32Array; item?: Float32Array } = { f, ev: ev.out };
      if (inCatalog) {
        const it = numPlan(f.source, nItems);
        itemPlans.push(it.plan);
        entry.item = it.out;
      }
      numericRaw.push(entry);
    } else {
      const ev = numPlan(f.source, n);
      evPlans.push(ev.plan);
      evColumns.labels[f.name] = ev.out;
    }
  }
  await runPlans('_evs', 'b._row', evPlans, n);
  await runPlans(catalog, 'b._line, b._item', itemPlans, nItems);
  for (const { f, ev, item } of numericRaw) {
    const stats = fitNumeric(ev, split, f);
    numericStats[f.name] = stats;
    evColumns.num[f.name] = normalizeInPlace(ev, f.normalize, stats);
    if (item) itemColumns.num[f.name] = normalizeInPlace(item, f.normalize, stats);
  }
  for (const [name, col] of Object.entries(evColumns.labels)) {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(col[i]!))
        throw new Error(`${src.kind}: label '${name}' is missing or not finite at event row ${i}`);
    }
  }

  // 5. Privileged window features.
  const bound: BoundWindowFeature[] = [];
  for (const spec of windowSpecs) {
    const f = baseSchema.field(spec.field);
    if (f.kind !== 'numeric')
      throw new Error(`window feature '${spec.field}' must be declared as a numeric field`);
    const keyField = baseSchema.field(spec.keyField);
    if (keyField.group !== 'item')
      throw new Error(`window feature '${spec.field}': key field '${spec.keyField}' must be an item field`);
    if (!catalogCols.includes(keyField.source))
      throw new Error(
        `window feature '${spec.field}': the item catalogue has no column '${keyField.source}'`,
      );
    // Keys by raw value over the whole catalogue: exact counts even for values unseen in train.
    const codes = new Map<string, number>();
    const K = keyField.kind === 'categorical' ? 1 : keyField.maxLen;
    const itemKeys = new Int32Array(nItems * K).fill(-1);
    await db.fetchColumns(
      `SELECT ${sqlId(keyField.source)}::VARCHAR FROM ${sqlId(catalog)} ORDER BY _line, _item`,
      [
        {
          kind: 'string',
          onString: (r, v) => {
            if (v === null || v === '') return;
            const parts = K === 1 ? [v] : v.split(sep).filter((p) => p !== '');
            const start = Math.max(0, parts.length - K);
            for (let j = start; j < parts.length; j++) {
              let c = codes.get(parts[j]!);
              if (c === undefined) {
                c = codes.size;
                codes.set(parts[j]!, c);
              }
              itemKeys[r * K + (j - start)] = c;
            }
          },
        },
      ],
    );
    // History = every event (or every positive one), exploded over the item's keys.
    const include = spec.countLabel ? evColumns.labels[spec.countLabel] : undefined;
    if (spec.countLabel && !include)
      throw new Error(`window feature '${spec.field}': countLabel '${spec.countLabel}' is not a label field`);
    const windowSeconds = opts.windowSeconds ?? spec.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    const bw = bindWindowFeature({ ...spec, windowSeconds }, itemKeys, K, codes.size, {
      userKey,
      itemKey,
      ts,
      ...(include !== undefined ? { include } : {}),
    });
    bound.push(bw);
    const vals = bw.compute(userKey, itemKey, ts);
    const stats = fitNumeric(vals, split, f);
    numericStats[f.name] = stats;
    evColumns.num[f.name] = normalizeInPlace(vals, f.normalize, stats);
  }

  const schema = baseSchema.withFit({ tableSizes, numericStats } satisfies SchemaFit);
  const events = new ColumnarDataset(evColumns, `${src.kind} events`);
  const splits = {} as Record<SplitName, ColumnarDataset>;
  const splitRows = {} as Record<SplitName, number>;
  const labelRates = {} as Record<SplitName, Record<string, number>>;
  SPLIT_NAMES.forEach((name, s) => {
    let m = 0;
    for (let i = 0; i < n; i++) if (split[i] === s) m++;
    const rows = new Int32Array(m);
    m = 0;
    for (let i = 0; i < n; i++) if (split[i] === s) rows[m++] = i;
    // A time split is contiguous in the time-ordered events: share the columns (no copy).
    const contiguous = m > 0 && rows[m - 1]! - rows[0]! === m - 1;
    splits[name] = contiguous
      ? new ColumnarDataset(sliceColumns(evColumns, rows[0]!, rows[0]! + m))
      : events.select(rows);
    splitRows[name] = m;
    const rates: Record<string, number> = {};
    for (const [lab, col] of Object.entries(evColumns.labels)) {
      let sum = 0;
      for (let i = 0; i < n; i++) if (split[i] === s) sum += col[i]!;
      rates[lab] = m ? sum / m : Number.NaN;
    }
    labelRates[name] = rates;
  });
  const fingerprint = await fingerprintFiles(src.files);
  await db.run(splitJoin ? 'DROP TABLE _evs' : 'DROP VIEW _evs; DROP TABLE _ev0');
  await db.run(
    'DROP TABLE IF EXISTS _items; DROP TABLE IF EXISTS _ikey; DROP TABLE IF EXISTS _ukey; DROP TABLE IF EXISTS _rkey',
  );
  for (const vt of vocabTables.values()) await db.run(`DROP TABLE ${vt}`);
  return {
    name: src.name,
    kind: src.kind,
    path: src.path,
    schema,
    vocabs,
    events,
    split,
    splitSpec,
    splits,
    items: new ColumnarDataset(itemColumns, `${src.kind} items`),
    userIds,
    itemIds,
    labels: src.labels,
    windowFeatures: bound,
    stats: {
      rows: n,
      splitRows,
      labelRates,
      users: userIds.length,
      items: nItems,
      coverage,
      reads: src.reads,
    },
    fingerprint,
  };
}

/** Train-split (split[i] === 0) statistics of a numeric column; refuses values a normalisation cannot take. */
export function fitNumeric(vals: Float32Array, split: Uint8Array, f: Field): NumericStats {
  let cnt = 0;
  let sum = 0;
  let sq = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    if (!Number.isFinite(v))
      throw new Error(`numeric field '${f.name}': non-finite value ${v} at event row ${i}`);
    if (f.normalize === 'log1p' && v < 0)
      throw new Error(
        `numeric field '${f.name}': log1p normalisation needs values >= 0, got ${v} at event row ${i}`,
      );
    if (split[i] !== 0) continue;
    cnt++;
    sum += v;
    sq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (cnt === 0) return { mean: 0, std: 1, min: 0, max: 1 };
  const mean = sum / cnt;
  return { mean, std: Math.sqrt(Math.max(0, sq / cnt - mean * mean)), min, max };
}

/**
 * Privileged window features for arbitrary rows (e.g. sampled negatives), normalised exactly like
 * the events' columns.
 */
export function privilegedColumns(
  ds: LoadedDataset,
  userKey: Int32Array,
  itemKey: Int32Array,
  ts: Float64Array,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const w of ds.windowFeatures) {
    const f = ds.schema.field(w.spec.field);
    out[f.name] = normalizeInPlace(
      w.compute(userKey, itemKey, ts),
      f.normalize,
      ds.schema.numericStats(f.name),
    );
  }
  return out;
}

/**
 * `kdrec data prepare`: the out-of-core preprocessing pass. It does in SQL, inside DuckDB with a
 * bounded memory budget (spilling to a work folder on disk), everything `buildDataset` and
 * `withUserState` do in memory, and writes the result as Parquet, so that training, scoring and
 * evaluation only decode: no vocabulary lookup, no window count, no join happens per batch.
 *
 * The pipeline is the in-memory one step for step, and a test holds the two equal row by row
 * (test/data/prepare.test.ts):
 *   1. events joined with the item and user tables, ordered by (time, file line): `_sample` is the
 *      rank in that order; the split (time fractions, leave-last-out, or the files' own) is decided
 *      BEFORE anything is fitted;
 *   2. identities: itemKey = catalogue row, userKey = users-table row then first appearance,
 *      requestId = first appearance;
 *   3. vocabularies per embedding table from the TRAIN split only, by GROUP BY with the field's
 *      min-count cut (row 0 = OOV/missing; order count desc, then token), or the hashing trick:
 *      1 + FNV-1a(value) mod buckets, computed by the same JS function serving uses (a DuckDB
 *      scalar function). Trade-off, for 10^8-cardinality ids: a vocabulary is exact (one row per id
 *      seen min-count times in train, unseen ids share row 0) but its table and its id map grow with
 *      the id space, and the GROUP BY has to spill; hashing bounds the table at `buckets` rows and
 *      needs no map (new ids get a row at serving time too), at the price of collisions: with n
 *      distinct ids in b buckets about n²/2b pairs share a row (at n = b, ~37% of buckets hold two
 *      or more ids). Hash the long tail, keep a vocabulary where identity matters (set per field,
 *      `hashBuckets` or `minCount` in the schema, or `--hash-buckets`/`--min-count`);
 *   4. numeric statistics on the train split; labels checked finite;
 *   5. privileged window counts (user × the item's category/shop/genres) by window functions:
 *      Σ over the frame `RANGE BETWEEN W PRECEDING AND CURRENT ROW` minus the frame `RANGE BETWEEN
 *      CURRENT ROW AND CURRENT ROW` = the events in [t − W, t), exactly `WindowCounter.count`
 *      (./windowFeatures.ts): an event at the row's own second is never seen;
 *   6. as-of-request user state (./userState.ts): trailing counts and label rates by the same
 *      frames partitioned by user; the last-N items and keys as the state after each (user, time)
 *      group (a `list` over the last N rows), attached to each event by an ASOF join on
 *      `state.time < event.time`, so the request's own second is invisible here too.
 * Output (a folder; `manifest.json` is written last, so a folder without one is not a dataset):
 *   manifest.json            format, fitted schema, column layout, files with rows and row groups
 *   train|valid|test/part-NNNNN.parquet   one row per sample, in time order, row groups of
 *                            `rowGroupRows` rows (the unit of shards, shuffles and resume)
 *   items.parquet            the catalogue, row = itemKey, mapped item fields and window keys
 *   users.parquet            row = userKey: raw id and the user fields of the user's last train event
 *   item_ids.parquet         row = itemKey: raw id
 *   vocab/TABLE.parquet      row, token, train count
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBScalarFunction, INTEGER, VARCHAR } from '@duckdb/node-api';
import { hashBucket } from '../engine/vocab.js';
import {
  type DatasetFingerprint,
  type DatasetKind,
  DEFAULT_SPLIT,
  type FieldCoverage,
  fingerprintFiles,
  type LabelRoles,
  type PreparedSource,
  SPLIT_NAMES,
  type SplitName,
  type SplitSpec,
} from './dataset.js';
import { type DuckDb, type ReadReport, sqlId, sqlStr } from './readers.js';
import { type Field, type NumericStats, Schema, type SchemaDecl, type SchemaFit } from './schema.js';
import {
  type UserStateOptions,
  type UserStateSource,
  userStateFieldDecls,
  userStateLayout,
} from './userState.js';
import { DEFAULT_WINDOW_SECONDS, type WindowFeatureSpec } from './windowFeatures.js';

export const PREPARED_FORMAT = 'kdrec-prepared-1';
/** Rows per Parquet row group: the unit of shards, shuffle windows and resume positions. */
export const DEFAULT_ROW_GROUP_ROWS = 16_384;
/** Rows per part file. */
export const DEFAULT_PART_ROWS = 4_194_304;

/** Key columns every sample row carries (names start with `_`, which no schema field may use here). */
export const KEY_COLUMNS = {
  sampleId: '_sample',
  userKey: '_user',
  itemKey: '_item',
  requestId: '_request',
  ts: '_ts',
} as const;

export interface ColumnLayout {
  cat: string[];
  /** name → maxLen */
  seq: Record<string, number>;
  num: string[];
  labels: string[];
  /** Whether rows carry `_request`. */
  requestId: boolean;
}

export interface PreparedFile {
  /** Relative to the prepared folder. */
  path: string;
  rows: number;
  /** Rows of each row group, in order. */
  rowGroups: number[];
}

export interface PreparedSplit {
  rows: number;
  files: PreparedFile[];
  labelRates: Record<string, number>;
}

export interface PreparedManifest {
  format: typeof PREPARED_FORMAT;
  createdAt: string;
  source: { name: string; kind: DatasetKind; path: string };
  fingerprint: DatasetFingerprint;
  schema: { decl: SchemaDecl; fit: SchemaFit };
  labels: LabelRoles;
  splitSpec: SplitSpec;
  /**
   * Each privileged window feature with its window, and the catalogue column `_wkey_FIELD`
   * (INTEGER[keysPerItem]) holding each item's keys as codes 0..keyCount−1 (−1 padded), numbered by
   * first appearance in catalogue order as the in-memory loader numbers them.
   */
  windowFeatures: (WindowFeatureSpec & { windowSeconds: number; keysPerItem: number; keyCount: number })[];
  userState: UserStateOptions | null;
  layout: ColumnLayout;
  rowGroupRows: number;
  splits: Record<SplitName, PreparedSplit>;
  items: { file: string; rows: number; idsFile: string };
  users: { file: string; rows: number };
  vocabs: Record<string, { file: string; size: number; minCount: number }>;
  stats: {
    rows: number;
    users: number;
    items: number;
    coverage: Record<string, FieldCoverage>;
    reads: ReadReport[];
  };
  /** Wall seconds per phase of the preparation. */
  seconds: Record<string, number>;
}

export interface PrepareOptions {
  out: string;
  split?: SplitSpec;
  schema?: SchemaDecl;
  windowSeconds?: number;
  /** User-state features (the loader must declare a user-state source). */
  userState?: { source: UserStateSource; options: UserStateOptions };
  rowGroupRows?: number;
  partRows?: number;
  /** Per-field id settings applied on top of the schema (`--hash-buckets FIELD=N`, `--min-count FIELD=N`). */
  fieldOverrides?: { hashBuckets?: Record<string, number>; minCount?: Record<string, number> };
  /** Replace an existing prepared folder. */
  force?: boolean;
  log?: (msg: string) => void;
}

function checkKeyNames(schema: Schema): void {
  for (const f of schema.fields)
    if (f.name.startsWith('_'))
      throw new Error(
        `prepare: field '${f.name}': names starting with '_' are reserved for the key columns of prepared data`,
      );
}

/** The hashing trick in SQL: `kdrec_hash(value, buckets)` = 1 + FNV-1a(value) mod buckets, 0 for null/''. */
function registerHash(db: DuckDb): void {
  db.conn.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: 'kdrec_hash',
      mainFunction: (_info, input, output) => {
        const v = input.getColumnVector(0);
        const b = input.getColumnVector(1);
        for (let i = 0; i < input.rowCount; i++) {
          const s = v.getItem(i) as string | null;
          output.setItem(i, s === null || s === '' ? 0 : 1 + hashBucket(s, b.getItem(i) as number));
        }
        output.flush();
      },
      returnType: INTEGER,
      parameterTypes: [VARCHAR, INTEGER],
    }),
  );
}

/** Column source names per field, resolved to the table that holds them (as buildDataset). */
function requireColumn(f: Field, cols: string[], where: string): void {
  if (!cols.includes(f.source))
    throw new Error(
      `${where}: field '${f.name}' reads column '${f.source}', which the joined events do not have (${cols.filter((c) => !c.startsWith('_')).join(', ')})`,
    );
}

const FINITE = (e: string) => `(${e} IS NOT NULL AND NOT isnan(${e}) AND NOT isinf(${e}))`;

/**
 * Runs the preparation for a loader's prepared DuckDB tables. `db` should be a file-backed
 * database with a memory limit (see `openPrepareDb`), so every intermediate table can spill.
 */
export async function prepareFromSource(
  db: DuckDb,
  src: PreparedSource,
  opts: PrepareOptions,
): Promise<PreparedManifest> {
  const t0 = performance.now();
  const seconds: Record<string, number> = {};
  let tPhase = t0;
  const phase = (name: string) => {
    const now = performance.now();
    seconds[name] = Number(((now - tPhase) / 1000).toFixed(2));
    tPhase = now;
    opts.log?.(`prepare: ${name} done (${seconds[name]} s)`);
  };
  const where = `prepare ${src.name}`;
  const rowGroupRows = opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  const partRows = opts.partRows ?? DEFAULT_PART_ROWS;
  // DuckDB writes Parquet row groups in whole 2048-row vectors (it rounds ROW_GROUP_SIZE up), and
  // the manifest must record the row groups the files really hold.
  if (!Number.isInteger(rowGroupRows) || rowGroupRows < 2048 || rowGroupRows % 2048 !== 0)
    throw new Error(
      `prepare: rowGroupRows must be a multiple of 2048 (DuckDB's vector size), got ${rowGroupRows}`,
    );
  if (!Number.isInteger(partRows) || partRows < 1)
    throw new Error(`prepare: partRows must be a positive integer, got ${partRows}`);

  // Schema: the loader's (or the override) with the per-field id settings, plus the user-state fields.
  let decl: SchemaDecl = withFieldOverrides(opts.schema ?? src.schemaDecl, opts.fieldOverrides, where);
  if (opts.userState !== undefined) {
    const extra = userStateFieldDecls(decl, opts.userState.source, opts.userState.options, where);
    decl = { fields: [...decl.fields, ...extra] };
  }
  const schema = new Schema(decl, null, `${src.kind} schema`);
  checkKeyNames(schema);
  const layoutUs = userStateLayout(schema);
  const windowSpecs = src.windowFeatures.filter((w) => schema.has(w.field));
  const windowNames = new Set(windowSpecs.map((w) => w.field));
  const splitSpec = opts.split ?? src.defaultSplit ?? DEFAULT_SPLIT;
  if (
    splitSpec.kind === 'time' &&
    !(splitSpec.train > 0 && splitSpec.valid >= 0 && splitSpec.train + splitSpec.valid < 1)
  )
    throw new Error(
      `time split fractions must satisfy train > 0, valid >= 0, train + valid < 1; got train ${splitSpec.train}, valid ${splitSpec.valid}`,
    );
  const sep = src.listSeparator ?? '|';
  prepareOutDir(opts.out, opts.force ?? false);
  registerHash(db);

  const evCols = await db.columnNames(src.events);
  if (splitSpec.kind === 'given' && !evCols.includes('_given_split'))
    throw new Error(
      `${src.kind}: this dataset defines no split of its own; use a time or leave-last-out split`,
    );
  for (const [tab, key] of [
    [src.items, '_item'],
    [src.users, '_user'],
  ] as const) {
    if (!tab) continue;
    const bad = await db.rows(
      `SELECT e._line, e.${key} FROM ${sqlId(src.events)} e ANTI JOIN ${sqlId(tab)} t USING (${key}) ORDER BY e._line LIMIT 1`,
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
  phase('check');

  // 1. Join, order by time, split. A table created from an ORDER BY keeps that order: rowid = rank.
  const joinItems = src.items
    ? `LEFT JOIN (SELECT * EXCLUDE (_line) FROM ${sqlId(src.items)}) i USING (_item)`
    : '';
  const joinUsers = src.users
    ? `LEFT JOIN (SELECT * EXCLUDE (_line) FROM ${sqlId(src.users)}) u USING (_user)`
    : '';
  await db.run(
    `CREATE OR REPLACE TABLE _ev0 AS SELECT * FROM ${sqlId(src.events)} e ${joinItems} ${joinUsers} ORDER BY e._ts, e._line`,
  );
  const n = await db.scalar('SELECT count(*) FROM _ev0');
  if (n === 0) throw new Error(`${src.kind}: no events to load`);
  const noKey = await db.rows(
    "SELECT _line, CASE WHEN _user IS NULL OR _user = '' THEN 'user id' WHEN _item IS NULL OR _item = '' THEN 'item id' ELSE 'time' END " +
      "FROM _ev0 WHERE _user IS NULL OR _user = '' OR _item IS NULL OR _item = '' OR _ts IS NULL OR isnan(_ts) ORDER BY _line LIMIT 1",
  );
  if (noKey.length)
    throw new Error(`${src.kind}: event at line ${String(noKey[0]![0])} has no ${String(noKey[0]![1])}`);
  let splitSql: string;
  if (splitSpec.kind === 'time') {
    const nTrain = Math.floor(n * splitSpec.train);
    const nValid = Math.floor(n * (splitSpec.train + splitSpec.valid)) - nTrain;
    splitSql = `CASE WHEN e.rowid < ${nTrain} THEN 0 WHEN e.rowid < ${nTrain + nValid} THEN 1 ELSE 2 END`;
  } else if (splitSpec.kind === 'leave-last-out') {
    splitSql =
      'CASE WHEN count(*) OVER (PARTITION BY e._user) >= 3 AND row_number() OVER (PARTITION BY e._user ORDER BY e._ts DESC, e._line DESC) = 1 THEN 2 ' +
      'WHEN count(*) OVER (PARTITION BY e._user) >= 3 AND row_number() OVER (PARTITION BY e._user ORDER BY e._ts DESC, e._line DESC) = 2 THEN 1 ELSE 0 END';
  } else {
    const undefinedRows = await db.scalar(
      'SELECT count(*) FROM _ev0 WHERE _given_split IS NULL OR _given_split NOT IN (0, 1, 2)',
    );
    if (undefinedRows > 0)
      throw new Error(
        `${src.kind}: --split given, but ${undefinedRows} events have no split of their own (a single file?); use a time or leave-last-out split`,
      );
    splitSql = 'e._given_split';
  }
  await db.run(
    `CREATE OR REPLACE TABLE _evs AS SELECT e.rowid::BIGINT AS _row, (${splitSql})::INTEGER AS _split, e.* FROM _ev0 e ORDER BY e.rowid`,
  );
  await db.run('DROP TABLE _ev0');
  phase('order');

  // Catalogue: the items table, or distinct items of the events with their item-group columns.
  let catalog = src.items;
  if (!catalog) {
    const cols = schema.features
      .filter((f) => f.group === 'item' && evCols.includes(f.source))
      .map((f) => `any_value(${sqlId(f.source)}) AS ${sqlId(f.source)}`);
    await db.run(
      `CREATE OR REPLACE TABLE _items AS SELECT _item${cols.length ? `, ${cols.join(', ')}` : ''}, min(_line) AS _line FROM _evs GROUP BY _item`,
    );
    catalog = '_items';
  }
  const catalogCols = await db.columnNames(catalog);

  // 2. Identities (as buildDataset): catalogue order, users-table order then first appearance.
  for (const [tab, key] of [
    [catalog, '_item'],
    [src.users, '_user'],
  ] as const) {
    if (!tab) continue;
    const dup = await db.rows(
      `SELECT ${key}, min(_line), max(_line) FROM ${sqlId(tab)} GROUP BY ${key} HAVING count(*) > 1 LIMIT 1`,
    );
    if (dup.length)
      throw new Error(
        `${src.kind}: ${key.slice(1)} '${String(dup[0]![0])}' appears twice in the ${key.slice(1)}s table (lines ${String(dup[0]![1])} and ${String(dup[0]![2])})`,
      );
  }
  await db.run(
    `CREATE OR REPLACE TABLE _ikey AS SELECT _item AS tok, (row_number() OVER (ORDER BY _line, _item) - 1)::INTEGER AS idx FROM ${sqlId(catalog)}`,
  );
  if (src.users)
    await db.run(
      `CREATE OR REPLACE TABLE _ukey AS SELECT _user AS tok, (row_number() OVER (ORDER BY _line) - 1)::INTEGER AS idx FROM ${sqlId(src.users)}`,
    );
  else await db.run('CREATE OR REPLACE TABLE _ukey (tok VARCHAR, idx INTEGER)');
  const knownUsers = await db.scalar('SELECT count(*) FROM _ukey');
  await db.run(
    `INSERT INTO _ukey SELECT _user, (${knownUsers} + row_number() OVER (ORDER BY min(_row)) - 1)::INTEGER FROM _evs ` +
      'WHERE _user NOT IN (SELECT tok FROM _ukey) GROUP BY _user',
  );
  const hasRequest = evCols.includes('_request');
  if (hasRequest)
    await db.run(
      "CREATE OR REPLACE TABLE _rkey AS SELECT coalesce(_request, '#' || _row) AS tok, (row_number() OVER (ORDER BY min(_row)) - 1)::INTEGER AS idx " +
        "FROM _evs GROUP BY coalesce(_request, '#' || _row)",
    );
  const nItems = await db.scalar(`SELECT count(*) FROM ${sqlId(catalog)}`);
  const nUsers = await db.scalar('SELECT count(*) FROM _ukey');
  phase('keys');

  // 3. Vocabularies per table from train rows of every field reading it.
  const evsCols = await db.columnNames('_evs');
  const tableSizes: Record<string, number> = {};
  const vocabs: PreparedManifest['vocabs'] = {};
  const vocabTable = new Map<string, string>();
  const byTable = new Map<string, Field[]>();
  for (const f of schema.features) {
    if (f.kind === 'numeric' || isStateField(f)) continue;
    byTable.set(f.table, [...(byTable.get(f.table) ?? []), f]);
  }
  mkdirSync(join(opts.out, 'vocab'), { recursive: true });
  for (const [table, fields] of byTable) {
    const hashed = fields[0]!.hashBuckets;
    if (hashed) {
      tableSizes[table] = hashed + 1;
      continue;
    }
    const parts: string[] = [];
    for (const f of fields) {
      requireColumn(f, evsCols, where);
      const col = sqlId(f.source);
      parts.push(
        f.kind === 'categorical'
          ? `SELECT ${col}::VARCHAR AS v FROM _evs WHERE _split = 0 AND ${col} IS NOT NULL`
          : `SELECT unnest(string_split(${col}::VARCHAR, ${sqlStr(sep)})) AS v FROM _evs WHERE _split = 0 AND ${col} IS NOT NULL`,
      );
    }
    const minCount = Math.max(...fields.map((f) => f.minCount));
    const vt = `_voc_${vocabTable.size}`;
    vocabTable.set(table, vt);
    // Row order as Vocab.fromCounts: count descending, then token (byte order of UTF-8 = code point order).
    await db.run(
      `CREATE OR REPLACE TABLE ${vt} AS SELECT (row_number() OVER (ORDER BY c DESC, v) )::INTEGER AS idx, v AS tok, c::BIGINT AS count ` +
        `FROM (SELECT v, count(*) AS c FROM (${parts.join(' UNION ALL ')}) WHERE v <> '' GROUP BY v HAVING count(*) >= ${minCount}) ORDER BY idx`,
    );
    const size = (await db.scalar(`SELECT count(*) FROM ${vt}`)) + 1;
    tableSizes[table] = size;
    const file = `vocab/${safeName(table)}.parquet`;
    await copyTo(db, `SELECT idx, tok AS token, count FROM ${vt} ORDER BY idx`, join(opts.out, file));
    vocabs[table] = { file, size, minCount };
  }
  phase('vocab');

  // 4. Mapped columns: one id expression per field, lists through a per-field table.
  const coverage: Record<string, FieldCoverage> = {};
  const layout: ColumnLayout = { cat: [], seq: {}, num: [], labels: [], requestId: hasRequest };
  const selects: string[] = [];
  const joins: string[] = [];
  const itemSelects: string[] = [];
  const itemJoins: string[] = [];
  /** Fields the catalogue carries (item fields whose source column the items table has). */
  const itemFieldNames = new Set<string>();
  let joinNo = 0;
  const idExpr = (f: Field, value: string, j: string): { expr: string; join: string } => {
    if (f.hashBuckets) return { expr: `kdrec_hash(${value}, ${f.hashBuckets})`, join: '' };
    return {
      expr: `CASE WHEN ${value} IS NULL OR ${value} = '' THEN 0 ELSE coalesce(${j}.idx, 0) END`,
      join: `LEFT JOIN ${vocabTable.get(f.table)!} ${j} ON ${j}.tok = ${value}`,
    };
  };
  const listTable = async (f: Field, from: string, keyCol: string, name: string) => {
    // Split, drop empty tokens, keep the LAST maxLen, map each token, pad with −1 (as buildDataset).
    const L = f.maxLen;
    const tok = 'x.tok';
    const id = f.hashBuckets ? `kdrec_hash(${tok}, ${f.hashBuckets})` : `coalesce(v.idx, 0)`;
    const vjoin = f.hashBuckets ? '' : `LEFT JOIN ${vocabTable.get(f.table)!} v ON v.tok = x.tok`;
    await db.run(
      `CREATE OR REPLACE TABLE ${name} AS SELECT k, list(${id} ORDER BY pos) AS ids FROM (` +
        `SELECT k, unnest(l) AS tok, generate_subscripts(l, 1) AS pos FROM (` +
        `SELECT ${keyCol} AS k, list_filter(string_split(${sqlId(f.source)}::VARCHAR, ${sqlStr(sep)}), t -> t <> '')[-${L}:] AS l FROM ${from} ` +
        `WHERE ${sqlId(f.source)} IS NOT NULL AND ${sqlId(f.source)}::VARCHAR <> '')) x ${vjoin} GROUP BY k`,
    );
  };
  for (const f of schema.fields) {
    if (windowNames.has(f.name) || isStateField(f)) continue;
    requireColumn(f, evsCols, where);
    const col = `b.${sqlId(f.source)}`;
    const inCatalog = f.group === 'item' && catalogCols.includes(f.source);
    if (inCatalog && f.kind !== 'label') itemFieldNames.add(f.name);
    if (f.kind === 'categorical') {
      const j = `j${joinNo++}`;
      const e = idExpr(f, `${col}::VARCHAR`, j);
      selects.push(`${e.expr} AS ${sqlId(f.name)}`);
      if (e.join) joins.push(e.join);
      layout.cat.push(f.name);
      const cov = await db.rows(
        `SELECT count(*) FILTER (WHERE ${col} IS NULL OR ${col}::VARCHAR = ''), ` +
          `count(*) FILTER (WHERE ${col} IS NOT NULL AND ${col}::VARCHAR <> '' AND ${e.expr} = 0) FROM _evs b ${e.join}`,
      );
      coverage[f.name] = { missing: Number(cov[0]![0]), oov: Number(cov[0]![1]) };
      if (inCatalog) {
        const ji = `j${joinNo++}`;
        const ei = idExpr(f, `${col}::VARCHAR`, ji);
        itemSelects.push(`${ei.expr} AS ${sqlId(f.name)}`);
        if (ei.join) itemJoins.push(ei.join);
      }
    } else if (f.kind === 'multi_hot' || f.kind === 'sequence') {
      const t = `_list_${joinNo++}`;
      await listTable(f, '_evs', '_row', t);
      selects.push(`list_resize(coalesce(${t}.ids, []::INTEGER[]), ${f.maxLen}, -1) AS ${sqlId(f.name)}`);
      joins.push(`LEFT JOIN ${t} ON ${t}.k = b._row`);
      layout.seq[f.name] = f.maxLen;
      const cov = await db.rows(
        `SELECT count(*) FILTER (WHERE ${col} IS NULL OR ${col}::VARCHAR = ''), ` +
          `coalesce(sum(list_count(list_filter(${t}.ids, x -> x = 0))), 0) FROM _evs b LEFT JOIN ${t} ON ${t}.k = b._row`,
      );
      coverage[f.name] = { missing: Number(cov[0]![0]), oov: f.hashBuckets ? 0 : Number(cov[0]![1]) };
      if (inCatalog) {
        const ti = `_list_${joinNo++}`;
        await listTable(f, sqlId(catalog), '_item', ti);
        itemSelects.push(
          `list_resize(coalesce(${ti}.ids, []::INTEGER[]), ${f.maxLen}, -1) AS ${sqlId(f.name)}`,
        );
        itemJoins.push(`LEFT JOIN ${ti} ON ${ti}.k = b._item`);
      }
    } else if (f.kind === 'numeric') {
      selects.push(`${col}::DOUBLE::FLOAT AS ${sqlId(f.name)}`);
      layout.num.push(f.name);
      if (inCatalog) itemSelects.push(`${col}::DOUBLE::FLOAT AS ${sqlId(f.name)}`);
    } else {
      selects.push(`${col}::DOUBLE::FLOAT AS ${sqlId(f.name)}`);
      layout.labels.push(f.name);
    }
  }
  await db.run(
    `CREATE OR REPLACE TABLE _feat AS SELECT b._row, b._split, b._line, uk.idx AS _user, ik.idx AS _item, ` +
      `${hasRequest ? 'rk.idx' : 'NULL::INTEGER'} AS _request, b._ts::DOUBLE AS _ts${selects.length ? `, ${selects.join(', ')}` : ''} ` +
      `FROM _evs b JOIN _ukey uk ON uk.tok = b._user JOIN _ikey ik ON ik.tok = b._item ` +
      `${hasRequest ? "JOIN _rkey rk ON rk.tok = coalesce(b._request, '#' || b._row) " : ''}${joins.join(' ')} ORDER BY b._row`,
  );
  const featRows = await db.scalar('SELECT count(*) FROM _feat');
  if (featRows !== n) throw new Error(`${src.kind}: internal error: mapped ${featRows} of ${n} events`);
  for (const name of layout.labels) {
    const bad = await db.rows(
      `SELECT _row, _line FROM _feat WHERE NOT ${FINITE(sqlId(name))} ORDER BY _row LIMIT 1`,
    );
    if (bad.length)
      throw new Error(
        `${src.kind}: label '${name}' is missing or not finite at event row ${String(bad[0]![0])} (line ${String(bad[0]![1])})`,
      );
  }
  // The catalogue, row = itemKey.
  await db.run(
    `CREATE OR REPLACE TABLE _cat AS SELECT ik.idx AS _item${itemSelects.length ? `, ${itemSelects.join(', ')}` : ''} ` +
      `FROM ${sqlId(catalog)} b JOIN _ikey ik ON ik.tok = b._item ${itemJoins.join(' ')} ORDER BY ik.idx`,
  );
  phase('features');

  // 5. Privileged window counts (user × the item's keys), by raw key value over the catalogue.
  const windowOut: PreparedManifest['windowFeatures'] = [];
  const windowCodeTables: { table: string; col: string; K: number }[] = [];
  const extraTables: { table: string; cols: string[] }[] = [];
  for (const spec of windowSpecs) {
    const f = schema.field(spec.field);
    if (f.kind !== 'numeric')
      throw new Error(`window feature '${spec.field}' must be declared as a numeric field`);
    const keyField = schema.field(spec.keyField);
    if (keyField.group !== 'item')
      throw new Error(`window feature '${spec.field}': key field '${spec.keyField}' must be an item field`);
    if (!catalogCols.includes(keyField.source))
      throw new Error(
        `window feature '${spec.field}': the item catalogue has no column '${keyField.source}'`,
      );
    if (spec.countLabel && !layout.labels.includes(spec.countLabel))
      throw new Error(`window feature '${spec.field}': countLabel '${spec.countLabel}' is not a label field`);
    const K = keyField.kind === 'categorical' ? 1 : keyField.maxLen;
    const W = opts.windowSeconds ?? spec.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    if (!(W > 0)) throw new Error(`window length must be > 0 seconds, got ${W}`);
    const keys = `_wk_${extraTables.length}`;
    // Each catalogue item's keys: the raw value, or its last K list entries (as BoundWindowFeature).
    const keyList =
      K === 1
        ? `CASE WHEN ${sqlId(keyField.source)} IS NULL OR ${sqlId(keyField.source)}::VARCHAR = '' THEN []::VARCHAR[] ELSE [${sqlId(keyField.source)}::VARCHAR] END`
        : `list_filter(string_split(coalesce(${sqlId(keyField.source)}::VARCHAR, ''), ${sqlStr(sep)}), t -> t <> '')[-${K}:]`;
    await db.run(
      `CREATE OR REPLACE TABLE ${keys} AS SELECT _item, unnest(l) AS key, generate_subscripts(l, 1) AS pos FROM (` +
        `SELECT ik.idx AS _item, ${keyList} AS l FROM ${sqlId(catalog)} c JOIN _ikey ik ON ik.tok = c._item)`,
    );
    // Codes by first appearance (catalogue row, then list position), as BoundWindowFeature's keys.
    const codeCol = `_wkey_${f.name}`;
    await db.run(
      `CREATE OR REPLACE TABLE ${keys}_codes AS SELECT _item, list_resize(list(code ORDER BY pos), ${K}, -1) AS ${sqlId(codeCol)} FROM ${keys} ` +
        `JOIN (SELECT key, (row_number() OVER (ORDER BY first) - 1)::INTEGER AS code FROM (` +
        `SELECT key, min(_item::BIGINT * ${K + 1} + pos) AS first FROM ${keys} GROUP BY key)) USING (key) GROUP BY _item`,
    );
    const keyCount = await db.scalar(`SELECT count(DISTINCT key) FROM ${keys}`);
    windowOut.push({ ...spec, windowSeconds: W, keysPerItem: K, keyCount });
    windowCodeTables.push({ table: `${keys}_codes`, col: codeCol, K });
    const inc = spec.countLabel ? `(CASE WHEN e.${sqlId(spec.countLabel)} > 0 THEN 1 ELSE 0 END)` : '1';
    const t = `_win_${extraTables.length}`;
    await db.run(
      `CREATE OR REPLACE TABLE ${t} AS SELECT _row, sum(c)::FLOAT AS ${sqlId(f.name)} FROM (` +
        `SELECT e._row, sum(${inc}) OVER (PARTITION BY e._user, k.key ORDER BY e._ts RANGE BETWEEN ${W} PRECEDING AND CURRENT ROW) ` +
        `- sum(${inc}) OVER (PARTITION BY e._user, k.key ORDER BY e._ts RANGE BETWEEN CURRENT ROW AND CURRENT ROW) AS c ` +
        `FROM _feat e JOIN ${keys} k ON k._item = e._item) GROUP BY _row`,
    );
    extraTables.push({ table: t, cols: [f.name] });
    layout.num.push(f.name);
  }
  phase('window features');

  // 6. User state.
  if (layoutUs !== null) {
    const frame = (seconds: number) =>
      Number.isFinite(seconds)
        ? `RANGE BETWEEN ${seconds} PRECEDING AND CURRENT ROW`
        : 'RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW';
    const num: string[] = [];
    const over = (fr: string) => `OVER (PARTITION BY _user ORDER BY _ts ${fr})`;
    const peers = 'RANGE BETWEEN CURRENT ROW AND CURRENT ROW';
    for (const c of layoutUs.counts) {
      num.push(`(count(*) ${over(frame(c.seconds))} - count(*) ${over(peers)})::FLOAT AS ${sqlId(c.field)}`);
    }
    for (const r of layoutUs.rates) {
      if (!layout.labels.includes(r.label))
        throw new Error(`user state: ${r.field} needs label '${r.label}', which the events lack`);
      const pos = `(CASE WHEN ${sqlId(r.label)} > 0 THEN 1 ELSE 0 END)`;
      const d = `(count(*) ${over(frame(r.seconds))} - count(*) ${over(peers)})`;
      num.push(
        `(CASE WHEN ${d} > 0 THEN (sum(${pos}) ${over(frame(r.seconds))} - sum(${pos}) ${over(peers)}) / ${d} ELSE 0 END)::FLOAT AS ${sqlId(r.field)}`,
      );
    }
    if (num.length) {
      await db.run(`CREATE OR REPLACE TABLE _us_num AS SELECT _row, ${num.join(', ')} FROM _feat`);
      const cols = [...layoutUs.counts.map((c) => c.field), ...layoutUs.rates.map((r) => r.field)];
      extraTables.push({ table: '_us_num', cols });
      layout.num.push(...cols);
    }
    // Last N: the state after each (user, second) group, attached to later events by ASOF join.
    const lastN = async (field: string, maxLen: number, valueList: string, name: string) => {
      await db.run(
        `CREATE OR REPLACE TABLE ${name}_st AS SELECT _user, _ts, flatten(list(vals) OVER (PARTITION BY _user ORDER BY _ts, _row ` +
          `ROWS BETWEEN ${maxLen - 1} PRECEDING AND CURRENT ROW))[-${maxLen}:] AS st FROM (` +
          `SELECT e._user, e._ts, e._row, ${valueList} AS vals FROM _feat e JOIN _cat c ON c._item = e._item) WHERE len(vals) > 0 ` +
          'QUALIFY row_number() OVER (PARTITION BY _user, _ts ORDER BY _row DESC) = 1',
      );
      await db.run(
        `CREATE OR REPLACE TABLE ${name} AS SELECT e._row, list_resize(coalesce(s.st, []::INTEGER[]), ${maxLen}, -1) AS ${sqlId(field)} ` +
          `FROM _feat e ASOF LEFT JOIN ${name}_st s ON e._user = s._user AND e._ts > s._ts`,
      );
      await db.run(`DROP TABLE ${name}_st`);
      extraTables.push({ table: name, cols: [field] });
      layout.seq[field] = maxLen;
    };
    if (layoutUs.items !== null) {
      const itf = layoutUs.items.itemField;
      if (!layout.cat.includes(itf) || !itemFieldNames.has(itf))
        throw new Error(
          `${where}: the item catalogue has no categorical column '${itf}' (needed by ${layoutUs.items.field})`,
        );
      await lastN(layoutUs.items.field, layoutUs.items.maxLen, `[c.${sqlId(itf)}]`, '_us_items');
    }
    if (layoutUs.keys !== null) {
      const kf = schema.field(layoutUs.keys.keyField);
      // Keys of an event = the catalogue's key ids of its item (categorical: its one id; lists: the
      // non-padding ids), walked newest first until maxLen are found = the last maxLen in time order.
      const vals =
        kf.kind === 'categorical' ? `[c.${sqlId(kf.name)}]` : `list_filter(c.${sqlId(kf.name)}, x -> x >= 0)`;
      await lastN(layoutUs.keys.field, layoutUs.keys.maxLen, vals, '_us_keys');
    }
  }
  phase('user state');

  // 7. Numeric statistics on the train split (as fitNumeric: population std, non-finite refused).
  const allNumeric = layout.num;
  const numericStats: Record<string, NumericStats> = {};
  const fromAll = `_feat b ${extraTables.map((t, i) => `LEFT JOIN ${t.table} x${i} USING (_row)`).join(' ')}`;
  // A column of an extra table; a window count is 0 for an event whose item has no key.
  const fieldExpr = (name: string): string => {
    const i = extraTables.findIndex((t) => t.cols.includes(name));
    if (i < 0) return `b.${sqlId(name)}`;
    return windowNames.has(name) ? `coalesce(x${i}.${sqlId(name)}, 0)` : `x${i}.${sqlId(name)}`;
  };
  for (const name of allNumeric) {
    const f = schema.field(name);
    const e = fieldExpr(name);
    const bad = await db.rows(
      `SELECT b._row, b._line, ${e} FROM ${fromAll} WHERE NOT ${FINITE(e)}${f.normalize === 'log1p' ? ` OR ${e} < 0` : ''} ORDER BY b._row LIMIT 1`,
    );
    if (bad.length) {
      const v = bad[0]![2];
      throw new Error(
        f.normalize === 'log1p' && typeof v === 'number' && Number.isFinite(v)
          ? `numeric field '${name}': log1p normalisation needs values >= 0, got ${v} at event row ${String(bad[0]![0])} (line ${String(bad[0]![1])})`
          : `numeric field '${name}': non-finite value ${v === null ? 'NULL' : String(v)} at event row ${String(bad[0]![0])} (line ${String(bad[0]![1])})`,
      );
    }
    const r = await db.rows(
      `SELECT count(*), sum(v), sum(v * v), min(v), max(v) FROM (SELECT ${e}::DOUBLE AS v FROM ${fromAll} WHERE b._split = 0)`,
    );
    const [cnt, sum, sq, min, max] = r[0]!.map((x) => Number(x ?? 0));
    if (!cnt) numericStats[name] = { mean: 0, std: 1, min: 0, max: 1 };
    else {
      const mean = sum! / cnt;
      numericStats[name] = {
        mean,
        std: Math.sqrt(Math.max(0, sq! / cnt - mean * mean)),
        min: min!,
        max: max!,
      };
    }
  }
  const fitted = schema.withFit({ tableSizes, numericStats });
  phase('statistics');

  // 8. Write: the splits in time order, parts of partRows, row groups of rowGroupRows.
  const normalized = (name: string, e: string): string => {
    const f = fitted.field(name);
    const s = fitted.numericStats(name);
    switch (f.normalize) {
      case 'none':
        return `${e}::FLOAT`;
      case 'standard':
        return `((${e}::FLOAT::DOUBLE - ${s.mean}) * ${s.std > 0 ? 1 / s.std : 1})::FLOAT`;
      case 'log1p':
        return `ln(1 + greatest(${e}::FLOAT::DOUBLE, 0))::FLOAT`;
      case 'minmax': {
        const span = s.max - s.min;
        return `((${e}::FLOAT::DOUBLE - ${s.min}) * ${span > 0 ? 1 / span : 1})::FLOAT`;
      }
    }
  };
  const outCols = [
    `b._row::DOUBLE AS ${KEY_COLUMNS.sampleId}`,
    `b._user AS ${KEY_COLUMNS.userKey}`,
    `b._item AS ${KEY_COLUMNS.itemKey}`,
    ...(hasRequest ? [`b._request AS ${KEY_COLUMNS.requestId}`] : []),
    `b._ts AS ${KEY_COLUMNS.ts}`,
    ...layout.cat.map((c) => `b.${sqlId(c)}::INTEGER AS ${sqlId(c)}`),
    ...Object.entries(layout.seq).map(([c, L]) => `${fieldExpr(c)}::INTEGER[${L}] AS ${sqlId(c)}`),
    ...layout.num.map((c) => `${normalized(c, fieldExpr(c))} AS ${sqlId(c)}`),
    ...layout.labels.map((c) => `b.${sqlId(c)}::FLOAT AS ${sqlId(c)}`),
  ];
  await db.run(
    `CREATE OR REPLACE TABLE _final AS SELECT b._split, (row_number() OVER (PARTITION BY b._split ORDER BY b._row) - 1)::BIGINT AS _srow, ${outCols.join(', ')} ` +
      `FROM ${fromAll} ORDER BY b._row`,
  );
  const splits = {} as Record<SplitName, PreparedSplit>;
  for (let s = 0; s < SPLIT_NAMES.length; s++) {
    const name = SPLIT_NAMES[s]!;
    const rows = await db.scalar(`SELECT count(*) FROM _final WHERE _split = ${s}`);
    mkdirSync(join(opts.out, name), { recursive: true });
    const files: PreparedFile[] = [];
    for (let p = 0; p * partRows < rows || (p === 0 && rows === 0); p++) {
      const file = `${name}/part-${String(p).padStart(5, '0')}.parquet`;
      const lo = p * partRows;
      const hi = Math.min(rows, lo + partRows);
      await copyTo(
        db,
        `SELECT * EXCLUDE (_split, _srow) FROM _final WHERE _split = ${s} AND _srow >= ${lo} AND _srow < ${hi} ORDER BY ${KEY_COLUMNS.sampleId}`,
        join(opts.out, file),
        rowGroupRows,
      );
      files.push({ path: file, rows: hi - lo, rowGroups: await rowGroupsOf(db, join(opts.out, file)) });
      if (rows === 0) break;
    }
    const rates: Record<string, number> = {};
    for (const l of layout.labels)
      rates[l] = rows
        ? await db.scalar(`SELECT avg(${sqlId(l)}) FROM _final WHERE _split = ${s}`)
        : Number.NaN;
    splits[name] = { rows, files, labelRates: rates };
  }
  // Catalogue with normalised numeric item columns; window keys as codes by first catalogue appearance.
  const itemOut = [
    '_item',
    ...layout.cat.filter((c) => itemFieldNames.has(c)).map(sqlId),
    ...Object.entries(layout.seq)
      .filter(([c]) => itemFieldNames.has(c))
      .map(([c, L]) => `${sqlId(c)}::INTEGER[${L}] AS ${sqlId(c)}`),
    ...layout.num
      .filter((c) => itemFieldNames.has(c))
      .map((c) => `${normalized(c, sqlId(c))} AS ${sqlId(c)}`),
  ];
  const codeJoins = windowCodeTables.map((w, i) => `LEFT JOIN ${w.table} w${i} USING (_item)`).join(' ');
  const codeCols = windowCodeTables.map(
    (w, i) =>
      `coalesce(w${i}.${sqlId(w.col)}, list_resize([]::INTEGER[], ${w.K}, -1))::INTEGER[${w.K}] AS ${sqlId(w.col)}`,
  );
  await copyTo(
    db,
    // USING (_item) merges the key, so every column name stays unambiguous.
    `SELECT ${[...itemOut, ...codeCols].join(', ')} FROM _cat ${codeJoins} ORDER BY _item`,
    join(opts.out, 'items.parquet'),
  );
  await copyTo(
    db,
    'SELECT idx AS _item, tok AS id FROM _ikey ORDER BY idx',
    join(opts.out, 'item_ids.parquet'),
  );
  // Users: the raw id and the user-group columns of each user's LAST train event (as userFeatureTable).
  const userFields = [
    ...layout.cat.filter((c) => fitted.field(c).group === 'user'),
    ...Object.keys(layout.seq).filter((c) => fitted.field(c).group === 'user'),
    ...layout.num.filter((c) => fitted.field(c).group === 'user'),
  ];
  await copyTo(
    db,
    `SELECT uk.idx AS _user, uk.tok AS id${userFields.map((c) => `, l.${sqlId(c)}`).join('')} FROM _ukey uk LEFT JOIN (` +
      `SELECT ${KEY_COLUMNS.userKey}${userFields.map((c) => `, ${sqlId(c)}`).join('')} FROM _final WHERE _split = 0 ` +
      `QUALIFY row_number() OVER (PARTITION BY ${KEY_COLUMNS.userKey} ORDER BY ${KEY_COLUMNS.sampleId} DESC) = 1) l ON l.${KEY_COLUMNS.userKey} = uk.idx ORDER BY uk.idx`,
    join(opts.out, 'users.parquet'),
  );
  phase('write');

  const fingerprint = await fingerprintFiles(src.files);
  const manifest: PreparedManifest = {
    format: PREPARED_FORMAT,
    createdAt: new Date().toISOString(),
    source: { name: src.name, kind: src.kind, path: src.path },
    fingerprint,
    schema: { decl: fitted.decl, fit: fitted.fit! },
    labels: src.labels,
    splitSpec,
    windowFeatures: windowOut,
    userState: opts.userState?.options ?? null,
    layout,
    rowGroupRows,
    splits,
    items: { file: 'items.parquet', rows: nItems, idsFile: 'item_ids.parquet' },
    users: { file: 'users.parquet', rows: nUsers },
    vocabs,
    stats: { rows: n, users: nUsers, items: nItems, coverage, reads: src.reads },
    seconds,
  };
  seconds['total'] = Number(((performance.now() - t0) / 1000).toFixed(2));
  const tmp = join(opts.out, `manifest.json.partial-${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, join(opts.out, 'manifest.json'));
  return manifest;
}

function withFieldOverrides(
  decl: SchemaDecl,
  o: PrepareOptions['fieldOverrides'],
  where: string,
): SchemaDecl {
  const hash = o?.hashBuckets ?? {};
  const min = o?.minCount ?? {};
  const names = new Set(decl.fields.map((f) => f.name));
  for (const f of [...Object.keys(hash), ...Object.keys(min)])
    if (!names.has(f))
      throw new Error(
        `${where}: --hash-buckets/--min-count name '${f}', which the schema does not declare (fields: ${[...names].join(', ')})`,
      );
  if (Object.keys(hash).length === 0 && Object.keys(min).length === 0) return decl;
  return {
    fields: decl.fields.map((f) => ({
      ...f,
      ...(hash[f.name] !== undefined ? { hashBuckets: hash[f.name] } : {}),
      ...(min[f.name] !== undefined ? { minCount: min[f.name] } : {}),
    })),
  };
}

function isStateField(f: Field): boolean {
  return f.source.startsWith('_state.');
}

function safeName(table: string): string {
  return table.replace(/[^A-Za-z0-9_.-]/g, '_');
}

async function copyTo(db: DuckDb, sql: string, path: string, rowGroupRows?: number): Promise<void> {
  const tmp = `${path}.partial`;
  await db.run(
    `COPY (${sql}) TO ${sqlStr(tmp)} (FORMAT parquet, COMPRESSION zstd${rowGroupRows ? `, ROW_GROUP_SIZE ${rowGroupRows}` : ''})`,
  );
  renameSync(tmp, path);
}

async function rowGroupsOf(db: DuckDb, path: string): Promise<number[]> {
  const r = await db.rows(
    `SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(${sqlStr(path)}) GROUP BY row_group_id ORDER BY row_group_id`,
  );
  return r.map((x) => Number(x[1]));
}

/** Refuses to overwrite a prepared folder unless forced; clears a half-written one. */
function prepareOutDir(out: string, force: boolean): void {
  if (existsSync(join(out, 'manifest.json')) && !force)
    throw new Error(`${out} already holds a prepared dataset (manifest.json); pass --force to replace it`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new Error(`${out} exists and is not a folder`);
  mkdirSync(out, { recursive: true });
  // Remove what an earlier (possibly interrupted) preparation left, but never unrelated files.
  rmSync(join(out, 'manifest.json'), { force: true });
  for (const name of readdirSync(out)) {
    if (
      ['train', 'valid', 'test', 'vocab'].includes(name) ||
      /^(items|users|item_ids)\.parquet(\.partial)?$/.test(name)
    )
      rmSync(join(out, name), { recursive: true, force: true });
  }
}

/**
 * A prepared dataset (the folder `kdrec data prepare` writes, ./prepare.ts), opened for reading:
 * the fitted schema, the catalogue and the id maps are small and loaded into memory; the splits are
 * batch sources over their Parquet files, read a window at a time (./parquetSource.ts), so memory
 * does not grow with the number of events. Addressed as `prepared:DIR` like any other dataset.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Vocab } from '../engine/vocab.js';
import { allocLike, ColumnarDataset, type Columns, copyRows, sliceColumns } from './batch.js';
import { type LabelRoles, type LoadedDataset, SPLIT_NAMES, type SplitName } from './dataset.js';
import { type ExtraColumns, ParquetSource } from './parquetSource.js';
import { PREPARED_FORMAT, type PreparedManifest } from './prepare.js';
import { DuckDb, sqlStr } from './readers.js';
import { Schema } from './schema.js';
import { readAll, type ShardSpec, shardRows } from './stream.js';
import { type BoundWindowFeature, bindWindowFeature } from './windowFeatures.js';

export interface PreparedDataset {
  dir: string;
  name: string;
  manifest: PreparedManifest;
  schema: Schema;
  labels: LabelRoles;
  /** The catalogue: row = itemKey (item fields, normalised). */
  items: ColumnarDataset;
  itemIds: string[];
  splits: Record<SplitName, ParquetSource>;
  /** Raw user ids and the user fields of each user's last train event (row = userKey). */
  readUsers(): Promise<{ ids: string[]; columns: Columns }>;
  /** Rows of a split's shard. */
  shardRows(split: SplitName, shard?: ShardSpec): number;
  close(): Promise<void>;
}

export function readPreparedManifest(dir: string): PreparedManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path))
    throw new Error(
      `${dir}: no manifest.json — not a prepared dataset (or its preparation did not finish); run \`kdrec data prepare --out ${dir}\``,
    );
  let m: PreparedManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as PreparedManifest;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== PREPARED_FORMAT)
    throw new Error(`${path}: field 'format' is ${JSON.stringify(m.format)}, expected '${PREPARED_FORMAT}'`);
  return m;
}

/**
 * Opens a prepared folder. `threads` and `memoryLimit` bound the DuckDB instance that reads it (the
 * defaults, 1 thread and 512MB, leave the cores to training: a row group is read by one thread).
 */
export async function openPrepared(
  dir: string,
  opts: { threads?: number; memoryLimit?: string; trainExtras?: ExtraColumns } = {},
): Promise<PreparedDataset> {
  const manifest = readPreparedManifest(dir);
  const schema = Schema.fromJSON(manifest.schema);
  const db = await DuckDb.open({ threads: opts.threads ?? 1, memoryLimit: opts.memoryLimit ?? '512MB' });
  try {
    // Every row group is read once per epoch: caching file blocks in DuckDB's buffer pool would only
    // make resident memory grow with the dataset (up to the memory limit) for no reuse.
    await db.run('SET enable_external_file_cache = false');
    const splits = {} as Record<SplitName, ParquetSource>;
    for (const s of SPLIT_NAMES)
      splits[s] = await ParquetSource.open(
        db,
        dir,
        manifest.splits[s].files,
        manifest.layout,
        `${dir} ${s}`,
        s === 'train' ? (opts.trainExtras ?? null) : null,
      );
    const items = await readCatalogue(db, dir, manifest);
    const itemIds: string[] = [];
    await db.fetchColumns(
      `SELECT id FROM read_parquet(${sqlStr(join(dir, manifest.items.idsFile))}) ORDER BY _item`,
      [{ kind: 'string', onString: (r, v) => (itemIds[r] = v ?? '') }],
    );
    return {
      dir,
      name: `prepared:${dir} (${manifest.source.name})`,
      manifest,
      schema,
      labels: manifest.labels,
      items,
      itemIds,
      splits,
      readUsers: () => readUsers(db, dir, manifest, schema),
      shardRows: (split, shard) => shardRows(splits[split], shard),
      close: async () => {
        for (const s of Object.values(splits)) await s.close();
        db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The catalogue's item columns (every item field the items table carries). */
async function readCatalogue(db: DuckDb, dir: string, m: PreparedManifest): Promise<ColumnarDataset> {
  const path = join(dir, m.items.file);
  const present = new Set(
    (await db.rows(`DESCRIBE SELECT * FROM read_parquet(${sqlStr(path)})`)).map((r) => String(r[0])),
  );
  const rows = m.items.rows;
  const cols: Columns = { size: rows, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  cols.itemKey = Int32Array.from({ length: rows }, (_, i) => i);
  const specs: { expr: string; out: Int32Array | Float32Array; width: number }[] = [];
  for (const f of m.layout.cat)
    if (present.has(f))
      specs.push({ expr: `"${f}"::INTEGER`, out: (cols.cat[f] = new Int32Array(rows)), width: 1 });
  for (const [f, L] of Object.entries(m.layout.seq))
    if (present.has(f)) {
      const ids = new Int32Array(rows * L);
      cols.seq[f] = { ids, maxLen: L };
      specs.push({ expr: `"${f}"::INTEGER[${L}]`, out: ids, width: L });
    }
  for (const f of m.layout.num)
    if (present.has(f))
      specs.push({ expr: `"${f}"::FLOAT`, out: (cols.num[f] = new Float32Array(rows)), width: 1 });
  if (specs.length > 0)
    await db.fetchTyped(
      `SELECT ${specs.map((s) => s.expr).join(', ')} FROM read_parquet(${sqlStr(path)}) ORDER BY _item`,
      specs,
      rows,
      path,
    );
  return new ColumnarDataset(cols, `${dir} items`);
}

async function readUsers(
  db: DuckDb,
  dir: string,
  m: PreparedManifest,
  schema: Schema,
): Promise<{ ids: string[]; columns: Columns }> {
  const path = join(dir, m.users.file);
  const rows = m.users.rows;
  const ids: string[] = [];
  await db.fetchColumns(`SELECT id FROM read_parquet(${sqlStr(path)}) ORDER BY _user`, [
    { kind: 'string', onString: (r, v) => (ids[r] = v ?? '') },
  ]);
  const columns: Columns = { size: rows, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  const specs: { expr: string; out: Int32Array | Float32Array; width: number }[] = [];
  const isUser = (f: string) => schema.field(f).group === 'user';
  // A user without a train event has no row in the join: 0 (OOV) ids, −1 list padding, 0 numbers.
  for (const f of m.layout.cat.filter(isUser))
    specs.push({
      expr: `coalesce("${f}", 0)::INTEGER`,
      out: (columns.cat[f] = new Int32Array(rows)),
      width: 1,
    });
  for (const [f, L] of Object.entries(m.layout.seq).filter(([f]) => isUser(f))) {
    const idsCol = new Int32Array(rows * L);
    columns.seq[f] = { ids: idsCol, maxLen: L };
    specs.push({
      expr: `coalesce("${f}", list_resize([]::INTEGER[], ${L}, -1))::INTEGER[${L}]`,
      out: idsCol,
      width: L,
    });
  }
  for (const f of m.layout.num.filter(isUser))
    specs.push({
      expr: `coalesce("${f}", 0)::FLOAT`,
      out: (columns.num[f] = new Float32Array(rows)),
      width: 1,
    });
  if (specs.length > 0)
    await db.fetchTyped(
      `SELECT ${specs.map((s) => s.expr).join(', ')} FROM read_parquet(${sqlStr(path)}) ORDER BY _user`,
      specs,
      rows,
      path,
    );
  return { ids, columns };
}

/**
 * A prepared folder loaded whole into memory as a `LoadedDataset`: the same object the raw loaders
 * give, so every in-memory consumer (the experiment runner, rank distillation, export, the cascade
 * evaluation) works on prepared data too, for data that fits in memory. Columns come from the
 * Parquet files through the same batch sources the streaming path reads; privileged window counters
 * are rebuilt from the events and the catalogue's key codes, so counts for unlogged pairs (negatives,
 * candidates) are exact as well.
 */
export async function loadPreparedDataset(dir: string): Promise<LoadedDataset> {
  const prep = await openPrepared(dir);
  try {
    const m = prep.manifest;
    const parts = {} as Record<SplitName, Columns>;
    for (const s of SPLIT_NAMES) parts[s] = await readAll(prep.splits[s]);
    const n = m.stats.rows;
    // The time-ordered log: each split's rows go back to their sample ids.
    const events = allocLike(parts.train, n);
    const split = new Uint8Array(n);
    SPLIT_NAMES.forEach((s, k) => {
      const c = parts[s];
      const ids = c.sampleId!;
      let contiguous = true;
      for (let i = 1; i < c.size; i++) if (ids[i] !== ids[i - 1]! + 1) contiguous = false;
      if (contiguous && c.size > 0) copyRows(c, 0, c.size, events, ids[0]!);
      else for (let i = 0; i < c.size; i++) copyRows(c, i, 1, events, ids[i]!);
      for (let i = 0; i < c.size; i++) split[ids[i]!] = k;
    });
    const evData = new ColumnarDataset(events, `${prep.name} events`);
    const splits = {} as Record<SplitName, ColumnarDataset>;
    SPLIT_NAMES.forEach((s) => {
      const c = parts[s];
      const ids = c.sampleId!;
      const contiguous = c.size > 0 && ids[c.size - 1]! - ids[0]! === c.size - 1;
      splits[s] = contiguous
        ? new ColumnarDataset(sliceColumns(events, ids[0]!, ids[0]! + c.size), `${prep.name} ${s}`)
        : new ColumnarDataset(c, `${prep.name} ${s}`);
    });
    const users = await prep.readUsers();
    const { vocabs, windowKeys } = await readServingTables(dir, m);
    const windowFeatures: BoundWindowFeature[] = windowKeys.map((w) => {
      const include = w.spec.countLabel !== undefined ? events.labels[w.spec.countLabel] : undefined;
      return bindWindowFeature(w.spec, w.itemKeys, w.keysPerItem, w.keySpace, {
        userKey: events.userKey!,
        itemKey: events.itemKey!,
        ts: events.ts!,
        ...(include !== undefined ? { include } : {}),
      });
    });
    const splitRows = Object.fromEntries(SPLIT_NAMES.map((s) => [s, m.splits[s].rows])) as Record<
      SplitName,
      number
    >;
    const labelRates = Object.fromEntries(SPLIT_NAMES.map((s) => [s, m.splits[s].labelRates])) as Record<
      SplitName,
      Record<string, number>
    >;
    return {
      name: prep.name,
      kind: m.source.kind,
      // The source's folder: ground truth (the simulator's world.json) lives there, not in the prepared one.
      path: m.source.path,
      schema: prep.schema,
      vocabs,
      events: evData,
      split,
      splitSpec: m.splitSpec,
      splits,
      items: prep.items,
      userIds: users.ids,
      itemIds: prep.itemIds,
      labels: m.labels,
      windowFeatures,
      stats: {
        rows: n,
        splitRows,
        labelRates,
        users: m.stats.users,
        items: m.stats.items,
        coverage: m.stats.coverage,
        reads: m.stats.reads,
      },
      fingerprint: m.fingerprint,
    };
  } finally {
    await prep.close();
  }
}

/** A privileged window feature's spec with each catalogue item's key codes (row · K, −1 padded). */
export interface PreparedWindowKeys {
  spec: PreparedManifest['windowFeatures'][number];
  itemKeys: Int32Array;
  keysPerItem: number;
  /** Exclusive bound on the codes (at least 1), as WindowCounter's keySpace. */
  keySpace: number;
}

/**
 * The id maps serving needs, without the events: every vocabulary (token of each table row) and
 * each window feature's catalogue key codes.
 */
export async function readServingTables(
  dir: string,
  m: PreparedManifest = readPreparedManifest(dir),
): Promise<{ vocabs: Record<string, Vocab>; windowKeys: PreparedWindowKeys[] }> {
  const db = await DuckDb.open({ threads: 1 });
  try {
    const vocabs: Record<string, Vocab> = {};
    for (const [table, v] of Object.entries(m.vocabs)) {
      const tokens: string[] = [];
      const counts: number[] = [];
      await db.fetchColumns(
        `SELECT token, count FROM read_parquet(${sqlStr(join(dir, v.file))}) ORDER BY idx`,
        [
          { kind: 'string', onString: (r, t) => (tokens[r] = t ?? '') },
          { kind: 'string', onString: (r, c) => (counts[r] = Number(c)) },
        ],
      );
      vocabs[table] = Vocab.fromJSON({ name: table, minCount: v.minCount, tokens, counts });
    }
    const windowKeys: PreparedWindowKeys[] = [];
    for (const w of m.windowFeatures) {
      const K = w.keysPerItem;
      const itemKeys = new Int32Array(m.items.rows * K);
      const path = join(dir, m.items.file);
      await db.fetchTyped(
        `SELECT "_wkey_${w.field}"::INTEGER[${K}] FROM read_parquet(${sqlStr(path)}) ORDER BY _item`,
        [{ out: itemKeys, width: K }],
        m.items.rows,
        path,
      );
      windowKeys.push({ spec: w, itemKeys, keysPerItem: K, keySpace: Math.max(1, w.keyCount) });
    }
    return { vocabs, windowKeys };
  } finally {
    db.close();
  }
}

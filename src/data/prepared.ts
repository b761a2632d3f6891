/**
 * A prepared dataset (the folder `kdrec data prepare` writes, ./prepare.ts), opened for reading:
 * the fitted schema, the catalogue and the id maps are small and loaded into memory; the splits are
 * batch sources over their Parquet files, read a window at a time (./parquetSource.ts), so memory
 * does not grow with the number of events. Addressed as `prepared:DIR` like any other dataset.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ColumnarDataset, type Columns } from './batch.js';
import { type LabelRoles, SPLIT_NAMES, type SplitName } from './dataset.js';
import { ParquetSource } from './parquetSource.js';
import { PREPARED_FORMAT, type PreparedManifest } from './prepare.js';
import { DuckDb, sqlStr } from './readers.js';
import { Schema } from './schema.js';
import { type ShardSpec, shardRows } from './stream.js';

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
 * defaults, 1 thread and 1GB, leave the cores to training: a row group is read by one thread).
 */
export async function openPrepared(
  dir: string,
  opts: { threads?: number; memoryLimit?: string } = {},
): Promise<PreparedDataset> {
  const manifest = readPreparedManifest(dir);
  const schema = Schema.fromJSON(manifest.schema);
  const db = await DuckDb.open({ threads: opts.threads ?? 1, memoryLimit: opts.memoryLimit ?? '1GB' });
  try {
    const splits = {} as Record<SplitName, ParquetSource>;
    for (const s of SPLIT_NAMES)
      splits[s] = await ParquetSource.open(db, dir, manifest.splits[s].files, manifest.layout, `${dir} ${s}`);
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
    await fetchInto(
      db,
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
    await fetchInto(
      db,
      `SELECT ${specs.map((s) => s.expr).join(', ')} FROM read_parquet(${sqlStr(path)}) ORDER BY _user`,
      specs,
      rows,
      path,
    );
  return { ids, columns };
}

/** Typed-array columns of a query, by vector copies. */
async function fetchInto(
  db: DuckDb,
  sql: string,
  specs: { out: Int32Array | Float32Array; width: number }[],
  rows: number,
  where: string,
): Promise<void> {
  const res = await db.conn.stream(sql);
  let at = 0;
  for (;;) {
    const chunk = await res.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (at + n > rows) throw new Error(`${where}: more rows than the ${rows} the manifest records`);
    specs.forEach((s, j) => {
      const vec = chunk.getColumnVector(j) as unknown as {
        items?: Int32Array | Float32Array;
        childData?: { items: Int32Array };
      };
      const data = s.width === 1 ? vec.items : vec.childData?.items;
      if (data === undefined) throw new Error(`${where}: column ${j}: unexpected vector type`);
      s.out.set(data.subarray(0, n * s.width) as never, at * s.width);
    });
    at += n;
  }
  if (at !== rows) throw new Error(`${where}: ${at} rows, the manifest records ${rows}`);
}

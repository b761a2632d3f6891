/**
 * Parquet files as a batch source (./stream.ts): each row group is a unit; a window is read with one
 * DuckDB query per row group (`read_parquet(..., file_row_number = true)` with a row range, which
 * DuckDB answers from that row group alone) and decoded straight from DuckDB's vectors into the
 * columnar batch layout: an INTEGER/FLOAT/DOUBLE vector is a typed array over DuckDB's memory and is
 * copied with one `set`, an INTEGER[L] array column is one flat child vector. No JS value is made
 * per row.
 *
 * Overlap: `openStream` loads the next window while the current one trains; the queries run on
 * DuckDB's threads and only the copies run on the JS thread (a few ms per 16k-row unit).
 *
 * Bad input (issue 15): the files are checked when the source opens, before any training step: a
 * file that is missing, truncated or not Parquet is named; a missing column or one of the wrong type
 * is named with the file and the expected type; a file whose rows or row groups differ from what the
 * manifest recorded is refused (nothing may fail silently with a wrong row count). A row group that
 * fails to decode mid-epoch names its file and row group; rows that arrive out of order fail too.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type Columns, headView } from './batch.js';
import type { ColumnLayout, PreparedFile } from './prepare.js';
import { KEY_COLUMNS } from './prepare.js';
import { type DuckDb, sqlId, sqlStr, vectorValues } from './readers.js';
import {
  type BatchReader,
  type BatchSource,
  type OpenOptions,
  openStream,
  type StreamUnit,
} from './stream.js';

/** One column of a prepared file: its DuckDB type and where its values go in a batch. */
interface ColumnPlan {
  name: string;
  type: string;
  /** The SELECT expression (a cast that pins the vector type the decoder expects). */
  expr: string;
  put: (cols: Columns) => Int32Array | Float32Array | Float64Array;
  width: number;
}

function columnPlans(layout: ColumnLayout): ColumnPlan[] {
  const plans: ColumnPlan[] = [
    { name: KEY_COLUMNS.sampleId, type: 'DOUBLE', expr: '', put: (c) => c.sampleId!, width: 1 },
    { name: KEY_COLUMNS.userKey, type: 'INTEGER', expr: '', put: (c) => c.userKey!, width: 1 },
    { name: KEY_COLUMNS.itemKey, type: 'INTEGER', expr: '', put: (c) => c.itemKey!, width: 1 },
  ];
  if (layout.requestId)
    plans.push({
      name: KEY_COLUMNS.requestId,
      type: 'INTEGER',
      expr: '',
      put: (c) => c.requestId!,
      width: 1,
    });
  plans.push({ name: KEY_COLUMNS.ts, type: 'DOUBLE', expr: '', put: (c) => c.ts!, width: 1 });
  for (const f of layout.cat)
    plans.push({ name: f, type: 'INTEGER', expr: '', put: (c) => c.cat[f]!, width: 1 });
  for (const [f, L] of Object.entries(layout.seq))
    plans.push({ name: f, type: `INTEGER[${L}]`, expr: '', put: (c) => c.seq[f]!.ids, width: L });
  for (const f of layout.num)
    plans.push({ name: f, type: 'FLOAT', expr: '', put: (c) => c.num[f]!, width: 1 });
  for (const f of layout.labels)
    plans.push({ name: f, type: 'FLOAT', expr: '', put: (c) => c.labels[f]!, width: 1 });
  for (const p of plans) p.expr = `${sqlId(p.name)}::${p.type} AS ${sqlId(p.name)}`;
  return plans;
}

/**
 * Per-row columns joined to a source from other Parquet files by sample id (the teacher scores of
 * two-stage distillation): every row of the source must have exactly one row there.
 */
export interface ExtraColumns {
  /** What they are, for error messages (e.g. the scores folder). */
  name: string;
  files: string[];
  /** FLOAT columns, attached as `batch.extra[name]`. */
  columns: string[];
}

/** Empty columns with the layout's shape (size 0), plus `extra` float columns. */
export function layoutColumns(layout: ColumnLayout, rows = 0, extra: readonly string[] = []): Columns {
  const c: Columns = {
    size: rows,
    cat: {},
    seq: {},
    num: {},
    labels: {},
    extra: {},
    sampleId: new Float64Array(rows),
    userKey: new Int32Array(rows),
    itemKey: new Int32Array(rows),
    ts: new Float64Array(rows),
  };
  if (layout.requestId) c.requestId = new Int32Array(rows);
  for (const f of layout.cat) c.cat[f] = new Int32Array(rows);
  for (const [f, L] of Object.entries(layout.seq)) c.seq[f] = { ids: new Int32Array(rows * L), maxLen: L };
  for (const f of layout.num) c.num[f] = new Float32Array(rows);
  for (const f of layout.labels) c.labels[f] = new Float32Array(rows);
  for (const f of extra) c.extra[f] = new Float32Array(rows);
  return c;
}

/** Which types a stored column may have for an expected one (Parquet has no fixed-size arrays). */
function typeMatches(expected: string, got: string): boolean {
  if (expected === got) return true;
  return /^INTEGER\[\d+\]$/.test(expected) && got === 'INTEGER[]';
}

export class ParquetSource implements BatchSource {
  readonly units: StreamUnit[];
  readonly layout: Columns;
  readonly rows: number;
  private readonly plans: ColumnPlan[];
  private readonly conns: DuckDBConnection[] = [];

  private constructor(
    readonly name: string,
    private readonly db: DuckDb,
    readonly dir: string,
    readonly files: readonly PreparedFile[],
    readonly columnLayout: ColumnLayout,
    readonly extras: ExtraColumns | null,
  ) {
    this.plans = columnPlans(columnLayout);
    this.layout = layoutColumns(columnLayout, 0, extras?.columns ?? []);
    this.units = [];
    let k = 0;
    for (const f of files) {
      let at = 0;
      f.rowGroups.forEach((rows, g) => {
        this.units.push({ index: k++, file: join(dir, f.path), rowGroup: g, fileRow: at, rows });
        at += rows;
      });
    }
    this.rows = this.units.reduce((s, u) => s + u.rows, 0);
  }

  /** Opens and checks the files (existence, footer, columns and types, rows and row groups). */
  static async open(
    db: DuckDb,
    dir: string,
    files: readonly PreparedFile[],
    layout: ColumnLayout,
    name: string,
    extras: ExtraColumns | null = null,
  ): Promise<ParquetSource> {
    const src = new ParquetSource(name, db, dir, files, layout, extras);
    if (extras !== null) {
      for (const path of extras.files) {
        let described: unknown[][];
        try {
          described = await db.rows(`DESCRIBE SELECT * FROM read_parquet(${sqlStr(path)})`);
        } catch (e) {
          throw new Error(`${path}: not a readable Parquet file (truncated or corrupt?): ${firstLine(e)}`);
        }
        const types = new Map(described.map((r) => [String(r[0]), String(r[1])]));
        for (const [c, t] of [
          [KEY_COLUMNS.sampleId, 'DOUBLE'],
          ...extras.columns.map((x) => [x, 'FLOAT']),
        ] as const) {
          if (types.get(c) !== t)
            throw new Error(
              `${path}: ${types.has(c) ? `column '${c}' has type ${types.get(c)}` : `missing column '${c}'`}, expected ${t} (${extras.name})`,
            );
        }
      }
    }
    for (const f of files) {
      const path = join(dir, f.path);
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        throw new Error(`${path}: missing (listed in the manifest of ${dir} with ${f.rows} rows)`);
      }
      let described: unknown[][];
      let groups: unknown[][];
      try {
        described = await db.rows(`DESCRIBE SELECT * FROM read_parquet(${sqlStr(path)})`);
        groups = await db.rows(
          `SELECT row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(${sqlStr(path)}) GROUP BY row_group_id ORDER BY row_group_id`,
        );
      } catch (e) {
        throw new Error(
          `${path}: not a readable Parquet file (${size} bytes; truncated or corrupt?): ${firstLine(e)}`,
        );
      }
      const types = new Map(described.map((r) => [String(r[0]), String(r[1])]));
      for (const p of src.plans) {
        const got = types.get(p.name);
        if (got === undefined)
          throw new Error(
            `${path}: missing column '${p.name}' (expected ${p.type}); columns present: ${[...types.keys()].join(', ')}`,
          );
        if (!typeMatches(p.type, got))
          throw new Error(`${path}: column '${p.name}' has type ${got}, expected ${p.type}`);
      }
      const rg = groups.map((r) => Number(r[1]));
      const rows = rg.reduce((a, b) => a + b, 0);
      if (rows !== f.rows || rg.length !== f.rowGroups.length || rg.some((r, i) => r !== f.rowGroups[i]))
        throw new Error(
          `${path}: holds ${rows} rows in ${rg.length} row groups, the manifest of ${dir} says ${f.rows} rows in ${f.rowGroups.length}; the file was changed after \`kdrec data prepare\``,
        );
    }
    return src;
  }

  /** Decodes the rows of `units` (in order) into `into` (or a new buffer). */
  private async loadUnits(
    conn: DuckDBConnection,
    units: readonly StreamUnit[],
    rows: number,
    into: Columns | null,
  ) {
    const buf =
      into !== null && into.size >= rows
        ? into
        : layoutColumns(this.columnLayout, rows, this.extras?.columns ?? []);
    const select = this.plans.map((p) => p.expr).join(', ');
    let at = 0;
    for (const u of units) {
      const sql =
        `SELECT ${select} FROM read_parquet(${sqlStr(u.file)}, file_row_number = true) ` +
        `WHERE file_row_number >= ${u.fileRow} AND file_row_number < ${u.fileRow + u.rows}`;
      let got = 0;
      try {
        const res = await conn.run(sql);
        const nChunks = res.chunkCount;
        for (let c = 0; c < nChunks; c++) {
          const chunk = res.getChunk(c);
          const n = chunk.rowCount;
          if (got + n > u.rows) break;
          for (let j = 0; j < this.plans.length; j++) {
            const p = this.plans[j]!;
            const data = vectorValues(chunk.getColumnVector(j), `column '${p.name}'`);
            p.put(buf).set(data.subarray(0, n * p.width), (at + got) * p.width);
          }
          got += n;
        }
      } catch (e) {
        throw new Error(
          `${u.file}: row group ${u.rowGroup} (rows ${u.fileRow}..${u.fileRow + u.rows - 1}): ${firstLine(e)}`,
        );
      }
      if (got !== u.rows)
        throw new Error(`${u.file}: row group ${u.rowGroup} decoded ${got} rows, expected ${u.rows}`);
      // Prepared rows are in time order: a row out of order means the file is not what was written.
      const ids = buf.sampleId!;
      for (let i = at + 1; i < at + got; i++)
        if (!(ids[i]! > ids[i - 1]!))
          throw new Error(
            `${u.file}: row group ${u.rowGroup}: rows out of order at file row ${u.fileRow + i - at}`,
          );
      if (this.extras !== null) await this.loadExtras(conn, u, buf, at, got);
      at += got;
    }
    return { cols: headView(buf, rows), buffer: buf };
  }

  /** The extra columns of a decoded unit's rows, matched by sample id (which must all be there). */
  private async loadExtras(conn: DuckDBConnection, u: StreamUnit, buf: Columns, at: number, n: number) {
    const ex = this.extras!;
    const ids = buf.sampleId!;
    const lo = ids[at]!;
    const hi = ids[at + n - 1]!;
    const list = `[${ex.files.map(sqlStr).join(', ')}]`;
    const res = await conn.run(
      `SELECT ${KEY_COLUMNS.sampleId}, ${ex.columns.map((c) => `${sqlId(c)}::FLOAT`).join(', ')} FROM read_parquet(${list}) ` +
        `WHERE ${KEY_COLUMNS.sampleId} >= ${lo} AND ${KEY_COLUMNS.sampleId} <= ${hi} ORDER BY ${KEY_COLUMNS.sampleId}`,
    );
    let got = 0;
    const mismatch = (why: string) =>
      new Error(
        `${ex.name}: ${why} for ${u.file} row group ${u.rowGroup} (sample ids ${lo}..${hi}); ` +
          'the scores belong to another dataset, split or shard set: score again with `kdrec teacher score`',
      );
    for (let c = 0; c < res.chunkCount; c++) {
      const chunk = res.getChunk(c);
      const m = chunk.rowCount;
      const sid = vectorValues(chunk.getColumnVector(0), `${ex.name}: ${KEY_COLUMNS.sampleId}`);
      for (let i = 0; i < m; i++) {
        // Other splits' sample ids may fall inside [lo, hi]; the scores hold the scored split only.
        if (got + i >= n || sid[i] !== ids[at + got + i])
          throw mismatch(`sample ${sid[i]} has no row here or is out of order`);
      }
      ex.columns.forEach((name, j) => {
        buf.extra[name]!.set(
          vectorValues(chunk.getColumnVector(j + 1), `${ex.name}: ${name}`).subarray(0, m),
          at + got,
        );
      });
      got += m;
    }
    if (got !== n) throw mismatch(`${got} scores for ${n} rows`);
  }

  open(opts: OpenOptions): BatchReader {
    let conn: DuckDBConnection | null = null;
    return openStream(
      this,
      {
        load: async (units, rows, into) => {
          if (conn === null) {
            conn = await this.db.connect();
            this.conns.push(conn);
          }
          return this.loadUnits(conn, units, rows, into);
        },
      },
      opts,
    );
  }

  async close(): Promise<void> {
    for (const c of this.conns.splice(0)) c.closeSync();
  }
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!;
}

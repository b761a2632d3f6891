/**
 * File readers on DuckDB (@duckdb/node-api): CSV, TSV, Parquet and JSON Lines into DuckDB tables,
 * validated, and from there into typed column arrays read chunk by chunk (DuckDB's 2048-row vectors),
 * so a million-row file never becomes a million JS objects.
 *
 * Validation (issue 3, "bad input"): every problem names the file, the line (CSV/TSV: the physical
 * line in the file, header included; JSON Lines: the line; Parquet: the row), the column and what was
 * expected. CSV/TSV structural and type errors come from DuckDB's reject tables
 * (`store_rejects`), which record the exact line; NaN and missing values are found in SQL afterwards.
 * With `skipBadRows` the bad rows are dropped, counted and summarised instead of thrown.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export type FileFormat = 'csv' | 'tsv' | 'parquet' | 'jsonl';
/** SQL types the readers produce. BIGINT arrives in JS as bigint; read it through `fetchColumns`. */
export type ColumnType = 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'VARCHAR';

export interface TableSource {
  path: string;
  /** Defaults from the extension: .csv, .tsv/.tab, .parquet, .jsonl/.ndjson/.json. */
  format?: FileFormat;
  /** Field separator for csv/tsv, e.g. '|' for MovieLens u.item. */
  delimiter?: string;
  /** Whether the first line is a header (csv/tsv; default true). */
  header?: boolean;
  /** All column names in file order, for files without a header. */
  columnNames?: string[];
  /** Columns to read and their types; other columns in the file are ignored. */
  columns: Record<string, ColumnType>;
  /** Columns that may be empty (read as NULL). Every other non-VARCHAR column must have a value. */
  nullable?: string[];
  /** Text encoding (csv/tsv). */
  encoding?: 'utf-8' | 'latin-1';
  /** csv quote character; '' disables quoting (MovieLens titles contain stray quotes). */
  quote?: string;
}

export interface ReadProblem {
  /** 1-based physical line (csv/tsv/jsonl) or row (parquet). */
  line: number;
  column: string;
  message: string;
}

export interface ReadReport {
  file: string;
  table: string;
  rows: number;
  /** Rows dropped under skipBadRows. */
  skipped: number;
  /** Up to 20 example problems (all of them are counted in `skipped`). */
  problems: ReadProblem[];
}

export interface ReadOptions {
  /** Drop malformed rows and report them instead of throwing. */
  skipBadRows?: boolean;
}

export function formatOf(src: TableSource): FileFormat {
  if (src.format) return src.format;
  const ext = extname(src.path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.parquet') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new Error(
    `${src.path}: cannot tell the file format from extension '${ext}' (expected .csv, .tsv, .parquet or .jsonl)`,
  );
}

/** SQL string literal. */
export function sqlStr(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
/** SQL identifier. */
export function sqlId(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

function readFirstLine(path: string, encoding: 'utf-8' | 'latin-1'): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString(encoding === 'latin-1' ? 'latin1' : 'utf8');
    const nl = text.indexOf('\n');
    return (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, '');
  } finally {
    closeSync(fd);
  }
}

function missingColumnError(path: string, missing: string[], present: string[]): Error {
  return new Error(
    `${path}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}; columns present: ${present.join(', ')}`,
  );
}

let tableCounter = 0;

export interface DuckDbOptions {
  /** Worker threads (default: $KDREC_DUCKDB_THREADS, else one per core). */
  threads?: number;
  /** A database file (the out-of-core preparation spills its tables there); default in memory. */
  path?: string;
  /** DuckDB's memory_limit, e.g. '2GB' (default: $KDREC_DUCKDB_MEMORY, else DuckDB's 80% of RAM). */
  memoryLimit?: string;
  /** Where DuckDB spills what does not fit in memory_limit. */
  tempDirectory?: string;
}

/** One in-process DuckDB database; close it when done. */
export class DuckDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
  ) {}

  /**
   * `threads` caps DuckDB's worker threads (default: $KDREC_DUCKDB_THREADS, else one per core). On a
   * machine shared with other jobs, 1 is often faster than oversubscribing (measured 2× on 1M events
   * at load average 9 on 2 cores).
   */
  static async open(opts: DuckDbOptions = {}): Promise<DuckDb> {
    const env = process.env.KDREC_DUCKDB_THREADS;
    const threads = opts.threads ?? (env ? Number(env) : undefined);
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
      throw new Error(
        `DuckDB threads must be a positive integer, got ${opts.threads ?? `KDREC_DUCKDB_THREADS=${env}`}`,
      );
    }
    const mem = opts.memoryLimit ?? process.env.KDREC_DUCKDB_MEMORY;
    if (mem !== undefined && !/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(mem))
      throw new Error(`DuckDB memory limit '${mem}' must look like 512MB or 4GB`);
    const instance = await DuckDBInstance.create(opts.path ?? ':memory:');
    const conn = await instance.connect();
    const db = new DuckDb(instance, conn);
    if (threads !== undefined) await db.run(`SET threads = ${threads}`);
    if (mem !== undefined) await db.run(`SET memory_limit = ${sqlStr(mem)}`);
    if (opts.tempDirectory !== undefined) await db.run(`SET temp_directory = ${sqlStr(opts.tempDirectory)}`);
    return db;
  }

  /** Another connection to the same database (queries of different connections run concurrently). */
  async connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  async run(sql: string): Promise<void> {
    await this.conn.run(sql);
  }

  /** First column of the first row as a number (for counts and scalars). */
  async scalar(sql: string): Promise<number> {
    const r = await this.conn.runAndReadAll(sql);
    const v = r.getRows()[0]?.[0];
    if (v === null || v === undefined) return Number.NaN;
    return typeof v === 'bigint' ? Number(v) : Number(v);
  }

  /** Small result sets only (summaries, vocab counts): rows as arrays of JS values. */
  async rows(sql: string): Promise<unknown[][]> {
    const r = await this.conn.runAndReadAll(sql);
    return r.getRowsJS() as unknown[][];
  }

  async columnNames(table: string): Promise<string[]> {
    const r = await this.rows(`SELECT column_name FROM (DESCRIBE ${sqlId(table)})`);
    return r.map((x) => String(x[0]));
  }

  /**
   * Checks a Parquet file's columns against the declared ones: a missing column, or one whose type
   * cannot hold the declared type (a list where a number is expected, say), is an error naming the
   * file, the column, its type and the expected one. Returns true when every column casts exactly
   * (integers to INTEGER/BIGINT, numbers to DOUBLE, anything to VARCHAR); false when some numeric
   * column is stored as text, which is then checked value by value (a bad value names its row).
   */
  private async parquetIsTyped(src: TableSource, wanted: string[]): Promise<boolean> {
    let described: unknown[][];
    try {
      described = await this.rows(`DESCRIBE SELECT * FROM read_parquet(${sqlStr(src.path)})`);
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new Error(`${src.path}: not a readable Parquet file (truncated or corrupt?): ${msg}`);
    }
    const types = new Map(described.map((r) => [String(r[0]), String(r[1])]));
    const missing = wanted.filter((w) => !types.has(w));
    if (missing.length) throw missingColumnError(src.path, missing, [...types.keys()]);
    let typed = true;
    for (const w of wanted) {
      const want = src.columns[w]!;
      const got = types.get(w)!;
      const integer = /^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?)$/.test(got);
      const numeric = integer || /^(FLOAT|DOUBLE|REAL|DECIMAL\(\d+,\d+\))$/.test(got);
      if (want === 'VARCHAR') continue;
      if ((want === 'INTEGER' || want === 'BIGINT') && integer) continue;
      if (want === 'DOUBLE' && numeric) continue;
      if (got === 'VARCHAR') {
        typed = false;
        continue;
      }
      throw new Error(
        `${src.path}: column '${w}' has type ${got}, expected ${want}${want !== 'DOUBLE' && numeric ? ' (an integer type)' : ''}`,
      );
    }
    return typed;
  }

  /**
   * Reads a file into a new DuckDB table `table` with exactly the requested columns and types,
   * plus `_line` (the 1-based line/row each row came from, for later error messages).
   */
  async readTable(table: string, src: TableSource, opts: ReadOptions = {}): Promise<ReadReport> {
    const fmt = formatOf(src);
    const wanted = Object.keys(src.columns);
    const nullable = new Set(src.nullable ?? []);
    const report: ReadReport = { file: src.path, table, rows: 0, skipped: 0, problems: [] };
    const note = (p: ReadProblem) => {
      if (report.problems.length < 20) report.problems.push(p);
    };
    const stage = `_stage_${table}_${tableCounter++}`;
    if (fmt === 'csv' || fmt === 'tsv') {
      const delim = src.delimiter ?? (fmt === 'tsv' ? '\t' : ',');
      const header = src.header ?? true;
      const enc = src.encoding ?? 'utf-8';
      let names: string[];
      if (src.columnNames) names = src.columnNames;
      else if (header)
        names = readFirstLine(src.path, enc)
          .split(delim)
          .map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
      else throw new Error(`${src.path}: file has no header; the loader must give columnNames`);
      const missing = wanted.filter((w) => !names.includes(w));
      if (missing.length) throw missingColumnError(src.path, missing, names);
      const colSpec = names.map((n) => `${sqlStr(n)}: ${sqlStr(src.columns[n] ?? 'VARCHAR')}`).join(', ');
      const quote = src.quote === undefined ? '' : `, quote=${sqlStr(src.quote)}`;
      await this.run(`DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans;`);
      await this.run(
        `CREATE TEMP TABLE ${sqlId(stage)} AS SELECT * FROM read_csv(${sqlStr(src.path)}, header=${header}, delim=${sqlStr(delim)}, ` +
          `auto_detect=false, columns={${colSpec}}, encoding=${sqlStr(enc)}${quote}, store_rejects=true, ignore_errors=true, null_padding=false)`,
      );
      const rejects = await this.rows(
        'SELECT line, column_name, error_type, error_message, csv_line FROM reject_errors ORDER BY line',
      );
      // DuckDB reports each rejected line once per bad column; a line counts once.
      const badLines = [...new Set(rejects.map((r) => Number(r[0])))].sort((a, b) => a - b);
      for (const r of rejects) {
        const col = r[1] === null ? '(row)' : String(r[1]);
        const type = String(r[2]);
        const expected =
          type === 'CAST' && r[1] !== null ? ` (expected ${src.columns[String(r[1])] ?? 'VARCHAR'})` : '';
        note({
          line: Number(r[0]),
          column: col,
          message: `${String(r[3])}${expected}; line: ${String(r[4])}`,
        });
      }
      if (badLines.length && !opts.skipBadRows)
        throw problemError(src.path, report.problems, badLines.length);
      report.skipped += badLines.length;
      // Physical line of the k-th kept row: skip header and the rejected lines before it.
      const first = header ? 2 : 1;
      if (!badLines.length) {
        await this.run(
          `CREATE TEMP TABLE ${sqlId(`${stage}_l`)} AS SELECT *, (${first} + rowid)::BIGINT AS _line FROM ${sqlId(stage)}`,
        );
        await this.run(`DROP TABLE ${sqlId(stage)}`);
        await this.run(`ALTER TABLE ${sqlId(`${stage}_l`)} RENAME TO ${sqlId(stage)}`);
      } else {
        await this.run(`CREATE TEMP TABLE _bad_${stage} (line BIGINT)`);
        await this.run(`INSERT INTO _bad_${stage} VALUES ${badLines.map((l) => `(${l})`).join(',')}`);
        await this.run(`CREATE TEMP TABLE _num_${stage} AS SELECT rowid AS _rid, * FROM ${sqlId(stage)}`);
        // line = first + rid + (#bad lines at or before it): computed by a running count over the bad lines.
        await this.run(
          `CREATE TEMP TABLE ${sqlId(`${stage}_l`)} AS SELECT s.* EXCLUDE (_rid), ` +
            `(${first} + s._rid + coalesce((SELECT max(k) FROM (SELECT b.line, row_number() OVER (ORDER BY b.line) AS k FROM _bad_${stage} b) bb ` +
            `WHERE bb.line - bb.k < ${first} + s._rid), 0))::BIGINT AS _line FROM _num_${stage} s ORDER BY s._rid`,
        );
        await this.run(`DROP TABLE _num_${stage}; DROP TABLE _bad_${stage}; DROP TABLE ${sqlId(stage)}`);
        await this.run(`ALTER TABLE ${sqlId(`${stage}_l`)} RENAME TO ${sqlId(stage)}`);
      }
    } else if (fmt === 'parquet' && (await this.parquetIsTyped(src, wanted))) {
      // Parquet whose columns already have the declared types (or numeric ones that widen to
      // them): cast in one pass, no text round trip. _line is the 1-based row in the file.
      try {
        await this.run(
          `CREATE TEMP TABLE ${sqlId(stage)} AS SELECT ${wanted.map((w) => `${sqlId(w)}::${src.columns[w]} AS ${sqlId(w)}`).join(', ')}, ` +
            `(file_row_number + 1)::BIGINT AS _line FROM read_parquet(${sqlStr(src.path)}, file_row_number = true)`,
        );
      } catch (e) {
        // An out-of-range integer, or a file that breaks after its footer.
        throw new Error(`${src.path}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    } else {
      const reader =
        fmt === 'parquet'
          ? `read_parquet(${sqlStr(src.path)})`
          : `read_json(${sqlStr(src.path)}, format='newline_delimited', columns={${wanted.map((w) => `${sqlStr(w)}: 'VARCHAR'`).join(', ')}})`;
      if (fmt !== 'parquet') {
        // JSON Lines: a key absent from every row reads as all-NULL; check keys on the first object.
        const first = readFirstLine(src.path, 'utf-8');
        let keys: string[] = [];
        try {
          keys = Object.keys(JSON.parse(first) as object);
        } catch {
          throw new Error(`${src.path}: line 1: not a JSON object`);
        }
        const missing = wanted.filter((w) => !keys.includes(w));
        if (missing.length) throw missingColumnError(src.path, missing, keys);
      }
      const raw = `_raw_${stage}`;
      await this.run(
        `CREATE TEMP TABLE ${sqlId(raw)} AS SELECT ${wanted.map((w) => `${sqlId(w)}::VARCHAR AS ${sqlId(w)}`).join(', ')}, ` +
          `(row_number() OVER ())::BIGINT AS _line FROM ${reader}`,
      );
      // Type check by TRY_CAST: a non-null value that does not cast is a bad value.
      const badConds = wanted
        .filter((w) => src.columns[w] !== 'VARCHAR')
        .map((w) => `(${sqlId(w)} IS NOT NULL AND TRY_CAST(${sqlId(w)} AS ${src.columns[w]}) IS NULL)`);
      if (badConds.length) {
        const cond = badConds.join(' OR ');
        const bad = await this.rows(
          `SELECT _line, ${wanted.map(sqlId).join(', ')} FROM ${sqlId(raw)} WHERE ${cond} ORDER BY _line`,
        );
        for (const r of bad) {
          wanted.forEach((w, i) => {
            const v = r[i + 1];
            const t = src.columns[w]!;
            if (t !== 'VARCHAR' && v !== null && !castsTo(v as string, t)) {
              note({ line: Number(r[0]), column: w, message: `value '${String(v)}' is not ${t}` });
            }
          });
        }
        if (bad.length && !opts.skipBadRows)
          throw problemError(src.path, report.problems, bad.length, fmt === 'parquet' ? 'row' : 'line');
        report.skipped += bad.length;
        await this.run(`DELETE FROM ${sqlId(raw)} WHERE ${cond}`);
      }
      await this.run(
        `CREATE TEMP TABLE ${sqlId(stage)} AS SELECT ${wanted.map((w) => `${sqlId(w)}::${src.columns[w]} AS ${sqlId(w)}`).join(', ')}, _line FROM ${sqlId(raw)}`,
      );
      await this.run(`DROP TABLE ${sqlId(raw)}`);
    }
    // Missing values and NaN in numeric columns: errors naming the field (or skipped rows).
    const unit = fmt === 'parquet' ? 'row' : 'line';
    const checks: string[] = [];
    for (const w of wanted) {
      const t = src.columns[w]!;
      if (t === 'VARCHAR') continue;
      if (!nullable.has(w)) checks.push(`${sqlId(w)} IS NULL`);
      if (t === 'DOUBLE') checks.push(`isnan(${sqlId(w)}) OR isinf(${sqlId(w)})`);
    }
    if (checks.length) {
      const cond = checks.map((c) => `(${c})`).join(' OR ');
      const bad = await this.rows(
        `SELECT _line, ${wanted.map(sqlId).join(', ')} FROM ${sqlId(stage)} WHERE ${cond} ORDER BY _line LIMIT 20`,
      );
      const nBad = await this.scalar(`SELECT count(*) FROM ${sqlId(stage)} WHERE ${cond}`);
      for (const r of bad) {
        wanted.forEach((w, i) => {
          const v = r[i + 1];
          const t = src.columns[w]!;
          if (t === 'VARCHAR') return;
          if (v === null && !nullable.has(w))
            note({ line: Number(r[0]), column: w, message: `missing value (expected ${t})` });
          else if (typeof v === 'number' && !Number.isFinite(v))
            note({ line: Number(r[0]), column: w, message: `${v} is not a finite number` });
        });
      }
      if (nBad > 0 && !opts.skipBadRows) throw problemError(src.path, report.problems, nBad, unit);
      report.skipped += nBad;
      if (nBad > 0) await this.run(`DELETE FROM ${sqlId(stage)} WHERE ${cond}`);
    }
    await this.run(`DROP TABLE IF EXISTS ${sqlId(table)}`);
    // Every path above keeps file order (tables built by ordered scans), so a rename suffices.
    await this.run(`ALTER TABLE ${sqlId(stage)} RENAME TO ${sqlId(table)}`);
    report.rows = await this.scalar(`SELECT count(*) FROM ${sqlId(table)}`);
    return report;
  }

  /**
   * Runs a query and copies its columns into typed arrays chunk by chunk (no row objects).
   * `spec` maps each result column (by position) to an array kind; VARCHAR columns can only be
   * consumed through `onString` callbacks so no string array of the whole column is built.
   */
  async fetchColumns(sql: string, spec: ColumnSpec[]): Promise<number> {
    const result = await this.conn.stream(sql);
    let row = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      for (let c = 0; c < spec.length; c++) {
        const s = spec[c]!;
        const vec = chunk.getColumnVector(c);
        if (s.kind === 'string') {
          for (let i = 0; i < n; i++) s.onString(row + i, vec.getItem(i) as string | null);
          continue;
        }
        const out = s.out;
        if (row + n > out.length)
          throw new Error(`fetchColumns: result has more rows than the ${out.length} allocated`);
        const fill = s.nullValue ?? Number.NaN;
        for (let i = 0; i < n; i++) {
          const v = vec.getItem(i);
          out[row + i] = v === null ? fill : typeof v === 'bigint' ? Number(v) : (v as number);
        }
      }
      row += n;
    }
    return row;
  }

  /**
   * Runs a query whose columns are all numeric (or fixed-size numeric arrays, `INTEGER[L]`) and NOT
   * NULL, copying each result vector into its typed array with one `set` per chunk: the fast path
   * for prepared data, which has no nulls. Throws unless exactly `rows` rows arrive.
   */
  async fetchTyped(
    sql: string,
    specs: { out: Int32Array | Float32Array | Float64Array; width: number }[],
    rows: number,
    where: string,
  ): Promise<void> {
    const res = await this.conn.stream(sql);
    let at = 0;
    for (;;) {
      const chunk = await res.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      if (at + n > rows) throw new Error(`${where}: more than the ${rows} rows expected`);
      specs.forEach((s, j) => {
        s.out.set(
          vectorValues(chunk.getColumnVector(j), `${where}: column ${j}`).subarray(0, n * s.width),
          at * s.width,
        );
      });
      at += n;
    }
    if (at !== rows) throw new Error(`${where}: ${at} rows, expected ${rows}`);
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/**
 * The typed array behind a DuckDB vector of INTEGER/FLOAT/DOUBLE (its `items`) or of a fixed-size
 * array of them (its child's `items`, row-major): a view of DuckDB's memory, valid while the chunk
 * is. Null slots are not marked: use it only on columns that cannot be NULL.
 */
export function vectorValues(vec: unknown, where: string): Int32Array | Float32Array | Float64Array {
  const v = vec as { items?: unknown; childData?: { items?: unknown } };
  const data = v.childData !== undefined ? v.childData.items : v.items;
  if (!(data instanceof Int32Array || data instanceof Float32Array || data instanceof Float64Array))
    throw new Error(`${where}: not an INTEGER, FLOAT or DOUBLE vector (or a fixed-size array of them)`);
  return data;
}

export type ColumnSpec =
  | { kind: 'number'; out: Int32Array | Float32Array | Float64Array; nullValue?: number }
  | { kind: 'string'; onString: (row: number, value: string | null) => void };

function castsTo(v: string, t: ColumnType): boolean {
  const x = Number(v.trim());
  if (v.trim() === '' || (Number.isNaN(x) && !/^[+-]?(nan|inf(inity)?)$/i.test(v.trim()))) return false;
  if (t === 'INTEGER' || t === 'BIGINT') return Number.isInteger(x);
  return true;
}

function problemError(file: string, problems: ReadProblem[], nBad: number, unit = 'line'): Error {
  const shown = problems
    .slice(0, 5)
    .map((p) => `  ${file}:${p.line}: ${unit} ${p.line}, column '${p.column}': ${p.message}`)
    .join('\n');
  return new Error(
    `${file}: ${nBad} bad row${nBad > 1 ? 's' : ''}\n${shown}\n(use --skip-bad-rows to drop and count them instead)`,
  );
}

/** Human summary of read reports (what `--skip-bad-rows` prints at the end). */
export function summarizeReports(reports: ReadReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.file}: ${r.rows} rows read${r.skipped ? `, ${r.skipped} bad rows skipped` : ''}`);
    for (const p of r.problems.slice(0, 5))
      lines.push(`  line ${p.line}, column '${p.column}': ${p.message}`);
  }
  return lines.join('\n');
}

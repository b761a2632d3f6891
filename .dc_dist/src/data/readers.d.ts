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
import { type DuckDBConnection } from '@duckdb/node-api';
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
export declare function formatOf(src: TableSource): FileFormat;
/** SQL string literal. */
export declare function sqlStr(s: string): string;
/** SQL identifier. */
export declare function sqlId(s: string): string;
/** One in-process DuckDB database; close it when done. */
export declare class DuckDb {
    private readonly instance;
    readonly conn: DuckDBConnection;
    private constructor();
    static open(): Promise<DuckDb>;
    run(sql: string): Promise<void>;
    /** First column of the first row as a number (for counts and scalars). */
    scalar(sql: string): Promise<number>;
    /** Small result sets only (summaries, vocab counts): rows as arrays of JS values. */
    rows(sql: string): Promise<unknown[][]>;
    columnNames(table: string): Promise<string[]>;
    /**
     * Reads a file into a new DuckDB table `table` with exactly the requested columns and types,
     * plus `_line` (the 1-based line/row each row came from, for later error messages).
     */
    readTable(table: string, src: TableSource, opts?: ReadOptions): Promise<ReadReport>;
    /**
     * Runs a query and copies its columns into typed arrays chunk by chunk (no row objects).
     * `spec` maps each result column (by position) to an array kind; VARCHAR columns can only be
     * consumed through `onString` callbacks so no string array of the whole column is built.
     */
    fetchColumns(sql: string, spec: ColumnSpec[]): Promise<number>;
    close(): void;
}
export type ColumnSpec = {
    kind: 'number';
    out: Int32Array | Float32Array | Float64Array;
    nullValue?: number;
} | {
    kind: 'string';
    onString: (row: number, value: string | null) => void;
};
/** Human summary of read reports (what `--skip-bad-rows` prints at the end). */
export declare function summarizeReports(reports: ReadReport[]): string;

import type { PreparedSource } from '../dataset.js';
import { type DuckDb, type ReadOptions } from '../readers.js';
import type { SchemaDecl } from '../schema.js';
export declare const MOVIELENS_SCHEMA: SchemaDecl;
export declare function prepareMovielens100k(db: DuckDb, dir: string, opts: ReadOptions): Promise<PreparedSource>;

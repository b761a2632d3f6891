import type { PreparedSource } from '../dataset.js';
import type { DuckDb, ReadOptions } from '../readers.js';
import type { SchemaDecl } from '../schema.js';
export declare const SIM_SCHEMA: SchemaDecl;
export declare function prepareSim(db: DuckDb, dir: string, opts: ReadOptions): Promise<PreparedSource>;

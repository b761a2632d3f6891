import type { PreparedSource } from '../dataset.js';
import { type DuckDb, type ReadOptions } from '../readers.js';
export declare function prepareKuairand(db: DuckDb, path: string, opts: ReadOptions): Promise<PreparedSource>;

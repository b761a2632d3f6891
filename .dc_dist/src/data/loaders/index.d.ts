import { type BuildOptions, type DatasetKind, type LoadedDataset, type PreparedSource } from '../dataset.js';
import { DuckDb, type ReadOptions } from '../readers.js';
export interface DatasetSpec {
    kind: DatasetKind;
    /** Absent only for a bare `sim` (the caller simulates a default world). */
    path: string | undefined;
}
export declare function parseDatasetSpec(spec: string): DatasetSpec;
export interface LoadOptions extends BuildOptions, ReadOptions {
}
export declare function prepareSource(db: DuckDb, spec: DatasetSpec, opts?: ReadOptions): Promise<PreparedSource>;
/** Reads, validates, splits and featurises a dataset. */
export declare function loadDataset(spec: string | DatasetSpec, opts?: LoadOptions): Promise<LoadedDataset>;

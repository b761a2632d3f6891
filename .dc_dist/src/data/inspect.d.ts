/**
 * A dataset summary for `kdrec data inspect`: row counts, label rates per split, and per feature
 * group (user, item, context, privileged) each field's kind, embedding-table size, distinct values
 * seen, and OOV / missing counts. Returned as data so the CLI prints it and tests assert on it.
 */
import type { LoadedDataset, SplitName } from './dataset.js';
import { type FieldGroup } from './schema.js';
export interface FieldSummary {
    name: string;
    kind: string;
    /** Embedding table rows (OOV row included) for id fields. */
    tableSize?: number;
    /** Distinct non-OOV ids seen over all events (id fields). */
    distinct?: number;
    oov?: number;
    missing?: number;
    /** numeric: train-split mean/std of the raw values and the normalisation used. */
    normalize?: string;
    mean?: number;
    std?: number;
}
export interface DatasetSummary {
    name: string;
    rows: number;
    users: number;
    items: number;
    split: string;
    splitRows: Record<SplitName, number>;
    labelRates: Record<SplitName, Record<string, number>>;
    groups: Record<FieldGroup, FieldSummary[]>;
    skippedRows: number;
    fingerprint: string;
}
export declare function summarizeDataset(ds: LoadedDataset): DatasetSummary;
/** Plain-text rendering. */
export declare function formatSummary(s: DatasetSummary): string;

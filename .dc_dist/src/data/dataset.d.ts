import { Vocab } from '../engine/vocab.js';
import { ColumnarDataset } from './batch.js';
import { type DuckDb, type ReadReport } from './readers.js';
import { Schema, type SchemaDecl } from './schema.js';
import { BoundWindowFeature, type WindowFeatureSpec } from './windowFeatures.js';
export declare const DATASET_KINDS: readonly ['sim', 'movielens-100k', 'ali-ccp', 'kuairand'];
export type DatasetKind = (typeof DATASET_KINDS)[number];
export type SplitSpec = 
/** Global temporal split: the first `train` fraction of events by time, then `valid`, then the rest. */
{
    kind: 'time';
    train: number;
    valid: number;
}
/** Per user: the last event is test, the one before is valid, the rest train (users with >= 3 events). */
 | {
    kind: 'leave-last-out';
}
/** Use a split the files already define (Ali-CCP train/val/test files). */
 | {
    kind: 'given';
};
export declare const DEFAULT_SPLIT: SplitSpec;
export declare const SPLIT_NAMES: readonly ['train', 'valid', 'test'];
export type SplitName = (typeof SPLIT_NAMES)[number];
export interface FileFingerprint {
    path: string;
    bytes: number;
    sha256: string;
}
export interface DatasetFingerprint {
    files: FileFingerprint[];
    /** sha256 over the files' hashes (in path order). */
    sha256: string;
}
/** What the labels mean, so trainers and eval do not guess by name. */
export interface LabelRoles {
    /** The click (or interaction) label. */
    click: string;
    /** Long engagement given a click (dwell > 50 s, rating >= 4, KuaiRand long_view). */
    long?: string;
    /** Conversion (Ali-CCP purchase). */
    conversion?: string;
}
export interface FieldCoverage {
    /** Rows whose value was present but not in the train vocab (mapped to row 0). */
    oov: number;
    /** Rows (or list entries) with no value (mapped to row 0, or −1 padding for lists). */
    missing: number;
}
export interface DatasetStats {
    rows: number;
    splitRows: Record<SplitName, number>;
    /** Mean of each label per split. */
    labelRates: Record<SplitName, Record<string, number>>;
    users: number;
    items: number;
    /** Per categorical/list field, over all events. */
    coverage: Record<string, FieldCoverage>;
    reads: ReadReport[];
}
export interface LoadedDataset {
    name: string;
    kind: DatasetKind;
    path: string;
    /** Fitted on the train split: table sizes and numeric stats filled in. */
    schema: Schema;
    /** Vocabulary per embedding table (hashed tables have none). */
    vocabs: Record<string, Vocab>;
    /** Every exposure, in time order, with userKey/itemKey/requestId/ts. */
    events: ColumnarDataset;
    /** Split of each events row: 0 train, 1 valid, 2 test. */
    split: Uint8Array;
    splitSpec: SplitSpec;
    /**
     * Exposure samples per split, in time order: views of the events columns when the split is
     * contiguous (time split), copies otherwise (leave-last-out). `setExtra` on one split does not
     * touch the others.
     */
    splits: Record<SplitName, ColumnarDataset>;
    /** Item catalogue: row i is itemKey i; item-group fields only. */
    items: ColumnarDataset;
    /** Raw ids by key. */
    userIds: string[];
    itemIds: string[];
    labels: LabelRoles;
    /** Privileged window features, evaluable for any (user, item, time). */
    windowFeatures: BoundWindowFeature[];
    stats: DatasetStats;
    fingerprint: DatasetFingerprint;
}
/** What a loader hands to `buildDataset`. */
export interface PreparedSource {
    name: string;
    kind: DatasetKind;
    path: string;
    schemaDecl: SchemaDecl;
    /** Files read (for the fingerprint). */
    files: string[];
    reads: ReadReport[];
    /**
     * DuckDB table `events` with `_ts` (DOUBLE unix seconds), `_user`, `_item` (VARCHAR), optional
     * `_request` (VARCHAR), optional `_given_split` (INTEGER 0/1/2), `_line` and field sources.
     */
    events: string;
    /** Optional table with `_item` and item field sources (the catalogue). */
    items?: string;
    /** Optional table with `_user` and user field sources. */
    users?: string;
    /** Separator of multi_hot / sequence values inside a VARCHAR source. */
    listSeparator?: string;
    windowFeatures: WindowFeatureSpec[];
    labels: LabelRoles;
    /** Split used when the caller gives none (e.g. the files' own split for Ali-CCP). */
    defaultSplit?: SplitSpec;
}
export interface BuildOptions {
    split?: SplitSpec;
    /** Overrides every window feature's length (seconds). */
    windowSeconds?: number;
}
export declare function fingerprintFiles(paths: string[]): Promise<DatasetFingerprint>;
export declare function buildDataset(db: DuckDb, src: PreparedSource, opts?: BuildOptions): Promise<LoadedDataset>;
/**
 * Privileged window features for arbitrary rows (e.g. sampled negatives), normalised exactly like
 * the events' columns.
 */
export declare function privilegedColumns(ds: LoadedDataset, userKey: Int32Array, itemKey: Int32Array, ts: Float64Array): Record<string, Float32Array>;

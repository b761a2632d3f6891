/**
 * The feature schema: declared once per dataset, it says what every column is and WHO may see it.
 *
 * Field kinds: `categorical` (one id per row: vocab built on the train split, or hashed),
 * `multi_hot` / `sequence` (a padded list of ids, pooled by sum or mean; may pool from another
 * field's embedding table, e.g. a history of item ids uses the item_id table), `numeric` (with a
 * normalisation fitted on the train split only) and `label`.
 *
 * Groups decide visibility, and it is enforced here rather than by convention: a model gets a
 * `SchemaView` from `schema.view(allowedGroups, consumer)`, and asking the view for a field outside
 * those groups throws. So a two-tower user tower (groups user+context) cannot read an item field, and
 * no student can read a `privileged` field (privileged features distillation, Xu et al., KDD 2020:
 * features available offline to the teacher but not to the online student).
 *
 * Label guard (the Ali-CCP pitfall, where the ctcvr label leaked in as a feature and AUC read 1.0):
 * a feature whose source column is any label's source column is refused at declaration time.
 */
import { z } from 'zod';
export declare const FIELD_KINDS: readonly ['categorical', 'multi_hot', 'sequence', 'numeric', 'label'];
export type FieldKind = (typeof FIELD_KINDS)[number];
export declare const FIELD_GROUPS: readonly ['user', 'item', 'context', 'privileged'];
export type FieldGroup = (typeof FIELD_GROUPS)[number];
export type Pooling = 'sum' | 'mean';
export type Normalization = 'none' | 'standard' | 'log1p' | 'minmax';
export declare const fieldDecl: z.ZodObject<{
    name: z.ZodString;
    kind: z.ZodEnum<{
        categorical: "categorical";
        label: "label";
        multi_hot: "multi_hot";
        numeric: "numeric";
        sequence: "sequence";
    }>;
    group: z.ZodOptional<z.ZodEnum<{
        context: "context";
        item: "item";
        privileged: "privileged";
        user: "user";
    }>>;
    source: z.ZodOptional<z.ZodString>;
    hashBuckets: z.ZodOptional<z.ZodNumber>;
    minCount: z.ZodOptional<z.ZodNumber>;
    maxLen: z.ZodOptional<z.ZodNumber>;
    pooling: z.ZodOptional<z.ZodEnum<{
        mean: "mean";
        sum: "sum";
    }>>;
    poolFrom: z.ZodOptional<z.ZodString>;
    normalize: z.ZodOptional<z.ZodEnum<{
        log1p: "log1p";
        minmax: "minmax";
        none: "none";
        standard: "standard";
    }>>;
    embedding: z.ZodOptional<z.ZodObject<{
        dim: z.ZodOptional<z.ZodNumber>;
        share: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>>;
    description: z.ZodOptional<z.ZodString>;
}, z.core.$strict>;
export declare const schemaDecl: z.ZodObject<{
    fields: z.ZodArray<z.ZodObject<{
        name: z.ZodString;
        kind: z.ZodEnum<{
            categorical: "categorical";
            label: "label";
            multi_hot: "multi_hot";
            numeric: "numeric";
            sequence: "sequence";
        }>;
        group: z.ZodOptional<z.ZodEnum<{
            context: "context";
            item: "item";
            privileged: "privileged";
            user: "user";
        }>>;
        source: z.ZodOptional<z.ZodString>;
        hashBuckets: z.ZodOptional<z.ZodNumber>;
        minCount: z.ZodOptional<z.ZodNumber>;
        maxLen: z.ZodOptional<z.ZodNumber>;
        pooling: z.ZodOptional<z.ZodEnum<{
            mean: "mean";
            sum: "sum";
        }>>;
        poolFrom: z.ZodOptional<z.ZodString>;
        normalize: z.ZodOptional<z.ZodEnum<{
            log1p: "log1p";
            minmax: "minmax";
            none: "none";
            standard: "standard";
        }>>;
        embedding: z.ZodOptional<z.ZodObject<{
            dim: z.ZodOptional<z.ZodNumber>;
            share: z.ZodOptional<z.ZodString>;
        }, z.core.$strict>>;
        description: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>>;
}, z.core.$strict>;
export type FieldDecl = z.infer<typeof fieldDecl>;
export type SchemaDecl = z.infer<typeof schemaDecl>;
/** A resolved field: defaults applied. */
export interface Field {
    readonly name: string;
    readonly kind: FieldKind;
    /** Undefined only for labels. */
    readonly group: FieldGroup | undefined;
    readonly source: string;
    readonly hashBuckets: number | undefined;
    readonly minCount: number;
    readonly maxLen: number;
    readonly pooling: Pooling;
    readonly poolFrom: string | undefined;
    readonly normalize: Normalization;
    readonly embeddingDim: number | undefined;
    /**
     * Name of the embedding table this field reads: `embedding.share` if given, else the poolFrom
     * field's table, else the field's own name. Models create tables by this name in a shared
     * registry, which is how teacher and student share embeddings.
     */
    readonly table: string;
    readonly description: string | undefined;
}
/** Statistics fitted on the train split for a numeric field (applied by `normalizeValue`). */
export interface NumericStats {
    mean: number;
    std: number;
    min: number;
    max: number;
}
/** What fitting on the train split adds to a schema: table sizes and numeric stats. */
export interface SchemaFit {
    /** Rows of each embedding table (by table name), OOV row 0 included. */
    tableSizes: Record<string, number>;
    numericStats: Record<string, NumericStats>;
}
/** Formats zod issues as `path: message` lines (path like `fields[2].kind`). */
export declare function formatZodIssues(err: z.ZodError, where: string): string;
export declare class Schema {
    readonly fit: SchemaFit | null;
    readonly fields: readonly Field[];
    private readonly byName;
    /**
     * Validates a declaration. `where` names the file (or dataset) for error messages.
     * Throws listing every problem with its path.
     */
    constructor(decl: unknown, fit?: SchemaFit | null, where?: string);
    readonly decl: SchemaDecl;
    /** Parses a schema from a YAML/JSON object; `where` is the file name used in errors. */
    static parse(decl: unknown, where?: string): Schema;
    /** The same schema with train-split statistics attached. */
    withFit(fit: SchemaFit): Schema;
    has(name: string): boolean;
    field(name: string): Field;
    get features(): Field[];
    get labels(): Field[];
    inGroups(groups: readonly FieldGroup[]): Field[];
    /** Embedding table rows for a table name (after fitting). */
    tableSize(table: string): number;
    numericStats(name: string): NumericStats;
    /**
     * The fields a model may see. `consumer` names the model part for error messages, e.g.
     * `twoTower.userTower`. Throws if a group is unknown.
     */
    view(allowedGroups: readonly FieldGroup[], consumer: string): SchemaView;
    toJSON(): {
        decl: SchemaDecl;
        fit: SchemaFit | null;
    };
    static fromJSON(j: {
        decl: unknown;
        fit: SchemaFit | null;
    }): Schema;
}
/** A model's window onto the schema: only the fields of its allowed groups (labels excluded). */
export declare class SchemaView {
    private readonly schema;
    readonly groups: readonly FieldGroup[];
    readonly consumer: string;
    readonly fields: readonly Field[];
    constructor(schema: Schema, groups: readonly FieldGroup[], consumer: string);
    has(name: string): boolean;
    /** The field, or a thrown error when it lies outside this view's groups. */
    field(name: string): Field;
    /** A narrower view (e.g. the user tower inside a two-tower view); cannot widen. */
    narrow(groups: readonly FieldGroup[], consumer: string): SchemaView;
    get categorical(): Field[];
    /** multi_hot and sequence fields (both are padded id lists). */
    get lists(): Field[];
    get numeric(): Field[];
    tableSize(table: string): number;
}
/**
 * Applies a numeric field's normalisation in place, with statistics fitted on the train split.
 * Training, evaluation and serving all call this one function so the transform cannot drift.
 */
export declare function normalizeInPlace(values: Float32Array, kind: Normalization, s: NumericStats): Float32Array;

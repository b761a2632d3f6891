/**
 * Feature embedding shared by every model: the "embedding layer" of the Embedding&MLP paradigm
 * (Covington et al., "Deep Neural Networks for YouTube Recommendations", RecSys'16, §3; Cheng et
 * al., "Wide & Deep", DLRS'16, §3.2): each categorical id becomes a dense vector, each multi-hot /
 * sequence field a pooled (sum or mean) vector, numerics pass through (already normalised with
 * train-split statistics by src/data), and the pieces are concatenated into one [B, D] input.
 *
 * Tables live in a `TableRegistry` keyed by the schema's table name (`Field.table`: the field's
 * `embedding.share`, else its `poolFrom` field's table, else its own name). A teacher and a student
 * built with the same registry therefore share the table of every field they both read — the
 * shared-embedding setup of joint distillation (Zhou et al., "Rocket Launching", AAAI'18, §3.2;
 * Xu et al., "Privileged Features Distillation at Taobao", KDD'20, §4.3). `registry.namespace(p)`
 * gives a separate set of tables for fields a model must not share (the "separate student user-id
 * embedding" option).
 *
 * Group enforcement is the SchemaView's: an embedder only reads fields its view allows, and asking
 * for any other field throws (src/data/schema.ts).
 */
import type { Batch } from '../data/batch.js';
import type { Field, Schema, SchemaView } from '../data/schema.js';
import { EmbeddingTable } from '../engine/embedding.js';
import type { Graph } from '../engine/graph.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { ExportedInput } from './types.js';
export interface TableRegistryOptions {
    /** Std of the normal initialiser of new tables (default 0.05). */
    initStd?: number;
}
/**
 * Embedding tables by name. Asking twice for the same name returns the same table (shared); asking
 * with a different vocab or dim is refused, because two models silently reading one table at two
 * widths would be a configuration error.
 */
export declare class TableRegistry {
    private readonly prefix;
    private readonly root;
    private readonly initStd;
    constructor(opts?: TableRegistryOptions, root?: Map<string, EmbeddingTable>, prefix?: string);
    /** Full (checkpoint) name of a table: `emb.<table>`, or `<namespace>/emb.<table>`. */
    fullName(tableName: string): string;
    getOrCreate(tableName: string, vocab: number, dim: number, rng: Rng): EmbeddingTable;
    /** A registry over the same storage whose tables are private to `prefix` (e.g. `student`). */
    namespace(prefix: string): TableRegistry;
    /** Every table created through this registry or any of its namespaces. */
    tables(): EmbeddingTable[];
}
export interface FeatureEmbedderOptions {
    /** Embedding width for fields whose schema declares none. */
    dim: number;
    /** Read only these fields (each must be in the view's groups); default: every field of the view. */
    fields?: readonly string[];
    /** Tables this model keeps private (see `separateTables`). */
    separate?: SeparateTables;
}
/**
 * Tables a model keeps to itself: the tables of the named fields, created in the model's own
 * registry namespace. Keyed by TABLE, so a field pooled from a separated field's table (a history
 * of item ids when item_id is separated) reads the private table too.
 */
export interface SeparateTables {
    tables: ReadonlySet<string>;
    registry: TableRegistry;
}
export declare function separateTables(schema: Schema, fields: readonly string[] | undefined, registry: TableRegistry, modelName: string): SeparateTables | undefined;
/** Throws unless every separated table is read by one of the embedders (a typo would be silent). */
export declare function assertSeparateRead(sep: SeparateTables | undefined, embedders: readonly FeatureEmbedder[], modelName: string): void;
/** One embedded id field of a batch: its pooled vector, [B, dim]. */
export interface EmbeddedField {
    field: Field;
    table: EmbeddingTable;
    out: Tensor;
}
export interface EmbeddedBatch {
    /** Categorical, multi-hot and sequence fields, in schema order. */
    ids: EmbeddedField[];
    /** Numeric fields as one [B, nNumeric] block (columns in `numericFields` order), or null. */
    numeric: Tensor | null;
}
/** Turns the fields of a SchemaView in a Batch into embeddings (and one concatenated input). */
export declare class FeatureEmbedder {
    readonly idFields: readonly Field[];
    readonly numericFields: readonly Field[];
    readonly tables: readonly EmbeddingTable[];
    /** Width of `forward`'s output. */
    readonly outDim: number;
    readonly consumer: string;
    constructor(view: SchemaView, registry: TableRegistry, opts: FeatureEmbedderOptions, rng: Rng);
    /** Names of all fields read, id fields first, then numerics. */
    get fieldNames(): string[];
    /** Distinct tables (a history field pooled from the item table reuses that table). */
    distinctTables(): EmbeddingTable[];
    /** The id column of an id field in a batch as (ids, bagLen): categorical fields are bags of one. */
    idsOf(batch: Batch, f: Field): {
        ids: Int32Array;
        bagLen: number;
    };
    embed(g: Graph, batch: Batch): EmbeddedBatch;
    /** The concatenated input [B, outDim]: id-field embeddings in schema order, then numerics. */
    forward(g: Graph, batch: Batch): Tensor;
    /** How `forward`'s output is laid out, for tower export. */
    describe(): ExportedInput[];
    private missing;
}

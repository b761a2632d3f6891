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
import { normal } from '../engine/init.js';
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
export class TableRegistry {
  private readonly prefix: string;
  private readonly root: Map<string, EmbeddingTable>;
  private readonly initStd: number;

  constructor(opts: TableRegistryOptions = {}, root?: Map<string, EmbeddingTable>, prefix = '') {
    this.initStd = opts.initStd ?? 0.05;
    if (!(this.initStd >= 0)) throw new Error(`TableRegistry: initStd must be ≥ 0, got ${opts.initStd}`);
    this.root = root ?? new Map();
    this.prefix = prefix;
  }

  /** Full (checkpoint) name of a table: `emb.<table>`, or `<namespace>/emb.<table>`. */
  fullName(tableName: string): string {
    return `${this.prefix}emb.${tableName}`;
  }

  getOrCreate(tableName: string, vocab: number, dim: number, rng: Rng): EmbeddingTable {
    const name = this.fullName(tableName);
    const t = this.root.get(name);
    if (t !== undefined) {
      if (t.vocab !== vocab || t.dim !== dim) {
        throw new Error(
          `embedding table '${name}' exists with vocab ${t.vocab} × dim ${t.dim}, but was requested as ${vocab} × ${dim}: ` +
            'models sharing a table must use the same embedding dim (set it per field in the schema, or use a separate namespace)',
        );
      }
      return t;
    }
    // Each table draws from its own stream named after it, so creation order never changes weights.
    const init = normal(this.initStd);
    const r = rng.fork(`table:${name}`);
    const table = new EmbeddingTable(name, vocab, dim, (w) => init(w, vocab, dim, r));
    this.root.set(name, table);
    return table;
  }

  /** A registry over the same storage whose tables are private to `prefix` (e.g. `student`). */
  namespace(prefix: string): TableRegistry {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(prefix))
      throw new Error(`TableRegistry.namespace: bad prefix '${prefix}'`);
    return new TableRegistry({ initStd: this.initStd }, this.root, `${this.prefix}${prefix}/`);
  }

  /** Every table created through this registry or any of its namespaces. */
  tables(): EmbeddingTable[] {
    return [...this.root.values()];
  }
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

export function separateTables(
  schema: Schema,
  fields: readonly string[] | undefined,
  registry: TableRegistry,
  modelName: string,
): SeparateTables | undefined {
  if (!fields?.length) return undefined;
  const tables = new Set<string>();
  for (const n of fields) {
    if (!schema.has(n)) throw new Error(`${modelName}.separateTables: no field '${n}' in the schema`);
    const f = schema.field(n);
    if (f.kind === 'numeric' || f.kind === 'label') {
      throw new Error(`${modelName}.separateTables: '${n}' is a ${f.kind} field and has no embedding table`);
    }
    tables.add(f.table);
  }
  return { tables, registry: registry.namespace(modelName) };
}

/** Throws unless every separated table is read by one of the embedders (a typo would be silent). */
export function assertSeparateRead(
  sep: SeparateTables | undefined,
  embedders: readonly FeatureEmbedder[],
  modelName: string,
): void {
  if (!sep) return;
  const read = new Set(embedders.flatMap((e) => e.idFields.map((f) => f.table)));
  for (const t of sep.tables) {
    if (!read.has(t))
      throw new Error(`${modelName}.separateTables: this model reads no field of table '${t}'`);
  }
}

/**
 * A model's embedders, one per view (a tower, a side, or the whole input), created in order from
 * one generator: fields the model keeps to itself (`separateTables`) read tables of its own
 * namespace, the others the shared registry; a separated table no embedder reads is refused.
 */
export function buildEmbedders(
  schema: Schema,
  registry: TableRegistry,
  rng: Rng,
  model: { name: string; embeddingDim: number; separateTables?: readonly string[] | undefined },
  views: readonly { view: SchemaView; fields?: readonly string[] | undefined }[],
): FeatureEmbedder[] {
  const sep = separateTables(schema, model.separateTables, registry, model.name);
  const embedders = views.map(
    ({ view, fields }) =>
      new FeatureEmbedder(view, registry, { dim: model.embeddingDim, fields, separate: sep }, rng),
  );
  assertSeparateRead(sep, embedders, model.name);
  return embedders;
}

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
export class FeatureEmbedder {
  readonly idFields: readonly Field[];
  readonly numericFields: readonly Field[];
  readonly tables: readonly EmbeddingTable[];
  /** Width of `forward`'s output. */
  readonly outDim: number;
  readonly consumer: string;

  constructor(view: SchemaView, registry: TableRegistry, opts: FeatureEmbedderOptions, rng: Rng) {
    this.consumer = view.consumer;
    if (!Number.isInteger(opts.dim) || opts.dim < 1) {
      throw new Error(`${view.consumer}: embedding dim must be a positive integer, got ${opts.dim}`);
    }
    // view.field throws for a field outside the allowed groups: that is the group enforcement.
    const fields = opts.fields ? opts.fields.map((n) => view.field(n)) : [...view.fields];
    if (fields.length === 0) {
      throw new Error(
        `${view.consumer}: no feature fields in groups ${view.groups.join(', ')} (check the schema's groups)`,
      );
    }
    this.idFields = fields.filter((f) => f.kind !== 'numeric');
    this.numericFields = fields.filter((f) => f.kind === 'numeric');
    const tables: EmbeddingTable[] = [];
    let width = this.numericFields.length;
    for (const f of this.idFields) {
      const reg = opts.separate?.tables.has(f.table) ? opts.separate.registry : registry;
      const dim = f.embeddingDim ?? opts.dim;
      tables.push(reg.getOrCreate(f.table, view.tableSize(f.table), dim, rng));
      width += dim;
    }
    this.tables = tables;
    this.outDim = width;
  }

  /** Names of all fields read, id fields first, then numerics. */
  get fieldNames(): string[] {
    return [...this.idFields.map((f) => f.name), ...this.numericFields.map((f) => f.name)];
  }

  /** Distinct tables (a history field pooled from the item table reuses that table). */
  distinctTables(): EmbeddingTable[] {
    return [...new Set(this.tables)];
  }

  /** The id column of an id field in a batch as (ids, bagLen): categorical fields are bags of one. */
  idsOf(batch: Batch, f: Field): { ids: Int32Array; bagLen: number } {
    if (f.kind === 'categorical') {
      const col = batch.cat[f.name];
      if (col === undefined) throw this.missing(batch, 'categorical', f.name, Object.keys(batch.cat));
      return { ids: col, bagLen: 1 };
    }
    const col = batch.seq[f.name];
    if (col === undefined) throw this.missing(batch, f.kind, f.name, Object.keys(batch.seq));
    return { ids: col.ids, bagLen: col.maxLen };
  }

  embed(g: Graph, batch: Batch): EmbeddedBatch {
    const B = batch.size;
    const ids: EmbeddedField[] = [];
    for (let i = 0; i < this.idFields.length; i++) {
      const f = this.idFields[i]!;
      const table = this.tables[i]!;
      const { ids: col, bagLen } = this.idsOf(batch, f);
      ids.push({
        field: f,
        table,
        out: g.embeddingBag(table, col, B, bagLen, f.kind === 'categorical' ? 'sum' : f.pooling),
      });
    }
    let numeric: Tensor | null = null;
    if (this.numericFields.length > 0) {
      const cols = this.numericFields.map((f) => {
        const col = batch.num[f.name];
        if (col === undefined) throw this.missing(batch, 'numeric', f.name, Object.keys(batch.num));
        return g.input(col, [B]);
      });
      // concat takes [B] parts as columns and copies them into the graph's arena.
      numeric = g.concat(cols);
    }
    return { ids, numeric };
  }

  /** The concatenated input [B, outDim]: id-field embeddings in schema order, then numerics. */
  forward(g: Graph, batch: Batch): Tensor {
    const { ids, numeric } = this.embed(g, batch);
    const parts = ids.map((e) => e.out);
    if (numeric) parts.push(numeric);
    return parts.length === 1 ? parts[0]! : g.concat(parts);
  }

  /** How `forward`'s output is laid out, for tower export. */
  describe(): ExportedInput[] {
    const out: ExportedInput[] = this.idFields.map((f, i) => ({
      field: f.name,
      kind: f.kind as ExportedInput['kind'],
      table: this.tables[i]!.name,
      dim: this.tables[i]!.dim,
      ...(f.kind === 'categorical' ? {} : { pooling: f.pooling }),
    }));
    for (const f of this.numericFields)
      out.push({ field: f.name, kind: 'numeric', dim: 1, normalize: f.normalize });
    return out;
  }

  private missing(batch: Batch, kind: string, name: string, present: string[]): Error {
    return new Error(
      `${this.consumer}: batch (${batch.size} rows) has no ${kind} column '${name}' ` +
        `(${kind === 'numeric' ? 'num' : kind === 'categorical' ? 'cat' : 'seq'} columns present: ${present.join(', ') || 'none'})`,
    );
  }
}

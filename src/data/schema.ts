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
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type Normalization, type NumericStats, normalizeInPlace } from './normalize.js';

export { type Normalization, type NumericStats, normalizeInPlace };

export const FIELD_KINDS = ['categorical', 'multi_hot', 'sequence', 'numeric', 'label'] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];
export const FIELD_GROUPS = ['user', 'item', 'context', 'privileged'] as const;
export type FieldGroup = (typeof FIELD_GROUPS)[number];
export type Pooling = 'sum' | 'mean';

const embeddingDecl = z
  .object({
    /** Embedding width; the model's default when absent. */
    dim: z.number().int().positive().optional(),
    /** Name of a table shared with other fields/models (teacher and student share it by default). */
    share: z.string().min(1).optional(),
  })
  .strict();

export const fieldDecl = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier (letters, digits, _)'),
    kind: z.enum(FIELD_KINDS),
    group: z.enum(FIELD_GROUPS).optional(),
    /** Column in the source table; defaults to `name`. */
    source: z.string().min(1).optional(),
    /** categorical/multi_hot/sequence: hash into this many buckets instead of building a vocab. */
    hashBuckets: z.number().int().positive().optional(),
    /** Vocab fields: ids seen fewer times in train map to OOV. */
    minCount: z.number().int().positive().optional(),
    /** multi_hot/sequence: fixed length (padded with −1, truncated keeping the LAST ids). */
    maxLen: z.number().int().positive().optional(),
    pooling: z.enum(['sum', 'mean']).optional(),
    /** multi_hot/sequence: use this categorical field's vocab and embedding table. */
    poolFrom: z.string().optional(),
    /** numeric: normalisation, stats fitted on the train split only. */
    normalize: z.enum(['none', 'standard', 'log1p', 'minmax']).optional(),
    embedding: embeddingDecl.optional(),
    description: z.string().optional(),
  })
  .strict();

export const schemaDecl = z
  .object({
    fields: z.array(fieldDecl).min(1),
  })
  .strict();

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

/** What fitting on the train split adds to a schema: table sizes and numeric stats. */
export interface SchemaFit {
  /** Rows of each embedding table (by table name), OOV row 0 included. */
  tableSizes: Record<string, number>;
  numericStats: Record<string, NumericStats>;
}

/** Formats zod issues as `path: message` lines (path like `fields[2].kind`). */
export function formatZodIssues(err: z.ZodError, where: string): string {
  const lines = err.issues.map((iss) => {
    let p = '';
    for (const k of iss.path) p += typeof k === 'number' ? `[${k}]` : p ? `.${String(k)}` : String(k);
    return `  ${p || '(root)'}: ${iss.message}`;
  });
  return `${where}: invalid schema\n${lines.join('\n')}`;
}

export class Schema {
  readonly fields: readonly Field[];
  private readonly byName = new Map<string, Field>();

  /**
   * Validates a declaration. `where` names the file (or dataset) for error messages.
   * Throws listing every problem with its path.
   */
  constructor(
    decl: unknown,
    readonly fit: SchemaFit | null = null,
    where = 'schema',
  ) {
    const parsed = schemaDecl.safeParse(decl);
    if (!parsed.success) throw new Error(formatZodIssues(parsed.error, where));
    this.decl = parsed.data;
    const problems: string[] = [];
    const fields: Field[] = [];
    parsed.data.fields.forEach((f, i) => {
      const at = `fields[${i}] '${f.name}'`;
      if (this.byName.has(f.name)) problems.push(`${at}: duplicate field name`);
      if (f.kind === 'label' && f.group) problems.push(`${at}: a label has no group`);
      if (f.kind !== 'label' && !f.group)
        problems.push(`${at}: group is required (one of ${FIELD_GROUPS.join(', ')})`);
      const isList = f.kind === 'multi_hot' || f.kind === 'sequence';
      if (isList && !f.maxLen) problems.push(`${at}: ${f.kind} needs maxLen`);
      if (!isList && (f.maxLen || f.pooling || f.poolFrom))
        problems.push(`${at}: maxLen/pooling/poolFrom apply to multi_hot and sequence only`);
      if (f.kind !== 'numeric' && f.normalize)
        problems.push(`${at}: normalize applies to numeric fields only`);
      if ((f.kind === 'numeric' || f.kind === 'label') && (f.hashBuckets || f.embedding || f.minCount)) {
        problems.push(`${at}: hashBuckets/minCount/embedding apply to id fields only`);
      }
      if (f.poolFrom && f.hashBuckets)
        problems.push(`${at}: poolFrom uses the other field's ids; do not also set hashBuckets`);
      const table = f.embedding?.share ?? f.name;
      const field: Field = {
        name: f.name,
        kind: f.kind,
        group: f.group,
        source: f.source ?? f.name,
        hashBuckets: f.hashBuckets,
        minCount: f.minCount ?? 1,
        maxLen: isList ? (f.maxLen ?? 1) : 1,
        pooling: f.pooling ?? 'mean',
        poolFrom: f.poolFrom,
        normalize: f.normalize ?? 'none',
        embeddingDim: f.embedding?.dim,
        table,
        description: f.description,
      };
      fields.push(field);
      this.byName.set(f.name, field);
    });
    // Resolve poolFrom tables after all names are known.
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (!f.poolFrom) continue;
      const src = this.byName.get(f.poolFrom);
      if (!src) problems.push(`fields[${i}] '${f.name}': poolFrom '${f.poolFrom}' is not a declared field`);
      else if (src.kind !== 'categorical')
        problems.push(`fields[${i}] '${f.name}': poolFrom '${f.poolFrom}' must be a categorical field`);
      else {
        const resolved: Field = { ...f, table: src.table, hashBuckets: src.hashBuckets };
        fields[i] = resolved;
        this.byName.set(f.name, resolved);
      }
    }
    // Label guard: no feature may read a label's source column.
    const labelSources = new Map(
      fields.filter((f) => f.kind === 'label').map((f) => [f.source.toLowerCase(), f.name]),
    );
    for (const f of fields) {
      if (f.kind === 'label') continue;
      const lab = labelSources.get(f.source.toLowerCase());
      if (lab !== undefined) {
        problems.push(
          `field '${f.name}' (${f.group}) reads column '${f.source}', which is the source of label '${lab}': a label can never be a feature`,
        );
      }
    }
    // Fields sharing a table must agree on how ids are made.
    const tableOwner = new Map<string, Field>();
    for (const f of fields) {
      if (f.kind === 'numeric' || f.kind === 'label') continue;
      const o = tableOwner.get(f.table);
      if (!o) tableOwner.set(f.table, f);
      else if ((o.hashBuckets ?? 0) !== (f.hashBuckets ?? 0)) {
        problems.push(
          `fields '${o.name}' and '${f.name}' share table '${f.table}' but differ in hashBuckets`,
        );
      }
    }
    if (problems.length)
      throw new Error(`${where}: invalid schema\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.fields = fields;
  }

  readonly decl: SchemaDecl;

  /** Parses a schema from a YAML/JSON object; `where` is the file name used in errors. */
  static parse(decl: unknown, where = 'schema'): Schema {
    return new Schema(decl, null, where);
  }

  /** The same schema with train-split statistics attached. */
  withFit(fit: SchemaFit): Schema {
    return new Schema(this.decl, fit);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  field(name: string): Field {
    const f = this.byName.get(name);
    if (!f)
      throw new Error(`schema has no field '${name}' (fields: ${this.fields.map((x) => x.name).join(', ')})`);
    return f;
  }

  get features(): Field[] {
    return this.fields.filter((f) => f.kind !== 'label');
  }

  get labels(): Field[] {
    return this.fields.filter((f) => f.kind === 'label');
  }

  inGroups(groups: readonly FieldGroup[]): Field[] {
    return this.fields.filter((f) => f.group !== undefined && groups.includes(f.group));
  }

  /** Embedding table rows for a table name (after fitting). */
  tableSize(table: string): number {
    const n = this.fit?.tableSizes[table];
    if (n === undefined) {
      throw new Error(
        this.fit
          ? `schema fit has no table '${table}'`
          : `schema is not fitted yet: table sizes come from the train split (use the LoadedDataset's schema)`,
      );
    }
    return n;
  }

  numericStats(name: string): NumericStats {
    const s = this.fit?.numericStats[name];
    if (!s)
      throw new Error(
        this.fit
          ? `schema fit has no numeric stats for '${name}'`
          : `schema is not fitted yet: numeric stats come from the train split`,
      );
    return s;
  }

  /**
   * The fields a model may see. `consumer` names the model part for error messages, e.g.
   * `twoTower.userTower`. Throws if a group is unknown.
   */
  view(allowedGroups: readonly FieldGroup[], consumer: string): SchemaView {
    for (const g of allowedGroups)
      if (!FIELD_GROUPS.includes(g)) throw new Error(`${consumer}: unknown field group '${g}'`);
    return new SchemaView(this, allowedGroups, consumer);
  }

  toJSON(): { decl: SchemaDecl; fit: SchemaFit | null } {
    return { decl: this.decl, fit: this.fit };
  }

  static fromJSON(j: { decl: unknown; fit: SchemaFit | null }): Schema {
    return new Schema(j.decl, j.fit);
  }
}

/** A model's window onto the schema: only the fields of its allowed groups (labels excluded). */
export class SchemaView {
  readonly fields: readonly Field[];

  constructor(
    private readonly schema: Schema,
    readonly groups: readonly FieldGroup[],
    readonly consumer: string,
  ) {
    this.fields = schema.inGroups(groups);
  }

  has(name: string): boolean {
    return this.fields.some((f) => f.name === name);
  }

  /** The field, or a thrown error when it lies outside this view's groups. */
  field(name: string): Field {
    const f = this.schema.field(name);
    if (f.kind === 'label') throw new Error(`${this.consumer} may not read label '${name}' as a feature`);
    if (!this.groups.includes(f.group!)) {
      throw new Error(
        `${this.consumer} may not read ${f.group} field '${name}' (allowed groups: ${this.groups.join(', ')})`,
      );
    }
    return f;
  }

  /** A narrower view (e.g. the user tower inside a two-tower view); cannot widen. */
  narrow(groups: readonly FieldGroup[], consumer: string): SchemaView {
    for (const g of groups) {
      if (!this.groups.includes(g))
        throw new Error(
          `${consumer} may not read ${g} fields: ${this.consumer} only sees ${this.groups.join(', ')}`,
        );
    }
    return new SchemaView(this.schema, groups, consumer);
  }

  get categorical(): Field[] {
    return this.fields.filter((f) => f.kind === 'categorical');
  }
  /** multi_hot and sequence fields (both are padded id lists). */
  get lists(): Field[] {
    return this.fields.filter((f) => f.kind === 'multi_hot' || f.kind === 'sequence');
  }
  get numeric(): Field[] {
    return this.fields.filter((f) => f.kind === 'numeric');
  }

  tableSize(table: string): number {
    return this.schema.tableSize(table);
  }
}

/**
 * Applies a numeric field's normalisation in place, with statistics fitted on the train split.
 * Training, evaluation and serving all call this one function so the transform cannot drift.
 */
/**
 * The field that identifies a user or an item among `fields`: a categorical field of that group
 * named like an id (user_id, uid, item_id, iid, movie_id, …), else, when `fallback` is set, the
 * group's first categorical field. One rule for training (separate user-id tables), evaluation
 * (popularity baseline) and export (cold-start and catalogue lookups).
 */
export function idField(fields: readonly Field[], group: 'user' | 'item', fallback = true): string | null {
  const cats = fields.filter((f) => f.group === group && f.kind === 'categorical');
  const re = group === 'user' ? /^(user_?id|uid|user)$/i : /^(item_?id|iid|item|movie_?id)$/i;
  return (cats.find((f) => re.test(f.name)) ?? (fallback ? cats[0] : undefined))?.name ?? null;
}

/** Reads a schema declaration from a YAML or JSON file (`fields: [...]`); errors name the file. */
export function readSchemaFile(path: string): SchemaDecl {
  let raw: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: cannot read schema: ${(e as Error).message}`);
  }
  return Schema.parse(raw, path).decl;
}

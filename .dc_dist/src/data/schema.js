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
export const FIELD_KINDS = ['categorical', 'multi_hot', 'sequence', 'numeric', 'label'];
export const FIELD_GROUPS = ['user', 'item', 'context', 'privileged'];
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
/** Formats zod issues as `path: message` lines (path like `fields[2].kind`). */
export function formatZodIssues(err, where) {
    const lines = err.issues.map((iss) => {
        let p = '';
        for (const k of iss.path)
            p += typeof k === 'number' ? `[${k}]` : p ? `.${String(k)}` : String(k);
        return `  ${p || '(root)'}: ${iss.message}`;
    });
    return `${where}: invalid schema\n${lines.join('\n')}`;
}
export class Schema {
    fit;
    fields;
    byName = new Map();
    /**
     * Validates a declaration. `where` names the file (or dataset) for error messages.
     * Throws listing every problem with its path.
     */
    constructor(decl, fit = null, where = 'schema') {
        this.fit = fit;
        const parsed = schemaDecl.safeParse(decl);
        if (!parsed.success)
            throw new Error(formatZodIssues(parsed.error, where));
        this.decl = parsed.data;
        const problems = [];
        const fields = [];
        parsed.data.fields.forEach((f, i) => {
            const at = `fields[${i}] '${f.name}'`;
            if (this.byName.has(f.name))
                problems.push(`${at}: duplicate field name`);
            if (f.kind === 'label' && f.group)
                problems.push(`${at}: a label has no group`);
            if (f.kind !== 'label' && !f.group)
                problems.push(`${at}: group is required (one of ${FIELD_GROUPS.join(', ')})`);
            const isList = f.kind === 'multi_hot' || f.kind === 'sequence';
            if (isList && !f.maxLen)
                problems.push(`${at}: ${f.kind} needs maxLen`);
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
            const field = {
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
            const f = fields[i];
            if (!f.poolFrom)
                continue;
            const src = this.byName.get(f.poolFrom);
            if (!src)
                problems.push(`fields[${i}] '${f.name}': poolFrom '${f.poolFrom}' is not a declared field`);
            else if (src.kind !== 'categorical')
                problems.push(`fields[${i}] '${f.name}': poolFrom '${f.poolFrom}' must be a categorical field`);
            else {
                const resolved = { ...f, table: src.table, hashBuckets: src.hashBuckets };
                fields[i] = resolved;
                this.byName.set(f.name, resolved);
            }
        }
        // Label guard: no feature may read a label's source column.
        const labelSources = new Map(fields.filter((f) => f.kind === 'label').map((f) => [f.source.toLowerCase(), f.name]));
        for (const f of fields) {
            if (f.kind === 'label')
                continue;
            const lab = labelSources.get(f.source.toLowerCase());
            if (lab !== undefined) {
                problems.push(`field '${f.name}' (${f.group}) reads column '${f.source}', which is the source of label '${lab}': a label can never be a feature`);
            }
        }
        // Fields sharing a table must agree on how ids are made.
        const tableOwner = new Map();
        for (const f of fields) {
            if (f.kind === 'numeric' || f.kind === 'label')
                continue;
            const o = tableOwner.get(f.table);
            if (!o)
                tableOwner.set(f.table, f);
            else if ((o.hashBuckets ?? 0) !== (f.hashBuckets ?? 0)) {
                problems.push(`fields '${o.name}' and '${f.name}' share table '${f.table}' but differ in hashBuckets`);
            }
        }
        if (problems.length)
            throw new Error(`${where}: invalid schema\n${problems.map((p) => `  ${p}`).join('\n')}`);
        this.fields = fields;
    }
    decl;
    /** Parses a schema from a YAML/JSON object; `where` is the file name used in errors. */
    static parse(decl, where = 'schema') {
        return new Schema(decl, null, where);
    }
    /** The same schema with train-split statistics attached. */
    withFit(fit) {
        return new Schema(this.decl, fit);
    }
    has(name) {
        return this.byName.has(name);
    }
    field(name) {
        const f = this.byName.get(name);
        if (!f)
            throw new Error(`schema has no field '${name}' (fields: ${this.fields.map((x) => x.name).join(', ')})`);
        return f;
    }
    get features() {
        return this.fields.filter((f) => f.kind !== 'label');
    }
    get labels() {
        return this.fields.filter((f) => f.kind === 'label');
    }
    inGroups(groups) {
        return this.fields.filter((f) => f.group !== undefined && groups.includes(f.group));
    }
    /** Embedding table rows for a table name (after fitting). */
    tableSize(table) {
        const n = this.fit?.tableSizes[table];
        if (n === undefined) {
            throw new Error(this.fit
                ? `schema fit has no table '${table}'`
                : `schema is not fitted yet: table sizes come from the train split (use the LoadedDataset's schema)`);
        }
        return n;
    }
    numericStats(name) {
        const s = this.fit?.numericStats[name];
        if (!s)
            throw new Error(this.fit
                ? `schema fit has no numeric stats for '${name}'`
                : `schema is not fitted yet: numeric stats come from the train split`);
        return s;
    }
    /**
     * The fields a model may see. `consumer` names the model part for error messages, e.g.
     * `twoTower.userTower`. Throws if a group is unknown.
     */
    view(allowedGroups, consumer) {
        for (const g of allowedGroups)
            if (!FIELD_GROUPS.includes(g))
                throw new Error(`${consumer}: unknown field group '${g}'`);
        return new SchemaView(this, allowedGroups, consumer);
    }
    toJSON() {
        return { decl: this.decl, fit: this.fit };
    }
    static fromJSON(j) {
        return new Schema(j.decl, j.fit);
    }
}
/** A model's window onto the schema: only the fields of its allowed groups (labels excluded). */
export class SchemaView {
    schema;
    groups;
    consumer;
    fields;
    constructor(schema, groups, consumer) {
        this.schema = schema;
        this.groups = groups;
        this.consumer = consumer;
        this.fields = schema.inGroups(groups);
    }
    has(name) {
        return this.fields.some((f) => f.name === name);
    }
    /** The field, or a thrown error when it lies outside this view's groups. */
    field(name) {
        const f = this.schema.field(name);
        if (f.kind === 'label')
            throw new Error(`${this.consumer} may not read label '${name}' as a feature`);
        if (!this.groups.includes(f.group)) {
            throw new Error(`${this.consumer} may not read ${f.group} field '${name}' (allowed groups: ${this.groups.join(', ')})`);
        }
        return f;
    }
    /** A narrower view (e.g. the user tower inside a two-tower view); cannot widen. */
    narrow(groups, consumer) {
        for (const g of groups) {
            if (!this.groups.includes(g))
                throw new Error(`${consumer} may not read ${g} fields: ${this.consumer} only sees ${this.groups.join(', ')}`);
        }
        return new SchemaView(this.schema, groups, consumer);
    }
    get categorical() {
        return this.fields.filter((f) => f.kind === 'categorical');
    }
    /** multi_hot and sequence fields (both are padded id lists). */
    get lists() {
        return this.fields.filter((f) => f.kind === 'multi_hot' || f.kind === 'sequence');
    }
    get numeric() {
        return this.fields.filter((f) => f.kind === 'numeric');
    }
    tableSize(table) {
        return this.schema.tableSize(table);
    }
}
/**
 * Applies a numeric field's normalisation in place, with statistics fitted on the train split.
 * Training, evaluation and serving all call this one function so the transform cannot drift.
 */
export function normalizeInPlace(values, kind, s) {
    switch (kind) {
        case 'none':
            return values;
        case 'standard': {
            const inv = s.std > 0 ? 1 / s.std : 1;
            for (let i = 0; i < values.length; i++)
                values[i] = (values[i] - s.mean) * inv;
            return values;
        }
        case 'log1p':
            // Counts and durations: compress the heavy tail. Values below 0 are refused at fit time.
            for (let i = 0; i < values.length; i++)
                values[i] = Math.log1p(Math.max(values[i], 0));
            return values;
        case 'minmax': {
            const span = s.max - s.min;
            const inv = span > 0 ? 1 / span : 1;
            for (let i = 0; i < values.length; i++)
                values[i] = (values[i] - s.min) * inv;
            return values;
        }
    }
}
//# sourceMappingURL=schema.js.map
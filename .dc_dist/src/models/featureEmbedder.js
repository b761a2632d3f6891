import { EmbeddingTable } from '../engine/embedding.js';
import { normal } from '../engine/init.js';
/**
 * Embedding tables by name. Asking twice for the same name returns the same table (shared); asking
 * with a different vocab or dim is refused, because two models silently reading one table at two
 * widths would be a configuration error.
 */
export class TableRegistry {
    prefix;
    root;
    initStd;
    constructor(opts = {}, root, prefix = '') {
        this.initStd = opts.initStd ?? 0.05;
        if (!(this.initStd >= 0))
            throw new Error(`TableRegistry: initStd must be ≥ 0, got ${opts.initStd}`);
        this.root = root ?? new Map();
        this.prefix = prefix;
    }
    /** Full (checkpoint) name of a table: `emb.<table>`, or `<namespace>/emb.<table>`. */
    fullName(tableName) {
        return `${this.prefix}emb.${tableName}`;
    }
    getOrCreate(tableName, vocab, dim, rng) {
        const name = this.fullName(tableName);
        const t = this.root.get(name);
        if (t !== undefined) {
            if (t.vocab !== vocab || t.dim !== dim) {
                throw new Error(`embedding table '${name}' exists with vocab ${t.vocab} × dim ${t.dim}, but was requested as ${vocab} × ${dim}: ` +
                    'models sharing a table must use the same embedding dim (set it per field in the schema, or use a separate namespace)');
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
    namespace(prefix) {
        if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(prefix))
            throw new Error(`TableRegistry.namespace: bad prefix '${prefix}'`);
        return new TableRegistry({ initStd: this.initStd }, this.root, `${this.prefix}${prefix}/`);
    }
    /** Every table created through this registry or any of its namespaces. */
    tables() {
        return [...this.root.values()];
    }
}
export function separateTables(schema, fields, registry, modelName) {
    if (!fields?.length)
        return undefined;
    const tables = new Set();
    for (const n of fields) {
        if (!schema.has(n))
            throw new Error(`${modelName}.separateTables: no field '${n}' in the schema`);
        const f = schema.field(n);
        if (f.kind === 'numeric' || f.kind === 'label') {
            throw new Error(`${modelName}.separateTables: '${n}' is a ${f.kind} field and has no embedding table`);
        }
        tables.add(f.table);
    }
    return { tables, registry: registry.namespace(modelName) };
}
/** Throws unless every separated table is read by one of the embedders (a typo would be silent). */
export function assertSeparateRead(sep, embedders, modelName) {
    if (!sep)
        return;
    const read = new Set(embedders.flatMap((e) => e.idFields.map((f) => f.table)));
    for (const t of sep.tables) {
        if (!read.has(t))
            throw new Error(`${modelName}.separateTables: this model reads no field of table '${t}'`);
    }
}
/** Turns the fields of a SchemaView in a Batch into embeddings (and one concatenated input). */
export class FeatureEmbedder {
    idFields;
    numericFields;
    tables;
    /** Width of `forward`'s output. */
    outDim;
    consumer;
    constructor(view, registry, opts, rng) {
        this.consumer = view.consumer;
        if (!Number.isInteger(opts.dim) || opts.dim < 1) {
            throw new Error(`${view.consumer}: embedding dim must be a positive integer, got ${opts.dim}`);
        }
        // view.field throws for a field outside the allowed groups: that is the group enforcement.
        const fields = opts.fields ? opts.fields.map((n) => view.field(n)) : [...view.fields];
        if (fields.length === 0) {
            throw new Error(`${view.consumer}: no feature fields in groups ${view.groups.join(', ')} (check the schema's groups)`);
        }
        this.idFields = fields.filter((f) => f.kind !== 'numeric');
        this.numericFields = fields.filter((f) => f.kind === 'numeric');
        const tables = [];
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
    get fieldNames() {
        return [...this.idFields.map((f) => f.name), ...this.numericFields.map((f) => f.name)];
    }
    /** Distinct tables (a history field pooled from the item table reuses that table). */
    distinctTables() {
        return [...new Set(this.tables)];
    }
    /** The id column of an id field in a batch as (ids, bagLen): categorical fields are bags of one. */
    idsOf(batch, f) {
        if (f.kind === 'categorical') {
            const col = batch.cat[f.name];
            if (col === undefined)
                throw this.missing(batch, 'categorical', f.name, Object.keys(batch.cat));
            return { ids: col, bagLen: 1 };
        }
        const col = batch.seq[f.name];
        if (col === undefined)
            throw this.missing(batch, f.kind, f.name, Object.keys(batch.seq));
        return { ids: col.ids, bagLen: col.maxLen };
    }
    embed(g, batch) {
        const B = batch.size;
        const ids = [];
        for (let i = 0; i < this.idFields.length; i++) {
            const f = this.idFields[i];
            const table = this.tables[i];
            const { ids: col, bagLen } = this.idsOf(batch, f);
            ids.push({
                field: f,
                table,
                out: g.embeddingBag(table, col, B, bagLen, f.kind === 'categorical' ? 'sum' : f.pooling),
            });
        }
        let numeric = null;
        if (this.numericFields.length > 0) {
            const cols = this.numericFields.map((f) => {
                const col = batch.num[f.name];
                if (col === undefined)
                    throw this.missing(batch, 'numeric', f.name, Object.keys(batch.num));
                return g.input(col, [B]);
            });
            // concat takes [B] parts as columns and copies them into the graph's arena.
            numeric = g.concat(cols);
        }
        return { ids, numeric };
    }
    /** The concatenated input [B, outDim]: id-field embeddings in schema order, then numerics. */
    forward(g, batch) {
        const { ids, numeric } = this.embed(g, batch);
        const parts = ids.map((e) => e.out);
        if (numeric)
            parts.push(numeric);
        return parts.length === 1 ? parts[0] : g.concat(parts);
    }
    /** How `forward`'s output is laid out, for tower export. */
    describe() {
        const out = this.idFields.map((f, i) => ({
            field: f.name,
            kind: f.kind,
            table: this.tables[i].name,
            dim: this.tables[i].dim,
            ...(f.kind === 'categorical' ? {} : { pooling: f.pooling }),
        }));
        for (const f of this.numericFields)
            out.push({ field: f.name, kind: 'numeric', dim: 1, normalize: f.normalize });
        return out;
    }
    missing(batch, kind, name, present) {
        return new Error(`${this.consumer}: batch (${batch.size} rows) has no ${kind} column '${name}' ` +
            `(${kind === 'numeric' ? 'num' : kind === 'categorical' ? 'cat' : 'seq'} columns present: ${present.join(', ') || 'none'})`);
    }
}
//# sourceMappingURL=featureEmbedder.js.map
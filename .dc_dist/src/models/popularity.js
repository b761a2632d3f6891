import { EmbeddingTable } from '../engine/embedding.js';
import { ParamStore } from '../engine/nn.js';
import { bceHardLoss, labelColumn } from './hardLoss.js';
import { ones } from './stableMath.js';
export class Popularity {
    kind = 'popularity';
    name;
    store = new ParamStore();
    outputNames;
    supervised;
    scoreFn = 'dot';
    temperature = 1;
    itemField;
    /** Raw counts per item-id table row. */
    counts;
    table;
    /** Counts the training rows of `train` (e.g. `dataset.splits.train.columns`). */
    constructor(opts, schema, train) {
        this.name = opts.name;
        this.itemField = opts.itemField;
        this.outputNames = [opts.output];
        this.supervised = opts.label ? { [opts.output]: opts.label } : {};
        const field = schema.view(['item'], `${opts.name} (popularity)`).field(opts.itemField);
        if (field.kind !== 'categorical') {
            throw new Error(`${opts.name} (popularity): itemField '${opts.itemField}' must be categorical, is ${field.kind}`);
        }
        const n = schema.tableSize(field.table);
        const ids = train.cat[opts.itemField];
        if (ids === undefined) {
            throw new Error(`${opts.name} (popularity): training columns have no categorical column '${opts.itemField}'`);
        }
        const w = opts.label ? labelColumn(train, opts.label, opts.name) : null;
        this.counts = new Float64Array(n);
        for (let r = 0; r < train.size; r++) {
            const id = ids[r];
            if (id < 0 || id >= n)
                throw new Error(`${opts.name} (popularity): row ${r}: ${opts.itemField} = ${id}, expected 0..${n - 1}`);
            this.counts[id] += w ? w[r] : 1;
        }
        this.table = new EmbeddingTable(`${opts.name}.score`, n, 1, (t) => {
            for (let i = 0; i < n; i++)
                t[i] = Math.log1p(this.counts[i]);
        });
        this.table.trainable = false;
        this.store.add(this.table);
    }
    get fields() {
        return [this.itemField];
    }
    get userTowerFields() {
        return [];
    }
    get itemTowerFields() {
        return [this.itemField];
    }
    itemScores() {
        return this.table.weight.data;
    }
    /** The constant [1] per row. */
    userVectors(g, batch) {
        return ones(g, [batch.size, 1]);
    }
    /** [score_i] per row, [B, 1]. */
    itemVectors(g, batch) {
        const ids = batch.cat[this.itemField];
        if (ids === undefined)
            throw new Error(`${this.name} (popularity): batch has no categorical column '${this.itemField}'`);
        return g.embeddingBag(this.table, ids, batch.size, 1, 'sum');
    }
    forward(g, batch) {
        return { logits: { [this.outputNames[0]]: g.reshape(this.itemVectors(g, batch), [batch.size]) } };
    }
    /** The BCE of the popularity score (for reporting; nothing here has a gradient). */
    hardLoss(g, out, batch, weights) {
        if (Object.keys(this.supervised).length === 0) {
            throw new Error(`${this.name} (popularity): counts exposures (label: null), so it has no label to compute a loss against`);
        }
        return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
    }
    exportTowers() {
        return {
            kind: this.kind,
            scoreFn: 'dot',
            temperature: 1,
            user: { kind: 'constant', values: [1], outDim: 1 },
            item: {
                kind: 'mlp',
                inputs: [{ field: this.itemField, kind: 'categorical', table: this.table.name, dim: 1 }],
                layers: [],
                normalize: 'none',
                scale: 1,
                outDim: 1,
            },
        };
    }
}
//# sourceMappingURL=popularity.js.map
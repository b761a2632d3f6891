import { EmbeddingTable } from '../engine/embedding.js';
import { normal } from '../engine/init.js';
import { MLP, ParamStore } from '../engine/nn.js';
import { Rng } from '../engine/rng.js';
export const DSSM_REF = {
    userVocabs: [100_000, 100, 100, 100],
    itemVocabs: [200_000, 1_000, 10_000],
    dim: 32,
    tower: [256, 128, 64],
    seed: 1,
};
/** A small variant for tests: same structure, vocabularies and widths that train in milliseconds. */
export const DSSM_REF_TINY = {
    userVocabs: [200, 8, 8, 8],
    itemVocabs: [300, 16, 32],
    dim: 8,
    tower: [16, 8],
    seed: 1,
};
export const USER_FIELDS = ['user_id', 'user_f1', 'user_f2', 'user_f3'];
export const ITEM_FIELDS = ['item_id', 'category', 'brand'];
/** Column layout of a dssm-ref batch: one int id per field and row, plus the label. */
export function dssmRefColumns(cfg) {
    const cols = {};
    for (const f of fieldNames(cfg))
        cols[f] = { type: 'i32', width: 1 };
    cols['label'] = { type: 'f32', width: 1 };
    return cols;
}
function fieldNames(cfg) {
    const user = cfg.userVocabs.map((_, i) => USER_FIELDS[i] ?? `user_f${i}`);
    const item = cfg.itemVocabs.map((_, i) => ITEM_FIELDS[i] ?? `item_f${i}`);
    return Object.assign([...user, ...item], { user, item });
}
export class DssmRef {
    config;
    store = new ParamStore();
    userTables;
    itemTables;
    userTower;
    itemTower;
    userFields;
    itemFields;
    constructor(config) {
        this.config = config;
        const rng = new Rng(config.seed);
        const initRng = rng.fork('embeddings');
        const std = config.embeddingStd ?? 0.05;
        const table = (name, vocab) => this.store.add(new EmbeddingTable(name, vocab, config.dim, (w) => normal(std)(w, vocab, config.dim, initRng)));
        const names = fieldNames(config);
        this.userFields = names.user;
        this.itemFields = names.item;
        this.userTables = names.user.map((f, i) => table(`emb.${f}`, config.userVocabs[i]));
        this.itemTables = names.item.map((f, i) => table(`emb.${f}`, config.itemVocabs[i]));
        const towerRng = rng.fork('towers');
        this.userTower = this.store.add(new MLP('user_tower', [config.dim * names.user.length, ...config.tower], { activation: 'relu', dropout: config.dropout ?? 0 }, towerRng));
        this.itemTower = this.store.add(new MLP('item_tower', [config.dim * names.item.length, ...config.tower], { activation: 'relu', dropout: config.dropout ?? 0 }, towerRng));
    }
    tower(g, batch, fields, tables, mlp) {
        const parts = fields.map((f, i) => {
            const ids = batch.cols[f];
            if (!(ids instanceof Int32Array))
                throw new Error(`dssm-ref: batch column '${f}' must be an Int32Array of ids`);
            return g.embeddingBag(tables[i], ids, batch.rows, 1, 'sum');
        });
        return mlp.forward(g, g.concat(parts));
    }
    /** [B] logits: dot product of the user and item tower outputs. */
    logits(g, batch) {
        const u = this.tower(g, batch, this.userFields, this.userTables, this.userTower);
        const v = this.tower(g, batch, this.itemFields, this.itemTables, this.itemTower);
        return g.rowDot(u, v);
    }
    loss(g, batch) {
        const label = batch.cols['label'];
        if (!(label instanceof Float32Array))
            throw new Error("dssm-ref: batch column 'label' must be a Float32Array");
        return g.bceWithLogits(this.logits(g, batch), label);
    }
}
/** The factory the data-parallel workers import (see parallel.ts). */
export function createDssmRef(config) {
    return new DssmRef(config);
}
export function dssmRefFactory(config) {
    return { moduleUrl: import.meta.url, exportName: 'createDssmRef', config };
}
/**
 * `n` batches of uniform random ids and Bernoulli(positiveRate) labels, generated up front so that
 * the benchmark does not time the random number generator.
 */
export function randomDssmBatches(cfg, rows, n, rng, positiveRate = 0.1) {
    const names = fieldNames(cfg);
    const vocabs = [...cfg.userVocabs, ...cfg.itemVocabs];
    const out = [];
    for (let b = 0; b < n; b++) {
        const cols = {};
        [...names].forEach((f, i) => {
            const ids = new Int32Array(rows);
            for (let r = 0; r < rows; r++)
                ids[r] = rng.int(vocabs[i]);
            cols[f] = ids;
        });
        const label = new Float32Array(rows);
        for (let r = 0; r < rows; r++)
            label[r] = rng.nextFloat() < positiveRate ? 1 : 0;
        cols['label'] = label;
        out.push({ rows, cols });
    }
    return out;
}
//# sourceMappingURL=dssmRef.js.map
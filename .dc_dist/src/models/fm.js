import { normal, zeros } from '../engine/init.js';
import { ParamStore, parameter } from '../engine/nn.js';
import { assertSeparateRead, FeatureEmbedder, separateTables, } from './featureEmbedder.js';
import { bceHardLoss } from './hardLoss.js';
import { ones } from './stableMath.js';
/** One side's parameters: latent tables (via the embedder), linear tables, numeric weights. */
class FmSide {
    side;
    embedder;
    linear;
    vNum;
    wNum;
    constructor(side, view, fields, registry, separate, k, name, rng) {
        this.side = side;
        this.embedder = new FeatureEmbedder(view, registry, { dim: k, fields, separate }, rng);
        this.embedder.idFields.forEach((f, i) => {
            const d = this.embedder.tables[i].dim;
            if (d !== k) {
                throw new Error(`${name} (fm): field '${f.name}' has embedding dim ${d}, but every FM latent vector needs k = ${k}`);
            }
        });
        this.linear = this.embedder.idFields.map((f) => (separate?.tables.has(f.table) ? separate.registry : registry).getOrCreate(`${f.table}.fm_linear`, view.tableSize(f.table), 1, rng));
        const n = this.embedder.numericFields.length;
        this.vNum =
            n > 0
                ? parameter(`${name}.${side}.numLatent`, [n, k], normal(0.05), n, k, rng.fork(`${name}.${side}.numLatent`))
                : null;
        this.wNum = n > 0 ? parameter(`${name}.${side}.numLinear`, [n, 1], zeros, n, 1, rng) : null;
    }
    /** S = Σ e_f [B, k] and a = Σ w_f + ½(|S|² − Σ|e_f|²) [B]. */
    forward(g, batch) {
        const B = batch.size;
        const { ids, numeric } = this.embedder.embed(g, batch);
        let S = null;
        let sq = null;
        let lin = null;
        const acc = (x, y) => (x === null ? y : g.add(x, y));
        for (let i = 0; i < ids.length; i++) {
            const e = ids[i];
            S = acc(S, e.out);
            sq = acc(sq, g.rowDot(e.out, e.out));
            const { ids: col, bagLen } = this.embedder.idsOf(batch, e.field);
            const w = g.embeddingBag(this.linear[i], col, B, bagLen, e.field.kind === 'categorical' ? 'sum' : e.field.pooling);
            lin = acc(lin, g.reshape(w, [B]));
        }
        if (numeric && this.vNum && this.wNum) {
            // Numerics: Σ_i x_i v_i = X·V, Σ_i |x_i v_i|² = (X⊙X)·rowSq(V), Σ_i x_i w_i = X·w.
            const n = this.vNum.shape[0];
            S = acc(S, g.matmul(numeric, this.vNum));
            const rowSq = g.reshape(g.sum(g.mul(this.vNum, this.vNum), 1), [n, 1]);
            sq = acc(sq, g.reshape(g.matmul(g.mul(numeric, numeric), rowSq), [B]));
            lin = acc(lin, g.reshape(g.matmul(numeric, this.wNum), [B]));
        }
        if (S === null || sq === null || lin === null)
            throw new Error(`FM ${this.side} side reads no fields`);
        const within = g.scale(g.sub(g.rowDot(S, S), sq), 0.5);
        return { S, a: g.add(lin, within) };
    }
    describe(k, bias) {
        return {
            kind: 'fm',
            side: this.side,
            inputs: this.embedder.describe().filter((d) => d.kind !== 'numeric'),
            linearTables: Object.fromEntries(this.embedder.idFields.map((f, i) => [f.name, this.linear[i].name])),
            numericFields: this.embedder.numericFields.map((f) => f.name),
            ...(this.vNum ? { numericLatent: this.vNum.name, numericLinear: this.wNum.name } : {}),
            ...(bias ? { bias } : {}),
            outDim: k + 2,
        };
    }
}
export class Fm {
    kind = 'fm';
    name;
    store = new ParamStore();
    outputNames;
    supervised;
    scoreFn = 'dot';
    temperature = 1;
    k;
    user;
    item;
    w0;
    constructor(opts, schema, registry, rng) {
        this.name = opts.name;
        this.k = opts.embeddingDim;
        this.outputNames = [opts.output];
        this.supervised = { [opts.output]: opts.label };
        const userView = schema.view(['user', 'context'], `${opts.name}.userSide`);
        const itemView = schema.view(['item'], `${opts.name}.itemSide`);
        const sep = separateTables(schema, opts.separateTables, registry, opts.name);
        this.user = new FmSide('user', userView, opts.userFields, registry, sep, this.k, opts.name, rng);
        this.item = new FmSide('item', itemView, opts.itemFields, registry, sep, this.k, opts.name, rng);
        assertSeparateRead(sep, [this.user.embedder, this.item.embedder], opts.name);
        this.w0 = parameter(`${opts.name}.w0`, [1], zeros, 1, 1, rng);
        const tables = new Set([
            ...this.user.embedder.distinctTables(),
            ...this.user.linear,
            ...this.item.embedder.distinctTables(),
            ...this.item.linear,
        ]);
        for (const t of tables)
            this.store.add(t);
        for (const p of [this.user.vNum, this.user.wNum, this.item.vNum, this.item.wNum, this.w0])
            if (p)
                this.store.add(p);
    }
    get fields() {
        return [...this.userTowerFields, ...this.itemTowerFields];
    }
    get userTowerFields() {
        return this.user.embedder.fieldNames;
    }
    get itemTowerFields() {
        return this.item.embedder.fieldNames;
    }
    /** [S_U, a_U + w0, 1], [B, k + 2]. */
    userVectors(g, batch) {
        const { S, a } = this.user.forward(g, batch);
        const aU = g.add(a, this.w0);
        return g.concat([S, aU, ones(g, aU.shape)]);
    }
    /** [S_I, 1, a_I], [B, k + 2]. */
    itemVectors(g, batch) {
        const { S, a } = this.item.forward(g, batch);
        return g.concat([S, ones(g, a.shape), a]);
    }
    forward(g, batch) {
        return {
            logits: { [this.outputNames[0]]: g.rowDot(this.userVectors(g, batch), this.itemVectors(g, batch)) },
        };
    }
    hardLoss(g, out, batch, weights) {
        return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
    }
    exportTowers() {
        return {
            kind: this.kind,
            scoreFn: 'dot',
            temperature: 1,
            user: this.user.describe(this.k, this.w0.name),
            item: this.item.describe(this.k),
        };
    }
}
//# sourceMappingURL=fm.js.map
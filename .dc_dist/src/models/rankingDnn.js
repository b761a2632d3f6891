import { xavierUniform, zeros } from '../engine/init.js';
import { Linear, MLP, ParamStore, parameter } from '../engine/nn.js';
import { assertSeparateRead, FeatureEmbedder, separateTables, } from './featureEmbedder.js';
import { bceHardLoss } from './hardLoss.js';
/** One DCN-v2 cross layer. */
class CrossLayer {
    params;
    W;
    V;
    U;
    b;
    constructor(name, dim, rank, rng) {
        if (rank > 0) {
            this.V = parameter(`${name}.V`, [dim, rank], xavierUniform, dim, rank, rng);
            this.U = parameter(`${name}.U`, [rank, dim], xavierUniform, rank, dim, rng);
        }
        else {
            this.W = parameter(`${name}.W`, [dim, dim], xavierUniform, dim, dim, rng);
        }
        this.b = parameter(`${name}.b`, [dim], zeros, dim, dim, rng);
        this.params = [this.W ?? this.V, ...(this.U ? [this.U] : []), this.b];
    }
    forward(g, x0, xl) {
        // Row-vector form of eq. 1: rows are samples, so W x_l is x_l·W with W stored [in, out].
        const proj = this.W ? g.linear(xl, this.W, this.b) : g.linear(g.matmul(xl, this.V), this.U, this.b);
        return g.add(g.mul(x0, proj), xl);
    }
}
export class RankingDnn {
    kind = 'ranking-dnn';
    name;
    store = new ParamStore();
    outputNames;
    supervised;
    embedder;
    cross = [];
    deep;
    head;
    opts;
    constructor(opts, schema, registry, rng) {
        this.opts = opts;
        this.name = opts.name;
        this.outputNames = [opts.output];
        this.supervised = { [opts.output]: opts.label };
        const sep = separateTables(schema, opts.separateTables, registry, opts.name);
        const view = schema.view(opts.groups, `${opts.name} (ranking-dnn)`);
        this.embedder = new FeatureEmbedder(view, registry, {
            dim: opts.embeddingDim,
            fields: opts.fields,
            separate: sep,
        }, rng);
        assertSeparateRead(sep, [this.embedder], opts.name);
        const D = this.embedder.outDim;
        for (let l = 0; l < opts.crossLayers; l++) {
            this.cross.push(new CrossLayer(`${opts.name}.cross.${l}`, D, opts.crossRank, rng.fork(`${opts.name}.cross.${l}`)));
        }
        this.deep =
            opts.hidden.length > 0
                ? new MLP(`${opts.name}.deep`, [D, ...opts.hidden], { activation: 'relu', finalActivation: 'relu', dropout: opts.dropout }, rng.fork(`${opts.name}.deep`))
                : null;
        if (opts.crossLayers === 0 && this.deep === null) {
            throw new Error(`${opts.name} (ranking-dnn): needs crossLayers > 0 or a non-empty hidden list`);
        }
        const deepOut = this.deep ? this.deep.outDim : 0;
        const headIn = opts.structure === 'parallel' ? (opts.crossLayers > 0 ? D : 0) + deepOut : deepOut || D;
        this.head = new Linear(`${opts.name}.head`, headIn, 1, rng.fork(`${opts.name}.head`));
        for (const t of this.embedder.distinctTables())
            this.store.add(t);
        for (const c of this.cross)
            for (const p of c.params)
                this.store.add(p);
        if (this.deep)
            this.store.add(this.deep);
        this.store.add(this.head);
    }
    get fields() {
        return this.embedder.fieldNames;
    }
    forward(g, batch) {
        const hidden = {};
        const x0 = this.embedder.forward(g, batch);
        let xc = x0;
        for (let l = 0; l < this.cross.length; l++) {
            xc = this.cross[l].forward(g, x0, xc);
            hidden[`cross.${l}`] = xc;
        }
        let final;
        const runDeep = (x) => {
            const { out, hidden: hs } = this.deep.forwardWithHidden(g, x);
            hs.forEach((h, i) => {
                hidden[`deep.${i}`] = h;
            });
            hidden[`deep.${hs.length}`] = out;
            return out;
        };
        if (this.opts.structure === 'stacked') {
            final = this.deep ? runDeep(xc) : xc;
        }
        else {
            const parts = [];
            if (this.cross.length > 0)
                parts.push(xc);
            if (this.deep)
                parts.push(runDeep(x0));
            final = parts.length === 1 ? parts[0] : g.concat(parts);
        }
        hidden.final = final;
        const logit = g.reshape(this.head.forward(g, final), [batch.size]);
        return { logits: { [this.opts.output]: logit }, hidden };
    }
    hardLoss(g, out, batch, weights) {
        return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
    }
}
//# sourceMappingURL=rankingDnn.js.map
import { MLP, ParamStore } from '../engine/nn.js';
import { assertSeparateRead, FeatureEmbedder, separateTables, } from './featureEmbedder.js';
import { bceHardLoss } from './hardLoss.js';
export class TwoTower {
    kind = 'two-tower';
    name;
    store = new ParamStore();
    outputNames;
    supervised;
    scoreFn;
    temperature;
    userEmbedder;
    itemEmbedder;
    userTower;
    itemTower;
    constructor(opts, schema, registry, rng) {
        this.name = opts.name;
        this.outputNames = [opts.output];
        this.supervised = { [opts.output]: opts.label };
        this.scoreFn = opts.scoreFn;
        this.temperature = opts.temperature;
        if (!(opts.temperature > 0))
            throw new Error(`${opts.name} (two-tower): temperature must be > 0, got ${opts.temperature}`);
        if (opts.scoreFn === 'dot' && opts.temperature !== 1) {
            throw new Error(`${opts.name} (two-tower): temperature applies to scoreFn 'cosine' only (got ${opts.temperature} with 'dot')`);
        }
        const uOut = opts.userHidden[opts.userHidden.length - 1];
        const iOut = opts.itemHidden[opts.itemHidden.length - 1];
        if (uOut === undefined || uOut !== iOut) {
            throw new Error(`${opts.name} (two-tower): the towers' output widths must be equal for a dot product (userHidden ends in ${uOut}, itemHidden in ${iOut})`);
        }
        const sep = separateTables(schema, opts.separateTables, registry, opts.name);
        const userView = schema.view(['user', 'context'], `${opts.name}.userTower`);
        const itemView = schema.view(['item'], `${opts.name}.itemTower`);
        this.userEmbedder = new FeatureEmbedder(userView, registry, { dim: opts.embeddingDim, fields: opts.userFields, separate: sep }, rng);
        this.itemEmbedder = new FeatureEmbedder(itemView, registry, { dim: opts.embeddingDim, fields: opts.itemFields, separate: sep }, rng);
        assertSeparateRead(sep, [this.userEmbedder, this.itemEmbedder], opts.name);
        const un = `${opts.name}.user`;
        const inn = `${opts.name}.item`;
        this.userTower = new MLP(un, [this.userEmbedder.outDim, ...opts.userHidden], { activation: 'relu', dropout: opts.dropout }, rng.fork(un));
        this.itemTower = new MLP(inn, [this.itemEmbedder.outDim, ...opts.itemHidden], { activation: 'relu', dropout: opts.dropout }, rng.fork(inn));
        for (const t of new Set([...this.userEmbedder.distinctTables(), ...this.itemEmbedder.distinctTables()]))
            this.store.add(t);
        this.store.add(this.userTower);
        this.store.add(this.itemTower);
    }
    get fields() {
        return [...this.userTowerFields, ...this.itemTowerFields];
    }
    get userTowerFields() {
        return this.userEmbedder.fieldNames;
    }
    get itemTowerFields() {
        return this.itemEmbedder.fieldNames;
    }
    userVectors(g, batch) {
        const u = this.userTower.forward(g, this.userEmbedder.forward(g, batch));
        return this.scoreFn === 'cosine' ? g.scale(g.l2Normalize(u), 1 / this.temperature) : u;
    }
    itemVectors(g, batch) {
        const v = this.itemTower.forward(g, this.itemEmbedder.forward(g, batch));
        return this.scoreFn === 'cosine' ? g.l2Normalize(v) : v;
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
        const tower = (emb, mlp, side) => ({
            kind: 'mlp',
            inputs: emb.describe(),
            layers: mlp.layers.map((l, i) => ({
                weight: l.W.name,
                bias: l.b.name,
                inDim: l.inDim,
                outDim: l.outDim,
                activation: i < mlp.layers.length - 1 ? 'relu' : 'none',
            })),
            normalize: this.scoreFn === 'cosine' ? 'l2' : 'none',
            scale: side === 'user' && this.scoreFn === 'cosine' ? 1 / this.temperature : 1,
            outDim: mlp.outDim,
        });
        return {
            kind: this.kind,
            scoreFn: this.scoreFn,
            temperature: this.temperature,
            user: tower(this.userEmbedder, this.userTower, 'user'),
            item: tower(this.itemEmbedder, this.itemTower, 'item'),
        };
    }
}
//# sourceMappingURL=twoTower.js.map
import { Linear, MLP, ParamStore } from '../engine/nn.js';
import { assertSeparateRead, FeatureEmbedder, separateTables, } from './featureEmbedder.js';
import { bceHardLoss } from './hardLoss.js';
export class PreRankMlp {
    kind = 'prerank-mlp';
    name;
    store = new ParamStore();
    outputNames;
    supervised;
    userEmbedder;
    itemEmbedder;
    projUser;
    projItem;
    mlp;
    head;
    constructor(opts, schema, registry, rng) {
        this.name = opts.name;
        this.outputNames = [opts.output];
        this.supervised = { [opts.output]: opts.label };
        const consumer = `${opts.name} (prerank-mlp)`;
        if (opts.groups.includes('privileged')) {
            throw new Error(`${consumer}: a pre-ranking student may not read privileged fields — they are unavailable at serving time (privileged features distillation, Xu et al., KDD'20); only the teacher sees them`);
        }
        const view = schema.view(opts.groups, consumer);
        const userGroups = opts.groups.filter((g) => g === 'user' || g === 'context');
        if (userGroups.length === 0 || !opts.groups.includes('item')) {
            throw new Error(`${consumer}: groups must include item and at least one of user, context (got ${opts.groups.join(', ')})`);
        }
        const sep = separateTables(schema, opts.separateTables, registry, opts.name);
        const userView = view.narrow(userGroups, `${opts.name}.user`);
        const itemView = view.narrow(['item'], `${opts.name}.item`);
        const pick = (v) => opts.fields?.filter((f) => v.has(f));
        for (const f of opts.fields ?? [])
            view.field(f);
        this.userEmbedder = new FeatureEmbedder(userView, registry, { dim: opts.embeddingDim, fields: pick(userView), separate: sep }, rng);
        this.itemEmbedder = new FeatureEmbedder(itemView, registry, { dim: opts.embeddingDim, fields: pick(itemView), separate: sep }, rng);
        assertSeparateRead(sep, [this.userEmbedder, this.itemEmbedder], opts.name);
        const du = this.userEmbedder.outDim;
        const di = this.itemEmbedder.outDim;
        this.projUser =
            opts.crossDim > 0
                ? new Linear(`${opts.name}.crossUser`, du, opts.crossDim, rng.fork(`${opts.name}.crossUser`))
                : null;
        this.projItem =
            opts.crossDim > 0
                ? new Linear(`${opts.name}.crossItem`, di, opts.crossDim, rng.fork(`${opts.name}.crossItem`))
                : null;
        if (opts.hidden.length === 0)
            throw new Error(`${consumer}: hidden needs at least one width`);
        const mn = `${opts.name}.mlp`;
        this.mlp = new MLP(mn, [du + di + opts.crossDim, ...opts.hidden], { activation: 'relu', finalActivation: 'relu', dropout: opts.dropout }, rng.fork(mn));
        this.head = new Linear(`${opts.name}.head`, this.mlp.outDim, 1, rng.fork(`${opts.name}.head`));
        for (const t of new Set([...this.userEmbedder.distinctTables(), ...this.itemEmbedder.distinctTables()]))
            this.store.add(t);
        for (const m of [this.projUser, this.projItem, this.mlp, this.head])
            if (m)
                this.store.add(m);
    }
    get fields() {
        return [...this.userEmbedder.fieldNames, ...this.itemEmbedder.fieldNames];
    }
    forward(g, batch) {
        const u = this.userEmbedder.forward(g, batch);
        const i = this.itemEmbedder.forward(g, batch);
        const parts = [u, i];
        const hidden = {};
        if (this.projUser && this.projItem) {
            const c = g.mul(this.projUser.forward(g, u), this.projItem.forward(g, i));
            hidden.cross = c;
            parts.push(c);
        }
        const { out, hidden: hs } = this.mlp.forwardWithHidden(g, g.concat(parts));
        hs.forEach((h, k) => {
            hidden[`mlp.${k}`] = h;
        });
        hidden[`mlp.${hs.length}`] = out;
        const logit = g.reshape(this.head.forward(g, out), [batch.size]);
        return { logits: { [this.outputNames[0]]: logit }, hidden };
    }
    hardLoss(g, out, batch, weights) {
        return bceHardLoss(g, out, batch, this.supervised, this.name, weights);
    }
}
//# sourceMappingURL=preRankMlp.js.map
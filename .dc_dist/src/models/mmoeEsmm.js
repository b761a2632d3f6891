import { Linear, MLP, ParamStore } from '../engine/nn.js';
import { assertSeparateRead, FeatureEmbedder, separateTables, } from './featureEmbedder.js';
import { bceHardLoss, labelColumn } from './hardLoss.js';
import { logAddExp, logSigmoid } from './stableMath.js';
/** The two tasks that have a gate and a tower; ctcvr is their product, not a third tower. */
const TASKS = ['ctr', 'cvr'];
/** logit(σ(a)·σ(b)), stable for all a, b (derivation in the file header). */
export function ctcvrLogit(g, a, b) {
    const logSa = logSigmoid(g, a);
    const logP = g.add(logSa, logSigmoid(g, b));
    const logSnegA = logSigmoid(g, g.scale(a, -1));
    const logSnegB = logSigmoid(g, g.scale(b, -1));
    const log1mP = logAddExp(g, logSnegA, g.add(logSa, logSnegB));
    return g.sub(logP, log1mP);
}
export class MmoeEsmm {
    kind = 'mmoe-esmm';
    name;
    store = new ParamStore();
    outputNames = ['ctr', 'cvr', 'ctcvr'];
    /** ESMM: CTR and CTCVR are supervised; CVR is not (it is learned through the product). */
    supervised;
    embedder;
    experts = [];
    gates = [];
    towers = [];
    opts;
    constructor(opts, schema, registry, rng) {
        this.opts = opts;
        this.name = opts.name;
        this.supervised = { ctr: opts.ctrLabel, ctcvr: opts.ctcvrLabel };
        if (opts.experts < 1)
            throw new Error(`${opts.name} (mmoe-esmm): experts must be ≥ 1, got ${opts.experts}`);
        if (opts.expertHidden.length === 0)
            throw new Error(`${opts.name} (mmoe-esmm): expertHidden needs at least one width`);
        const sep = separateTables(schema, opts.separateTables, registry, opts.name);
        const view = schema.view(opts.groups, `${opts.name} (mmoe-esmm)`);
        this.embedder = new FeatureEmbedder(view, registry, {
            dim: opts.embeddingDim,
            fields: opts.fields,
            separate: sep,
        }, rng);
        assertSeparateRead(sep, [this.embedder], opts.name);
        const D = this.embedder.outDim;
        const H = opts.expertHidden[opts.expertHidden.length - 1];
        for (let e = 0; e < opts.experts; e++) {
            const n = `${opts.name}.expert.${e}`;
            this.experts.push(new MLP(n, [D, ...opts.expertHidden], { activation: 'relu', finalActivation: 'relu', dropout: opts.dropout }, rng.fork(n)));
        }
        for (const task of TASKS) {
            const gn = `${opts.name}.gate.${task}`;
            this.gates.push(new Linear(gn, D, opts.experts, rng.fork(gn)));
            const tn = `${opts.name}.tower.${task}`;
            this.towers.push(new MLP(tn, [H, ...opts.towerHidden, 1], { activation: 'relu', dropout: opts.dropout }, rng.fork(tn)));
        }
        for (const t of this.embedder.distinctTables())
            this.store.add(t);
        for (const m of [...this.experts, ...this.gates, ...this.towers])
            this.store.add(m);
    }
    get fields() {
        return this.embedder.fieldNames;
    }
    forward(g, batch) {
        const B = batch.size;
        const hidden = {};
        const x = this.embedder.forward(g, batch);
        const expertOut = this.experts.map((m, e) => {
            const h = m.forward(g, x);
            hidden[`expert.${e}`] = h;
            return h;
        });
        const logits = {};
        TASKS.forEach((task, k) => {
            // MMoE eq. 5–6: a softmax gate per task mixes the shared experts.
            const gate = g.softmax(this.gates[k].forward(g, x));
            hidden[`gate.${task}`] = gate;
            let mixed = null;
            for (let e = 0; e < expertOut.length; e++) {
                const w = expertOut.length === 1 ? gate : g.slice(gate, e, e + 1);
                const term = g.mul(expertOut[e], w);
                mixed = mixed === null ? term : g.add(mixed, term);
            }
            hidden[`mixed.${task}`] = mixed;
            const { out, hidden: th } = this.towers[k].forwardWithHidden(g, mixed);
            th.forEach((h, i) => {
                hidden[`tower.${task}.${i}`] = h;
            });
            logits[task] = g.reshape(out, [B]);
        });
        logits.ctcvr = ctcvrLogit(g, logits.ctr, logits.cvr);
        return { logits, hidden };
    }
    /**
     * ESMM eq. 3: BCE(ctr, y) + BCE(ctcvr, y·z). The CTCVR target is the product of the click label
     * and the ctcvr label, so a dataset whose conversion label is only meaningful after a click
     * (Ali-CCP) and one whose label already implies a click (the simulator's long_dwell) both work.
     */
    hardLoss(g, out, batch, weights) {
        const click = labelColumn(batch, this.opts.ctrLabel, this.name);
        const conv = labelColumn(batch, this.opts.ctcvrLabel, this.name);
        const ctcvrTarget = new Float32Array(batch.size);
        for (let i = 0; i < batch.size; i++)
            ctcvrTarget[i] = click[i] * conv[i];
        const ctr = bceHardLoss(g, out, batch, { ctr: this.opts.ctrLabel }, this.name, weights);
        const ctcvr = g.bceWithLogits(out.logits.ctcvr, ctcvrTarget, weights);
        return { total: g.add(ctr.total, ctcvr), terms: { 'hard.ctr': ctr.total, 'hard.ctcvr': ctcvr } };
    }
}
//# sourceMappingURL=mmoeEsmm.js.map
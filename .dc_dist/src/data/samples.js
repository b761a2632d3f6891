import { ColumnarDataset } from './batch.js';
import { privilegedColumns } from './dataset.js';
/** Exposure samples of one split (the logged rows, in time order). */
export function exposureSamples(ds, split) {
    return ds.splits[split];
}
/**
 * Walker's alias method: O(n) build, O(1) draw from a discrete distribution (Vose's stable
 * construction).
 */
export class AliasSampler {
    probs;
    alias;
    cut;
    constructor(weights) {
        const n = weights.length;
        if (n === 0)
            throw new Error('AliasSampler: no items to sample from');
        let total = 0;
        for (let i = 0; i < n; i++) {
            const w = weights[i];
            if (!(w >= 0) || !Number.isFinite(w))
                throw new Error(`AliasSampler: weight ${i} is ${w}; weights must be finite and >= 0`);
            total += w;
        }
        if (!(total > 0))
            throw new Error('AliasSampler: all weights are zero');
        this.probs = new Float64Array(n);
        this.alias = new Int32Array(n);
        this.cut = new Float64Array(n);
        const scaled = new Float64Array(n);
        const small = [];
        const large = [];
        for (let i = 0; i < n; i++) {
            this.probs[i] = weights[i] / total;
            scaled[i] = this.probs[i] * n;
            (scaled[i] < 1 ? small : large).push(i);
        }
        while (small.length && large.length) {
            const s = small.pop();
            const l = large.pop();
            this.cut[s] = scaled[s];
            this.alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1;
            (scaled[l] < 1 ? small : large).push(l);
        }
        for (const i of large)
            this.cut[i] = 1;
        for (const i of small)
            this.cut[i] = 1;
    }
    sample(rng) {
        const i = rng.int(this.cut.length);
        return rng.nextFloat() < this.cut[i] ? i : this.alias[i];
    }
}
/** Count of positive rows per itemKey in a split (label > 0). */
export function itemPositiveCounts(ds, split = 'train', label = ds.labels.click) {
    const d = ds.splits[split].columns;
    const lab = d.labels[label];
    if (!lab)
        throw new Error(`label '${label}' not in dataset (labels: ${Object.keys(d.labels).join(', ')})`);
    const counts = new Float64Array(ds.items.size);
    for (let i = 0; i < d.size; i++)
        if (lab[i] > 0)
            counts[d.itemKey[i]]++;
    return counts;
}
/**
 * Recall samples: for every positive of the split, the positive row followed by N negative rows.
 * `requestId` is the group index (one group = one positive and its negatives). Extra columns:
 * `sampleProb` (per-draw probability of the row's item under the negative sampler) and
 * `inBatchProb` (the item's smoothed share of train positives: (count + 1) / (total + nItems)).
 * `privilegedKnown` (only when the dataset has privileged fields that are not window counts, like
 * Ali-CCP's crosses): 0 on negatives, whose such fields are set to 0 / row 0 because they are unknown.
 * Popularity weights are (train positive count + 1)^alpha so every catalogue item can be drawn.
 * A draw equal to the positive item is redrawn.
 */
export function recallSamples(ds, opts) {
    const N = opts.negatives;
    if (!Number.isInteger(N) || N < 0)
        throw new Error(`negatives must be an integer >= 0, got ${N}`);
    const split = opts.split ?? 'train';
    const label = opts.positiveLabel ?? ds.labels.click;
    const src = ds.splits[split].columns;
    const lab = src.labels[label];
    if (!lab)
        throw new Error(`label '${label}' not in dataset (labels: ${Object.keys(src.labels).join(', ')})`);
    const nItems = ds.items.size;
    if (N > 0 && nItems < 2)
        throw new Error('recall samples need at least two catalogue items to draw negatives');
    const trainCounts = itemPositiveCounts(ds, 'train', label);
    const alpha = opts.alpha ?? 0.75;
    const weights = new Float64Array(nItems);
    for (let i = 0; i < nItems; i++)
        weights[i] = opts.sampler === 'uniform' ? 1 : (trainCounts[i] + 1) ** alpha;
    const sampler = new AliasSampler(weights);
    let totalPos = 0;
    for (let i = 0; i < nItems; i++)
        totalPos += trainCounts[i];
    const inBatch = new Float64Array(nItems);
    for (let i = 0; i < nItems; i++)
        inBatch[i] = (trainCounts[i] + 1) / (totalPos + nItems);
    const posRows = [];
    for (let i = 0; i < src.size; i++)
        if (lab[i] > 0)
            posRows.push(i);
    const G = 1 + N;
    const m = posRows.length * G;
    const itemKey = new Int32Array(m);
    const requestId = new Int32Array(m);
    const srcRow = new Int32Array(m);
    const isPos = new Uint8Array(m);
    for (let g = 0; g < posRows.length; g++) {
        const r = posRows[g];
        const posItem = src.itemKey[r];
        for (let j = 0; j < G; j++) {
            const o = g * G + j;
            srcRow[o] = r;
            requestId[o] = g;
            if (j === 0) {
                itemKey[o] = posItem;
                isPos[o] = 1;
            }
            else {
                let it = sampler.sample(opts.rng);
                for (let tries = 0; it === posItem && tries < 1000; tries++)
                    it = sampler.sample(opts.rng);
                if (it === posItem)
                    throw new Error(`could not draw a negative different from item ${ds.itemIds[posItem]} in 1000 tries`);
                itemKey[o] = it;
            }
        }
    }
    const out = pairSamples(ds, src, srcRow, itemKey, isPos);
    out.requestId = requestId;
    const sampleProb = new Float32Array(m);
    const inBatchProb = new Float32Array(m);
    for (let i = 0; i < m; i++) {
        sampleProb[i] = sampler.probs[itemKey[i]];
        inBatchProb[i] = inBatch[itemKey[i]];
    }
    out.extra.sampleProb = sampleProb;
    out.extra.inBatchProb = inBatchProb;
    return new ColumnarDataset(out, 'recall samples');
}
/**
 * Rows pairing the user, context and time of `src` rows with arbitrary catalogue items: the shape of
 * recall negatives, teacher-ranked candidate lists and full-corpus scoring. Row i takes user and
 * context fields from src row `srcRows[i]`, item fields from catalogue row `itemKey[i]`, and
 * privileged window counts recomputed for (user, item, time). Where `logged[i]` is 1 the pair is
 * the logged one and its labels and privileged values are copied; elsewhere labels are 0.
 * Privileged fields that cannot be recomputed for an unlogged pair (Ali-CCP's precomputed crosses)
 * are set to row 0 / 0.0, and `extra.privilegedKnown` (1 = real value) is added so a trainer can
 * mask them.
 */
export function pairSamples(ds, src, srcRows, itemKey, logged) {
    const m = srcRows.length;
    if (itemKey.length !== m || logged.length !== m)
        throw new Error(`pairSamples: srcRows (${m}), itemKey (${itemKey.length}) and logged (${logged.length}) differ in length`);
    if (!src.userKey || !src.ts)
        throw new Error('pairSamples: source rows need userKey and ts');
    for (let i = 0; i < m; i++) {
        const k = itemKey[i];
        if (k < 0 || k >= ds.items.size)
            throw new Error(`pairSamples: itemKey ${k} outside the catalogue of ${ds.items.size} items`);
    }
    const schema = ds.schema;
    const itemFields = new Set(schema.features.filter((f) => f.group === 'item').map((f) => f.name));
    const privFields = new Set(ds.windowFeatures.map((w) => w.spec.field));
    const srcRow = srcRows;
    const isPos = logged;
    const userKey = new Int32Array(m);
    const ts = new Float64Array(m);
    for (let i = 0; i < m; i++) {
        userKey[i] = src.userKey[srcRow[i]];
        ts[i] = src.ts[srcRow[i]];
    }
    const items = ds.items.columns;
    let hasUnknownPrivileged = false;
    const out = {
        size: m,
        cat: {},
        seq: {},
        num: {},
        labels: {},
        extra: {},
        userKey,
        itemKey: Int32Array.from(itemKey),
        ts,
    };
    for (const [name, col] of Object.entries(src.cat)) {
        const o = new Int32Array(m);
        const fromItem = itemFields.has(name) ? items.cat[name] : undefined;
        // A privileged id (e.g. Ali-CCP's user×item cross fields) is unknown for an unlogged pair: row 0.
        const unknownForNeg = !fromItem && schema.field(name).group === 'privileged';
        if (unknownForNeg)
            hasUnknownPrivileged = true;
        for (let i = 0; i < m; i++) {
            o[i] = fromItem ? fromItem[itemKey[i]] : unknownForNeg && !isPos[i] ? 0 : col[srcRow[i]];
        }
        out.cat[name] = o;
    }
    for (const [name, col] of Object.entries(src.seq)) {
        const L = col.maxLen;
        const o = new Int32Array(m * L);
        const fromItem = itemFields.has(name) ? items.seq[name] : undefined;
        for (let i = 0; i < m; i++) {
            const s = fromItem ? fromItem.ids : col.ids;
            const r = fromItem ? itemKey[i] : srcRow[i];
            o.set(s.subarray(r * L, r * L + L), i * L);
        }
        out.seq[name] = { ids: o, maxLen: L };
    }
    const negPriv = privilegedColumns(ds, userKey, itemKey, ts);
    for (const [name, col] of Object.entries(src.num)) {
        const o = new Float32Array(m);
        const fromItem = itemFields.has(name) ? items.num[name] : undefined;
        const priv = privFields.has(name) ? negPriv[name] : undefined;
        for (let i = 0; i < m; i++) {
            if (isPos[i])
                o[i] = col[srcRow[i]];
            else if (fromItem)
                o[i] = fromItem[itemKey[i]];
            else if (priv)
                o[i] = priv[i];
            else if (schema.field(name).group === 'privileged') {
                // A privileged numeric that is neither a window count nor an item attribute (e.g. Ali-CCP's
                // precomputed dense crosses) cannot be recomputed for an unlogged pair: 0, flagged below.
                o[i] = 0;
                hasUnknownPrivileged = true;
            }
            else
                o[i] = col[srcRow[i]];
        }
        out.num[name] = o;
    }
    for (const [name, col] of Object.entries(src.labels)) {
        const o = new Float32Array(m);
        for (let i = 0; i < m; i++)
            if (isPos[i])
                o[i] = col[srcRow[i]];
        out.labels[name] = o;
    }
    if (hasUnknownPrivileged) {
        // 1 where every privileged feature is the real value, 0 on pairs whose crosses are unknown.
        const known = new Float32Array(m);
        for (let i = 0; i < m; i++)
            known[i] = isPos[i];
        out.extra.privilegedKnown = known;
    }
    return out;
}
//# sourceMappingURL=samples.js.map
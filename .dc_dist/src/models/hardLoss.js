/** The label column `name` of a batch, or an error naming the consumer and the labels present. */
export function labelColumn(batch, name, consumer) {
    const col = batch.labels[name];
    if (col === undefined) {
        throw new Error(`${consumer}: batch has no label column '${name}' (labels present: ${Object.keys(batch.labels).join(', ') || 'none'})`);
    }
    if (col.length !== batch.size) {
        throw new Error(`${consumer}: label column '${name}' has ${col.length} values for a batch of ${batch.size} rows`);
    }
    return col;
}
/** Σ over `supervised` (output → label) of BCE-with-logits(out.logits[output], batch.labels[label]). */
export function bceHardLoss(g, out, batch, supervised, consumer, weights) {
    const terms = {};
    let total = null;
    for (const [output, label] of Object.entries(supervised)) {
        const logits = out.logits[output];
        if (logits === undefined)
            throw new Error(`${consumer}: no output '${output}' to supervise with label '${label}'`);
        const t = g.bceWithLogits(logits, labelColumn(batch, label, consumer), weights);
        terms[`hard.${output}`] = t;
        total = total === null ? t : g.add(total, t);
    }
    if (total === null)
        throw new Error(`${consumer}: no supervised outputs`);
    return { total, terms };
}
//# sourceMappingURL=hardLoss.js.map
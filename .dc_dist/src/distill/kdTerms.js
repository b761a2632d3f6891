export const COLUMN_PREFIX = 'column:';
/** Short stable name of a term for logs and metrics: `kd0.kl(ctr<-ctcvr)`. */
export function kdTermName(term, index) {
    return `kd${index}.${term.loss}(${term.pred}<-${term.target})`;
}
/** True when some term reads a teacher output (so a live teacher forward pass is needed). */
export function needsTeacherForward(terms) {
    return terms.some((t) => !t.target.startsWith(COLUMN_PREFIX));
}
/** Extra columns the terms read (targets and sample weights), so a loader can be told to keep them. */
export function kdColumns(terms) {
    const cols = new Set();
    for (const t of terms) {
        if (t.target.startsWith(COLUMN_PREFIX))
            cols.add(t.target.slice(COLUMN_PREFIX.length));
        if (t.sampleWeight !== undefined)
            cols.add(t.sampleWeight);
    }
    return [...cols];
}
/**
 * Checks a term list against the outputs the models actually have, before training starts, so a
 * typo fails with the term's index rather than mid-run.
 */
export function checkKdTerms(terms, studentOutputs, teacherOutputs) {
    terms.forEach((t, i) => {
        const where = `distill[${i}]`;
        if (!studentOutputs.includes(t.pred)) {
            throw new Error(`${where}.pred: the student has no output '${t.pred}' (it has: ${studentOutputs.join(', ')})`);
        }
        if (!t.target.startsWith(COLUMN_PREFIX)) {
            if (teacherOutputs === null) {
                throw new Error(`${where}.target: '${t.target}' is a teacher output but this run has no live teacher; ` +
                    `use 'column:NAME' with a column written by 'kdrec teacher score'`);
            }
            if (!teacherOutputs.includes(t.target)) {
                throw new Error(`${where}.target: the teacher has no output '${t.target}' (it has: ${teacherOutputs.join(', ')})`);
            }
        }
        if (!(t.temperature > 0))
            throw new Error(`${where}.temperature must be > 0, got ${t.temperature}`);
        if (t.loss === 'mse' && t.temperature !== 1) {
            throw new Error(`${where}.temperature: mse matches raw logits, so temperature must be 1 (got ${t.temperature})`);
        }
        if (!(t.weight >= 0))
            throw new Error(`${where}.weight must be >= 0, got ${t.weight}`);
    });
}
function extraColumn(batch, name, what) {
    const col = batch.extra[name];
    if (col === undefined) {
        const have = Object.keys(batch.extra);
        throw new Error(`${what}: the batch has no extra column '${name}' (present: ${have.length > 0 ? have.join(', ') : 'none'})`);
    }
    if (col.length !== batch.size) {
        throw new Error(`${what}: column '${name}' has ${col.length} values for a batch of ${batch.size}`);
    }
    return col;
}
function checkFiniteTarget(values, index, what) {
    for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) {
            throw new Error(`distill[${index}].target: ${what} row ${i} is ${values[i]}, expected a finite teacher logit`);
        }
    }
}
/** The detached teacher logits a term targets: from the live teacher, or from a precomputed column. */
function targetLogits(g, term, index, teacher, batch) {
    if (term.target.startsWith(COLUMN_PREFIX)) {
        const name = term.target.slice(COLUMN_PREFIX.length);
        const col = extraColumn(batch, name, `distill[${index}].target`);
        checkFiniteTarget(col, index, `column '${name}'`);
        return g.input(col, [batch.size]);
    }
    const t = teacher?.logits[term.target];
    if (t === undefined) {
        throw new Error(`distill[${index}].target: teacher output '${term.target}' is not available in this step`);
    }
    checkFiniteTarget(t.data, index, `teacher output '${term.target}'`);
    return g.detach(t);
}
/** One term's scalar loss, already multiplied by its weight (and by T² when t2Scale). */
export function kdTermLoss(g, term, index, student, teacher, batch) {
    const s = student.logits[term.pred];
    if (s === undefined)
        throw new Error(`distill[${index}].pred: the student has no output '${term.pred}'`);
    const t = targetLogits(g, term, index, teacher, batch);
    if (s.shape.length !== t.shape.length || s.shape.some((d, k) => d !== t.shape[k])) {
        throw new Error(`distill[${index}]: student '${term.pred}' is [${s.shape.join(', ')}] but target '${term.target}' is [${t.shape.join(', ')}]`);
    }
    const weights = term.sampleWeight === undefined
        ? undefined
        : extraColumn(batch, term.sampleWeight, `distill[${index}].sampleWeight`);
    const T = term.temperature;
    const t2 = (term.t2Scale ?? true) ? T * T : 1;
    let loss;
    switch (term.loss) {
        case 'bce_soft': {
            if (s.shape.length !== 1) {
                throw new Error(`distill[${index}]: bce_soft needs [B] binary logits, '${term.pred}' is [${s.shape.join(', ')}]`);
            }
            const soft = g.sigmoid(T === 1 ? t : g.scale(t, 1 / T));
            loss = g.bceWithLogits(T === 1 ? s : g.scale(s, 1 / T), soft, weights);
            if (t2 !== 1)
                loss = g.scale(loss, t2);
            break;
        }
        case 'kl':
            // klDiv applies the T² factor itself when asked.
            loss = g.klDiv(s, t, { temperature: T, binary: s.shape.length === 1, t2Scale: t2 !== 1 }, weights);
            break;
        case 'mse':
            loss = g.mse(s, t, weights);
            break;
    }
    return term.weight === 1 ? loss : g.scale(loss, term.weight);
}
/** All terms of the list, summed. */
export function kdLoss(g, terms, student, teacher, batch) {
    const out = [];
    let total = null;
    terms.forEach((term, i) => {
        const loss = kdTermLoss(g, term, i, student, teacher, batch);
        out.push({ name: kdTermName(term, i), loss });
        total = total === null ? loss : g.add(total, loss);
    });
    return { total, terms: out };
}
//# sourceMappingURL=kdTerms.js.map
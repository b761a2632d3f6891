import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkKdTerms, kdLoss, kdTermLoss } from '../../src/distill/kdTerms.js';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import { Graph } from '../../src/engine/graph.js';
import { Linear, MLP, ParamStore } from '../../src/engine/nn.js';
import { Rng } from '../../src/engine/rng.js';
import { bceHardLoss } from '../../src/models/hardLoss.js';
/**
 * A small teacher/student pair built from engine parts: both read the SHARED user table (shared on
 * purpose, as the schema declares it), the teacher also reads a teacher-only privileged table and
 * has its own MLP; the student has its own item table and layer.
 */
function pair(seed = 3) {
    const rng = new Rng(seed);
    const shared = new EmbeddingTable('user_id', 20, 4);
    const priv = new EmbeddingTable('teacher.priv', 10, 4);
    const tItem = new EmbeddingTable('teacher.item', 30, 4);
    const sItem = new EmbeddingTable('student.item', 30, 4);
    const tMlp = new MLP('teacher.mlp', [12, 8, 3], { activation: 'relu' }, rng);
    const sLin = new Linear('student.head', 8, 3, rng);
    const tStore = new ParamStore();
    tStore.add(shared);
    tStore.add(priv);
    tStore.add(tItem);
    tStore.add(tMlp);
    const sStore = new ParamStore();
    sStore.add(shared);
    sStore.add(sItem);
    sStore.add(sLin);
    // Outputs: ctr ([B] logit, column 0) and `multi` ([B, 3] softmax logits).
    const split = (g, h, B) => ({
        logits: { ctr: g.reshape(g.slice(h, 0, 1), [B]), multi: h },
    });
    const teacher = {
        name: 'teacher',
        kind: 'test-teacher',
        store: tStore,
        outputNames: ['ctr', 'multi'],
        fields: ['user', 'item', 'priv'],
        supervised: { ctr: 'click' },
        hardLoss: (g, out, b) => bceHardLoss(g, out, b, { ctr: 'click' }, 'teacher'),
        forward(g, b) {
            const u = g.embeddingBag(shared, b.cat['user'], b.size, 1, 'sum');
            const i = g.embeddingBag(tItem, b.cat['item'], b.size, 1, 'sum');
            const p = g.embeddingBag(priv, b.cat['priv'], b.size, 1, 'sum');
            return split(g, tMlp.forward(g, g.concat([u, i, p])), b.size);
        },
    };
    const student = {
        name: 'student',
        kind: 'test-student',
        store: sStore,
        outputNames: ['ctr', 'multi'],
        fields: ['user', 'item'],
        supervised: { ctr: 'click' },
        hardLoss: (g, out, b) => bceHardLoss(g, out, b, { ctr: 'click' }, 'student'),
        forward(g, b) {
            const u = g.embeddingBag(shared, b.cat['user'], b.size, 1, 'sum');
            const i = g.embeddingBag(sItem, b.cat['item'], b.size, 1, 'sum');
            return split(g, sLin.forward(g, g.concat([u, i])), b.size);
        },
    };
    return { teacher, student, shared, teacherOnlyTables: [priv, tItem], teacherParams: tMlp.parameters() };
}
function batch(B = 16, seed = 9) {
    const r = new Rng(seed);
    const ids = (n) => Int32Array.from({ length: B }, () => r.int(n));
    return {
        size: B,
        cat: { user: ids(20), item: ids(30), priv: ids(10) },
        seq: {},
        num: {},
        labels: { click: Float32Array.from({ length: B }, () => (r.nextFloat() < 0.3 ? 1 : 0)) },
        extra: {
            teacher_ctr: Float32Array.from({ length: B }, () => r.normal() * 2),
            w: Float32Array.from({ length: B }, () => r.nextFloat()),
        },
    };
}
const ALL_TERMS = [
    { pred: 'ctr', target: 'ctr', loss: 'bce_soft', weight: 1, temperature: 1 },
    { pred: 'ctr', target: 'ctr', loss: 'bce_soft', weight: 0.5, temperature: 3 },
    { pred: 'ctr', target: 'ctr', loss: 'kl', weight: 1, temperature: 2 },
    { pred: 'multi', target: 'multi', loss: 'kl', weight: 1, temperature: 2 },
    { pred: 'ctr', target: 'ctr', loss: 'mse', weight: 2, temperature: 1, sampleWeight: 'w' },
    { pred: 'multi', target: 'multi', loss: 'mse', weight: 1, temperature: 1 },
];
for (const term of ALL_TERMS) {
    test(`kd ${term.loss} (${term.pred}, T=${term.temperature}) gives the teacher exactly zero gradient`, () => {
        const { teacher, student, teacherOnlyTables, teacherParams, shared } = pair();
        const b = batch();
        const g = new Graph({ training: true });
        const tOut = teacher.forward(g, b);
        const sOut = student.forward(g, b);
        const loss = kdTermLoss(g, term, 0, sOut, tOut, b);
        assert.ok(loss.data[0] > 0, 'the kd term is not trivially zero');
        g.backward(loss);
        for (const p of teacherParams) {
            const nonzero = p.grad === null ? 0 : p.grad.filter((x) => x !== 0).length;
            assert.equal(nonzero, 0, `teacher parameter ${p.name} got gradient from the kd term`);
        }
        for (const t of teacherOnlyTables) {
            const sg = t.sparseGrad();
            const nonzero = sg.grad.subarray(0, sg.nRows * t.dim).filter((x) => x !== 0).length;
            assert.equal(nonzero, 0, `teacher-only table ${t.name} got gradient from the kd term`);
        }
        // The check can fail: the student side does get gradient (its head and the shared table).
        const head = student.store.params()[0];
        assert.ok(head.grad?.some((x) => x !== 0), 'student head got no gradient');
        assert.ok(shared.sparseGrad().nRows > 0, 'shared table (student path) got no gradient');
    });
}
test('bce_soft equals BCE(s/T, sigmoid(t/T)) times T² by default, and without T² when t2Scale is false', () => {
    const { teacher, student } = pair();
    const b = batch(8);
    const g = new Graph({ training: false });
    const tOut = teacher.forward(g, b);
    const sOut = student.forward(g, b);
    const s = sOut.logits['ctr'].data;
    const t = tOut.logits['ctr'].data;
    const T = 2;
    let expect = 0;
    for (let i = 0; i < 8; i++) {
        const x = s[i] / T;
        const z = 1 / (1 + Math.exp(-t[i] / T));
        expect += Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)));
    }
    expect /= 8;
    const term = { pred: 'ctr', target: 'ctr', loss: 'bce_soft', weight: 1, temperature: T };
    const scaled = kdTermLoss(g, term, 0, sOut, tOut, b).data[0];
    const plain = kdTermLoss(g, { ...term, t2Scale: false }, 0, sOut, tOut, b).data[0];
    assert.ok(Math.abs(plain - expect) < 1e-5, `${plain} vs ${expect}`);
    assert.ok(Math.abs(scaled - T * T * expect) < 1e-5, `${scaled} vs ${T * T * expect}`);
    const weighted = kdTermLoss(g, { ...term, weight: 0.25 }, 0, sOut, tOut, b).data[0];
    assert.ok(Math.abs(weighted - 0.25 * scaled) < 1e-6);
});
test('binary kl is zero when student equals teacher, and matches the two-class formula', () => {
    const b = batch(8);
    const g = new Graph({ training: false });
    const logits = Float32Array.from([0.3, -1, 2, 0, 4, -3, 0.5, 1]);
    const same = { logits: { ctr: g.input(logits, [8]) } };
    const term = { pred: 'ctr', target: 'ctr', loss: 'kl', weight: 1, temperature: 1 };
    assert.ok(Math.abs(kdTermLoss(g, term, 0, same, same, b).data[0]) < 1e-7);
    const s = { logits: { ctr: g.input(new Float32Array(8), [8]) } };
    // KL([1-p, p] ‖ [0.5, 0.5]) = p log 2p + (1-p) log 2(1-p)
    let expect = 0;
    for (const x of logits) {
        const p = 1 / (1 + Math.exp(-x));
        expect += p * Math.log(2 * p) + (1 - p) * Math.log(2 * (1 - p));
    }
    expect /= 8;
    const got = kdTermLoss(g, term, 0, s, same, b).data[0];
    assert.ok(Math.abs(got - expect) < 1e-5, `${got} vs ${expect}`);
});
test('column targets read batch.extra and name a missing column', () => {
    const { student } = pair();
    const b = batch(8);
    const g = new Graph({ training: true });
    const sOut = student.forward(g, b);
    const term = {
        pred: 'ctr',
        target: 'column:teacher_ctr',
        loss: 'bce_soft',
        weight: 1,
        temperature: 1,
    };
    const res = kdLoss(g, [term], sOut, null, b);
    assert.equal(res.terms[0].name, 'kd0.bce_soft(ctr<-column:teacher_ctr)');
    assert.ok(res.total.data[0] > 0);
    assert.throws(() => kdTermLoss(g, { ...term, target: 'column:nope' }, 2, sOut, null, b), /distill\[2\]\.target: the batch has no extra column 'nope' \(present: teacher_ctr, w\)/);
    const bad = {
        ...b,
        extra: { ...b.extra, teacher_ctr: b.extra['teacher_ctr'].map((x, i) => (i === 3 ? Number.NaN : x)) },
    };
    assert.throws(() => kdTermLoss(g, term, 0, sOut, null, bad), /row 3 is NaN, expected a finite teacher logit/);
});
test('per-sample weights scale rows', () => {
    const b = batch(4);
    b.extra['w'] = Float32Array.from([1, 0, 0, 0]);
    const g = new Graph({ training: false });
    const s = { logits: { ctr: g.input(Float32Array.from([1, 2, 3, 4]), [4]) } };
    const t = { logits: { ctr: g.input(Float32Array.from([0, 0, 0, 0]), [4]) } };
    const term = {
        pred: 'ctr',
        target: 'ctr',
        loss: 'mse',
        weight: 1,
        temperature: 1,
        sampleWeight: 'w',
    };
    // Only row 0 counts: (1-0)² / 4 rows.
    assert.ok(Math.abs(kdTermLoss(g, term, 0, s, t, b).data[0] - 0.25) < 1e-7);
});
test('checkKdTerms names the term and what exists', () => {
    const term = { pred: 'ctr', target: 'ctcvr', loss: 'kl', weight: 1, temperature: 1 };
    assert.throws(() => checkKdTerms([term], ['score'], ['ctr', 'ctcvr']), /distill\[0\]\.pred: the student has no output 'ctr' \(it has: score\)/);
    assert.throws(() => checkKdTerms([term], ['ctr'], ['ctr']), /distill\[0\]\.target: the teacher has no output 'ctcvr'/);
    assert.throws(() => checkKdTerms([term], ['ctr'], null), /no live teacher/);
    assert.throws(() => checkKdTerms([{ ...term, loss: 'mse', temperature: 2 }], ['ctr'], ['ctcvr']), /temperature must be 1/);
    checkKdTerms([term], ['ctr'], ['ctr', 'ctcvr']);
});
//# sourceMappingURL=kdTerms.test.js.map
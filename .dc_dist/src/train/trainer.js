/**
 * The training loops: one model on hard labels (`teacher`, `student`), teacher and student together
 * on the same batches (`joint`, `pfd`, `pfd-md`, `dmtl`), and a student against precomputed teacher
 * logit columns (`two-stage`, after `kdrec teacher score`).
 *
 * One step of a joint mode (PFD, Xu et al., KDD'20, §3.3; DMTL and PFD+MD follow the same shape):
 *
 *   L = Σ_o BCE(teacher_o, y_o)                                  teacher on hard labels
 *     + w_hard(λ_t) · Σ_o BCE(student_o, y_o)                      student on hard labels
 *     + w_kd(λ_t) · (Σ_k weight_k · kd_k(student, detach(teacher)) + hint)
 *
 * with (w_hard, w_kd) = (1, λ) or (1 − λ, λ) (`objective`). The teacher side of every distillation
 * term is detached, so ∂L/∂θ_teacher comes from the teacher's own hard loss only (and through
 * embedding tables shared on purpose, from the student's use of them). One backward pass over the
 * summed loss, then one optimiser step over the union of both models' parameters.
 *
 * The loop is synchronous and silent: progress and eval records go to callbacks (the CLI draws the
 * bar), so the library can train inside tests and the experiment runner. Validation AUC is computed
 * by a scorer passed in (`TrainOptions.auc`), because metrics live in src/eval, which imports train.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { HintDistiller } from '../distill/hint.js';
import { COLUMN_PREFIX, checkKdTerms, kdLoss } from '../distill/kdTerms.js';
import { lambdaAt, studentLossWeights, warmupEndStep, } from '../distill/lambdaSchedule.js';
import { loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.js';
import { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import { Adagrad, Adam, AdamW, clipGradNorm, SparseAdagrad, SparseAdam, } from '../engine/optim.js';
import { Rng } from '../engine/rng.js';
import { appendMetrics, checkpointPath, initRunDir, latestCheckpoint, listCheckpoints, readMetrics, runPaths, writeJsonAtomic, } from './runDir.js';
/** Which models a mode trains, and whether it distils. */
export function modeRoles(mode) {
    switch (mode) {
        case 'teacher':
            return { teacher: true, student: false, joint: false };
        case 'student':
        case 'two-stage':
            return { teacher: false, student: true, joint: false };
        case 'joint':
        case 'dmtl':
        case 'pfd':
        case 'pfd-md':
            return { teacher: true, student: true, joint: true };
    }
}
/** A store holding both models' parameters and every table once (shared tables are one object). */
export function combinedStore(models, extra) {
    const store = new ParamStore();
    const seenTables = new Map();
    const seenParams = new Map();
    const add = (s) => {
        for (const p of s.params()) {
            const prev = seenParams.get(p.name);
            if (prev === p)
                continue;
            if (prev !== undefined)
                throw new Error(`parameter name '${p.name}' is used by two different parameters`);
            seenParams.set(p.name, p);
            store.addParam(p);
        }
        for (const t of s.tables()) {
            const prev = seenTables.get(t.name);
            if (prev === t)
                continue;
            if (prev !== undefined) {
                throw new Error(`table name '${t.name}' is used by two different tables (shared tables must be the same object)`);
            }
            seenTables.set(t.name, t);
            store.addTable(t);
        }
    };
    for (const m of models)
        if (m !== null)
            add(m.store);
    if (extra !== undefined)
        add(extra);
    return store;
}
/** Dense optimiser over the parameters, lazy sparse one over the tables, as the config says. */
export function buildOptimizers(store, cfg) {
    const params = store.params();
    const tables = store.tables();
    const dense = cfg.dense === 'adagrad'
        ? new Adagrad(params, { lr: cfg.lr })
        : cfg.dense === 'adamw'
            ? new AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay })
            : new Adam(params, { lr: cfg.lr });
    const sparseLr = cfg.sparseLr ?? cfg.lr;
    const sparse = cfg.sparse === 'sparse_adagrad'
        ? new SparseAdagrad(tables, { lr: sparseLr })
        : new SparseAdam(tables, { lr: sparseLr });
    return { dense, sparse };
}
function assertFinite(step, name, value) {
    if (!Number.isFinite(value)) {
        throw new Error(`training stopped at step ${step}: loss term '${name}' is ${value} ` +
            '(try a lower learning rate, gradient clipping via optimizer.clipNorm, or check the input features)');
    }
}
/** The model's hard-label loss (BCE per supervised output); records each term as `<who>.hard.<output>`. */
function hardLoss(g, model, out, batch, who, terms) {
    const h = model.hardLoss(g, out, batch);
    for (const [name, loss] of Object.entries(h.terms))
        terms.push({ name: `${who}.${name}`, loss });
    return h.total;
}
/**
 * Which (output, label) pairs validation scores per model. A student without hard labels (DMTL) is
 * scored on the label its distillation target is trained on (student ctr vs the ctcvr label when
 * it distils the teacher's ctcvr).
 */
function evalPairs(supervised, kd, teacherLabels) {
    if (Object.keys(supervised).length > 0)
        return { ...supervised };
    const out = {};
    for (const t of kd) {
        if (t.target.startsWith(COLUMN_PREFIX))
            continue;
        const label = teacherLabels[t.target];
        if (label !== undefined && out[t.pred] === undefined)
            out[t.pred] = label;
    }
    return out;
}
function snapshot(store, step) {
    return {
        step,
        data: [...store.params().map((p) => p.data.slice()), ...store.tables().map((t) => t.weight.data.slice())],
    };
}
function restore(store, s) {
    const targets = [...store.params().map((p) => p.data), ...store.tables().map((t) => t.weight.data)];
    targets.forEach((d, i) => {
        d.set(s.data[i]);
    });
}
/** Scores a model's outputs over a dataset in file order (no gradients). */
export function predictLogits(model, data, outputs, batchSize = 4096) {
    const res = {};
    for (const o of outputs) {
        if (!model.outputNames.includes(o)) {
            throw new Error(`${model.name} has no output '${o}' (outputs: ${model.outputNames.join(', ')})`);
        }
        res[o] = new Float32Array(data.size);
    }
    const g = new Graph({ training: false });
    let offset = 0;
    for (const batch of data.batches({ batchSize })) {
        g.reset();
        const out = model.forward(g, batch);
        for (const o of outputs)
            res[o].set(out.logits[o].data.subarray(0, batch.size), offset);
        offset += batch.size;
    }
    return res;
}
function validate(model, pairs, data, auc, batchSize) {
    const outputs = Object.keys(pairs);
    const logits = predictLogits(model, data, outputs, batchSize);
    const res = {};
    for (const o of outputs) {
        const label = pairs[o];
        const y = data.columns.labels[label];
        if (y === undefined)
            throw new Error(`validation data has no label column '${label}'`);
        const s = logits[o];
        // Log loss from logits, stable form: log(1 + e^{-|s|}) + max(s, 0) − y·s.
        let ll = 0;
        for (let i = 0; i < s.length; i++) {
            const z = s[i];
            ll += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y[i] * z;
        }
        const m = { label, logloss: ll / Math.max(1, s.length), rows: s.length };
        if (auc !== undefined)
            m.auc = auc(y, s);
        res[o] = m;
    }
    return res;
}
/** The selection score of a record (higher is better); null when the record has no such metric. */
function selectionScore(r, role, metric) {
    const m = r.valid[role];
    if (m === undefined)
        return null;
    const first = Object.values(m)[0];
    if (first === undefined)
        return null;
    if (metric === 'auc')
        return first.auc ?? null;
    return -first.logloss;
}
export function train(opts) {
    const cfg = opts.config;
    const { train: trainSet, valid } = opts.data;
    const roles = modeRoles(cfg.mode);
    if (cfg.threads > 1) {
        throw new Error(`threads: ${cfg.threads} — the distillation trainer runs on one thread (use threads: 1); ` +
            'data-parallel workers are available for single-model benchmarks only');
    }
    const rootRng = new Rng(cfg.seed);
    const built = opts.models;
    const teacher = roles.teacher || cfg.distill.some((t) => !t.target.startsWith(COLUMN_PREFIX)) ? built.teacher : null;
    const student = roles.student ? built.student : null;
    if (roles.teacher && teacher === null)
        throw new Error(`mode '${cfg.mode}' needs a teacher model`);
    if (roles.student && student === null)
        throw new Error(`mode '${cfg.mode}' needs a student model`);
    const teacherTrains = roles.teacher;
    const teacherLabels = teacher?.supervised ?? {};
    // DMTL: the student's only loss is the KL to the teacher's ctcvr logit (issue 4, mode 4).
    const studentHard = student !== null && cfg.mode !== 'dmtl';
    if (student !== null) {
        checkKdTerms(cfg.distill, student.outputNames, teacher?.outputNames ?? null);
    }
    // Parameters owned by the distillation itself (the hint regressor), trained with the student.
    const extraParams = new ParamStore();
    const hint = cfg.hint !== undefined && student !== null
        ? new HintDistiller(cfg.hint, extraParams, rootRng.fork('hint'), student)
        : null;
    if (hint !== null && teacher === null)
        throw new Error('hint distillation needs a live teacher (joint modes)');
    const lambda = cfg.lambda;
    const warmupEnd = roles.joint ? warmupEndStep(lambda) : 0;
    const stepsPerEpoch = Math.ceil(trainSet.size / cfg.batchSize);
    if (trainSet.size === 0)
        throw new Error('the training split is empty');
    const totalSteps = cfg.steps ?? Math.ceil((cfg.epochs ?? 1) * stepsPerEpoch);
    // The hint regressor's width is only known from one forward pass; create it before the optimiser.
    const dropoutRng = rootRng.fork('dropout');
    const graph = new Graph({ training: true, rng: dropoutRng });
    if (hint !== null && teacher !== null && student !== null) {
        const probe = trainSet.slice(0, Math.min(trainSet.size, 2));
        graph.reset();
        const w = hint.widths(student.forward(graph, probe), teacher.forward(graph, probe));
        hint.init(w.student, w.teacher);
        graph.reset();
    }
    const trainedModels = [teacherTrains ? teacher : null, student];
    const store = combinedStore(trainedModels, extraParams);
    const optimizers = buildOptimizers(store, cfg.optimizer);
    let paths = null;
    let startStep = 0;
    if (opts.runDir !== undefined) {
        if (opts.resume) {
            paths = runPaths(opts.runDir);
            const latest = latestCheckpoint(paths);
            if (latest === null)
                throw new Error(`--resume: ${opts.runDir} has no checkpoint to resume from`);
            startStep = loadCheckpoint(latest.path, store, optimizers, { dropout: dropoutRng }).step;
        }
        else {
            if (existsSync(opts.runDir) && listCheckpoints(runPaths(opts.runDir)).length > 0) {
                throw new Error(`${opts.runDir} already holds a run; pass --resume to continue it, or choose another directory`);
            }
            paths = initRunDir(opts.runDir, cfg, opts.configSource);
        }
    }
    const history = [];
    if (paths !== null && opts.resume) {
        // The records of the session being resumed (a crash may have left records past the checkpoint).
        for (const r of readMetrics(paths))
            if (r.step <= startStep)
                history.push(r);
    }
    const running = new Map();
    const lastLoss = {};
    const selectRole = student !== null ? 'student' : 'teacher';
    const studentPairs = student !== null ? evalPairs(studentHard ? student.supervised : {}, cfg.distill, teacherLabels) : {};
    // The selected weights: in memory without a run directory, in RUN/best.safetensors with one.
    let best = null;
    let bestTeacherAuc = -Infinity;
    const bestPath = paths !== null ? join(paths.dir, 'best.safetensors') : null;
    const consider = (rec, step) => {
        const tAuc = rec.valid.teacher !== undefined ? Object.values(rec.valid.teacher)[0]?.auc : undefined;
        if (tAuc !== undefined && tAuc > bestTeacherAuc)
            bestTeacherAuc = tAuc;
        const score = selectionScore(rec, selectRole, cfg.selection.metric);
        if (!rec.selectable || score === null || (best !== null && score <= best.score))
            return;
        if (step === null) {
            // A record of the resumed session: its weights were saved to best.safetensors back then.
            best = { score, snap: null, record: rec };
        }
        else if (bestPath !== null) {
            saveCheckpoint(bestPath, {
                store,
                step,
                metadata: { mode: cfg.mode, run: cfg.name, selected: 'true' },
            });
            best = { score, snap: null, record: rec };
        }
        else {
            best = { score, snap: snapshot(store, step), record: rec };
        }
    };
    for (const r of history)
        consider(r, null);
    const t0 = performance.now();
    let samplesSeen = 0;
    const doEval = (step, epoch) => {
        const rec = {
            step,
            epoch,
            lambda: roles.joint || cfg.mode === 'two-stage' ? lambdaAt(lambda, Math.max(0, step - 1)) : 0,
            train: Object.fromEntries([...running].map(([k, v]) => [k, v.sum / Math.max(1, v.n)])),
            valid: {},
            selectable: !roles.joint || cfg.selection.allowBeforeWarmup || step >= warmupEnd,
            elapsedSeconds: (performance.now() - t0) / 1000,
        };
        running.clear();
        if (valid !== undefined && valid.size > 0) {
            if (teacher !== null && Object.keys(teacherLabels).length > 0) {
                rec.valid.teacher = validate(teacher, { ...teacherLabels }, valid, opts.auc, cfg.batchSize * 4);
            }
            if (student !== null && Object.keys(studentPairs).length > 0) {
                rec.valid.student = validate(student, studentPairs, valid, opts.auc, cfg.batchSize * 4);
            }
        }
        history.push(rec);
        if (paths !== null)
            appendMetrics(paths, rec);
        opts.onEval?.(rec);
        consider(rec, step);
        return rec;
    };
    const saveAt = (step) => {
        if (paths === null)
            return;
        saveCheckpoint(checkpointPath(paths, step), {
            store,
            optimizers,
            step,
            rngs: { dropout: dropoutRng },
            metadata: { mode: cfg.mode, run: cfg.name },
        });
        // Keep the three most recent checkpoints; the selected weights are in best.safetensors.
        const all = listCheckpoints(paths);
        for (const old of all.slice(0, Math.max(0, all.length - 3))) {
            if (old.step !== step)
                rmFile(old.path);
        }
    };
    const dataRng = new Rng(cfg.seed).fork('data');
    let step = startStep;
    let epoch = Math.floor(step / stepsPerEpoch);
    let iter = trainSet.batches({ batchSize: cfg.batchSize, rng: dataRng.fork(`epoch-${epoch}`) });
    // Resuming mid-epoch: replay the epoch's order up to the step (cheap next() calls, same batches).
    for (let s = epoch * stepsPerEpoch; s < step; s++)
        iter.next();
    const terms = [];
    const evalEvery = cfg.evalEvery;
    let lastEvalStep = -1;
    while (step < totalSteps) {
        let nx = iter.next();
        if (nx.done) {
            epoch++;
            iter = trainSet.batches({ batchSize: cfg.batchSize, rng: dataRng.fork(`epoch-${epoch}`) });
            nx = iter.next();
            if (nx.done)
                throw new Error('the training split yielded no batch');
        }
        const batch = nx.value;
        graph.reset();
        terms.length = 0;
        const lam = roles.joint || cfg.mode === 'two-stage' ? lambdaAt(lambda, step) : 0;
        let total = null;
        const addTotal = (t) => {
            if (t !== null)
                total = total === null ? t : graph.add(total, t);
        };
        // Each term is checked as soon as it exists, so a NaN is named where it first appears (a NaN
        // teacher would otherwise surface later as an invalid soft target).
        let checked = 0;
        const checkNew = () => {
            for (; checked < terms.length; checked++)
                assertFinite(step, terms[checked].name, terms[checked].loss.data[0]);
        };
        const tOut = teacher !== null ? teacher.forward(graph, batch) : null;
        if (teacherTrains && teacher !== null && tOut !== null)
            addTotal(hardLoss(graph, teacher, tOut, batch, 'teacher', terms));
        checkNew();
        if (student !== null) {
            const sOut = student.forward(graph, batch);
            const w = roles.joint || cfg.mode === 'two-stage' ? studentLossWeights(cfg.objective, lam) : { hard: 1, kd: 0 };
            const sHard = studentHard ? hardLoss(graph, student, sOut, batch, 'student', terms) : null;
            if (sHard !== null && w.hard !== 0)
                addTotal(w.hard === 1 ? sHard : graph.scale(sHard, w.hard));
            checkNew();
            const kd = kdLoss(graph, cfg.distill, sOut, tOut, batch);
            for (const t of kd.terms)
                terms.push(t);
            let distill = kd.total;
            if (hint !== null && tOut !== null) {
                const h = hint.loss(graph, sOut, tOut);
                terms.push({ name: 'hint', loss: h });
                distill = distill === null ? h : graph.add(distill, h);
            }
            // With λ = 0 the kd terms are still computed and logged, but contribute no gradient.
            if (distill !== null && w.kd !== 0)
                addTotal(w.kd === 1 ? distill : graph.scale(distill, w.kd));
        }
        checkNew();
        for (const t of terms) {
            const v = t.loss.data[0];
            lastLoss[t.name] = v;
            const r = running.get(t.name);
            if (r === undefined)
                running.set(t.name, { sum: v, n: 1 });
            else {
                r.sum += v;
                r.n++;
            }
        }
        if (total === null) {
            throw new Error(`mode '${cfg.mode}': nothing to train at step ${step} (no hard labels and no distillation terms)`);
        }
        const totalT = total;
        assertFinite(step, 'total', totalT.data[0]);
        lastLoss['total'] = totalT.data[0];
        graph.backward(totalT);
        if (cfg.optimizer.clipNorm > 0)
            clipGradNorm(store.params(), store.tables(), cfg.optimizer.clipNorm);
        optimizers['dense'].step();
        optimizers['sparse'].step();
        // Tables of a live-but-frozen teacher (two-stage with a live teacher never happens; a loaded
        // teacher in a student-only mode might) accumulate sparse grads through lookups: clear them.
        if (!teacherTrains && teacher !== null)
            teacher.store.zeroGrad();
        step++;
        samplesSeen += batch.size;
        if (opts.onProgress !== undefined) {
            const secs = (performance.now() - t0) / 1000;
            const sps = samplesSeen / Math.max(secs, 1e-9);
            opts.onProgress({
                step,
                totalSteps,
                epoch,
                lambda: lam,
                samplesPerSec: sps,
                etaSeconds: ((totalSteps - step) * cfg.batchSize) / Math.max(sps, 1e-9),
                losses: { ...lastLoss },
            });
        }
        const isEval = evalEvery > 0 && step % evalEvery === 0;
        if (isEval || step === totalSteps) {
            doEval(step, epoch);
            lastEvalStep = step;
            saveAt(step);
        }
        else if (cfg.checkpointEvery > 0 && step % cfg.checkpointEvery === 0) {
            saveAt(step);
        }
    }
    if (lastEvalStep !== step && history.length === 0)
        doEval(step, epoch);
    const wallSeconds = (performance.now() - t0) / 1000;
    const last = history[history.length - 1] ?? null;
    const chosen = best;
    // Hand back the selected weights (not the last ones) unless they are the same step.
    if (chosen !== null && chosen.record.step !== step) {
        if (chosen.snap !== null)
            restore(store, chosen.snap);
        else if (bestPath !== null)
            loadCheckpoint(bestPath, store);
    }
    let underfit = null;
    if (roles.joint && chosen !== null) {
        const tAuc = chosen.record.valid.teacher !== undefined
            ? Object.values(chosen.record.valid.teacher)[0]?.auc
            : undefined;
        if (tAuc !== undefined && Number.isFinite(bestTeacherAuc))
            underfit = tAuc < 0.99 * bestTeacherAuc;
    }
    const final = {
        mode: cfg.mode,
        steps: step,
        warmupEndStep: warmupEnd,
        selectedStep: chosen?.record.step ?? null,
        selectedMetric: `${selectRole}.${cfg.selection.metric}`,
        selected: chosen?.record ?? null,
        teacherUnderfitAtSelection: underfit,
        last,
        samplesPerSec: (samplesSeen / Math.max(wallSeconds, 1e-9)) | 0,
        wallSeconds,
        runDir: paths?.dir ?? null,
    };
    if (paths !== null)
        writeJsonAtomic(paths.final, final);
    return { teacher, student, history, final };
}
function rmFile(path) {
    try {
        unlinkSync(path);
    }
    catch {
        // Already gone (e.g. removed by hand): nothing to prune.
    }
}
//# sourceMappingURL=trainer.js.map
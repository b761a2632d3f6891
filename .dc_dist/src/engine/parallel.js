/**
 * Data-parallel training on worker_threads: synchronous gradient averaging.
 *
 * Each step the batch is cut into N contiguous shards (N = --threads). Rank 0 is the calling
 * thread; ranks 1..N−1 are workers. Every rank runs forward and backward on its shard against the
 * SAME parameters, which live in SharedArrayBuffers (one copy for all threads). Rank 0 then sums
 * the shard gradients in rank order — dense gradients elementwise, sparse embedding gradients by
 * merging the touched rows (a row touched by several shards gets the sum) — weighting each shard
 * by its share of the batch (n_r / B), so the result is the gradient of the full-batch mean loss.
 * Rank 0 alone runs the optimisers; workers are blocked on a futex (Atomics.wait) while it does,
 * so no thread ever reads parameters that are being written.
 *
 * Reproducibility: the shards, each rank's arithmetic and the reduction order are all fixed, so a
 * run is bit-identical to another run with the same seed and the same N. Different N give
 * different (float-rounding-level) results, because the per-shard sums are added in a different
 * order. (Hogwild — lock-free updates from every thread — would avoid rank 0's serial optimiser
 * step but makes every run unrepeatable; kdrec prefers repeatable runs.)
 *
 * Workers must build the same model. A model is therefore described by a factory reference: a
 * module URL, the name of an exported factory function and a structured-cloneable config. Every
 * rank imports the module and calls the factory; the workers then replace their parameters' memory
 * by rank 0's shared buffers, so their own initial values never matter.
 */
import { MessageChannel, receiveMessageOnPort, Worker, } from 'node:worker_threads';
import { Graph } from './graph.js';
import { clipGradNorm } from './optim.js';
import { Rng } from './rng.js';
export async function loadFactory(ref) {
    const mod = (await import(ref.moduleUrl));
    const f = mod[ref.exportName];
    if (typeof f !== 'function') {
        throw new Error(`parallel: module ${ref.moduleUrl} has no exported function '${ref.exportName}'`);
    }
    return f;
}
/** Control block layout, per worker: [generation, shard rows, batch rows, done generation, failed]. */
export const CTRL_STRIDE = 5;
export const SHUTDOWN = -1;
/** Longest time rank 0 waits for a worker's shard before declaring it dead. */
const WORKER_TIMEOUT_MS = 10 * 60_000;
export function shareFloat32(a) {
    const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
    s.set(a);
    return s;
}
/** Shard r of B rows over N ranks: contiguous, the first B mod N shards one row longer. */
export function shardRange(B, N, r) {
    const base = Math.floor(B / N);
    const extra = B % N;
    const start = r * base + Math.min(r, extra);
    return [start, start + base + (r < extra ? 1 : 0)];
}
/** Multiplies a rank's own gradients (dense and sparse) by its shard weight. */
export function scaleGrads(params, tables, f) {
    if (f === 1)
        return;
    for (const p of params) {
        const g = p.grad;
        if (g !== null)
            for (let i = 0; i < g.length; i++)
                g[i] *= f;
    }
    for (const t of tables) {
        const { grad, nRows } = t.sparseGrad();
        const n = nRows * t.dim;
        for (let i = 0; i < n; i++)
            grad[i] *= f;
    }
}
export class ParallelTrainer {
    model;
    threads;
    opts;
    workers = [];
    errorPorts = [];
    ctrl;
    wbufs = [];
    graph;
    gen = 0;
    dropout = new StepRng();
    closed = false;
    optimizers;
    constructor(model, threads, opts) {
        this.model = model;
        this.threads = threads;
        this.opts = opts;
        this.ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_STRIDE * Math.max(1, threads - 1)));
        this.graph = new Graph({ training: true, rng: this.dropout });
        this.optimizers = opts.makeOptimizers(model.store);
    }
    static async create(opts) {
        if (!Number.isInteger(opts.threads) || opts.threads < 1) {
            throw new Error(`parallel: threads must be an integer ≥ 1, got ${opts.threads}`);
        }
        if (!Number.isInteger(opts.maxRows) || opts.maxRows < opts.threads) {
            throw new Error(`parallel: maxRows (${opts.maxRows}) must be an integer ≥ threads (${opts.threads})`);
        }
        const factory = await loadFactory(opts.factory);
        const model = factory(opts.factory.config);
        const store = model.store;
        // Move every parameter into shared memory before anything (optimisers, graphs) looks at it.
        if (opts.threads > 1) {
            for (const p of store.params())
                p.data = shareFloat32(p.data);
            for (const t of store.tables())
                t.weight.data = shareFloat32(t.weight.data);
        }
        const trainer = new ParallelTrainer(model, opts.threads, opts);
        try {
            await trainer.startWorkers();
        }
        catch (err) {
            await trainer.close();
            throw err;
        }
        return trainer;
    }
    async startWorkers() {
        const { opts, model } = this;
        const params = model.store.params();
        const tables = model.store.tables();
        const maxShard = shardRange(opts.maxRows, this.threads, 0)[1];
        const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
        const ready = [];
        for (let r = 1; r < this.threads; r++) {
            const cols = {};
            const colViews = {};
            for (const [name, spec] of Object.entries(opts.columns)) {
                const sab = new SharedArrayBuffer(4 * maxShard * spec.width);
                cols[name] = sab;
                colViews[name] = spec.type === 'i32' ? new Int32Array(sab) : new Float32Array(sab);
            }
            const buffers = {
                cols,
                denseGrads: params.map((p) => new SharedArrayBuffer(4 * p.size)),
                sparseRows: tables.map((t) => new SharedArrayBuffer(4 * t.vocab)),
                sparseGrads: tables.map((t) => new SharedArrayBuffer(4 * t.vocab * t.dim)),
                sparseCounts: new SharedArrayBuffer(4 * Math.max(1, tables.length)),
                loss: new SharedArrayBuffer(8),
            };
            this.wbufs.push({
                cols: colViews,
                denseGrads: buffers.denseGrads.map((b) => new Float32Array(b)),
                sparseRows: buffers.sparseRows.map((b) => new Int32Array(b)),
                sparseGrads: buffers.sparseGrads.map((b) => new Float32Array(b)),
                sparseCounts: new Int32Array(buffers.sparseCounts),
                loss: new Float64Array(buffers.loss),
            });
            const init = {
                rank: r,
                factory: opts.factory,
                seed: opts.seed,
                columns: opts.columns,
                ctrl: this.ctrl.buffer,
                params: params.map((p) => p.data.buffer),
                tables: tables.map((t) => t.weight.data.buffer),
                buffers,
            };
            const { port1, port2 } = new MessageChannel();
            const w = spawnWorker(new URL(`./parallelWorker${ext}`, import.meta.url), {
                workerData: { init, errors: port2 },
                transferList: [port2],
            });
            this.workers.push(w);
            this.errorPorts.push(port1);
            ready.push(new Promise((resolve, reject) => {
                w.once('message', (m) => m.ready ? resolve() : reject(new Error(`parallel: worker ${r} failed to start: ${m.error}`)));
                w.once('error', (e) => reject(new Error(`parallel: worker ${r} failed to start: ${e.message}`)));
                w.once('exit', (code) => reject(new Error(`parallel: worker ${r} exited with code ${code} during start-up`)));
            }));
        }
        await Promise.all(ready);
    }
    /** Steps taken (the next step is number stepCount + 1). */
    get stepCount() {
        return this.gen;
    }
    /**
     * Sets the step counter after restoring a checkpoint. Dropout masks are a function of (seed,
     * rank, step), so a resumed run draws the same masks as an uninterrupted one.
     */
    setStepCount(step) {
        if (!Number.isInteger(step) || step < 0)
            throw new Error(`parallel: step count must be an integer ≥ 0, got ${step}`);
        this.gen = step;
    }
    /**
     * One synchronous data-parallel step on `batch`: returns the full-batch mean loss. Throws (naming
     * the step) if the loss is NaN or Inf, before any parameter is changed.
     */
    step(batch) {
        if (this.closed)
            throw new Error('parallel: trainer is closed');
        const B = batch.rows;
        const N = this.threads;
        if (!Number.isInteger(B) || B < N || B > this.opts.maxRows) {
            throw new Error(`parallel: batch has ${B} rows; expected between threads (${N}) and maxRows (${this.opts.maxRows})`);
        }
        checkBatch(batch, this.opts.columns);
        const { store } = this.model;
        const params = store.params();
        const tables = store.tables();
        this.gen++;
        this.dropout.at(this.opts.seed, 0, this.gen);
        // Hand out shards 1..N−1 first so workers start while rank 0 computes shard 0.
        for (let r = 1; r < N; r++) {
            const [s, e] = shardRange(B, N, r);
            const wb = this.wbufs[r - 1];
            for (const [name, spec] of Object.entries(this.opts.columns)) {
                wb.cols[name].set(batch.cols[name].subarray(s * spec.width, e * spec.width));
            }
            const c = (r - 1) * CTRL_STRIDE;
            Atomics.store(this.ctrl, c + 1, e - s);
            Atomics.store(this.ctrl, c + 2, B);
            Atomics.store(this.ctrl, c, this.gen);
            Atomics.notify(this.ctrl, c);
        }
        const [s0, e0] = shardRange(B, N, 0);
        const shard0 = N === 1 ? batch : sliceBatch(batch, this.opts.columns, s0, e0);
        const g = this.graph;
        g.reset();
        const loss0 = this.model.loss(g, shard0);
        g.backward(loss0);
        let loss = (loss0.data[0] * (e0 - s0)) / B;
        scaleGrads(params, tables, (e0 - s0) / B);
        for (let r = 1; r < N; r++) {
            try {
                this.waitFor(r);
            }
            catch (err) {
                // Wait for the other workers too, so none is still writing when the next step starts,
                // and drop this step's partial gradients.
                for (let q = r + 1; q < N; q++)
                    this.waitFor(q, false);
                store.zeroGrad();
                throw err;
            }
            const wb = this.wbufs[r - 1];
            const [s, e] = shardRange(B, N, r);
            loss += (wb.loss[0] * (e - s)) / B;
            for (let i = 0; i < params.length; i++) {
                const src = wb.denseGrads[i];
                const dst = params[i].ensureGrad();
                for (let j = 0; j < dst.length; j++)
                    dst[j] += src[j];
            }
            for (let i = 0; i < tables.length; i++)
                mergeSparse(tables[i], wb.sparseRows[i], wb.sparseGrads[i], wb.sparseCounts[i]);
        }
        if (!Number.isFinite(loss)) {
            store.zeroGrad();
            throw new Error(`training step ${this.gen}: loss is ${loss} (NaN or Inf); stopping before the update`);
        }
        if (this.opts.maxGradNorm !== undefined)
            clipGradNorm(params, tables, this.opts.maxGradNorm);
        for (const opt of Object.values(this.optimizers))
            opt.step();
        return loss;
    }
    waitFor(r, reportFailure = true) {
        const c = (r - 1) * CTRL_STRIDE;
        const deadline = Date.now() + WORKER_TIMEOUT_MS;
        for (;;) {
            const done = Atomics.load(this.ctrl, c + 3);
            if (done === this.gen)
                break;
            if (Date.now() > deadline)
                throw new Error(`parallel: worker ${r} did not finish step ${this.gen} in time`);
            Atomics.wait(this.ctrl, c + 3, done, 1000);
        }
        if (Atomics.load(this.ctrl, c + 4) !== 0) {
            // Always take the message off the port, so a later failure never reports a stale one.
            const msg = receiveMessageOnPort(this.errorPorts[r - 1]);
            const text = msg?.message?.error ?? 'unknown error';
            if (reportFailure)
                throw new Error(`parallel: worker ${r} failed at step ${this.gen}: ${text}`);
        }
    }
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        for (let r = 1; r <= this.workers.length; r++) {
            const c = (r - 1) * CTRL_STRIDE;
            Atomics.store(this.ctrl, c, SHUTDOWN);
            Atomics.notify(this.ctrl, c);
        }
        await Promise.all(this.workers.map((w) => w.terminate()));
        for (const p of this.errorPorts)
            p.close();
    }
}
/**
 * Starts a worker module. Compiled (.js) modules start directly. When kdrec runs from its
 * TypeScript sources (tests under tsx), Node 20 workers do not inherit tsx's `--import` loader, so
 * a small bootstrap registers tsx's ESM hooks in the worker before importing the .ts module.
 */
function spawnWorker(url, options) {
    if (!url.pathname.endsWith('.ts'))
        return new Worker(url, options);
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
    return new Worker(boot, { ...options, eval: true });
}
/** Checks that every declared column is present with the declared type and rows × width values. */
export function checkBatch(batch, columns) {
    for (const [name, spec] of Object.entries(columns)) {
        const src = batch.cols[name];
        if (src === undefined)
            throw new Error(`parallel: batch has no column '${name}'`);
        const want = spec.type === 'i32' ? Int32Array : Float32Array;
        if (!(src instanceof want)) {
            throw new Error(`parallel: column '${name}' must be a ${want.name}, got ${src.constructor.name}`);
        }
        if (src.length !== batch.rows * spec.width) {
            throw new Error(`parallel: column '${name}' has ${src.length} values, expected rows × width = ${batch.rows} × ${spec.width}`);
        }
    }
}
/**
 * The dropout stream of one rank at one step: new Rng(seed).fork(`rank${r}/step${s}`), behind a
 * fixed object so the rank's Graph (which holds its rng for life) can keep its buffer arena.
 */
export class StepRng {
    rng = new Rng(0);
    at(seed, rank, step) {
        this.rng = new Rng(seed).fork(`rank${rank}/step${step}`);
    }
    nextFloat() {
        return this.rng.nextFloat();
    }
}
/** A row range of a (checked) batch as views (no copy). */
export function sliceBatch(batch, columns, s, e) {
    const cols = {};
    for (const [name, spec] of Object.entries(columns))
        cols[name] = batch.cols[name].subarray(s * spec.width, e * spec.width);
    return { rows: e - s, cols };
}
/** Adds a worker's compact sparse gradient (rows[0..n), grad) into the table's own, row by row. */
function mergeSparse(t, rows, grad, n) {
    if (n === 0)
        return;
    const slots = scratchSlots(n);
    const dst = t.assignSlots(rows, n, slots);
    const dim = t.dim;
    for (let r = 0; r < n; r++) {
        const o = slots[r] * dim;
        const go = r * dim;
        for (let d = 0; d < dim; d++)
            dst[o + d] += grad[go + d];
    }
}
let slotScratch = new Int32Array(1024);
function scratchSlots(n) {
    if (slotScratch.length < n)
        slotScratch = new Int32Array(Math.max(n, slotScratch.length * 2));
    return slotScratch;
}
//# sourceMappingURL=parallel.js.map
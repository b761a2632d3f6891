/**
 * Checkpoints: a model's parameters, tables and optimiser state in ONE safetensors file, so Python
 * opens it (`safetensors.torch.load_file`) and training resumes from it bit-exactly.
 *
 * Tensor names:  param/<name>  (dense parameters, F32)
 *                table/<name>  (embedding tables, F32 [vocab, dim])
 *                opt/<optimiser>/<buffer>  (e.g. opt/dense/m/user.0.W, F32)
 *                opt/<optimiser>/step  (I64 [1], steps taken)
 *                rng/<name>  (F64 [6], generator states, optional)
 * Metadata: format, kdrec version, training step, a model signature (hash of every parameter's
 * name and shape) and any caller-supplied strings.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, writeSafetensors } from './safetensors.js';
export const CHECKPOINT_FORMAT = 'kdrec-checkpoint-1';
/** Hash of the sorted (name, shape) list of parameters and tables: identifies the architecture. */
export function modelSignature(store) {
    const parts = [
        ...store.params().map((p) => `param/${p.name}:${p.shape.join('x')}`),
        ...store.tables().map((t) => `table/${t.name}:${t.weight.shape.join('x')}`),
    ].sort();
    return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}
let cachedVersion = null;
/** The kdrec version from package.json, found by walking up from this file (src or dist layout). */
export function kdrecVersion() {
    if (cachedVersion !== null)
        return cachedVersion;
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 6; i++) {
        const p = join(dir, 'package.json');
        if (existsSync(p)) {
            const pkg = JSON.parse(readFileSync(p, 'utf8'));
            if (pkg.name === 'kdrec' && typeof pkg.version === 'string')
                return (cachedVersion = pkg.version);
        }
        dir = dirname(dir);
    }
    return (cachedVersion = 'unknown');
}
/** The tensors a checkpoint of this model holds, as live views (no copies). */
function collect(c) {
    const out = {};
    for (const p of c.store.params())
        out[`param/${p.name}`] = { dtype: 'F32', shape: [...p.shape], data: p.data };
    for (const t of c.store.tables())
        out[`table/${t.name}`] = { dtype: 'F32', shape: [...t.weight.shape], data: t.weight.data };
    for (const [name, opt] of Object.entries(c.optimizers ?? {})) {
        const st = opt.state();
        for (const [key, buf] of Object.entries(st.buffers)) {
            out[`opt/${name}/${key}`] = { dtype: 'F32', shape: [...buf.shape], data: buf.data };
        }
        out[`opt/${name}/step`] = { dtype: 'I64', shape: [1], data: BigInt64Array.of(BigInt(st.step)) };
    }
    for (const [name, rng] of Object.entries(c.rngs ?? {})) {
        out[`rng/${name}`] = { dtype: 'F64', shape: [6], data: rng.getState() };
    }
    return out;
}
export function saveCheckpoint(path, c) {
    if (!Number.isInteger(c.step) || c.step < 0)
        throw new Error(`saveCheckpoint: step must be an integer ≥ 0, got ${c.step}`);
    const metadata = {
        ...(c.metadata ?? {}),
        format: CHECKPOINT_FORMAT,
        kdrec_version: kdrecVersion(),
        step: String(c.step),
        model_signature: modelSignature(c.store),
    };
    writeSafetensors(path, collect(c), metadata);
}
/**
 * Restores a checkpoint into an existing model and optimisers, in place (so parameters living in
 * SharedArrayBuffers stay shared). Refuses any mismatch before changing anything: a missing or
 * unexpected tensor, or a shape difference, naming the tensor and both shapes.
 * `weightsOnly` loads parameters and tables and ignores the file's optimiser and RNG state (e.g. to
 * evaluate or serve a model from a training checkpoint); the model's tensors must still all match.
 */
export function loadCheckpoint(path, store, optimizers = {}, rngs = {}, options = {}) {
    const file = readSafetensors(path);
    if (file.metadata['format'] !== CHECKPOINT_FORMAT) {
        throw new Error(`${path}: not a kdrec checkpoint (metadata format = ${JSON.stringify(file.metadata['format'])}, expected '${CHECKPOINT_FORMAT}')`);
    }
    const expected = collect({ store, optimizers, rngs });
    for (const [name, want] of Object.entries(expected)) {
        const got = file.tensors[name];
        if (got === undefined)
            throw new Error(`${path}: checkpoint has no tensor '${name}' (the model expects ${want.dtype} [${want.shape}])`);
        if (got.dtype !== want.dtype || got.shape.join(',') !== want.shape.join(',')) {
            throw new Error(`${path}: tensor '${name}' is ${got.dtype} [${got.shape}] in the checkpoint but ${want.dtype} [${want.shape}] in the model`);
        }
    }
    for (const name of Object.keys(file.tensors)) {
        const isWeight = name.startsWith('param/') || name.startsWith('table/');
        if (options.weightsOnly && !isWeight)
            continue;
        if (!(name in expected))
            throw new Error(`${path}: unexpected tensor '${name}' in the checkpoint (the model has no such parameter or state)`);
    }
    for (const [name, want] of Object.entries(expected)) {
        const got = file.tensors[name];
        if (want.dtype === 'I64' || want.dtype === 'F64')
            continue; // step counts and RNG states: below
        want.data.set(got.data);
    }
    for (const [name, opt] of Object.entries(optimizers)) {
        opt.setStepCount(Number(file.tensors[`opt/${name}/step`].data[0]));
    }
    for (const [name, rng] of Object.entries(rngs))
        rng.setState(file.tensors[`rng/${name}`].data);
    const step = Number(file.metadata['step']);
    if (!Number.isInteger(step) || step < 0)
        throw new Error(`${path}: metadata step ${JSON.stringify(file.metadata['step'])} is not an integer ≥ 0`);
    return { step, metadata: file.metadata };
}
//# sourceMappingURL=checkpoint.js.map
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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './kernels/artifacts.js';
import type { ParamStore } from './nn.js';
import type { Optimizer } from './optim.js';
import type { Rng } from './rng.js';
import { readSafetensors, type SafetensorsTensor, writeSafetensors } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'kdrec-checkpoint-1';

export interface CheckpointContents {
  store: ParamStore;
  optimizers?: Record<string, Optimizer>;
  /** Training step (e.g. batches seen); returned by loadCheckpoint. */
  step: number;
  /** Generators whose state must survive a resume (data shuffling, dropout). */
  rngs?: Record<string, Rng>;
  metadata?: Record<string, string>;
}

export interface LoadedCheckpoint {
  step: number;
  metadata: Record<string, string>;
}

/** Hash of the sorted (name, shape) list of parameters and tables: identifies the architecture. */
export function modelSignature(store: ParamStore): string {
  const parts = [
    ...store.params().map((p) => `param/${p.name}:${p.shape.join('x')}`),
    ...store.tables().map((t) => `table/${t.name}:${t.weight.shape.join('x')}`),
  ].sort();
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);
}

let cachedVersion: string | null = null;
/** The kdrec version from the package.json above this module (source or dist layout). */
export function kdrecVersion(): string {
  if (cachedVersion === null) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cachedVersion;
}

/** The tensors a checkpoint of this model holds, as live views (no copies). */
function collect(c: Omit<CheckpointContents, 'step' | 'metadata'>): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
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

export function saveCheckpoint(path: string, c: CheckpointContents): void {
  if (!Number.isInteger(c.step) || c.step < 0)
    throw new Error(`saveCheckpoint: step must be an integer ≥ 0, got ${c.step}`);
  const metadata: Record<string, string> = {
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
 * `ignore` names further checkpoint tensors that may be present without a counterpart in the model:
 * training-only parameters such as a hint-distillation regressor, which serving never needs.
 */
export function loadCheckpoint(
  path: string,
  store: ParamStore,
  optimizers: Record<string, Optimizer> = {},
  rngs: Record<string, Rng> = {},
  options: {
    weightsOnly?: boolean;
    ignore?: (name: string) => boolean;
    /** Called with the file's metadata before any tensor is compared; throws to refuse the file. */
    checkMetadata?: (metadata: Record<string, string>) => void;
  } = {},
): LoadedCheckpoint {
  const file = readSafetensors(path);
  if (file.metadata['format'] !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a kdrec checkpoint (metadata format = ${JSON.stringify(file.metadata['format'])}, expected '${CHECKPOINT_FORMAT}')`,
    );
  }
  options.checkMetadata?.(file.metadata);
  const expected = collect({ store, optimizers, rngs });
  for (const [name, want] of Object.entries(expected)) {
    const got = file.tensors[name];
    if (got === undefined)
      throw new Error(
        `${path}: checkpoint has no tensor '${name}' (the model expects ${want.dtype} [${want.shape}])`,
      );
    if (got.dtype !== want.dtype || got.shape.join(',') !== want.shape.join(',')) {
      throw new Error(
        `${path}: tensor '${name}' is ${got.dtype} [${got.shape}] in the checkpoint but ${want.dtype} [${want.shape}] in the model`,
      );
    }
  }
  for (const name of Object.keys(file.tensors)) {
    const isWeight = name.startsWith('param/') || name.startsWith('table/');
    if (options.weightsOnly && !isWeight) continue;
    if (options.ignore?.(name) && !(name in expected)) continue;
    if (!(name in expected))
      throw new Error(
        `${path}: unexpected tensor '${name}' in the checkpoint (the model has no such parameter or state)`,
      );
  }
  for (const [name, want] of Object.entries(expected)) {
    const got = file.tensors[name]!;
    if (want.dtype === 'I64' || want.dtype === 'F64') continue; // step counts and RNG states: below
    (want.data as Float32Array).set(got.data as Float32Array);
  }
  for (const [name, opt] of Object.entries(optimizers)) {
    opt.setStepCount(Number((file.tensors[`opt/${name}/step`]!.data as BigInt64Array)[0]));
  }
  for (const [name, rng] of Object.entries(rngs))
    rng.setState(file.tensors[`rng/${name}`]!.data as Float64Array);
  const step = Number(file.metadata['step']);
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`${path}: metadata step ${JSON.stringify(file.metadata['step'])} is not an integer ≥ 0`);
  return { step, metadata: file.metadata };
}

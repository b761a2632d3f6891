/**
 * `kdrec export --format onnx`: every graph of a kdrec export directory (../export.ts) as an ONNX
 * model, beside a JSON manifest that says exactly what a caller must do to a raw request.
 *
 * Public API (stable): `writeOnnxExport(exportDir, opts)`, `readOnnxManifest(dir)`,
 * `ONNX_MANIFEST_FILE`, `ONNX_MODEL_OUTPUTS`, and the `OnnxManifest` type.
 *
 *   OUT/onnx_manifest.json      format, kdrec export format version, opset, per model its file and
 *                               inputs/outputs, per input field how to encode a raw value
 *   OUT/user_tower.onnx         user tower        → user_vector [batch, D]
 *   OUT/item_tower.onnx         item tower        → item_vector [batch, D]
 *   OUT/prerank.onnx            pre-ranker        → logit [batch, 1]   (if the export has one)
 *   OUT/rank.onnx               ranking teacher   → logit [batch, 1]   (if the export has one)
 *   OUT/item_vectors.npy        float32 [N, D], row r = catalogue row r (item_ids.json)
 *   OUT/item_live.npy           int64 [N], 0 = removed by `kdrec index remove` (only if any was)
 *   OUT/item_ids.json           raw item id of each catalogue row
 *   OUT/user_inputs/<f>.npy     per user-tower input, the stored (already encoded) value of each
 *                               known user, row u = user_ids.json[u] (a field the user table lacks:
 *                               its missing value); what `kdrec serve` feeds the user tower for a
 *                               request carrying only that user id
 *   OUT/user_ids.json
 *
 * Where the encoding lives: in the manifest, not the graph. Ids must be mapped from strings
 * (vocabulary lookup, or 1 + FNV-1a 32 mod buckets), which an ONNX graph cannot do cheaply, so a
 * caller needs the manifest for them anyway; numerics follow them there so that there is one
 * contract: the models read exactly what a kdrec `Batch` holds, which is also the form of every
 * table an export stores (user_features, item_features are already encoded). A caller feeding
 * stored rows does nothing; a caller with raw values applies `fields[f].encode` as documented.
 *
 * `triton: true` lays the same models out as a Triton model repository (./triton.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Schema } from '../../data/schema.js';
import { isUserStateSource } from '../../data/userState.js';
import { kdrecVersion } from '../../engine/checkpoint.js';
import { readSafetensors } from '../../engine/safetensors.js';
import { loadExport, readJson, readManifest, runLoaderSync } from '../bundle.js';
import { EXPORT_FORMAT_VERSION, type ExportManifest, writeJson } from '../export.js';
import type { GraphDesc, GraphWeight } from '../graph.js';
import { graphToOnnx, int64Ids, ONNX_OPSET, type OnnxIo } from './onnxModel.js';
import { writeTritonRepository } from './triton.js';

export const ONNX_MANIFEST_FILE = 'onnx_manifest.json';
export const ONNX_FORMAT = 'kdrec-onnx';

/** Output tensor name of each exported graph. */
export const ONNX_MODEL_OUTPUTS = {
  user_tower: 'user_vector',
  item_tower: 'item_vector',
  prerank: 'logit',
  rank: 'logit',
} as const;
export type OnnxModelName = keyof typeof ONNX_MODEL_OUTPUTS;

/** How a caller turns a raw value of a field into the model input. */
export type FieldEncoding =
  | { kind: 'categorical' | 'multi_hot' | 'sequence'; ids: 'vocab'; vocab: string; maxLen?: number }
  | { kind: 'categorical' | 'multi_hot' | 'sequence'; ids: 'hash'; buckets: number; maxLen?: number }
  | {
      kind: 'numeric';
      normalize: 'none' | 'standard' | 'log1p' | 'minmax';
      mean?: number;
      std?: number;
      min?: number;
      max?: number;
    };

export interface OnnxManifest {
  format: typeof ONNX_FORMAT;
  /** The kdrec export format version (../export.ts EXPORT_FORMAT_VERSION) the models were made from. */
  formatVersion: number;
  kdrecVersion: string;
  createdAt: string;
  opset: number;
  /** Directory of the kdrec export converted (as given). */
  source: string;
  scoreFn: 'dot' | 'cosine';
  temperature: number;
  dim: number;
  models: Partial<Record<OnnxModelName, { file: string } & OnnxIo>>;
  /** Per input field: group and encoding of a raw value (see `encodingNotes`). */
  fields: Record<string, { group: string; encode: FieldEncoding; userState?: string }>;
  encodingNotes: string[];
  files: {
    itemVectors: string;
    /** int64 [N], 0 for an item removed after the export (serve skips it); null: every item live. */
    itemLive: string | null;
    itemIds: string;
    userInputs: string | null;
    userIds: string | null;
  };
}

const ENCODING_NOTES = [
  'ids: int64 table rows. vocab: row = 1 + index of the token in the `tokens` array of the vocabulary file (path relative to this manifest), 0 when unknown or missing (the OOV row).',
  'ids: hash: row = 1 + (FNV-1a 32-bit of the UTF-8 bytes of the token, as an unsigned integer) mod buckets; 0 = missing.',
  'multi_hot/sequence: [batch, maxLen], the LAST maxLen tokens in order, padded with -1 after them; -1 rows are skipped by the pooling.',
  'numeric standard: (x - mean) / std (std 0: x - mean); log1p: ln(1 + max(x, 0)); minmax: (x - min) / (max - min) (span 0: x - min); none: x. float32; a missing value is 0 after normalisation.',
  "user state: a field with `userState` (its schema source) is computed from the user's events before the request time, as kdrec serve does with src/data/userState.ts; user_inputs/ holds each known user's value at the end of the train split.",
  'scores: dot(user_vector, item_vector) is the two-tower logit; for cosine both are L2-normalised and the user side carries 1/temperature.',
];

/** `.npy` v1.0 (NumPy format spec): magic, header dict padded to 64 bytes, little-endian data. */
function npy(data: Float32Array | BigInt64Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '<i8';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = 10;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre + header.length);
  return out;
}

export interface OnnxExportOptions {
  /** Output directory (default `<exportDir>/onnx`). */
  out?: string;
  /** Also write a Triton model repository under `<out>/triton`. */
  triton?: boolean;
  /** Triton `max_batch_size` (default 4096). */
  tritonMaxBatch?: number;
}

/** The encoding of a raw value of field `f`, from the export's fitted schema. */
function fieldEncoding(
  schema: Schema,
  m: ExportManifest,
  name: string,
  path: (file: string) => string,
): FieldEncoding {
  const f = schema.field(name);
  if (f.kind === 'numeric') {
    const s = f.normalize === 'none' ? undefined : schema.numericStats(name);
    return {
      kind: 'numeric',
      normalize: f.normalize,
      ...(f.normalize === 'standard' ? { mean: s!.mean, std: s!.std } : {}),
      ...(f.normalize === 'minmax' ? { min: s!.min, max: s!.max } : {}),
    };
  }
  if (f.kind === 'label') throw new Error(`onnx export: field '${name}' is a label, not a model input`);
  const len = f.kind === 'categorical' ? {} : { maxLen: f.maxLen };
  if (f.hashBuckets !== undefined) return { kind: f.kind, ids: 'hash', buckets: f.hashBuckets, ...len };
  const vocab = m.files.vocabs[f.table];
  if (vocab === undefined)
    throw new Error(`onnx export: the export lists no vocabulary for table '${f.table}' (field '${name}')`);
  return { kind: f.kind, ids: 'vocab', vocab: path(vocab), ...len };
}

/**
 * Converts the kdrec export in `exportDir` (its manifest version checked by `readManifest`) to ONNX;
 * returns the ONNX manifest. Every graph is converted or the call throws naming what failed.
 */
export function writeOnnxExport(exportDir: string, opts: OnnxExportOptions = {}): OnnxManifest {
  const m = readManifest(exportDir);
  const schema = Schema.fromJSON(m.schema);
  const wf = readSafetensors(join(exportDir, m.files.weights));
  const lookup = (name: string): GraphWeight | undefined => {
    const t = wf.tensors[name];
    return t && t.data instanceof Float32Array ? { data: t.data, shape: t.shape } : undefined;
  };
  const out = opts.out ?? join(exportDir, 'onnx');
  mkdirSync(out, { recursive: true });
  /** A file of the kdrec export, as a path relative to the ONNX directory. */
  const fromOut = (file: string) => relative(out, join(exportDir, file));
  const graphs: [OnnxModelName, string | null | undefined][] = [
    ['user_tower', m.files.userTower],
    ['item_tower', m.files.itemTower],
    ['prerank', m.files.prerank],
    ['rank', m.files.rank],
  ];
  const models: OnnxManifest['models'] = {};
  const fields: OnnxManifest['fields'] = {};
  const written: { name: OnnxModelName; bytes: Uint8Array; io: OnnxIo }[] = [];
  for (const [name, file] of graphs) {
    if (!file) continue;
    const desc = runLoaderSync(readJson<GraphDesc>(join(exportDir, file)));
    const listLengths: Record<string, number> = {};
    for (const n of desc.nodes)
      if (n.op === 'embed' && n.kind !== 'categorical') listLengths[n.field] = schema.field(n.field).maxLen;
    const { bytes, io } = graphToOnnx(desc, lookup, {
      outputName: ONNX_MODEL_OUTPUTS[name],
      listLengths,
      producerVersion: kdrecVersion(),
      docString: `kdrec ${name} (export format ${m.formatVersion}); inputs are encoded as ${ONNX_MANIFEST_FILE} documents`,
      metadata: { kdrec_export_format_version: String(m.formatVersion), kdrec_graph: desc.name },
    });
    writeFileSync(join(out, `${name}.onnx`), bytes);
    models[name] = { file: `${name}.onnx`, ...io };
    written.push({ name, bytes, io });
    for (const inp of io.inputs) {
      const f = inp.field ?? inp.name;
      const spec = schema.field(f);
      fields[f] ??= {
        group: spec.group ?? 'label',
        encode: fieldEncoding(schema, m, f, fromOut),
        ...(isUserStateSource(spec.source) ? { userState: spec.source } : {}),
      };
    }
  }

  // The catalogue as kdrec serve sees it: the revision's files with the index append log applied
  // (./../catalogueLog.ts), so items added or removed by `kdrec index add/remove` are exported too.
  const bundle = loadExport(exportDir);
  const { itemVectors: vectors, itemLive: live, itemIds } = bundle;
  const itemCount = itemIds.length;
  writeFileSync(join(out, 'item_vectors.npy'), npy(vectors, [itemCount, m.dim]));
  // Items removed by `kdrec index remove` keep their row; a caller must skip rows whose live is 0.
  if (live !== null)
    writeFileSync(join(out, 'item_live.npy'), npy(BigInt64Array.from(live, BigInt), [itemCount]));
  writeJson(join(out, 'item_ids.json'), itemIds);
  let userInputs: string | null = null;
  if (m.files.userFeatures && m.files.userIds) {
    const uf = readSafetensors(join(exportDir, m.files.userFeatures)).tensors;
    const ids = runLoaderSync(readJson<string[]>(join(exportDir, m.files.userIds)));
    userInputs = 'user_inputs';
    mkdirSync(join(out, userInputs), { recursive: true });
    for (const inp of models.user_tower!.inputs) {
      const f = inp.field ?? inp.name;
      const family = inp.kind === 'numeric' ? 'num' : inp.kind === 'categorical' ? 'cat' : 'seq';
      const t = uf[`${family}/${f}`];
      // A field the user table lacks (a context field) gets its missing value, as a request that
      // carries only the user id gets in ServingBundle.encodeUser: row 0, all padding, or 0.
      const shape = [ids.length, ...inp.dims.slice(1).map(Number)];
      const n = shape.reduce((a, b) => a * b, 1);
      const data =
        t !== undefined
          ? t.data instanceof Float32Array
            ? t.data
            : int64Ids(t.data as Int32Array)
          : inp.type === 'float32'
            ? new Float32Array(n)
            : new BigInt64Array(n).fill(family === 'seq' ? -1n : 0n);
      writeFileSync(join(out, userInputs, `${f}.npy`), npy(data, t !== undefined ? [...t.shape] : shape));
    }
    writeJson(join(out, 'user_ids.json'), ids);
  }
  const manifest: OnnxManifest = {
    format: ONNX_FORMAT,
    formatVersion: m.formatVersion,
    kdrecVersion: kdrecVersion(),
    createdAt: new Date().toISOString(),
    opset: ONNX_OPSET,
    source: exportDir,
    scoreFn: m.scoreFn,
    temperature: m.temperature,
    dim: m.dim,
    models,
    fields,
    encodingNotes: ENCODING_NOTES,
    files: {
      itemVectors: 'item_vectors.npy',
      itemLive: live !== null ? 'item_live.npy' : null,
      itemIds: 'item_ids.json',
      userInputs,
      userIds: userInputs ? 'user_ids.json' : null,
    },
  };
  if (opts.triton) writeTritonRepository(join(out, 'triton'), written, opts.tritonMaxBatch ?? 4096);
  writeJson(join(out, ONNX_MANIFEST_FILE), manifest);
  return manifest;
}

/**
 * Reads `DIR/onnx_manifest.json` and checks it was written from the export format this kdrec
 * reads: a mismatch fails naming the file, the version found and the one expected.
 */
export function readOnnxManifest(dir: string): OnnxManifest {
  const path = join(dir, ONNX_MANIFEST_FILE);
  const raw = runLoaderSync(readJson<Partial<OnnxManifest>>(path));
  if (raw.format !== ONNX_FORMAT)
    throw new Error(`${path}: format '${String(raw.format)}', expected '${ONNX_FORMAT}'`);
  if (raw.formatVersion !== EXPORT_FORMAT_VERSION)
    throw new Error(
      `${path}: kdrec export format version ${String(raw.formatVersion)}, this kdrec reads version ${EXPORT_FORMAT_VERSION} (re-export with this kdrec)`,
    );
  return raw as OnnxManifest;
}

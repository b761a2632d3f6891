/**
 * A loaded export directory (./export.ts): compiled graphs, the catalogue's vectors and features,
 * vocabularies and the user table, plus the request encoder that turns raw user/context features
 * into the batch the user tower and pre-ranker read.
 *
 * Serving-time encoding is the training-time one: vocab lookup with row 0 for unseen or missing ids
 * (src/engine/vocab.ts), FNV-1a hashing for hashed fields, and numerics normalised by the schema's
 * `normalizeInPlace` with the train-split statistics in the manifest. An unknown user therefore
 * gets the OOV row of the user-id table — the cold-start path the model learnt from rare users.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Batch, Columns } from '../data/batch.js';
import { type Field, normalizeInPlace, Schema } from '../data/schema.js';
import { readSafetensors } from '../engine/safetensors.js';
import { hashBucket, Vocab } from '../engine/vocab.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportManifest } from './export.js';
import { CompiledGraph, type GraphDesc, type GraphWeight } from './graph.js';

const manifestSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.number().int(),
  kdrecVersion: z.string(),
  createdAt: z.string(),
  scoreFn: z.enum(['dot', 'cosine']),
  temperature: z.number().positive(),
  dim: z.number().int().positive(),
  itemCount: z.number().int().min(0),
  files: z.object({
    weights: z.string(),
    userTower: z.string(),
    itemTower: z.string(),
    prerank: z.string().nullable(),
    itemVectors: z.string(),
    itemFeatures: z.string(),
    itemIds: z.string(),
    userFeatures: z.string().nullable(),
    userIds: z.string().nullable(),
    vocabs: z.record(z.string(), z.string()),
  }),
});

/** Reads and checks `DIR/manifest.json` (format and version) without loading anything else. */
export function readManifest(dir: string): ExportManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path))
    throw new Error(`${dir} is not a kdrec export: manifest.json is missing (run \`kdrec export\`)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const res = manifestSchema.safeParse(raw);
  if (!res.success) {
    const lines = res.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${path}: not a kdrec export manifest\n${lines.join('\n')}`);
  }
  if (res.data.formatVersion !== EXPORT_FORMAT_VERSION) {
    throw new Error(
      `${path}: export format version ${res.data.formatVersion}, this kdrec reads version ${EXPORT_FORMAT_VERSION} (re-export the run)`,
    );
  }
  return raw as ExportManifest;
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

function tensorsToColumns(path: string, size: number): Columns {
  const f = readSafetensors(path);
  const c: Columns = { size, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
  for (const [name, t] of Object.entries(f.tensors)) {
    const [kind, field] = name.split('/') as [string, string];
    if (t.shape[0] !== size)
      throw new Error(`${path}: tensor '${name}' has ${t.shape[0]} rows, the manifest says ${size}`);
    if (kind === 'cat' && t.data instanceof Int32Array) c.cat[field] = t.data;
    else if (kind === 'seq' && t.data instanceof Int32Array)
      c.seq[field] = { ids: t.data, maxLen: t.shape[1]! };
    else if (kind === 'num' && t.data instanceof Float32Array) c.num[field] = t.data;
    else
      throw new Error(
        `${path}: tensor '${name}' (${t.dtype}) is not a cat/ I32, seq/ I32 or num/ F32 column`,
      );
  }
  return c;
}

/** A user's features as a request gives them: a token, a number, or a list of tokens. */
export type FeatureValue = string | number | readonly (string | number)[];

export interface UserRequest {
  userId?: string;
  /** Raw values by field name (user and context fields). */
  features?: Record<string, FeatureValue>;
  /** Raw item ids the user interacted with recently, newest last: fills list fields pooled from the item table. */
  recent?: readonly string[];
}

export interface EncodedUser {
  batch: Batch;
  /** True when the user id is not in the user vocabulary (OOV row: cold start). */
  coldStart: boolean;
}

export class ServingBundle {
  readonly dir: string;
  readonly manifest: ExportManifest;
  readonly schema: Schema;
  readonly userTower: CompiledGraph;
  readonly itemTower: CompiledGraph;
  readonly prerank: CompiledGraph | null;
  /** `[N, D]` item vectors (rows are catalogue rows). */
  readonly itemVectors: Float32Array;
  readonly items: Columns;
  readonly itemIds: string[];
  readonly itemRow: Map<string, number>;
  private readonly vocabs = new Map<string, Vocab>();
  /** The item-id table and each catalogue row's row in it (see the constructor). */
  private itemTable: string | null = null;
  private itemTableRows: Int32Array | null = null;
  private readonly users: Columns | null;
  private readonly userRow = new Map<string, number>();
  /** Every field the user tower or pre-ranker reads from the user/context side. */
  readonly requestFields: Field[];

  constructor(dir: string) {
    this.dir = dir;
    const m = readManifest(dir);
    this.manifest = m;
    this.schema = Schema.fromJSON(m.schema);
    const wf = readSafetensors(join(dir, m.files.weights));
    const lookup = (name: string): GraphWeight | undefined => {
      const t = wf.tensors[name];
      return t && t.data instanceof Float32Array ? { data: t.data, shape: t.shape } : undefined;
    };
    const graph = (file: string) => new CompiledGraph(readJson<GraphDesc>(join(dir, file)), lookup);
    this.userTower = graph(m.files.userTower);
    this.itemTower = graph(m.files.itemTower);
    this.prerank = m.files.prerank ? graph(m.files.prerank) : null;
    if (this.userTower.outDim !== m.dim)
      throw new Error(`${dir}: user tower width ${this.userTower.outDim} differs from manifest dim ${m.dim}`);
    const vf = readSafetensors(join(dir, m.files.itemVectors)).tensors['vectors'];
    if (
      vf === undefined ||
      !(vf.data instanceof Float32Array) ||
      vf.shape[0] !== m.itemCount ||
      vf.shape[1] !== m.dim
    ) {
      throw new Error(
        `${join(dir, m.files.itemVectors)}: expected F32 'vectors' [${m.itemCount}, ${m.dim}], got ${vf ? `${vf.dtype} [${vf.shape.join(', ')}]` : 'none'}`,
      );
    }
    this.itemVectors = vf.data;
    this.items = tensorsToColumns(join(dir, m.files.itemFeatures), m.itemCount);
    this.itemIds = readJson<string[]>(join(dir, m.files.itemIds));
    if (this.itemIds.length !== m.itemCount)
      throw new Error(
        `${dir}: ${m.files.itemIds} has ${this.itemIds.length} ids, manifest itemCount ${m.itemCount}`,
      );
    // A set() loop: 30% faster than building [id, i] pairs for a 1M catalogue (reload time).
    this.itemRow = new Map();
    for (let i = 0; i < this.itemIds.length; i++) this.itemRow.set(this.itemIds[i]!, i);
    if (m.files.userFeatures && m.files.userIds) {
      const ids = readJson<string[]>(join(dir, m.files.userIds));
      this.users = tensorsToColumns(join(dir, m.files.userFeatures), ids.length);
      ids.forEach((id, i) => {
        this.userRow.set(id, i);
      });
    } else this.users = null;
    const names = new Set([
      ...this.userTower.inputs.cat,
      ...this.userTower.inputs.seq,
      ...this.userTower.inputs.num,
    ]);
    if (this.prerank) {
      for (const f of [...this.prerank.inputs.cat, ...this.prerank.inputs.seq, ...this.prerank.inputs.num])
        if (this.schema.field(f).group !== 'item') names.add(f);
    }
    this.requestFields = [...names].map((n) => this.schema.field(n));
    // Item ids in requests (recent events) resolve through the catalogue, so the item vocabulary —
    // the largest file of an export — is never loaded.
    const itemIdField = m.itemIdField;
    const itemCol = itemIdField !== null ? this.items.cat[itemIdField] : undefined;
    if (itemIdField !== null && itemCol !== undefined) {
      this.itemTable = this.schema.field(itemIdField).table;
      this.itemTableRows = itemCol;
    }
    for (const f of this.requestFields) {
      if (f.kind === 'numeric' || f.hashBuckets !== undefined || this.vocabs.has(f.table)) continue;
      if (f.table === this.itemTable) continue;
      const file = m.files.vocabs[f.table];
      if (file === undefined)
        throw new Error(`${dir}: manifest lists no vocabulary for table '${f.table}' (field '${f.name}')`);
      this.vocabs.set(f.table, Vocab.fromJSON(readJson(join(dir, file))));
    }
  }

  /** Raw ids of the users in the export's user table. */
  knownUserIds(): string[] {
    return [...this.userRow.keys()];
  }

  get scoreFn(): 'dot' | 'cosine' {
    return this.manifest.scoreFn;
  }

  /** Table row of a raw token for an id field (vocab or hash), 0 when unknown. */
  idOf(f: Field, token: string): number {
    if (f.hashBuckets !== undefined) return hashBucket(token, f.hashBuckets);
    if (f.table === this.itemTable && this.itemTableRows !== null) {
      const r = this.itemRow.get(token);
      return r === undefined ? 0 : this.itemTableRows[r]!;
    }
    const v = this.vocabs.get(f.table);
    if (v === undefined)
      throw new Error(`export ${this.dir}: no vocabulary for table '${f.table}' (field '${f.name}')`);
    return v.lookup(token);
  }

  /**
   * A one-row batch of the user and context fields. Precedence per field: the request's value, then
   * the stored user row (known users), then the field's missing value (row 0 / padding / 0).
   */
  encodeUser(req: UserRequest): EncodedUser {
    const b: Batch = { size: 1, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
    const uid = this.manifest.userIdField;
    const urow = req.userId !== undefined ? this.userRow.get(req.userId) : undefined;
    let coldStart = req.userId === undefined;
    for (const f of this.requestFields) {
      const given = req.features?.[f.name];
      if (f.kind === 'categorical') {
        let id = 0;
        if (given !== undefined) {
          if (Array.isArray(given))
            throw new Error(`features.${f.name}: expected one value (categorical), got a list`);
          id = this.idOf(f, String(given));
        } else if (f.name === uid && req.userId !== undefined) {
          id = this.idOf(f, req.userId);
          coldStart = id === 0;
        } else if (urow !== undefined && this.users?.cat[f.name]) id = this.users.cat[f.name]![urow]!;
        b.cat[f.name] = Int32Array.of(id);
      } else if (f.kind === 'numeric') {
        const col = new Float32Array(1);
        if (given !== undefined) {
          if (typeof given !== 'number' || !Number.isFinite(given))
            throw new Error(
              `features.${f.name}: expected a finite number (numeric field), got ${JSON.stringify(given)}`,
            );
          col[0] = given;
          normalizeInPlace(col, f.normalize, this.schema.numericStats(f.name));
        } else if (urow !== undefined && this.users?.num[f.name]) col[0] = this.users.num[f.name]![urow]!;
        b.num[f.name] = col;
      } else {
        const ids = new Int32Array(f.maxLen).fill(-1);
        let tokens: readonly (string | number)[] | undefined;
        if (given !== undefined) {
          if (!Array.isArray(given)) throw new Error(`features.${f.name}: expected a list (${f.kind} field)`);
          tokens = given as readonly (string | number)[];
        } else if (
          req.recent !== undefined &&
          f.poolFrom !== undefined &&
          this.schema.field(f.poolFrom).group === 'item'
        ) {
          tokens = req.recent;
        }
        if (tokens !== undefined) {
          // Keep the LAST maxLen ids, as the dataset builder truncates lists.
          const tail = tokens.slice(Math.max(0, tokens.length - f.maxLen));
          tail.forEach((t, j) => {
            ids[j] = this.idOf(f, String(t));
          });
        } else if (urow !== undefined && this.users?.seq[f.name]) {
          ids.set(this.users.seq[f.name]!.ids.subarray(urow * f.maxLen, (urow + 1) * f.maxLen));
        }
        b.seq[f.name] = { ids, maxLen: f.maxLen };
      }
    }
    if (uid === null) coldStart = urow === undefined;
    return { batch: b, coldStart };
  }

  /** The user's `[D]` query vector (user tower output). */
  userVector(user: EncodedUser): Float32Array {
    return this.userTower.run(user.batch);
  }

  /**
   * Pre-ranker logits of `rows` (catalogue rows) for one user: the user's columns are tiled over the
   * candidates and the item columns gathered from the catalogue.
   */
  prerankScores(user: EncodedUser, rows: Int32Array): Float32Array {
    if (this.prerank === null)
      throw new Error(`export ${this.dir} has no pre-ranker (export with --prerank-run)`);
    const n = rows.length;
    const b: Batch = { size: n, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
    const u = user.batch;
    // User and context columns stay one row: the graph evaluates what depends on them once.
    const constant = new Set<string>();
    const missing = (f: string) =>
      new Error(`pre-ranker reads '${f}', which neither the request nor the catalogue has`);
    for (const f of this.prerank.inputs.cat) {
      const uc = u.cat[f];
      const src = this.items.cat[f];
      if (uc !== undefined) constant.add(f);
      else if (src === undefined) throw missing(f);
      b.cat[f] = uc ?? Int32Array.from(rows, (r) => src![r]!);
    }
    for (const f of this.prerank.inputs.num) {
      const uc = u.num[f];
      const src = this.items.num[f];
      if (uc !== undefined) constant.add(f);
      else if (src === undefined) throw missing(f);
      b.num[f] = uc ?? Float32Array.from(rows, (r) => src![r]!);
    }
    for (const f of this.prerank.inputs.seq) {
      const us = u.seq[f];
      const src = this.items.seq[f];
      if (us !== undefined) {
        constant.add(f);
        b.seq[f] = us;
        continue;
      }
      if (src === undefined) throw missing(f);
      const L = src.maxLen;
      const ids = new Int32Array(n * L);
      for (let i = 0; i < n; i++) ids.set(src.ids.subarray(rows[i]! * L, rows[i]! * L + L), i * L);
      b.seq[f] = { ids, maxLen: L };
    }
    return this.prerank.run(b, constant);
  }
}

export function loadExport(dir: string): ServingBundle {
  return new ServingBundle(dir);
}

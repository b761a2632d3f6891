/**
 * A loaded export directory (./export.ts): compiled graphs, the catalogue's vectors and features,
 * vocabularies and the user table, plus the request encoder that turns raw user/context features
 * into the batch the user tower and pre-ranker read.
 *
 * Serving-time encoding is the training-time one (src/data/dataset.ts): vocab lookup with row 0 for
 * unseen or missing ids (src/engine/vocab.ts), 1 + FNV-1a bucket for hashed fields, and numerics
 * normalised by the schema's `normalizeInPlace` with the train-split statistics in the manifest. An
 * unknown user therefore gets the OOV row of the user-id table — the cold-start path the model
 * learnt from rare users.
 *
 * Loading is written once, as a generator of I/O steps (`Loader`), and driven either synchronously
 * (`loadExport`: CLI commands, tests) or asynchronously (`loadExportAsync`: a server reloading while
 * it answers requests). The asynchronous driver reads files on libuv's thread pool and yields to the
 * event loop at the loader's `pause()` points, which cut every O(catalogue) JavaScript loop into
 * slices of a few milliseconds (issue 7: a synchronous reload of a 1M-item export stalled every
 * request for 2–7 s).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Batch, Columns } from '../data/batch.js';
import { type Field, normalizeInPlace, Schema } from '../data/schema.js';
import { readSafetensors, readSafetensorsAsync, type SafetensorsFile } from '../engine/safetensors.js';
import { hashBucket, Vocab, type VocabJSON } from '../engine/vocab.js';
import {
  applyCatalogueLog,
  type CatalogueDelta,
  type ItemTable,
  readCatalogueLog,
  withoutLoggedKeys,
} from './catalogueLog.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportManifest } from './export.js';
import { CompiledGraph, type GraphDesc, type GraphWeight } from './graph.js';
import { OnlinePrivileged } from './onlinePrivileged.js';

const manifestSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.number().int(),
  kdrecVersion: z.string(),
  createdAt: z.string(),
  revision: z.number().int().min(0).optional(),
  scoreFn: z.enum(['dot', 'cosine']),
  temperature: z.number().positive(),
  dim: z.number().int().positive(),
  itemCount: z.number().int().min(0),
  ranker: z
    .object({
      windowFeatures: z.array(
        z.object({
          field: z.string(),
          keyField: z.string(),
          countLabel: z.string().nullable(),
          windowSeconds: z.number().positive(),
          keysPerItem: z.number().int().min(1),
          keySpace: z.number().int().min(1),
        }),
      ),
    })
    .nullable()
    .optional(),
  files: z.object({
    weights: z.string(),
    userTower: z.string(),
    itemTower: z.string(),
    prerank: z.string().nullable(),
    rank: z.string().nullable().optional(),
    rankKeys: z.string().nullable().optional(),
    itemVectors: z.string(),
    itemFeatures: z.string(),
    itemIds: z.string(),
    userFeatures: z.string().nullable(),
    userIds: z.string().nullable(),
    vocabs: z.record(z.string(), z.string()),
    index: z.string().optional(),
  }),
});

/** One step of a loader: a file (or the end of one) to read, or a point where the asynchronous driver yields. */
export type LoadStep =
  | { op: 'text'; path: string }
  | { op: 'tensors'; path: string }
  | { op: 'tail'; path: string; bytes: number }
  | { op: 'pause' };
/** A loading procedure written once for both drivers (`runLoaderSync`, `runLoaderAsync`). */
export type Loader<T> = Generator<LoadStep, T, unknown>;

export function* readText(path: string): Loader<string> {
  return (yield { op: 'text', path }) as string;
}
export function* readTensors(path: string): Loader<SafetensorsFile> {
  return (yield { op: 'tensors', path }) as SafetensorsFile;
}
/** The last `bytes` bytes of a file (fewer when it is shorter) and its size, without reading the rest. */
export function* readTail(path: string, bytes: number): Loader<FileTail> {
  return (yield { op: 'tail', path, bytes }) as FileTail;
}
export interface FileTail {
  size: number;
  tail: Buffer;
}
export function* readJson<T>(path: string): Loader<T> {
  const text = yield* readText(path);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}
/** Lets the asynchronous driver serve other events; a no-op for the synchronous one. */
export function* pause(): Loader<void> {
  yield { op: 'pause' };
}

/** Rows handled between two pauses by catalogue-sized loops (a few ms of work each). */
export const PAUSE_EVERY = 20_000;

function tailSync(path: string, bytes: number): FileTail {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return { size, tail };
  } finally {
    closeSync(fd);
  }
}

async function tailAsync(path: string, bytes: number): Promise<FileTail> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const tail = Buffer.alloc(Math.min(bytes, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    return { size, tail };
  } finally {
    await fh.close();
  }
}

export function runLoaderSync<T>(loader: Loader<T>): T {
  let r = loader.next();
  while (!r.done) {
    const s = r.value;
    let value: unknown;
    try {
      value =
        s.op === 'text'
          ? readFileSync(s.path, 'utf8')
          : s.op === 'tensors'
            ? readSafetensors(s.path)
            : s.op === 'tail'
              ? tailSync(s.path, s.bytes)
              : undefined;
    } catch (err) {
      r = loader.throw(err);
      continue;
    }
    r = loader.next(value);
  }
  return r.value;
}

export async function runLoaderAsync<T>(loader: Loader<T>): Promise<T> {
  let r = loader.next();
  while (!r.done) {
    const s = r.value;
    let value: unknown;
    try {
      value =
        s.op === 'text'
          ? await readFile(s.path, 'utf8')
          : s.op === 'tensors'
            ? await readSafetensorsAsync(s.path)
            : s.op === 'tail'
              ? await tailAsync(s.path, s.bytes)
              : await new Promise<void>((res) => setImmediate(res));
    } catch (err) {
      r = loader.throw(err);
      continue;
    }
    r = loader.next(value);
  }
  return r.value;
}

/** Reads and checks `DIR/manifest.json` (format and version). */
export function* manifestLoader(dir: string): Loader<ExportManifest> {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = yield* readText(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${dir} is not a kdrec export: manifest.json is missing (run \`kdrec export\`)`);
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
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

/** A load error that a revision change of the export may explain (./servingState.ts retries those). */
export function missingFileError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ENOENT' });
}

/**
 * A partial export (a copy cut short, a file deleted) is refused before anything is loaded, naming
 * the file: every file the manifest names must exist, and a JSON file must end with its closing
 * bracket. The tail check is what catches a truncated file serving never parses (the vocabularies
 * of item fields: item features are exported encoded, but `kdrec index add` reads them); the files
 * serving parses are checked in full by their own loaders, which name the file on any error.
 */
export function* exportFilesLoader(dir: string, m: ExportManifest): Loader<void> {
  const f = m.files;
  const named = [
    f.weights,
    f.userTower,
    f.itemTower,
    f.prerank,
    f.rank,
    f.rankKeys,
    f.itemVectors,
    f.itemFeatures,
    f.itemIds,
    f.userFeatures,
    f.userIds,
    f.index,
    ...Object.values(f.vocabs),
  ].filter((x): x is string => typeof x === 'string');
  for (const file of named) {
    const path = join(dir, file);
    let t: FileTail;
    try {
      t = yield* readTail(path, 64);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw missingFileError(`${dir}: partial export: ${file} is missing (manifest.json lists it)`);
      throw err;
    }
    if (file.endsWith('.json')) {
      const last = t.tail.toString('latin1').trimEnd().at(-1);
      if (last !== '}' && last !== ']')
        throw new Error(
          `${path}: truncated or corrupt JSON (${t.size} bytes, ending in ${last === undefined ? 'nothing' : `'${last}'`}, not a closing bracket)`,
        );
    }
  }
}

/** Reads and checks `DIR/manifest.json` (format and version) without loading anything else. */
export function readManifest(dir: string): ExportManifest {
  return runLoaderSync(manifestLoader(dir));
}

/**
 * A JSON array of strings (the item ids: 10 MB at 1M items), parsed in slices between pauses: one
 * `JSON.parse` of the whole file blocks for 250–330 ms at 1M items. Element boundaries are found by
 * skipping each string literal (a quote preceded by an even run of backslashes closes it), so every
 * slice is itself a valid array and `JSON.parse` still does all unescaping and validation.
 */
export function* parseStringArray(path: string, text: string, sliceChars = 1 << 16): Loader<string[]> {
  const bad = (at: number, what: string) =>
    new Error(`${path}: expected a JSON array of strings, ${what} at character ${at}`);
  const ws = (i: number) => {
    let j = i;
    while (j < text.length && /\s/.test(text[j]!)) j++;
    return j;
  };
  const out: string[] = [];
  const flush = (from: number, to: number) => {
    let part: unknown;
    try {
      part = JSON.parse(`[${text.slice(from, to)}]`);
    } catch (err) {
      throw new Error(`${path}: not valid JSON near character ${from} (${(err as Error).message})`);
    }
    for (const v of part as string[]) out.push(v);
  };
  let p = ws(0);
  if (text[p] !== '[') throw bad(p, `found '${text[p] ?? 'end of file'}'`);
  p = ws(p + 1);
  let sliceStart = p;
  if (text[p] === ']') {
    if (ws(p + 1) !== text.length) throw bad(p + 1, 'trailing characters');
    return out;
  }
  for (;;) {
    p = ws(p);
    if (text[p] !== '"') throw bad(p, `found '${text[p] ?? 'end of file'}' where a string should start`);
    let q = p + 1;
    for (;;) {
      q = text.indexOf('"', q);
      if (q < 0) throw bad(p, 'an unterminated string');
      let b = q - 1;
      while (text.charCodeAt(b) === 92) b--;
      if ((q - 1 - b) % 2 === 0) break;
      q++;
    }
    p = ws(q + 1);
    if (text[p] === ']') {
      if (ws(p + 1) !== text.length) throw bad(p + 1, 'trailing characters');
      flush(sliceStart, p);
      return out;
    }
    if (text[p] !== ',') throw bad(p, `found '${text[p] ?? 'end of file'}' after a string`);
    p++;
    if (p - sliceStart >= sliceChars) {
      flush(sliceStart, p - 1);
      sliceStart = p;
      yield* pause();
    }
  }
}

/** `ids[i] → i`, built between pauses (a 1M-entry Map takes 150–210 ms in one go). */
export function* indexIds(ids: readonly string[]): Loader<Map<string, number>> {
  const m = new Map<string, number>();
  // A set() loop: 30% faster than building [id, i] pairs for a 1M catalogue (reload time).
  for (let i = 0; i < ids.length; i++) {
    m.set(ids[i]!, i);
    if (i % PAUSE_EVERY === PAUSE_EVERY - 1) yield* pause();
  }
  return m;
}

function* columnsLoader(path: string, size: number): Loader<Columns> {
  const f = yield* readTensors(path);
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

/**
 * The catalogue's vectors `[N, D]` and live mask from `item_vectors.safetensors`: `vectors` F32, and
 * `live` I32 [N] once items have been removed (./export.ts `updateCatalogue`; absent = all live).
 */
export function* itemVectorsLoader(
  dir: string,
  m: ExportManifest,
): Loader<{ vectors: Float32Array; live: Uint8Array | null }> {
  const path = join(dir, m.files.itemVectors);
  const f = (yield* readTensors(path)).tensors;
  const vf = f['vectors'];
  if (
    vf === undefined ||
    !(vf.data instanceof Float32Array) ||
    vf.shape[0] !== m.itemCount ||
    vf.shape[1] !== m.dim
  ) {
    throw new Error(
      `${path}: expected F32 'vectors' [${m.itemCount}, ${m.dim}], got ${vf ? `${vf.dtype} [${vf.shape.join(', ')}]` : 'none'}`,
    );
  }
  const lf = f['live'];
  if (lf === undefined) return { vectors: vf.data, live: null };
  if (!(lf.data instanceof Int32Array) || lf.shape.length !== 1 || lf.shape[0] !== m.itemCount)
    throw new Error(
      `${path}: expected I32 'live' [${m.itemCount}], got ${lf.dtype} [${lf.shape.join(', ')}]`,
    );
  return { vectors: vf.data, live: Uint8Array.from(lf.data) };
}

/** The vocabulary of an embedding table, from the file the manifest names for it. */
export function* vocabLoader(dir: string, m: ExportManifest, table: string, field: string): Loader<Vocab> {
  const file = m.files.vocabs[table];
  if (file === undefined)
    throw new Error(`${dir}: manifest lists no vocabulary for table '${table}' (field '${field}')`);
  return Vocab.fromJSON(yield* readJson<VocabJSON>(join(dir, file)));
}

/** Table row of a raw token for a hashed field: 1 + FNV-1a bucket, row 0 = missing (src/data/dataset.ts). */
export function hashedId(token: string, buckets: number): number {
  return 1 + hashBucket(token, buckets);
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

/** Everything a bundle holds, as the loader assembles it. */
interface BundleParts {
  dir: string;
  manifest: ExportManifest;
  schema: Schema;
  userTower: CompiledGraph;
  itemTower: CompiledGraph;
  prerank: CompiledGraph | null;
  rank: CompiledGraph | null;
  rankPrivileged: OnlinePrivileged | null;
  itemVectors: Float32Array;
  itemLive: Uint8Array | null;
  catalogueDelta: CatalogueDelta | null;
  baseManifest: ExportManifest;
  items: Columns;
  itemIds: string[];
  itemRow: Map<string, number>;
  users: Columns | null;
  userRow: Map<string, number>;
  requestFields: Field[];
  vocabs: Map<string, Vocab>;
}

export class ServingBundle {
  readonly dir: string;
  readonly manifest: ExportManifest;
  readonly schema: Schema;
  readonly userTower: CompiledGraph;
  readonly itemTower: CompiledGraph;
  readonly prerank: CompiledGraph | null;
  /** The ranker (third stage) and the request-time computation of its privileged inputs. */
  readonly rank: CompiledGraph | null;
  readonly rankPrivileged: OnlinePrivileged | null;
  /** `[N, D]` item vectors (rows are catalogue rows). */
  readonly itemVectors: Float32Array;
  /** 1 per catalogue row still served, 0 for a removed item; null when nothing was removed. */
  readonly itemLive: Uint8Array | null;
  /**
   * What the catalogue log (./catalogueLog.ts) changed on top of the revision's files (null: no
   * logged update). `manifest.itemCount` counts the log's rows; `baseManifest` is the file as read.
   */
  readonly catalogueDelta: CatalogueDelta | null;
  readonly baseManifest: ExportManifest;
  readonly items: Columns;
  /** Raw id of each catalogue row (removed rows keep theirs: a re-added id takes its row back). */
  readonly itemIds: string[];
  readonly itemRow: Map<string, number>;
  private readonly vocabs: Map<string, Vocab>;
  /** The item-id table and each catalogue row's row in it (see `bundleLoader`). */
  private readonly itemTable: string | null = null;
  private readonly itemTableRows: Int32Array | null = null;
  private readonly users: Columns | null;
  private readonly userRow: Map<string, number>;
  /** Every field the user tower or pre-ranker reads from the user/context side. */
  readonly requestFields: Field[];

  constructor(p: BundleParts) {
    this.dir = p.dir;
    this.manifest = p.manifest;
    this.schema = p.schema;
    this.userTower = p.userTower;
    this.itemTower = p.itemTower;
    this.prerank = p.prerank;
    this.rank = p.rank;
    this.rankPrivileged = p.rankPrivileged;
    this.itemVectors = p.itemVectors;
    this.itemLive = p.itemLive;
    this.catalogueDelta = p.catalogueDelta;
    this.baseManifest = p.baseManifest;
    this.items = p.items;
    this.itemIds = p.itemIds;
    this.itemRow = p.itemRow;
    this.users = p.users;
    this.userRow = p.userRow;
    this.requestFields = p.requestFields;
    this.vocabs = p.vocabs;
    // Item ids in requests (recent events) resolve through the catalogue, so the item vocabulary —
    // the largest file of an export — is never loaded.
    const itemIdField = p.manifest.itemIdField;
    const itemCol = itemIdField !== null ? p.items.cat[itemIdField] : undefined;
    if (itemIdField !== null && itemCol !== undefined) {
      this.itemTable = p.schema.field(itemIdField).table;
      this.itemTableRows = itemCol;
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
    if (f.hashBuckets !== undefined) return hashedId(token, f.hashBuckets);
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
    return this.scoreCandidates(this.prerank, 'pre-ranker', user, rows, {});
  }

  /**
   * Ranker logits of `rows` for one user: as `prerankScores`, plus the privileged columns (one value
   * per row, from `rankPrivileged.columns`: the request-time window counts).
   */
  rankScores(
    user: EncodedUser,
    rows: Int32Array,
    privileged: Readonly<Record<string, Float32Array>>,
  ): Float32Array {
    if (this.rank === null) throw new Error(`export ${this.dir} has no ranker (export with --rank-run)`);
    for (const [f, col] of Object.entries(privileged)) {
      if (col.length !== rows.length)
        throw new Error(
          `ranker: privileged column '${f}' has ${col.length} values for ${rows.length} candidates`,
        );
    }
    return this.scoreCandidates(this.rank, 'ranker', user, rows, privileged);
  }

  /** Runs a candidate-scoring graph: user columns one row, item columns gathered, `extra` numerics as given. */
  private scoreCandidates(
    graph: CompiledGraph,
    what: string,
    user: EncodedUser,
    rows: Int32Array,
    extra: Readonly<Record<string, Float32Array>>,
  ): Float32Array {
    const n = rows.length;
    const b: Batch = { size: n, cat: {}, seq: {}, num: {}, labels: {}, extra: {} };
    const u = user.batch;
    // User and context columns stay one row: the graph evaluates what depends on them once.
    const constant = new Set<string>();
    const missing = (f: string) =>
      new Error(`${what} reads '${f}', which neither the request nor the catalogue has`);
    for (const f of graph.inputs.cat) {
      const uc = u.cat[f];
      const src = this.items.cat[f];
      if (uc !== undefined) constant.add(f);
      else if (src === undefined) throw missing(f);
      b.cat[f] = uc ?? Int32Array.from(rows, (r) => src![r]!);
    }
    for (const f of graph.inputs.num) {
      const uc = u.num[f];
      const src = this.items.num[f];
      if (extra[f] !== undefined) {
        b.num[f] = extra[f]!;
        continue;
      }
      if (uc !== undefined) constant.add(f);
      else if (src === undefined) throw missing(f);
      b.num[f] = uc ?? Float32Array.from(rows, (r) => src![r]!);
    }
    for (const f of graph.inputs.seq) {
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
    return graph.run(b, constant);
  }
}

/** Loads an export directory (see the file header for the two drivers). */
export function* bundleLoader(dir: string): Loader<ServingBundle> {
  let m = yield* manifestLoader(dir);
  yield* exportFilesLoader(dir, m);
  const schema = Schema.fromJSON(m.schema);
  const wf = yield* readTensors(join(dir, m.files.weights));
  const lookup = (name: string): GraphWeight | undefined => {
    const t = wf.tensors[name];
    return t && t.data instanceof Float32Array ? { data: t.data, shape: t.shape } : undefined;
  };
  function* graph(file: string): Loader<CompiledGraph> {
    return new CompiledGraph(yield* readJson<GraphDesc>(join(dir, file)), lookup);
  }
  const userTower = yield* graph(m.files.userTower);
  const itemTower = yield* graph(m.files.itemTower);
  const prerank = m.files.prerank ? yield* graph(m.files.prerank) : null;
  const rank = m.files.rank ? yield* graph(m.files.rank) : null;
  if (userTower.outDim !== m.dim)
    throw new Error(`${dir}: user tower width ${userTower.outDim} differs from manifest dim ${m.dim}`);
  const base = yield* itemVectorsLoader(dir, m);
  const baseItems = yield* columnsLoader(join(dir, m.files.itemFeatures), m.itemCount);
  const idsPath = join(dir, m.files.itemIds);
  const baseIds = yield* parseStringArray(idsPath, yield* readText(idsPath));
  if (baseIds.length !== m.itemCount)
    throw new Error(
      `${dir}: ${m.files.itemIds} has ${baseIds.length} ids, manifest itemCount ${m.itemCount}`,
    );
  // Updates appended since this revision (./catalogueLog.ts), applied on top of its files.
  const log = readCatalogueLog(dir, m);
  let table: ItemTable = { itemIds: baseIds, items: baseItems, vectors: base.vectors, live: base.live };
  let catalogueDelta: CatalogueDelta | null = null;
  const baseManifest = m;
  if (log !== null && log.updates.length > 0) {
    yield* pause();
    ({ table, delta: catalogueDelta } = applyCatalogueLog(table, m.dim, log));
    m = { ...m, itemCount: table.itemIds.length };
  }
  const { itemIds, items, vectors, live } = table;
  const itemRow = yield* indexIds(itemIds);
  let users: Columns | null = null;
  let userRow = new Map<string, number>();
  if (m.files.userFeatures && m.files.userIds) {
    const ids = yield* readJson<string[]>(join(dir, m.files.userIds));
    users = yield* columnsLoader(join(dir, m.files.userFeatures), ids.length);
    userRow = yield* indexIds(ids);
  }
  const names = new Set([...userTower.inputs.cat, ...userTower.inputs.seq, ...userTower.inputs.num]);
  for (const g of [prerank, rank]) {
    if (g === null) continue;
    // Privileged inputs are computed per candidate (rankPrivileged), never sent by the request.
    for (const f of [...g.inputs.cat, ...g.inputs.seq, ...g.inputs.num])
      if (schema.field(f).group !== 'item' && schema.field(f).group !== 'privileged') names.add(f);
  }
  let rankPrivileged: OnlinePrivileged | null = null;
  if (rank !== null) {
    const decls = m.ranker?.windowFeatures ?? [];
    const keysPath = m.files.rankKeys ? join(dir, m.files.rankKeys) : null;
    const keys: Record<string, Int32Array> = {};
    if (decls.length > 0) {
      if (keysPath === null)
        throw new Error(`${dir}: the manifest declares window features but no rankKeys file`);
      const kf = (yield* readTensors(keysPath)).tensors;
      for (const d of decls) {
        const t = kf[`keys/${d.field}`];
        // Items added by `kdrec index add` after the export have no keys row (fewer rows is allowed).
        if (
          t === undefined ||
          !(t.data instanceof Int32Array) ||
          t.shape[1] !== d.keysPerItem ||
          t.shape[0]! > m.itemCount
        )
          throw new Error(
            `${keysPath}: expected I32 'keys/${d.field}' [≤ ${m.itemCount}, ${d.keysPerItem}], got ${t ? `${t.dtype} [${t.shape.join(', ')}]` : 'none'}`,
          );
        keys[d.field] =
          catalogueDelta === null
            ? t.data
            : withoutLoggedKeys(t.data, d.keysPerItem, m.itemCount, catalogueDelta);
      }
    }
    for (const f of rank.inputs.num) {
      if (schema.field(f).group === 'privileged' && !decls.some((d) => d.field === f))
        throw new Error(
          `${dir}: the ranker reads privileged field '${f}', which the manifest declares no window feature for`,
        );
    }
    rankPrivileged = new OnlinePrivileged(schema, decls, keys, itemRow, `export ${dir}`);
  }
  const requestFields = [...names].map((n) => schema.field(n));
  // Request fields reading the item-id table resolve through the catalogue (ServingBundle.idOf).
  const itemTable =
    m.itemIdField !== null && items.cat[m.itemIdField] !== undefined
      ? schema.field(m.itemIdField).table
      : null;
  const vocabs = new Map<string, Vocab>();
  for (const f of requestFields) {
    if (f.kind === 'numeric' || f.hashBuckets !== undefined || vocabs.has(f.table)) continue;
    if (f.table === itemTable) continue;
    vocabs.set(f.table, yield* vocabLoader(dir, m, f.table, f.name));
  }
  return new ServingBundle({
    dir,
    manifest: m,
    schema,
    userTower,
    itemTower,
    prerank,
    rank,
    rankPrivileged,
    itemVectors: vectors,
    itemLive: live,
    catalogueDelta,
    baseManifest,
    items,
    itemIds,
    itemRow,
    users,
    userRow,
    requestFields,
    vocabs,
  });
}

export function loadExport(dir: string): ServingBundle {
  return runLoaderSync(bundleLoader(dir));
}

/** `loadExport` without blocking the event loop for more than a few milliseconds at a time. */
export function loadExportAsync(dir: string): Promise<ServingBundle> {
  return runLoaderAsync(bundleLoader(dir));
}

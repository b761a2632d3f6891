/**
 * Teacher-ranked lists (issue 5, item 1): for a sample of requests, a candidate set — random
 * catalogue items, items retrieved by the current student, or both — is scored by the teacher,
 * sorted (best first), optionally re-ranked by business rules (./rerank.ts) and cut to N items.
 * The rank-based distillation terms (top-K labels, pairwise, listwise, RD) learn from these lists
 * instead of from the teacher's logits.
 *
 * A request is one row of a split (by default train): its user, context and time. Candidate rows
 * pair that user/context/time with catalogue items (`pairSamples`, which recomputes the privileged
 * window counts for each (user, item, time) so the teacher scores them honestly).
 *
 * Files (`kdrec teacher rank`): one row per (request, item) with columns request_id (the request's
 * row in the split), user and item (raw ids), rank (1-based, after re-ranking) and teacher_score;
 * CSV, or Parquet through DuckDB's COPY. Reading checks every row against the dataset and names
 * the file, line and field of the first problem.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { ColumnarDataset, type Columns } from '../data/batch.js';
import type { LoadedDataset } from '../data/dataset.js';
import { DuckDb, sqlStr } from '../data/readers.js';
import { pairSamples } from '../data/samples.js';
import { shardParts } from '../data/shardParts.js';
import { Graph } from '../engine/graph.js';
import type { Rng } from '../engine/rng.js';
import type { Model } from '../models/types.js';
import { applyReranker, type Reranker } from './rerank.js';

export interface RankLists {
  /** Row of the source split each request takes its user, context and time from. */
  requestRow: Int32Array;
  userKey: Int32Array;
  /** Items per list (N). */
  length: number;
  /** itemKeys, list-major ([L·N]), in final order: column p holds rank p+1. */
  items: Int32Array;
  /** The teacher's score of each item, same layout. */
  teacherScores: Float32Array;
}

export interface CandidateOptions {
  /** Uniformly random catalogue items per request. */
  random: number;
  /** The student's top items per request, from a pool of `retrievalPool` catalogue items. */
  retrieved: number;
  /** Items the student scores to retrieve from (a uniform sample, redrawn per build; the whole catalogue when larger). */
  retrievalPool: number;
}

export function listCount(lists: RankLists): number {
  return lists.requestRow.length;
}

/** `count` request rows of `split`, at most one per requestId (seeded; in ascending row order). */
export function sampleRequestRows(split: ColumnarDataset, count: number, rng: Rng): Int32Array {
  const n = split.size;
  if (n === 0) throw new Error('rank lists: the split has no rows to take requests from');
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const req = split.columns.requestId;
  const taken = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < n && out.length < count; i++) {
    const j = i + rng.int(n - i);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
    const r = order[i]!;
    if (req !== undefined) {
      if (taken.has(req[r]!)) continue;
      taken.add(req[r]!);
    }
    out.push(r);
  }
  return Int32Array.from(out).sort();
}

/** Scores (request row, item) pairs with one output of `model`, in row order, `chunk` pairs at a time. */
export function scorePairs(
  ds: LoadedDataset,
  split: ColumnarDataset,
  srcRows: Int32Array,
  items: Int32Array,
  model: Model,
  output: string,
  chunk = 8192,
): Float32Array {
  if (!model.outputNames.includes(output)) {
    throw new Error(
      `rank lists: ${model.name} has no output '${output}' (outputs: ${model.outputNames.join(', ')})`,
    );
  }
  const m = srcRows.length;
  const out = new Float32Array(m);
  const g = new Graph({ training: false, grad: false });
  for (let start = 0; start < m; start += chunk) {
    const end = Math.min(m, start + chunk);
    const cols = pairSamples(
      ds,
      split.columns,
      srcRows.subarray(start, end),
      items.subarray(start, end),
      new Uint8Array(end - start),
    );
    g.reset();
    const logits = model.forward(g, cols).logits[output]!;
    out.set(logits.data.subarray(0, end - start), start);
  }
  return out;
}

/** Positions 0..n−1 sorted by score, best first; ties by lower itemKey (deterministic). */
function sortByScore(items: Int32Array, scores: Float32Array): Int32Array {
  const idx = Array.from({ length: items.length }, (_, i) => i);
  idx.sort((a, b) => scores[b]! - scores[a]! || items[a]! - items[b]!);
  return Int32Array.from(idx);
}

/** k distinct uniform draws from [0, n) not in `exclude` (rejection; n is much larger than k in practice). */
function drawDistinct(n: number, k: number, exclude: Set<number>, rng: Rng, what: string): number[] {
  if (n - exclude.size < k)
    throw new Error(
      `rank lists: ${what} needs ${k} more distinct items, the catalogue has ${n - exclude.size} left`,
    );
  const out: number[] = [];
  while (out.length < k) {
    const it = rng.int(n);
    if (exclude.has(it)) continue;
    exclude.add(it);
    out.push(it);
  }
  return out;
}

/**
 * The candidate items of every request ([L·C], C = retrieved + random): the student's top
 * `retrieved` of a uniform pool, then `random` further distinct catalogue items.
 */
export function candidateItems(
  ds: LoadedDataset,
  split: ColumnarDataset,
  requestRows: Int32Array,
  opts: CandidateOptions,
  student: { model: Model; output: string } | null,
  rng: Rng,
): { items: Int32Array; perRequest: number } {
  const nItems = ds.items.size;
  const L = requestRows.length;
  const C = opts.random + opts.retrieved;
  if (C < 1) throw new Error('rank lists: candidates.random + candidates.retrieved must be >= 1');
  if (C > nItems)
    throw new Error(`rank lists: ${C} candidates per request but the catalogue has ${nItems} items`);
  const items = new Int32Array(L * C);
  let retrieved: Int32Array | null = null;
  if (opts.retrieved > 0) {
    if (student === null) {
      throw new Error('rank lists: candidates.retrieved > 0 needs the current student to retrieve with');
    }
    const poolSize = Math.min(nItems, Math.max(opts.retrievalPool, opts.retrieved));
    const pool =
      poolSize === nItems
        ? Int32Array.from({ length: nItems }, (_, i) => i)
        : Int32Array.from(drawDistinct(nItems, poolSize, new Set(), rng, 'the retrieval pool'));
    const src = new Int32Array(L * poolSize);
    const its = new Int32Array(L * poolSize);
    for (let q = 0; q < L; q++) {
      src.fill(requestRows[q]!, q * poolSize, (q + 1) * poolSize);
      its.set(pool, q * poolSize);
    }
    const s = scorePairs(ds, split, src, its, student.model, student.output);
    retrieved = new Int32Array(L * opts.retrieved);
    for (let q = 0; q < L; q++) {
      const order = sortByScore(pool, s.subarray(q * poolSize, (q + 1) * poolSize));
      for (let r = 0; r < opts.retrieved; r++) retrieved[q * opts.retrieved + r] = pool[order[r]!]!;
    }
  }
  for (let q = 0; q < L; q++) {
    const chosen = new Set<number>();
    let c = 0;
    if (retrieved !== null) {
      for (let r = 0; r < opts.retrieved; r++) {
        const it = retrieved[q * opts.retrieved + r]!;
        chosen.add(it);
        items[q * C + c++] = it;
      }
    }
    for (const it of drawDistinct(nItems, opts.random, chosen, rng, 'candidates.random'))
      items[q * C + c++] = it;
  }
  return { items, perRequest: C };
}

export interface BuildRankListsOptions {
  split: ColumnarDataset;
  requestRows: Int32Array;
  candidates: CandidateOptions;
  /** Items kept per list (N <= candidates per request). */
  length: number;
  teacher: { model: Model; output: string };
  /** The current student, for retrieved candidates. */
  student?: { model: Model; output: string } | null;
  rerank?: Reranker | null;
  rng: Rng;
}

export function buildRankLists(ds: LoadedDataset, o: BuildRankListsOptions): RankLists {
  const L = o.requestRows.length;
  const N = o.length;
  const cand = candidateItems(ds, o.split, o.requestRows, o.candidates, o.student ?? null, o.rng);
  const C = cand.perRequest;
  if (!Number.isInteger(N) || N < 2 || N > C) {
    throw new Error(
      `rank lists: length must be an integer in [2, ${C}] (the candidates per request), got ${N}`,
    );
  }
  const src = new Int32Array(L * C);
  for (let q = 0; q < L; q++) src.fill(o.requestRows[q]!, q * C, (q + 1) * C);
  const t = scorePairs(ds, o.split, src, cand.items, o.teacher.model, o.teacher.output);
  const items = new Int32Array(L * N);
  const scores = new Float32Array(L * N);
  const userCol = o.split.columns.userKey;
  if (userCol === undefined) throw new Error('rank lists: the split has no userKey column');
  for (let q = 0; q < L; q++) {
    const ci = cand.items.subarray(q * C, (q + 1) * C);
    const cs = t.subarray(q * C, (q + 1) * C);
    for (let i = 0; i < C; i++) {
      if (!Number.isFinite(cs[i]!)) {
        throw new Error(
          `rank lists: the teacher scored item ${ds.itemIds[ci[i]!]} of request row ${o.requestRows[q]} as ${cs[i]}`,
        );
      }
    }
    const order = sortByScore(ci, cs);
    let li: Int32Array = Int32Array.from(order, (p) => ci[p]!);
    let ls: Float32Array = Float32Array.from(order, (p) => cs[p]!);
    if (o.rerank) ({ items: li, scores: ls } = applyReranker(o.rerank, li, ls));
    items.set(li.subarray(0, N), q * N);
    scores.set(ls.subarray(0, N), q * N);
  }
  return {
    requestRow: o.requestRows.slice(),
    userKey: Int32Array.from(o.requestRows, (r) => userCol[r]!),
    length: N,
    items,
    teacherScores: scores,
  };
}

/** `perList` uniform catalogue items per list that are not in the list (easy negatives), [L·perList]. */
export function easyNegatives(ds: LoadedDataset, lists: RankLists, perList: number, rng: Rng): Int32Array {
  const L = listCount(lists);
  const N = lists.length;
  const out = new Int32Array(L * perList);
  for (let l = 0; l < L; l++) {
    const inList = new Set(lists.items.subarray(l * N, (l + 1) * N));
    const drawn = drawDistinct(ds.items.size, perList, inList, rng, 'easy negatives');
    out.set(drawn, l * perList);
  }
  return out;
}

/**
 * Feature rows of every list: block l holds the list's N items (rank order) then its E easy
 * negatives, so a selection of blocks reshapes to [lists, N + E].
 */
export function listRows(
  ds: LoadedDataset,
  split: ColumnarDataset,
  lists: RankLists,
  easy: Int32Array | null,
  perList: number,
): ColumnarDataset {
  const L = listCount(lists);
  const N = lists.length;
  const E = easy === null ? 0 : perList;
  const W = N + E;
  const src = new Int32Array(L * W);
  const items = new Int32Array(L * W);
  for (let l = 0; l < L; l++) {
    src.fill(lists.requestRow[l]!, l * W, (l + 1) * W);
    items.set(lists.items.subarray(l * N, (l + 1) * N), l * W);
    if (easy !== null) items.set(easy.subarray(l * E, (l + 1) * E), l * W + N);
  }
  const cols: Columns = pairSamples(ds, split.columns, src, items, new Uint8Array(L * W));
  return new ColumnarDataset(cols, 'rank list rows');
}

// ---------------------------------------------------------------------------------------------
// Files

const HEADER = ['request_id', 'user', 'item', 'rank', 'teacher_score'] as const;

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function listsCsv(lists: RankLists, ds: LoadedDataset): string {
  const N = lists.length;
  const parts: string[] = [`${HEADER.join(',')}\n`];
  for (let l = 0; l < listCount(lists); l++) {
    const user = csvField(ds.userIds[lists.userKey[l]!]!);
    for (let p = 0; p < N; p++) {
      const i = l * N + p;
      parts.push(
        `${lists.requestRow[l]},${user},${csvField(ds.itemIds[lists.items[i]!]!)},${p + 1},${lists.teacherScores[i]}\n`,
      );
    }
  }
  return parts.join('');
}

/** Writes lists as `.csv` or `.parquet` (by extension), atomically (temp file + rename). */
export async function writeRankLists(path: string, lists: RankLists, ds: LoadedDataset): Promise<void> {
  const ext = extname(path).toLowerCase();
  const tmp = `${path}.tmp-${process.pid}`;
  if (ext === '.csv') {
    writeFileSync(tmp, listsCsv(lists, ds));
    renameSync(tmp, path);
    return;
  }
  if (ext !== '.parquet')
    throw new Error(`${path}: rank lists are written as .csv or .parquet, got '${ext || 'no extension'}'`);
  const csv = join(tmpdir(), `kdrec-ranklists-${process.pid}-${Date.now()}.csv`);
  writeFileSync(csv, listsCsv(lists, ds));
  const db = await DuckDb.open();
  try {
    await db.run(
      `COPY (SELECT * FROM read_csv(${sqlStr(csv)}, header = true, columns = {'request_id': 'INTEGER', 'user': 'VARCHAR', 'item': 'VARCHAR', 'rank': 'INTEGER', 'teacher_score': 'FLOAT'})) ` +
        `TO ${sqlStr(tmp)} (FORMAT parquet)`,
    );
  } finally {
    db.close();
    rmSync(csv, { force: true });
  }
  renameSync(tmp, path);
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * Raw rows of a lists file with the line (CSV) or row (Parquet) each came from. A folder is the
 * parts of a sharded `kdrec teacher rank` (part-I-of-N.parquet, all N present), read in order.
 */
async function readRawRows(path: string): Promise<{ where: (i: number) => string; rows: string[][] }> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const rows: string[][] = [];
    const from: { start: number; where: (i: number) => string }[] = [];
    for (const part of shardParts(path, 'parquet', 'rank lists')) {
      const r = await readRawRows(part);
      from.push({ start: rows.length, where: r.where });
      for (const row of r.rows) rows.push(row);
    }
    return {
      rows,
      where: (i) => {
        let k = from.length - 1;
        while (from[k]!.start > i) k--;
        return from[k]!.where(i - from[k]!.start);
      },
    };
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read rank lists ${path}: ${(err as Error).message}`);
    }
    const lines = text.split(/\r?\n/);
    const header = parseCsvLine(lines[0] ?? '');
    const idx = HEADER.map((h) => header.indexOf(h));
    const missing = HEADER.filter((_, k) => idx[k]! < 0);
    if (missing.length > 0) {
      throw new Error(
        `${path}:1: the header lacks column(s) ${missing.join(', ')} (expected ${HEADER.join(',')})`,
      );
    }
    const rows: string[][] = [];
    const lineNo: number[] = [];
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === '') continue;
      const f = parseCsvLine(lines[i]!);
      if (f.length !== header.length) {
        throw new Error(`${path}:${i + 1}: ${f.length} fields, expected ${header.length} like the header`);
      }
      rows.push(idx.map((k) => f[k]!));
      lineNo.push(i + 1);
    }
    return { where: (i) => `${path}:${lineNo[i]}`, rows };
  }
  if (ext !== '.parquet')
    throw new Error(`${path}: rank lists are read from .csv or .parquet, got '${ext || 'no extension'}'`);
  const db = await DuckDb.open();
  try {
    const cols = await db.rows(`SELECT name FROM parquet_schema(${sqlStr(path)})`);
    const names = cols.map((r) => String(r[0]));
    const missing = HEADER.filter((h) => !names.includes(h));
    if (missing.length > 0)
      throw new Error(
        `${path}: the file lacks column(s) ${missing.join(', ')} (expected ${HEADER.join(', ')})`,
      );
    const raw = await db.rows(
      `SELECT ${HEADER.map((h) => `CAST("${h}" AS VARCHAR)`).join(', ')} FROM read_parquet(${sqlStr(path)})`,
    );
    return {
      where: (i) => `${path}: row ${i + 1}`,
      rows: raw.map((r) => r.map((v) => (v === null ? '' : String(v)))),
    };
  } finally {
    db.close();
  }
}

/**
 * Reads a lists file written for `ds` (requests are rows of `split`). Every request must have ranks
 * 1..N exactly once, with the same N for all requests; users must match the request rows.
 */
export async function readRankLists(
  path: string,
  ds: LoadedDataset,
  split: ColumnarDataset,
): Promise<RankLists> {
  const { where, rows } = await readRawRows(path);
  if (rows.length === 0) throw new Error(`${path}: no rank-list rows`);
  const itemKeyOf = new Map<string, number>();
  ds.itemIds.forEach((id, k) => {
    itemKeyOf.set(id, k);
  });
  const splitUsers = split.columns.userKey;
  if (splitUsers === undefined) throw new Error('rank lists: the split has no userKey column');
  const intField = (i: number, field: string, v: string): number => {
    const x = Number(v);
    if (v === '' || !Number.isInteger(x))
      throw new Error(`${where(i)}: field ${field} is '${v}', expected an integer`);
    return x;
  };
  const byRequest = new Map<number, { items: number[]; scores: number[]; ranks: number[]; first: number }>();
  rows.forEach((f, i) => {
    const [rid, user, item, rank, score] = f as [string, string, string, string, string];
    const r = intField(i, 'request_id', rid);
    if (r < 0 || r >= split.size) {
      throw new Error(
        `${where(i)}: field request_id is ${r}, expected a row of the ${split.size}-row split the lists were built on`,
      );
    }
    const u = ds.userIds[splitUsers[r]!];
    if (user !== u) {
      throw new Error(
        `${where(i)}: field user is '${user}' but request ${r} belongs to user '${u}' (lists built on another dataset or split?)`,
      );
    }
    const k = itemKeyOf.get(item);
    if (k === undefined)
      throw new Error(`${where(i)}: field item '${item}' is not in the catalogue of ${ds.name}`);
    const rk = intField(i, 'rank', rank);
    const s = Number(score);
    if (score === '' || !Number.isFinite(s))
      throw new Error(`${where(i)}: field teacher_score is '${score}', expected a finite number`);
    let e = byRequest.get(r);
    if (e === undefined) {
      e = { items: [], scores: [], ranks: [], first: i };
      byRequest.set(r, e);
    }
    e.items.push(k);
    e.scores.push(s);
    e.ranks.push(rk);
  });
  const reqs = [...byRequest.keys()].sort((a, b) => a - b);
  const N = byRequest.get(reqs[0]!)!.items.length;
  const items = new Int32Array(reqs.length * N);
  const scores = new Float32Array(reqs.length * N);
  reqs.forEach((r, l) => {
    const e = byRequest.get(r)!;
    if (e.items.length !== N) {
      throw new Error(
        `${where(e.first)}: request ${r} has ${e.items.length} items, but request ${reqs[0]} has ${N}; every list must have the same length`,
      );
    }
    const seen = new Uint8Array(N);
    e.ranks.forEach((rk, j) => {
      if (rk < 1 || rk > N || seen[rk - 1]) {
        throw new Error(
          `${where(e.first)}: request ${r}: field rank ${rk} is repeated or outside 1..${N}; ranks must be 1..${N} once each`,
        );
      }
      seen[rk - 1] = 1;
      items[l * N + rk - 1] = e.items[j]!;
      scores[l * N + rk - 1] = e.scores[j]!;
    });
  });
  const requestRow = Int32Array.from(reqs);
  return {
    requestRow,
    userKey: Int32Array.from(requestRow, (r) => splitUsers[r]!),
    length: N,
    items,
    teacherScores: scores,
  };
}

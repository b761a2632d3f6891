/**
 * Two-stage distillation's hand-over file: the trained teacher's logits for every row of the
 * student's sample set (`kdrec teacher score --samples recall`), including random negatives the
 * teacher never saw as exposures. The student run attaches them as `extra` columns named
 * `teacher_<output>` and distils against `column:teacher_<output>`.
 *
 * File: safetensors with one F32 [N] tensor per teacher output (`teacher_ctr`, ...), plus the I32
 * [N] `userKey` and `itemKey` of each row. The sample builder is deterministic (seeded), so the
 * student rebuilds the same rows; attaching checks the keys row by row, so a file scored on
 * different samples (another seed, negatives count or dataset) is refused instead of silently
 * pairing logits with the wrong (user, item).
 */

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnarDataset } from '../data/batch.js';
import { KEY_COLUMNS } from '../data/prepare.js';
import { DuckDb, sqlId, sqlStr } from '../data/readers.js';
import { shardPartName, shardParts } from '../data/shardParts.js';
import type { BatchSource, ShardSpec } from '../data/stream.js';
import { readSafetensors, type SafetensorsTensor, writeSafetensors } from '../engine/safetensors.js';
import type { Model } from '../models/types.js';
import { predictLogits } from './trainer.js';

export const TEACHER_COLUMN_PREFIX = 'teacher_';
export const TEACHER_SCORES_FORMAT = 'kdrec-teacher-scores-1';

/** Logits of every teacher output for every row of `samples`, in row order. */
export function scoreTeacher(
  teacher: Model,
  samples: ColumnarDataset | BatchSource,
  batchSize = 4096,
): Promise<Record<string, Float32Array>> {
  return predictLogits(teacher, samples, teacher.outputNames, { batchSize });
}

export function writeTeacherScores(
  path: string,
  samples: ColumnarDataset,
  logits: Record<string, Float32Array>,
  metadata: Record<string, string>,
): void {
  const { userKey, itemKey } = samples.columns;
  if (userKey === undefined || itemKey === undefined) {
    throw new Error('teacher scores: the samples carry no userKey/itemKey to align the student rows with');
  }
  const tensors: Record<string, SafetensorsTensor> = {
    userKey: { dtype: 'I32', shape: [samples.size], data: userKey },
    itemKey: { dtype: 'I32', shape: [samples.size], data: itemKey },
  };
  for (const [o, v] of Object.entries(logits)) {
    if (v.length !== samples.size)
      throw new Error(`teacher scores: output '${o}' has ${v.length} values for ${samples.size} rows`);
    tensors[`${TEACHER_COLUMN_PREFIX}${o}`] = { dtype: 'F32', shape: [samples.size], data: v };
  }
  writeSafetensors(path, tensors, { ...metadata, format: TEACHER_SCORES_FORMAT, rows: String(samples.size) });
}

/**
 * Reads a teacher-scores file and attaches its `teacher_*` columns to `samples`, after checking
 * that every row is the same (user, item). Returns the attached column names.
 */
export function attachTeacherScores(path: string, samples: ColumnarDataset): string[] {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new Error(
      `${path}: a folder of streamed teacher scores (from a streamed prepared run); an in-memory two-stage run reads the ` +
        'safetensors file of `kdrec teacher score --samples recall` — or train this one with dataset.stream: true',
    );
  const file = readSafetensors(path);
  if (file.metadata['format'] !== TEACHER_SCORES_FORMAT) {
    throw new Error(
      `${path}: not a kdrec teacher-scores file (format ${JSON.stringify(file.metadata['format'])})`,
    );
  }
  const u = file.tensors['userKey']?.data;
  const i = file.tensors['itemKey']?.data;
  if (!(u instanceof Int32Array) || !(i instanceof Int32Array))
    throw new Error(`${path}: userKey/itemKey tensors missing`);
  if (u.length !== samples.size) {
    throw new Error(
      `${path}: scored ${u.length} samples but the student's sample set has ${samples.size} rows ` +
        '(same dataset, seed and negatives are needed to rebuild the same recall samples)',
    );
  }
  const su = samples.columns.userKey;
  const si = samples.columns.itemKey;
  if (su === undefined || si === undefined)
    throw new Error('teacher scores: the student samples carry no userKey/itemKey');
  for (let r = 0; r < u.length; r++) {
    if (u[r] !== su[r] || i[r] !== si[r]) {
      throw new Error(
        `${path}: row ${r} was scored for (user ${u[r]}, item ${i[r]}) but the student's row ${r} is (user ${su[r]}, item ${si[r]}): ` +
          'the file was scored on different samples',
      );
    }
  }
  const names: string[] = [];
  for (const [name, t] of Object.entries(file.tensors)) {
    if (!name.startsWith(TEACHER_COLUMN_PREFIX)) continue;
    if (!(t.data instanceof Float32Array)) throw new Error(`${path}: tensor '${name}' must be F32`);
    samples.setExtra(name, t.data);
    names.push(name);
  }
  if (names.length === 0) throw new Error(`${path}: no ${TEACHER_COLUMN_PREFIX}* columns in the file`);
  return names;
}

/**
 * Two-stage hand-over for a streamed (prepared) dataset: the teacher scores the training split a
 * window at a time and writes one Parquet part per shard, `DIR/part-I-of-N.parquet`, with
 * `_sample` and one FLOAT `teacher_<output>` column per output, sorted by sample id. The student's
 * stream attaches them by sample id (src/data/parquetSource.ts, `ExtraColumns`) and refuses any row
 * without its score, so a part from another dataset, or a missing shard, cannot pair logits with the
 * wrong rows. The logits go through a DuckDB table on disk (out/.work), so memory stays flat.
 */
export async function writeStreamedTeacherScores(opts: {
  teacher: Model;
  source: BatchSource;
  out: string;
  shard: ShardSpec;
  batchSize?: number;
}): Promise<{ rows: number; file: string; columns: string[] }> {
  const { teacher, source, out, shard } = opts;
  mkdirSync(out, { recursive: true });
  const work = join(out, `.work-${shard.index}-of-${shard.count}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const file = join(out, shardPartName(shard, 'parquet'));
  const columns = teacher.outputNames.map((o) => `${TEACHER_COLUMN_PREFIX}${o}`);
  const db = await DuckDb.open({ path: join(work, 'scores.duckdb'), memoryLimit: '512MB', threads: 1 });
  try {
    await db.run(
      `CREATE TABLE s (${KEY_COLUMNS.sampleId} DOUBLE, ${columns.map((c) => `${sqlId(c)} FLOAT`).join(', ')})`,
    );
    const app = await db.conn.createAppender('s');
    let logits: Record<string, Float32Array> = {};
    let rows = 0;
    await predictLogits(teacher, source, teacher.outputNames, {
      shard,
      batchSize: opts.batchSize ?? 4096,
      onBatch: (b, n) => {
        const ids = b.sampleId;
        if (ids === undefined)
          throw new Error(`${source.name}: rows carry no sample ids (not a prepared dataset)`);
        for (let i = 0; i < n; i++) {
          app.appendDouble(ids[i]!);
          for (const o of teacher.outputNames) app.appendFloat(logits[o]![i]!);
          app.endRow();
        }
        rows += n;
      },
      onLogits: (l) => {
        logits = l;
      },
    });
    app.closeSync();
    const tmp = `${file}.partial`;
    await db.run(
      `COPY (SELECT * FROM s ORDER BY ${KEY_COLUMNS.sampleId}) TO ${sqlStr(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)`,
    );
    renameSync(tmp, file);
    return { rows, file, columns };
  } finally {
    db.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The score parts of a folder written by `writeStreamedTeacherScores`, checked complete: parts
 * 0..N−1 of one N, no other files.
 */
export function streamedTeacherScoreParts(dir: string): string[] {
  return shardParts(dir, 'parquet', 'teacher scores');
}

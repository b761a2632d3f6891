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
import type { ColumnarDataset } from '../data/batch.js';
import type { Model } from '../models/types.js';
export declare const TEACHER_COLUMN_PREFIX = "teacher_";
export declare const TEACHER_SCORES_FORMAT = "kdrec-teacher-scores-1";
/** Logits of every teacher output for every row of `samples`, in row order. */
export declare function scoreTeacher(teacher: Model, samples: ColumnarDataset, batchSize?: number): Record<string, Float32Array>;
export declare function writeTeacherScores(path: string, samples: ColumnarDataset, logits: Record<string, Float32Array>, metadata: Record<string, string>): void;
/**
 * Reads a teacher-scores file and attaches its `teacher_*` columns to `samples`, after checking
 * that every row is the same (user, item). Returns the attached column names.
 */
export declare function attachTeacherScores(path: string, samples: ColumnarDataset): string[];

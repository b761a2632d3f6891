/**
 * Builds a run's teacher and student from the config. Both are created with ONE TableRegistry, so
 * every field whose schema declaration maps it to the same table name reads the same embedding
 * table in both models (embedding sharing "declared per field", issue 4 mode 1). The option
 * `separateStudentUserId` gives the student its own user-id table (the model's `separateTables`
 * option, a private registry namespace): with a shared one,
 * the teacher's hard-label gradient and the student's distillation gradient pull on the same user
 * rows, which is what PFD+MD wants but not every experiment.
 */
import { idField, type Schema } from '../data/schema.js';
import type { Rng } from '../engine/rng.js';
import { TableRegistry } from '../models/featureEmbedder.js';
import { createModel, type ModelContext } from '../models/index.js';
import type { Model } from '../models/types.js';
import type { ExperimentConfig, ModelSpec } from './config.js';

export interface BuiltModels {
  teacher: Model | null;
  student: Model | null;
  registry: TableRegistry;
}

/** The categorical user-group field holding user ids: named like `user_id`/`uid`, else the first one. */
/** Two-stage students read the teacher from columns, so no teacher is built for them. */
export function buildModels(
  cfg: ExperimentConfig,
  schema: Schema,
  rng: Rng,
  ctx: ModelContext = {},
): BuiltModels {
  const registry = new TableRegistry();
  const teacher =
    cfg.teacher !== undefined && cfg.mode !== 'student' && cfg.mode !== 'two-stage'
      ? createModel({ ...cfg.teacher, name: 'teacher' }, schema, registry, rng.fork('teacher'), ctx)
      : null;
  let studentSpec: ModelSpec | undefined = cfg.student;
  if (studentSpec !== undefined && cfg.separateStudentUserId) {
    const field = idField(schema.features, 'user');
    if (field === null) throw new Error('separateStudentUserId: the schema has no categorical user field');
    const prev = Array.isArray(studentSpec['separateTables'])
      ? (studentSpec['separateTables'] as string[])
      : [];
    studentSpec = { ...studentSpec, separateTables: [...new Set([...prev, field])] };
  }
  const student =
    studentSpec !== undefined && cfg.mode !== 'teacher'
      ? createModel({ ...studentSpec, name: 'student' }, schema, registry, rng.fork('student'), ctx)
      : null;
  return { teacher, student, registry };
}

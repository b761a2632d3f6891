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
import type { EmbeddingTable } from '../engine/embedding.js';
import { ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
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

/** A store holding both models' parameters and every table once (shared tables are one object). */
export function combinedStore(models: readonly (Model | null)[], extra?: ParamStore): ParamStore {
  const store = new ParamStore();
  const seenTables = new Map<string, EmbeddingTable>();
  const seenParams = new Map<string, Tensor>();
  const add = (s: ParamStore) => {
    for (const p of s.params()) {
      const prev = seenParams.get(p.name);
      if (prev === p) continue;
      if (prev !== undefined)
        throw new Error(`parameter name '${p.name}' is used by two different parameters`);
      seenParams.set(p.name, p);
      store.addParam(p);
    }
    for (const t of s.tables()) {
      const prev = seenTables.get(t.name);
      if (prev === t) continue;
      if (prev !== undefined) {
        throw new Error(
          `table name '${t.name}' is used by two different tables (shared tables must be the same object)`,
        );
      }
      seenTables.set(t.name, t);
      store.addTable(t);
    }
  };
  for (const m of models) if (m !== null) add(m.store);
  if (extra !== undefined) add(extra);
  return store;
}

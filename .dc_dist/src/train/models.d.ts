/**
 * Builds a run's teacher and student from the config. Both are created with ONE TableRegistry, so
 * every field whose schema declaration maps it to the same table name reads the same embedding
 * table in both models (embedding sharing "declared per field", issue 4 mode 1). The option
 * `separateStudentUserId` gives the student its own user-id table (the model's `separateTables`
 * option, a private registry namespace): with a shared one,
 * the teacher's hard-label gradient and the student's distillation gradient pull on the same user
 * rows, which is what PFD+MD wants but not every experiment.
 */
import type { Schema } from '../data/schema.js';
import type { Rng } from '../engine/rng.js';
import { TableRegistry } from '../models/featureEmbedder.js';
import type { Model } from '../models/types.js';
import type { ExperimentConfig } from './config.js';
export interface BuiltModels {
    teacher: Model | null;
    student: Model | null;
    registry: TableRegistry;
}
/** The categorical user-group field holding user ids: named like `user_id`/`uid`, else the first one. */
export declare function userIdField(schema: Schema): string | null;
export declare function buildModels(cfg: ExperimentConfig, schema: Schema, rng: Rng): BuiltModels;

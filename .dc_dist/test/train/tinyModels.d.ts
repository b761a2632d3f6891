/**
 * Test fixture: a tiny teacher/student pair built from engine parts, and a synthetic exposure
 * dataset with a learnable user×item signal plus a privileged feature only the teacher reads.
 * Both models read the SHARED user table (shared on purpose, as a schema declares it); the teacher
 * also reads a teacher-only privileged table and its own item table.
 */
import { ColumnarDataset } from '../../src/data/batch.js';
import { EmbeddingTable } from '../../src/engine/embedding.js';
import type { Tensor } from '../../src/engine/tensor.js';
import type { Model } from '../../src/models/types.js';
export declare const USERS = 40;
export declare const ITEMS = 60;
export declare const PRIV = 8;
export declare function tinyPair(seed?: number): {
    teacher: Model;
    student: Model;
    shared: EmbeddingTable;
    teacherOnlyTables: EmbeddingTable[];
    teacherParams: Tensor[];
};
/** n exposure rows: click ~ Bernoulli(σ(3·⟨a_u, b_i⟩ + 1.5·(priv − 3.5)/2 − 0.5)). */
export declare function tinyData(n: number, seed?: number): ColumnarDataset;

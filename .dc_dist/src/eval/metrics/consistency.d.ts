/**
 * Teacher–student consistency over the same candidate set: how closely the student reproduces the
 * teacher's ranking, which is what rank distillation for recall/pre-ranking optimises (Tang & Wang,
 * "Ranking Distillation", KDD 2018).
 * - overlap@K: |top-K(teacher) ∩ top-K(student)| / K.
 * - Kendall tau-b (Kendall 1945, with ties), computed in O(n log n) by Knight's algorithm (Knight,
 *   JASA 1966): sort by (x, y), count x-ties and joint ties, count discordant pairs as the
 *   inversions of y by merge sort, then count y-ties.
 * - Spearman's rho: Pearson correlation of average ranks (ties share the mean rank).
 * - teacher mass captured@K: the share of the teacher's probability mass over the candidates that
 *   falls in the student's top K. The teacher's scores are turned into a distribution either by a
 *   softmax with temperature (`teacher: 'logits'`, default, T = 1) or by normalising given
 *   non-negative probabilities (`teacher: 'probabilities'`, e.g. predicted CTRs). 1 means the
 *   student's top K holds everything the teacher values; the teacher's own top K is the ceiling.
 */
import { type NumberArray } from './ranks.js';
import { type ScoreVector } from './topk.js';
/** |top-K(a) ∩ top-K(b)| / min(K, n) for two score vectors over the same candidates. */
export declare function overlapAtK(teacherScores: ScoreVector, studentScores: ScoreVector, k: number): number;
/**
 * Kendall's tau-b between x and y, O(n log n). NaN when either vector is constant (tau-b is
 * undefined then).
 */
export declare function kendallTau(x: NumberArray, y: NumberArray): number;
/** Spearman's rho (Pearson correlation of average ranks). NaN when either vector is constant. */
export declare function spearman(x: NumberArray, y: NumberArray): number;
export interface TeacherDistribution {
    /** 'logits': softmax(teacher / temperature) (default). 'probabilities': normalise given values ≥ 0. */
    teacher?: 'logits' | 'probabilities';
    /** Softmax temperature for 'logits' (default 1). */
    temperature?: number;
}
/** Share of the teacher's probability mass over the candidates captured by the student's top K. */
export declare function teacherMassCaptured(teacherScores: ScoreVector, studentScores: ScoreVector, k: number, options?: TeacherDistribution): number;
export interface ConsistencyInput extends TeacherDistribution {
    /** Teacher and student scores for the same candidates, lists concatenated (e.g. one list per request). */
    teacherScores: ScoreVector;
    studentScores: ScoreVector;
    /** List boundaries: list q is [offsets[q], offsets[q+1]). Omit with `listLength` for equal lists. */
    offsets?: Int32Array;
    listLength?: number;
    /** Cut-offs for overlap@K and teacher mass@K. */
    ks: number[];
}
export interface ConsistencyResult {
    /** Mean over lists: 'overlap@K', 'teacherMass@K' per K, 'kendallTau', 'spearman'. */
    metrics: Record<string, number>;
    /** Mean overlap per K, for the report's overlap@K curve. */
    overlapAtK: {
        k: number;
        overlap: number;
    }[];
    lists: number;
    /** Lists where teacher or student scores are constant, so tau/rho are undefined; left out of those means. */
    listsWithoutCorrelation: number;
}
/** All consistency metrics averaged over candidate lists (each list weighted equally). */
export declare function consistencyMetrics(input: ConsistencyInput): ConsistencyResult;

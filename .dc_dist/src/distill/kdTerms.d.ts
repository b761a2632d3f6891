/**
 * Logit distillation terms, declared as a list in the experiment config the way EasyRec's `kd`
 * block declares them: each term names a student output (`pred`), a target (a teacher output, or a
 * precomputed column `column:NAME` written by `kdrec teacher score`), a loss, a weight and a
 * temperature, with optional per-sample weights.
 *
 * Losses (s = student logit, t = teacher logit, T = temperature):
 * - `bce_soft`: BCE(σ(s/T), σ(t/T)), i.e. binary cross-entropy of the softened student against the
 *   softened teacher probability (the binary form of Hinton et al., "Distilling the Knowledge in a
 *   Neural Network", 2015, eq. 1). Same gradient as `kl` for binary outputs; its value is KL plus the
 *   teacher's entropy, which does not depend on the student.
 * - `kl`: KL(p_t ‖ p_s) of the softened distributions: for `[B]` binary logits the two-class
 *   distribution [1 − σ(x/T), σ(x/T)]; for `[B, C]` logits the softmax over C.
 * - `mse`: mean squared error between raw logits (logit matching, Ba & Caruana 2014). T has no
 *   meaning here and must be 1.
 *
 * T² scaling (`t2Scale`, default **true**): the gradient of a softened term shrinks as 1/T²
 * (Hinton et al. 2015, §2.1), so the term is multiplied by T² to keep its weight relative to the
 * hard loss independent of T. At T = 1 it changes nothing. Set `t2Scale: false` to reproduce
 * implementations (EasyRec among them) that do not scale.
 *
 * The teacher side is ALWAYS detached (`g.detach`): no gradient from any distillation term reaches
 * the teacher's parameters (test/distill/kdTerms.test.ts checks it parameter by parameter).
 */
import type { Batch } from '../data/batch.js';
import type { Graph } from '../engine/graph.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelOutput } from '../models/types.js';
export type KdLossKind = 'bce_soft' | 'kl' | 'mse';
export interface KdTermSpec {
    /** Student output name (a key of the student's `logits`). */
    pred: string;
    /** Teacher output name, or `column:NAME` for a precomputed teacher logit column in `batch.extra`. */
    target: string;
    loss: KdLossKind;
    weight: number;
    temperature: number;
    /** Multiply the term by T² (default true; see the header). */
    t2Scale?: boolean;
    /** Name of a `batch.extra` column holding per-sample weights. */
    sampleWeight?: string;
}
export declare const COLUMN_PREFIX = "column:";
/** Short stable name of a term for logs and metrics: `kd0.kl(ctr<-ctcvr)`. */
export declare function kdTermName(term: KdTermSpec, index: number): string;
/** True when some term reads a teacher output (so a live teacher forward pass is needed). */
export declare function needsTeacherForward(terms: readonly KdTermSpec[]): boolean;
/** Extra columns the terms read (targets and sample weights), so a loader can be told to keep them. */
export declare function kdColumns(terms: readonly KdTermSpec[]): string[];
/**
 * Checks a term list against the outputs the models actually have, before training starts, so a
 * typo fails with the term's index rather than mid-run.
 */
export declare function checkKdTerms(terms: readonly KdTermSpec[], studentOutputs: readonly string[], teacherOutputs: readonly string[] | null): void;
/** One term's scalar loss, already multiplied by its weight (and by T² when t2Scale). */
export declare function kdTermLoss(g: Graph, term: KdTermSpec, index: number, student: ModelOutput, teacher: ModelOutput | null, batch: Batch): Tensor;
export interface KdLossResult {
    /** Sum of all terms (weighted), or null for an empty term list. */
    total: Tensor | null;
    /** Each term's weighted scalar loss, by `kdTermName`. */
    terms: {
        name: string;
        loss: Tensor;
    }[];
}
/** All terms of the list, summed. */
export declare function kdLoss(g: Graph, terms: readonly KdTermSpec[], student: ModelOutput, teacher: ModelOutput | null, batch: Batch): KdLossResult;

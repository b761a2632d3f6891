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

export const COLUMN_PREFIX = 'column:';

/** Short stable name of a term for logs and metrics: `kd0.kl(ctr<-ctcvr)`. */
export function kdTermName(term: KdTermSpec, index: number): string {
  return `kd${index}.${term.loss}(${term.pred}<-${term.target})`;
}

/** True when some term reads a teacher output (so a live teacher forward pass is needed). */
export function needsTeacherForward(terms: readonly KdTermSpec[]): boolean {
  return terms.some((t) => !t.target.startsWith(COLUMN_PREFIX));
}

/** Extra columns the terms read (targets and sample weights), so a loader can be told to keep them. */
export function kdColumns(terms: readonly KdTermSpec[]): string[] {
  const cols = new Set<string>();
  for (const t of terms) {
    if (t.target.startsWith(COLUMN_PREFIX)) cols.add(t.target.slice(COLUMN_PREFIX.length));
    if (t.sampleWeight !== undefined) cols.add(t.sampleWeight);
  }
  return [...cols];
}

/**
 * Checks a term list against the outputs the models actually have, before training starts, so a
 * typo fails with the term's index rather than mid-run.
 */
export function checkKdTerms(
  terms: readonly KdTermSpec[],
  studentOutputs: readonly string[],
  teacherOutputs: readonly string[] | null,
): void {
  terms.forEach((t, i) => {
    const where = `distill[${i}]`;
    if (!studentOutputs.includes(t.pred)) {
      throw new Error(
        `${where}.pred: the student has no output '${t.pred}' (it has: ${studentOutputs.join(', ')})`,
      );
    }
    if (!t.target.startsWith(COLUMN_PREFIX)) {
      if (teacherOutputs === null) {
        throw new Error(
          `${where}.target: '${t.target}' is a teacher output but this run has no live teacher; ` +
            `use 'column:NAME' with a column written by 'kdrec teacher score'`,
        );
      }
      if (!teacherOutputs.includes(t.target)) {
        throw new Error(
          `${where}.target: the teacher has no output '${t.target}' (it has: ${teacherOutputs.join(', ')})`,
        );
      }
    }
    if (!(t.temperature > 0)) throw new Error(`${where}.temperature must be > 0, got ${t.temperature}`);
    if (t.loss === 'mse' && t.temperature !== 1) {
      throw new Error(
        `${where}.temperature: mse matches raw logits, so temperature must be 1 (got ${t.temperature})`,
      );
    }
    if (!(t.weight >= 0)) throw new Error(`${where}.weight must be >= 0, got ${t.weight}`);
  });
}

function extraColumn(batch: Batch, name: string, what: string): Float32Array {
  const col = batch.extra[name];
  if (col === undefined) {
    const have = Object.keys(batch.extra);
    throw new Error(
      `${what}: the batch has no extra column '${name}' (present: ${have.length > 0 ? have.join(', ') : 'none'})`,
    );
  }
  if (col.length !== batch.size) {
    throw new Error(`${what}: column '${name}' has ${col.length} values for a batch of ${batch.size}`);
  }
  return col;
}

function checkFiniteTarget(values: Float32Array, index: number, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new Error(
        `distill[${index}].target: ${what} row ${i} is ${values[i]}, expected a finite teacher logit`,
      );
    }
  }
}

/** The detached teacher logits a term targets: from the live teacher, or from a precomputed column. */
function targetLogits(
  g: Graph,
  term: KdTermSpec,
  index: number,
  teacher: ModelOutput | null,
  batch: Batch,
): Tensor {
  if (term.target.startsWith(COLUMN_PREFIX)) {
    const name = term.target.slice(COLUMN_PREFIX.length);
    const col = extraColumn(batch, name, `distill[${index}].target`);
    checkFiniteTarget(col, index, `column '${name}'`);
    return g.input(col, [batch.size]);
  }
  const t = teacher?.logits[term.target];
  if (t === undefined) {
    throw new Error(
      `distill[${index}].target: teacher output '${term.target}' is not available in this step`,
    );
  }
  checkFiniteTarget(t.data, index, `teacher output '${term.target}'`);
  return g.detach(t);
}

/** One term's scalar loss, already multiplied by its weight (and by T² when t2Scale). */
export function kdTermLoss(
  g: Graph,
  term: KdTermSpec,
  index: number,
  student: ModelOutput,
  teacher: ModelOutput | null,
  batch: Batch,
): Tensor {
  const s = student.logits[term.pred];
  if (s === undefined) throw new Error(`distill[${index}].pred: the student has no output '${term.pred}'`);
  const t = targetLogits(g, term, index, teacher, batch);
  if (s.shape.length !== t.shape.length || s.shape.some((d, k) => d !== t.shape[k])) {
    throw new Error(
      `distill[${index}]: student '${term.pred}' is [${s.shape.join(', ')}] but target '${term.target}' is [${t.shape.join(', ')}]`,
    );
  }
  const weights =
    term.sampleWeight === undefined
      ? undefined
      : extraColumn(batch, term.sampleWeight, `distill[${index}].sampleWeight`);
  const T = term.temperature;
  const t2 = (term.t2Scale ?? true) ? T * T : 1;
  let loss: Tensor;
  switch (term.loss) {
    case 'bce_soft': {
      if (s.shape.length !== 1) {
        throw new Error(
          `distill[${index}]: bce_soft needs [B] binary logits, '${term.pred}' is [${s.shape.join(', ')}]`,
        );
      }
      const soft = g.sigmoid(T === 1 ? t : g.scale(t, 1 / T));
      loss = g.bceWithLogits(T === 1 ? s : g.scale(s, 1 / T), soft, weights);
      if (t2 !== 1) loss = g.scale(loss, t2);
      break;
    }
    case 'kl':
      // klDiv applies the T² factor itself when asked.
      loss = g.klDiv(s, t, { temperature: T, binary: s.shape.length === 1, t2Scale: t2 !== 1 }, weights);
      break;
    case 'mse':
      loss = g.mse(s, t, weights);
      break;
  }
  return term.weight === 1 ? loss : g.scale(loss, term.weight);
}

export interface KdLossResult {
  /** Sum of all terms (weighted), or null for an empty term list. */
  total: Tensor | null;
  /** Each term's weighted scalar loss, by `kdTermName`. */
  terms: { name: string; loss: Tensor }[];
}

/** All terms of the list, summed. */
export function kdLoss(
  g: Graph,
  terms: readonly KdTermSpec[],
  student: ModelOutput,
  teacher: ModelOutput | null,
  batch: Batch,
): KdLossResult {
  const out: { name: string; loss: Tensor }[] = [];
  let total: Tensor | null = null;
  terms.forEach((term, i) => {
    const loss = kdTermLoss(g, term, i, student, teacher, batch);
    out.push({ name: kdTermName(term, i), loss });
    total = total === null ? loss : g.add(total, loss);
  });
  return { total, terms: out };
}

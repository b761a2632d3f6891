/**
 * The loss of one training step, one piece of code for the single-thread loop (trainer.ts) and for
 * every rank of data-parallel training (dataParallel.ts). One step of a joint mode (PFD, Xu et al.,
 * KDD'20, §3.3; DMTL and PFD+MD follow the same shape):
 *
 *   L = Σ_o BCE(teacher_o, y_o)                                  teacher on hard labels
 *     + w_hard(λ_t) · Σ_o BCE(student_o, y_o)                      student on hard labels
 *     + w_kd(λ_t) · (Σ_k weight_k · kd_k(student, detach(teacher)) + hint [+ rank terms])
 *
 * with (w_hard, w_kd) = (1, λ) or (1 − λ, λ) (`objective`). Every term is a mean over the batch's
 * rows (per-sample weights divide by B, not Σw), so the terms of N row shards, weighted n_r / B,
 * add up to the full batch's: the property data-parallel training relies on. Rank distillation is
 * the exception (its lists are drawn from the whole dataset, not the batch), which is why it runs
 * on one thread only.
 */
import type { Batch } from '../data/batch.js';
import { HintDistiller } from '../distill/hint.js';
import { COLUMN_PREFIX, checkKdTerms, kdLoss } from '../distill/kdTerms.js';
import { lambdaAt, studentLossWeights } from '../distill/lambdaSchedule.js';
import type { RankDistiller } from '../distill/rankDistiller.js';
import type { Graph } from '../engine/graph.js';
import { ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import type { Model, ModelOutput } from '../models/types.js';
import type { ExperimentConfig, Mode } from '../run/config.js';
import { combinedStore } from '../run/models.js';

/** Which models a mode trains, and whether it distils. */
export function modeRoles(mode: Mode): { teacher: boolean; student: boolean; joint: boolean } {
  switch (mode) {
    case 'teacher':
      return { teacher: true, student: false, joint: false };
    case 'student':
    case 'two-stage':
      return { teacher: false, student: true, joint: false };
    case 'joint':
    case 'dmtl':
    case 'pfd':
    case 'pfd-md':
      return { teacher: true, student: true, joint: true };
  }
}

/** λ at a (0-based) step: the schedule in modes that distil against a weight, 0 otherwise. */
export function stepLambda(cfg: ExperimentConfig, step: number): number {
  const roles = modeRoles(cfg.mode);
  return roles.joint || cfg.mode === 'two-stage' ? lambdaAt(cfg.lambda, step) : 0;
}

function assertFinite(step: number, name: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new Error(
      `training stopped at step ${step}: loss term '${name}' is ${value} ` +
        '(try a lower learning rate, gradient clipping via optimizer.clipNorm, or check the input features)',
    );
  }
}

/** The models taking part in a step, and the parameters the step trains. */
export interface StepParts {
  /** The teacher the step runs (trained, or live but frozen), or null. */
  teacher: Model | null;
  student: Model | null;
  teacherTrains: boolean;
  /** The hint regressor, when the config asks for hint distillation. */
  hint: HintDistiller | null;
  /** Both trained models' parameters and the hint regressor's, every shared table once. */
  store: ParamStore;
  /** The hint regressor's input and output widths (null without one). */
  hintWidths: { student: number; teacher: number } | null;
}

/**
 * Picks the step's models from the built ones (as the mode says) and creates the hint regressor,
 * whose width `hintWidths` gives or `probe` (one forward pass of both models on a few rows,
 * through `g`) measures. The data-parallel workers call this with rank 0's widths, so every rank
 * ends up with the same parameters in the same order.
 */
export function assembleStep(
  cfg: ExperimentConfig,
  built: { teacher: Model | null; student: Model | null },
  rootRng: Rng,
  widths: { probe: Batch; g: Graph } | { student: number; teacher: number } | null,
): StepParts {
  const roles = modeRoles(cfg.mode);
  const teacher =
    roles.teacher || cfg.distill.some((t) => !t.target.startsWith(COLUMN_PREFIX)) ? built.teacher : null;
  const student = roles.student ? built.student : null;
  if (roles.teacher && teacher === null) throw new Error(`mode '${cfg.mode}' needs a teacher model`);
  if (roles.student && student === null) throw new Error(`mode '${cfg.mode}' needs a student model`);
  if (student !== null) checkKdTerms(cfg.distill, student.outputNames, teacher?.outputNames ?? null);
  // Parameters owned by the distillation itself (the hint regressor), trained with the student.
  const extraParams = new ParamStore();
  const hint =
    cfg.hint !== undefined && student !== null
      ? new HintDistiller(cfg.hint, extraParams, rootRng.fork('hint'), student)
      : null;
  if (hint !== null && teacher === null)
    throw new Error('hint distillation needs a live teacher (joint modes)');
  // The regressor's width is only known from one forward pass; create it before the optimiser.
  let hintWidths: { student: number; teacher: number } | null = null;
  if (hint !== null && teacher !== null && student !== null && widths !== null) {
    if ('probe' in widths) {
      const { g } = widths;
      g.reset();
      const batch = widths.probe;
      hintWidths = hint.widths(student.forward(g, batch), teacher.forward(g, batch));
      g.reset();
    } else {
      hintWidths = widths;
    }
    hint.init(hintWidths.student, hintWidths.teacher);
  }
  const teacherTrains = roles.teacher;
  const store = combinedStore([teacherTrains ? teacher : null, student], extraParams);
  return { teacher, student, teacherTrains, hint, store, hintWidths };
}

/** The model's hard-label loss (BCE per supervised output); records each term as `<who>.hard.<output>`. */
function hardLoss(
  g: Graph,
  model: Model,
  out: ModelOutput,
  batch: Batch,
  who: string,
  terms: { name: string; loss: Tensor }[],
): Tensor {
  const h = model.hardLoss(g, out, batch);
  for (const [name, loss] of Object.entries(h.terms)) terms.push({ name: `${who}.${name}`, loss });
  return h.total;
}

/** Builds L (header) on a graph, term by term; `terms` holds the last step's named terms. */
export class DistillStep {
  /** The named terms of the last `loss` call, each with its config weight, before the λ factor. */
  readonly terms: { name: string; loss: Tensor }[] = [];
  private readonly roles: ReturnType<typeof modeRoles>;
  private readonly studentHard: boolean;

  /**
   * @param rank rank distillation (one thread only), with the teacher that ranks its lists (the
   *   co-trained one, or a frozen one in two-stage).
   */
  constructor(
    private readonly cfg: ExperimentConfig,
    private readonly parts: StepParts,
    private readonly rank: { distiller: RankDistiller; teacher: Model | null } | null = null,
  ) {
    this.roles = modeRoles(cfg.mode);
    // DMTL: the student's only loss is the KL to the teacher's ctcvr logit (issue 4, mode 4).
    this.studentHard = parts.student !== null && cfg.mode !== 'dmtl';
  }

  /**
   * The step's total loss on `batch` at (0-based) step `step`. Each term is checked as soon as it
   * exists, so a NaN is named where it first appears (a NaN teacher would otherwise surface later
   * as an invalid soft target).
   */
  loss(g: Graph, batch: Batch, step: number): Tensor {
    const { cfg, roles, terms } = this;
    const { teacher, student, teacherTrains, hint } = this.parts;
    terms.length = 0;
    let total: Tensor | null = null;
    const addTotal = (t: Tensor | null) => {
      if (t !== null) total = total === null ? t : g.add(total, t);
    };
    let checked = 0;
    const checkNew = () => {
      for (; checked < terms.length; checked++)
        assertFinite(step, terms[checked]!.name, terms[checked]!.loss.data[0]!);
    };
    const tOut = teacher !== null ? teacher.forward(g, batch) : null;
    if (teacherTrains && teacher !== null && tOut !== null)
      addTotal(hardLoss(g, teacher, tOut, batch, 'teacher', terms));
    checkNew();
    if (student !== null) {
      const sOut = student.forward(g, batch);
      const w =
        roles.joint || cfg.mode === 'two-stage'
          ? studentLossWeights(cfg.objective, stepLambda(cfg, step))
          : { hard: 1, kd: 0 };
      const sHard = this.studentHard ? hardLoss(g, student, sOut, batch, 'student', terms) : null;
      if (sHard !== null && w.hard !== 0) addTotal(w.hard === 1 ? sHard : g.scale(sHard, w.hard));
      checkNew();
      const kd = kdLoss(g, cfg.distill, sOut, tOut, batch);
      for (const t of kd.terms) terms.push(t);
      let distill = kd.total;
      if (this.rank !== null) {
        this.rank.distiller.prepare(step, this.rank.teacher, student);
        const r = this.rank.distiller.loss(g, student, step);
        for (const t of r.terms) terms.push(t);
        distill = distill === null ? r.total : g.add(distill, r.total);
      }
      if (hint !== null && tOut !== null) {
        const h = hint.loss(g, sOut, tOut);
        terms.push({ name: 'hint', loss: h });
        distill = distill === null ? h : g.add(distill, h);
      }
      // With λ = 0 the kd terms are still computed and logged, but contribute no gradient.
      if (distill !== null && w.kd !== 0) addTotal(w.kd === 1 ? distill : g.scale(distill, w.kd));
    }
    checkNew();
    if (total === null) {
      throw new Error(
        `mode '${cfg.mode}': nothing to train at step ${step} (no hard labels and no distillation terms)`,
      );
    }
    const totalT: Tensor = total;
    assertFinite(step, 'total', totalT.data[0]!);
    return totalT;
  }
}

/**
 * Hint (intermediate-layer) distillation, after FitNets (Romero et al., "FitNets: Hints for Thin
 * Deep Nets", ICLR 2015, eq. 2): L_hint = ½‖u_T(x) − r(v_S(x))‖², where v_S is a student hidden
 * layer (the "guided" layer), u_T the teacher's "hint" layer and r a learned regressor that maps the
 * student's width to the teacher's. Here r is a linear layer owned by the student side, and the
 * loss is the mean squared error over batch and units (the ½ and the sum-vs-mean only rescale the
 * weight). The teacher's layer is detached: hints shape the student, never the teacher.
 *
 * Only for a student whose hidden layers see the user and the item together (the pre-ranking MLP).
 * A two-tower (or FM) student keeps user and item apart until the final dot product, so none of its
 * layers corresponds to the teacher's joint user-item layers; matching one tower's layer to a joint
 * layer would ask the tower for information it cannot have. `HintDistiller` refuses such students.
 */
import type { Graph } from '../engine/graph.js';
import { Linear, type ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { isTwoTower, type Model, type ModelOutput } from '../models/types.js';

export interface HintSpec {
  /** Student hidden layer name (a key of the student's `ModelOutput.hidden`). */
  student: string;
  /** Teacher hidden layer name. */
  teacher: string;
  weight: number;
}

/** Throws, saying why, when hint distillation cannot apply to this student. */
export function assertHintAllowed(student: Model): void {
  if (isTwoTower(student) || student.kind === 'two-tower' || student.kind === 'fm') {
    throw new Error(
      `hint distillation is refused for a '${student.kind}' student: its towers separate user and item ` +
        'until the final dot product, so no student layer matches the teacher’s joint user-item layers. ' +
        'Use logit distillation (distill: [...]) for two-tower students, or hint a prerank-mlp student.',
    );
  }
}

function hiddenLayer(out: ModelOutput, name: string, who: 'student' | 'teacher'): Tensor {
  const h = out.hidden?.[name];
  if (h === undefined) {
    const have = Object.keys(out.hidden ?? {});
    throw new Error(
      `hint.${who}: the ${who} exposes no hidden layer '${name}' (it has: ${have.length > 0 ? have.join(', ') : 'none'})`,
    );
  }
  if (h.shape.length !== 2)
    throw new Error(`hint.${who}: layer '${name}' is [${h.shape.join(', ')}], expected [B, H]`);
  return h;
}

/** The learned regressor plus the loss. Its parameters are registered in the student's store. */
export class HintDistiller {
  private projection: Linear | null = null;

  constructor(
    readonly spec: HintSpec,
    private readonly studentStore: ParamStore,
    private readonly rng: Rng,
    student: Model,
  ) {
    assertHintAllowed(student);
    if (!(spec.weight >= 0)) throw new Error(`hint.weight must be >= 0, got ${spec.weight}`);
  }

  /**
   * Creates the regressor for the given widths. Called before training starts (with the widths
   * read from one forward pass) so the optimiser and checkpoints see its parameters.
   */
  init(studentWidth: number, teacherWidth: number): void {
    if (this.projection !== null) {
      if (this.projection.inDim !== studentWidth || this.projection.outDim !== teacherWidth) {
        throw new Error(
          `hint: the regressor maps ${this.projection.inDim} → ${this.projection.outDim} but the layers are ${studentWidth} → ${teacherWidth}`,
        );
      }
      return;
    }
    this.projection = this.studentStore.add(
      new Linear('hint.regressor', studentWidth, teacherWidth, this.rng),
    );
  }

  /** Widths of the two named layers in one forward pass (to call `init` with). */
  widths(student: ModelOutput, teacher: ModelOutput): { student: number; teacher: number } {
    return {
      student: hiddenLayer(student, this.spec.student, 'student').cols,
      teacher: hiddenLayer(teacher, this.spec.teacher, 'teacher').cols,
    };
  }

  /** weight · MSE(r(student layer), detach(teacher layer)), a scalar. */
  loss(g: Graph, student: ModelOutput, teacher: ModelOutput): Tensor {
    const s = hiddenLayer(student, this.spec.student, 'student');
    const t = hiddenLayer(teacher, this.spec.teacher, 'teacher');
    if (s.rows !== t.rows) throw new Error(`hint: student batch ${s.rows} ≠ teacher batch ${t.rows}`);
    if (this.projection === null) this.init(s.cols, t.cols);
    const projected = this.projection!.forward(g, s);
    // g.mse is the mean over rows and units, so the weight does not depend on the layer width.
    const loss = g.mse(projected, g.detach(t));
    return this.spec.weight === 1 ? loss : g.scale(loss, this.spec.weight);
  }
}

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
import { type ParamStore } from '../engine/nn.js';
import type { Rng } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { type Model, type ModelOutput } from '../models/types.js';
export interface HintSpec {
    /** Student hidden layer name (a key of the student's `ModelOutput.hidden`). */
    student: string;
    /** Teacher hidden layer name. */
    teacher: string;
    weight: number;
}
/** Throws, saying why, when hint distillation cannot apply to this student. */
export declare function assertHintAllowed(student: Model): void;
/** The learned regressor plus the loss. Its parameters are registered in the student's store. */
export declare class HintDistiller {
    readonly spec: HintSpec;
    private readonly studentStore;
    private readonly rng;
    private projection;
    constructor(spec: HintSpec, studentStore: ParamStore, rng: Rng, student: Model);
    /**
     * Creates the regressor for the given widths. Called before training starts (with the widths
     * read from one forward pass) so the optimiser and checkpoints see its parameters.
     */
    init(studentWidth: number, teacherWidth: number): void;
    /** Widths of the two named layers in one forward pass (to call `init` with). */
    widths(student: ModelOutput, teacher: ModelOutput): {
        student: number;
        teacher: number;
    };
    /** weight · MSE(r(student layer), detach(teacher layer)), a scalar. */
    loss(g: Graph, student: ModelOutput, teacher: ModelOutput): Tensor;
}

import { Linear } from '../engine/nn.js';
import { isTwoTower } from '../models/types.js';
/** Throws, saying why, when hint distillation cannot apply to this student. */
export function assertHintAllowed(student) {
    if (isTwoTower(student) || student.kind === 'two-tower' || student.kind === 'fm') {
        throw new Error(`hint distillation is refused for a '${student.kind}' student: its towers separate user and item ` +
            'until the final dot product, so no student layer matches the teacher’s joint user-item layers. ' +
            'Use logit distillation (distill: [...]) for two-tower students, or hint a prerank-mlp student.');
    }
}
function hiddenLayer(out, name, who) {
    const h = out.hidden?.[name];
    if (h === undefined) {
        const have = Object.keys(out.hidden ?? {});
        throw new Error(`hint.${who}: the ${who} exposes no hidden layer '${name}' (it has: ${have.length > 0 ? have.join(', ') : 'none'})`);
    }
    if (h.shape.length !== 2)
        throw new Error(`hint.${who}: layer '${name}' is [${h.shape.join(', ')}], expected [B, H]`);
    return h;
}
/** The learned regressor plus the loss. Its parameters are registered in the student's store. */
export class HintDistiller {
    spec;
    studentStore;
    rng;
    projection = null;
    constructor(spec, studentStore, rng, student) {
        this.spec = spec;
        this.studentStore = studentStore;
        this.rng = rng;
        assertHintAllowed(student);
        if (!(spec.weight >= 0))
            throw new Error(`hint.weight must be >= 0, got ${spec.weight}`);
    }
    /**
     * Creates the regressor for the given widths. Called before training starts (with the widths
     * read from one forward pass) so the optimiser and checkpoints see its parameters.
     */
    init(studentWidth, teacherWidth) {
        if (this.projection !== null) {
            if (this.projection.inDim !== studentWidth || this.projection.outDim !== teacherWidth) {
                throw new Error(`hint: the regressor maps ${this.projection.inDim} → ${this.projection.outDim} but the layers are ${studentWidth} → ${teacherWidth}`);
            }
            return;
        }
        this.projection = this.studentStore.add(new Linear('hint.regressor', studentWidth, teacherWidth, this.rng));
    }
    /** Widths of the two named layers in one forward pass (to call `init` with). */
    widths(student, teacher) {
        return {
            student: hiddenLayer(student, this.spec.student, 'student').cols,
            teacher: hiddenLayer(teacher, this.spec.teacher, 'teacher').cols,
        };
    }
    /** weight · MSE(r(student layer), detach(teacher layer)), a scalar. */
    loss(g, student, teacher) {
        const s = hiddenLayer(student, this.spec.student, 'student');
        const t = hiddenLayer(teacher, this.spec.teacher, 'teacher');
        if (s.rows !== t.rows)
            throw new Error(`hint: student batch ${s.rows} ≠ teacher batch ${t.rows}`);
        if (this.projection === null)
            this.init(s.cols, t.cols);
        const projected = this.projection.forward(g, s);
        // g.mse is the mean over rows and units, so the weight does not depend on the layer width.
        const loss = g.mse(projected, g.detach(t));
        return this.spec.weight === 1 ? loss : g.scale(loss, this.spec.weight);
    }
}
//# sourceMappingURL=hint.js.map
import { TableRegistry } from '../models/featureEmbedder.js';
import { createModel } from '../models/index.js';
/** The categorical user-group field holding user ids: named like `user_id`/`uid`, else the first one. */
export function userIdField(schema) {
    const users = schema.features.filter((f) => f.group === 'user' && f.kind === 'categorical');
    const named = users.find((f) => /^(user_?id|uid|user)$/i.test(f.name));
    return (named ?? users[0])?.name ?? null;
}
export function buildModels(cfg, schema, rng) {
    const registry = new TableRegistry();
    const teacher = cfg.teacher !== undefined && cfg.mode !== 'student'
        ? createModel({ ...cfg.teacher, name: 'teacher' }, schema, registry, rng.fork('teacher'))
        : null;
    let studentSpec = cfg.student;
    if (studentSpec !== undefined && cfg.separateStudentUserId) {
        const field = userIdField(schema);
        if (field === null)
            throw new Error('separateStudentUserId: the schema has no categorical user field');
        const prev = Array.isArray(studentSpec['separateTables'])
            ? studentSpec['separateTables']
            : [];
        studentSpec = { ...studentSpec, separateTables: [...new Set([...prev, field])] };
    }
    const student = studentSpec !== undefined && cfg.mode !== 'teacher'
        ? createModel({ ...studentSpec, name: 'student' }, schema, registry, rng.fork('student'))
        : null;
    return { teacher, student, registry };
}
//# sourceMappingURL=models.js.map